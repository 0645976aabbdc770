/**
 * kumo's own endpoints under /_kumo/: `GET /_kumo/health` (version, services, runtime mode),
 * `POST /_kumo/reset` (wipe all state) and `GET|POST /_kumo/clock` (read kumo's clock, or advance
 * it with `?advance=<n><s|m|h|d>` and wait for what runs on time, S3 lifecycle among it, to catch
 * up: a test makes days pass) and `GET /_kumo/ca.pem` (kumo's certificate authority, which signs
 * the certificates ACM issues: what a client trusts to reach HTTPS listeners). They are not AWS APIs and are not signed. No bucket can
 * be named `_kumo`, so the whole prefix is kumo's: unknown paths under it answer 404 here.
 *
 * A web page the user happens to visit can POST to localhost without any preflight, so reset
 * refuses requests a browser marks as coming from another origin.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Clock } from '../runtime/clock.js';

export interface InternalDeps {
  health(): Record<string, unknown>;
  reset(): Promise<void>;
  clock: Clock;
  /** kumo's CA certificate (PEM), made on first use. */
  caCertificate(): Promise<string>;
}

const ENDPOINTS = ['GET /_kumo/health', 'POST /_kumo/reset', 'GET /_kumo/clock', 'POST /_kumo/clock?advance=<n><s|m|h|d>', 'GET /_kumo/ca.pem'];

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function internalHandler(deps: InternalDeps) {
  return async (req: IncomingMessage, res: ServerResponse, path: string): Promise<boolean> => {
    const json = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      const text = JSON.stringify(body, null, 2);
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
      res.end(text);
    };
    // Whatever body came with the request is not ours to read; drain it so the socket stays usable.
    req.resume();
    if (path === '/_kumo/health') {
      if (req.method !== 'GET' && req.method !== 'HEAD') json(405, { error: 'use GET' }, { allow: 'GET, HEAD' });
      else json(200, deps.health());
      return true;
    }
    if (path === '/_kumo/reset') {
      if (req.method !== 'POST') json(405, { error: 'use POST' }, { allow: 'POST' });
      else if (crossOrigin(req)) json(403, { error: 'cross-origin requests may not reset kumo' });
      else {
        try {
          await deps.reset();
        } catch (e) {
          json(500, { error: `reset failed: ${(e as Error)?.message ?? String(e)}` });
          return true;
        }
        json(200, { reset: true });
      }
      return true;
    }
    if (path === '/_kumo/ca.pem') {
      if (req.method !== 'GET' && req.method !== 'HEAD') return json(405, { error: 'use GET' }, { allow: 'GET, HEAD' }), true;
      try {
        const pem = await deps.caCertificate();
        res.writeHead(200, { 'content-type': 'application/x-pem-file', 'content-length': Buffer.byteLength(pem) });
        res.end(req.method === 'HEAD' ? undefined : pem);
      } catch (e) {
        json(500, { error: `kumo's certificate authority is not available: ${(e as Error)?.message ?? String(e)}` });
      }
      return true;
    }
    if (path === '/_kumo/clock') {
      await clockEndpoint(req, deps.clock, json);
      return true;
    }
    json(404, { error: `no such kumo endpoint: ${path}`, endpoints: ENDPOINTS });
    return true;
  };
}

async function clockEndpoint(req: IncomingMessage, clock: Clock, json: (status: number, body: unknown, headers?: Record<string, string>) => void): Promise<void> {
  const tell = () => ({ now: clock.now().toISOString(), advancedSeconds: clock.offsetSeconds });
  if (req.method === 'GET' || req.method === 'HEAD') return json(200, tell());
  if (req.method !== 'POST') return json(405, { error: 'use GET or POST' }, { allow: 'GET, HEAD, POST' });
  if (crossOrigin(req)) return json(403, { error: 'cross-origin requests may not move the clock' });
  const by = new URL(req.url ?? '/', 'http://kumo').searchParams.get('advance') ?? '';
  const m = /^([0-9]+(?:\.[0-9]+)?)([smhd])$/.exec(by);
  if (!m) return json(400, { error: 'advance=<n><s|m|h|d> is required, e.g. advance=2d' });
  try {
    await clock.advance(Number(m[1]) * UNIT_MS[m[2]]);
  } catch (e) {
    return json(500, { error: `advancing the clock failed: ${(e as Error)?.message ?? String(e)}` });
  }
  json(200, tell());
}

function crossOrigin(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (!origin) return false;
  try {
    return new URL(origin).host !== req.headers.host;
  } catch {
    return true;
  }
}
