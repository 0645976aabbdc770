/**
 * kumo's own endpoints under /_kumo/: `GET /_kumo/health` (version, services, runtime mode) and
 * `POST /_kumo/reset` (wipe all state). They are not AWS APIs and are not signed. No bucket can
 * be named `_kumo`, so the whole prefix is kumo's: unknown paths under it answer 404 here.
 *
 * A web page the user happens to visit can POST to localhost without any preflight, so reset
 * refuses requests a browser marks as coming from another origin.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface InternalDeps {
  health(): Record<string, unknown>;
  reset(): Promise<void>;
}

const ENDPOINTS = ['GET /_kumo/health', 'POST /_kumo/reset'];

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
    json(404, { error: `no such kumo endpoint: ${path}`, endpoints: ENDPOINTS });
    return true;
  };
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
