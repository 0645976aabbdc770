/**
 * The instance's view of the outside world (README, "Packages and downloads"): one HTTP server on
 * the fabric's service address, port OUTSIDE_PORT, which every VPC router DNATs OUTSIDE_ADDRESS:80
 * to (network/rules.ts), and a DNS zone:
 *
 *   proxy form: GET http://deb.debian.org/… (apt's Acquire::http::Proxy)
 *       → package-proxy.ts → package-cache.ts → the Debian mirror of the host's apt sources
 *   origin form: Host: ja.wordpress.org (the VPC's DNS gave OUTSIDE_ADDRESS for it)
 *       → downloads.ts → files prepared from packages (debian-archive.ts, wordpress.ts)
 *
 * Only ports in a VPC are answered, as by IMDS (a connection from anywhere else is closed). The
 * cache (`<cacheDir>/registry`, `<cacheDir>/downloads`) is the machine's, shared by every kumo and
 * test run. Nothing else an instance looks up or connects to leaves the machine; with
 * `--internet`, the fabric's NAT is the other way out (network/), not this.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { join } from 'node:path';
import type { DataPlane } from '../data-plane.js';
import type { DnsAsker } from '../dns/zones.js';
import type { DnsQuestion, DnsResolution } from '../dns/server.js';
import { OUTSIDE_ADDRESS, OUTSIDE_PORT } from '../network/names.js';
import { IMAGE_ARCHIVES, packageRoutes, readHostSources, type AptSource, type Route } from './apt-sources.js';
import { DebianArchive } from './debian-archive.js';
import { Downloads, MIRRORED_HOSTS } from './downloads.js';
import { PackageCache } from './package-cache.js';
import { PackageProxy } from './package-proxy.js';
import { createUpstream, type Upstream } from './upstream.js';

export interface OutsideOptions {
  cacheDir: string;
  /** The Debian suite kumo's images run (the WordPress download is built from its packages). */
  suite: string;
  log: (line: string) => void;
  /** Tests: the apt sources to take instead of the host's, and the registry to reach. */
  sources?: AptSource[];
  upstream?: Upstream;
}

export class OutsideWorld {
  readonly cache: PackageCache;
  readonly proxy: PackageProxy;
  readonly downloads: Downloads;
  readonly routes: Route[];

  constructor(private readonly opts: OutsideOptions) {
    this.routes = packageRoutes(opts.sources ?? readHostSources());
    this.cache = new PackageCache(join(opts.cacheDir, 'registry'), opts.upstream ?? createUpstream());
    this.proxy = new PackageProxy(this.routes, this.cache);
    const main = new URL(this.routes.find((r) => `http://${r.from}` === `${IMAGE_ARCHIVES.main}/`)!.to);
    this.downloads = new Downloads(join(opts.cacheDir, 'downloads'), () => new DebianArchive(this.cache, main, opts.suite), opts.log);
  }

  /** One request (the caller has checked who asks). */
  handle(req: IncomingMessage, res: ServerResponse): void {
    if (/^http:\/\//i.test(req.url ?? '')) this.proxy.handle(req, res);
    else this.downloads.handle(req, res);
  }

  /** The DNS answer for a mirrored host, inside VPCs only (the host resolver is for AWS names). */
  resolve(q: DnsQuestion, asker: DnsAsker): DnsResolution {
    if (asker.kind === 'host') return 'refused';
    return MIRRORED_HOSTS.includes(q.name) ? { answers: [{ type: 'A', data: OUTSIDE_ADDRESS }] } : 'nxdomain';
  }

  /** Registers the zone and the server with the VPC data plane (they run whenever the fabric is up). */
  plugInto(plane: DataPlane): void {
    plane.zones.register({ name: 'downloads', suffixes: [...new Set(MIRRORED_HOSTS.map(registrable))], resolve: (q, asker) => this.resolve(q, asker) });
    plane.serve(async ({ address, portAt }) => {
      const server = createServer((req, res) => {
        if (!portAt(req.socket.remoteAddress ?? '')) return void req.socket.destroy();
        this.handle(req, res);
      });
      server.on('connect', (req: IncomingMessage, socket: Duplex) => (portAt(req.socket.remoteAddress ?? '') ? this.proxy.connect(req, socket) : socket.destroy()));
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(OUTSIDE_PORT, address, () => resolve());
      });
      this.opts.log(`outside: package proxy for ${this.proxy.hosts.join(', ')} and downloads for ${MIRRORED_HOSTS.join(', ')} at ${OUTSIDE_ADDRESS} in VPCs`);
      return async () => {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      };
    });
  }

  stats() {
    return {
      registry: this.proxy.hosts,
      packages: { ...this.proxy.stats, ...this.cache.stats },
      downloads: { hosts: MIRRORED_HOSTS, ...this.downloads.stats },
    };
  }
}

/** `ja.wordpress.org` → `wordpress.org`: one zone answers the whole domain (names not mirrored: NXDOMAIN). */
const registrable = (host: string) => host.split('.').slice(-2).join('.');
