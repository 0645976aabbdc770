/**
 * A complete file on disk as an HTTP answer, for the package cache and the download mirror:
 * Content-Length and Last-Modified (the file's mtime, which the cache sets to the registry's own
 * date), 304 to an If-Modified-Since that is not older, HEAD without the body. Ranges are not
 * served: the whole file comes back with 200, which HTTP allows and apt and wget handle.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';

export function contentTypeOf(path: string): string {
  if (path.endsWith('.deb')) return 'application/vnd.debian.binary-package';
  if (path.endsWith('.tar.gz')) return 'application/x-gzip';
  return 'application/octet-stream';
}

export async function sendFile(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
  const st = await stat(path);
  const since = Date.parse(req.headers['if-modified-since'] ?? '');
  const modified = st.mtime.toUTCString();
  // HTTP dates have whole seconds.
  if (!Number.isNaN(since) && Math.floor(st.mtimeMs / 1000) * 1000 <= since) {
    res.writeHead(304, { 'Last-Modified': modified });
    res.end();
    return;
  }
  res.writeHead(200, { 'Content-Length': String(st.size), 'Last-Modified': modified, 'Content-Type': contentTypeOf(path) });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  await pipeline(createReadStream(path), res).catch(() => res.destroy()); // the client went away
}
