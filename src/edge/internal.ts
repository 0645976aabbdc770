/**
 * kumo's own endpoints under /_kumo/: `GET /_kumo/health` (version, services, runtime mode) and
 * `POST /_kumo/reset` (wipe all state). They are not AWS APIs and are not signed.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface InternalDeps {
  health(): Record<string, unknown>;
  reset(): Promise<void>;
}

export function internalHandler(deps: InternalDeps) {
  return async (req: IncomingMessage, res: ServerResponse, path: string): Promise<boolean> => {
    const json = (status: number, body: unknown) => {
      const text = JSON.stringify(body, null, 2);
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    };
    if (path === '/_kumo/health') {
      if (req.method !== 'GET' && req.method !== 'HEAD') json(405, { error: 'use GET' });
      else json(200, deps.health());
      return true;
    }
    if (path === '/_kumo/reset') {
      if (req.method !== 'POST') json(405, { error: 'use POST' });
      else {
        await deps.reset();
        json(200, { reset: true });
      }
      return true;
    }
    return false;
  };
}
