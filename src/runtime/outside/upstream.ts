/**
 * kumo's requests to the package registry itself (the only ones that leave the machine for
 * instances, and only for the routes of apt-sources.ts). Plain node:http(s); when the host's own
 * apt goes through a proxy (`Acquire::http::Proxy`), kumo's plain-HTTP requests go through it too,
 * as the host's would. Redirects are not followed here: they go back to the asker, whose next
 * request is checked against the routes again.
 */
import { execFileSync } from 'node:child_process';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';

export type Upstream = (url: URL, headers: Record<string, string>) => Promise<IncomingMessage>;

/** No byte for this long (connecting included): the registry is treated as unreachable. */
const IDLE_MS = 30_000;

export function createUpstream(proxy = hostAptProxy()): Upstream {
  return (url, headers) =>
    new Promise((resolve, reject) => {
      const viaProxy = proxy && url.protocol === 'http:';
      const target = viaProxy ? proxy : url;
      const request = target.protocol === 'https:' ? httpsRequest : httpRequest;
      const req = request(
        {
          host: target.hostname,
          port: target.port || undefined,
          path: viaProxy ? url.href : `${url.pathname}${url.search}`,
          method: 'GET',
          headers: { ...headers, host: url.host, 'user-agent': 'kumo-package-cache' },
          ...(viaProxy ? {} : { servername: url.hostname }),
        },
        (res) => {
          res.setTimeout(IDLE_MS, () => res.destroy(new Error(`${url.host}: no data for ${IDLE_MS / 1000} s`)));
          resolve(res);
        },
      );
      req.setTimeout(IDLE_MS, () => req.destroy(new Error(`${url.host}: no answer for ${IDLE_MS / 1000} s`)));
      req.on('error', reject);
      req.end();
    });
}

/** The host apt's HTTP proxy, if it has one. */
export function hostAptProxy(): URL | undefined {
  try {
    const out = execFileSync('apt-config', ['shell', 'P', 'Acquire::http::Proxy'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const m = /^P='([^']*)'/m.exec(out);
    return m && /^https?:\/\//.test(m[1]!) ? new URL(m[1]!) : undefined;
  } catch {
    return undefined; // no apt on this host
  }
}
