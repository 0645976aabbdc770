/**
 * Well-known downloads, offline. The VPC's DNS answers the hosts below with OUTSIDE_ADDRESS, and
 * this serves there the files kumo prepares from the package registry's packages, each built once
 * (atomically) into the cache next to the packages and served from it ever after:
 *
 *   http://wordpress.org/latest.tar.gz        WordPress (Debian's `wordpress`), as it unpacks
 *   http://ja.wordpress.org/latest-ja.tar.gz  the same with its Japanese translations (`wordpress-l10n`)
 *
 * Any other path of these hosts is 404, as the host itself answers; a request naming another host
 * has its connection closed, as an unreachable host's would be (the DNS gives other names no
 * address at all). To refresh a built file, delete it from the cache.
 */
import { existsSync, readdirSync, rmSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { isAlive } from '../../lib/process.js';
import type { DebianArchive } from './debian-archive.js';
import { sendFile } from './send-file.js';
import { buildWordPress } from './wordpress.js';

type Build = (archive: DebianArchive, out: string) => Promise<void>;

const FILES: Record<string, Record<string, Build>> = {
  'wordpress.org': { '/latest.tar.gz': (a, out) => buildWordPress(a, out) },
  'ja.wordpress.org': { '/latest-ja.tar.gz': (a, out) => buildWordPress(a, out, 'ja') },
};

/** The hosts the VPC's DNS answers with kumo's mirror. */
export const MIRRORED_HOSTS = Object.keys(FILES);

export interface DownloadStats {
  served: number;
  notFound: number;
  /** Files built from packages (once each, then cached). */
  built: number;
  failed: number;
}

export class Downloads {
  readonly stats: DownloadStats = { served: 0, notFound: 0, built: 0, failed: 0 };
  private readonly building = new Map<string, Promise<string>>();

  constructor(
    private readonly dir: string,
    private readonly archive: () => DebianArchive,
    private readonly log: (line: string) => void,
  ) {
    // Builds a dead kumo left half done (wordpress.ts names them .build-<pid>-…).
    for (const host of MIRRORED_HOSTS) {
      let entries: string[] = [];
      try {
        entries = readdirSync(join(dir, host));
      } catch {
        continue; // nothing built for it yet
      }
      for (const e of entries) {
        const pid = Number(/^\.build-(\d+)-/.exec(e)?.[1]);
        if (pid && pid !== process.pid && !isAlive(pid)) rmSync(join(dir, host, e), { recursive: true, force: true });
      }
    }
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    req.resume();
    const host = (req.headers.host ?? '').replace(/:80$/, '').toLowerCase();
    const files = Object.hasOwn(FILES, host) ? FILES[host] : undefined;
    if (!files) return void res.socket?.destroy();
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const build = Object.hasOwn(files, path) ? files[path] : undefined;
    if (!build || (req.method !== 'GET' && req.method !== 'HEAD')) {
      this.stats.notFound += build ? 0 : 1;
      res.writeHead(build ? 405 : 404, { 'Content-Type': 'text/html' });
      return void res.end(build ? '' : `<html><head><title>404 Not Found</title></head><body><h1>Not Found</h1><p>${escape(path)}</p></body></html>\n`);
    }
    this.ensure(host, path, build)
      .then((file) => {
        this.stats.served++;
        return sendFile(req, res, file);
      })
      .catch((err: Error) => {
        this.stats.failed++;
        this.log(`downloads: ${host}${path}: ${err.message}`);
        if (res.headersSent) return void res.destroy();
        res.writeHead(503, { 'Content-Type': 'text/plain' });
        res.end(`kumo could not prepare http://${host}${path}: ${err.message}\n`);
      });
  }

  /** The built file, building it first (one build at a time per file). */
  private ensure(host: string, path: string, build: Build): Promise<string> {
    const out = join(this.dir, host, path);
    if (existsSync(out)) return Promise.resolve(out);
    let p = this.building.get(out);
    if (!p) {
      const started = Date.now();
      this.log(`downloads: preparing http://${host}${path} from Debian's packages`);
      p = build(this.archive(), out)
        .then(() => {
          this.stats.built++;
          this.log(`downloads: http://${host}${path} ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
          return out;
        })
        .finally(() => this.building.delete(out));
      this.building.set(out, p);
    }
    return p;
  }
}

const escape = (s: string) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
