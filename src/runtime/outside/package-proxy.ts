/**
 * The HTTP proxy instances' apt uses (`Acquire::http::Proxy`, images/recipe.ts): requests in
 * proxy form (`GET http://deb.debian.org/debian/pool/… HTTP/1.1`) for the registry's paths of the
 * routes in apt-sources.ts, answered by the package cache. It is not an open proxy: another host
 * or path is answered as a proxy answers for a host it cannot reach (504), CONNECT (https through
 * the proxy) likewise, and only GET and HEAD are taken.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { routeOf, type Route } from './apt-sources.js';
import type { PackageCache } from './package-cache.js';

export interface ProxyStats {
  /** Requests for the registry's files. */
  requests: number;
  /** Requests for anything else, answered as for an unreachable host. */
  refused: number;
}

export class PackageProxy {
  readonly stats: ProxyStats = { requests: 0, refused: 0 };

  constructor(
    private readonly routes: Route[],
    private readonly cache: PackageCache,
  ) {}

  /** The hosts instances may name (for logs and the README's word). */
  get hosts(): string[] {
    return [...new Set(this.routes.map((r) => r.from.split('/')[0]!))];
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    req.resume();
    let url: URL;
    try {
      url = new URL(req.url ?? '');
    } catch {
      return this.refuse(res, 'a bad URL');
    }
    const route = routeOf(this.routes, url);
    if (!route) return this.refuse(res, `${url.protocol}//${url.host}${url.pathname}`);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD' });
      return void res.end();
    }
    this.stats.requests++;
    this.cache.serve(req, res, route.upstream, route.immutable).catch(() => res.destroy());
  }

  /** https through the proxy: nothing kumo could cache or check, so no. */
  connect(_req: IncomingMessage, socket: Duplex): void {
    this.stats.refused++;
    socket.end('HTTP/1.1 504 Gateway Timeout\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
  }

  private refuse(res: ServerResponse, what: string): void {
    this.stats.refused++;
    res.writeHead(504, { 'Content-Type': 'text/plain', Connection: 'close' });
    res.end(`kumo: ${what} is not reachable from instances (only the package registry is, at ${this.hosts.join(', ')})\n`);
  }
}
