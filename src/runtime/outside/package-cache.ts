/**
 * The package cache: the registry's files on disk as `<dir>/<host>/<path>` of their upstream URL,
 * shared by every kumo of the machine and every test run (it lives next to the image cache).
 *
 *   ask(url) → complete file, immutable or fresh → served from disk: nothing downloaded
 *            → otherwise one download per file at a time (whoever asks meanwhile joins it),
 *              streamed to every asker while it is written under .tmp/, checked against its
 *              Content-Length, synced, and renamed into place only then: a crash or a cut
 *              connection never leaves a half file where a later request would take it
 *
 * Immutable files (packages under pool/, indexes by hash) are never fetched twice. Mutable ones
 * (InRelease, …) count as fresh for FRESH_MS after kumo last checked them; then one conditional
 * request (If-Modified-Since the cached file's date), and a new body byte for byte the old one
 * keeps the old file and date, so clients' own If-Modified-Since keep matching (some mirrors and
 * the caches in front of them send no Last-Modified). With the registry unreachable, a stale
 * copy is served. Clients' Cache-Control is not obeyed (apt asks max-age=0 for every index):
 * this cache decides, as apt-cacher-ng does.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, mkdirSync, readdirSync, rmSync, statSync, type Stats } from 'node:fs';
import { mkdir, open, rename, rm, utimes, type FileHandle } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import { isAlive } from '../../lib/process.js';
import { contentTypeOf, sendFile } from './send-file.js';
import type { Upstream } from './upstream.js';

/** How long kumo trusts an index it checked (Debian's mirrors change a few times a day). */
export const FRESH_MS = 5 * 60_000;

export interface CacheStats {
  /** Answered from disk without asking the registry. */
  hits: number;
  /** Complete bodies fetched from the registry. */
  downloads: number;
  bytesDownloaded: number;
  /** Conditional requests the registry answered 304 (nothing downloaded). */
  revalidations: number;
  upstreamErrors: number;
}

type Outcome = { kind: 'stored' } | { kind: 'unchanged' } | { kind: 'status'; status: number; location?: string } | { kind: 'failed'; error: Error };
type Head = { kind: 'body'; tmp: string; length?: number; lastModified: Date } | Outcome;

/** One file on its way from the registry: its head once the registry answered, its bytes as they land. */
class Download {
  written = 0;
  end: Outcome | undefined;
  readonly head: Promise<Head>;
  readonly done: Promise<Outcome>;
  private setHead!: (h: Head) => void;
  private setDone!: (o: Outcome) => void;
  private waiting: (() => void)[] = [];

  constructor() {
    this.head = new Promise((r) => (this.setHead = r));
    this.done = new Promise((r) => (this.setDone = r));
  }

  begin(h: Head): void {
    this.setHead(h);
  }

  wrote(n: number): void {
    this.written += n;
    this.wakeAll();
  }

  settle(o: Outcome): void {
    this.end = o;
    this.setHead(o); // no-op when the body had begun
    this.setDone(o);
    this.wakeAll();
  }

  /** Resolves at the next write or at the end. */
  progress(): Promise<void> {
    return this.end ? Promise.resolve() : new Promise((r) => this.waiting.push(r));
  }

  private wakeAll(): void {
    const w = this.waiting;
    this.waiting = [];
    for (const r of w) r();
  }
}

export class PackageCache {
  readonly stats: CacheStats = { hits: 0, downloads: 0, bytesDownloaded: 0, revalidations: 0, upstreamErrors: 0 };
  private readonly inflight = new Map<string, Download>();
  private readonly checked = new Map<string, number>();
  private readonly tmpDir: string;

  constructor(
    private readonly dir: string,
    private readonly upstream: Upstream,
    private readonly now: () => number = Date.now,
  ) {
    this.tmpDir = join(dir, '.tmp');
    mkdirSync(this.tmpDir, { recursive: true });
    // Half downloads of kumos that died: never served (never renamed), removed here.
    for (const f of readdirSync(this.tmpDir)) {
      const pid = Number(/^(\d+)-/.exec(f)?.[1]);
      if (!pid || (pid !== process.pid && !isAlive(pid))) rmSync(join(this.tmpDir, f), { force: true });
    }
  }

  /** Where the file for an upstream URL lives (whether or not it is there yet). */
  pathOf(url: URL): string {
    return join(this.dir, url.host.toLowerCase(), url.pathname);
  }

  /** Answers `req` with the file behind `url`, from disk or (streamed while it downloads) from the registry. */
  async serve(req: IncomingMessage, res: ServerResponse, url: URL, immutable: boolean): Promise<void> {
    const path = this.pathOf(url);
    if (this.usable(path, immutable)) {
      this.stats.hits++;
      return sendFile(req, res, path);
    }
    const dl = this.fetch(url, path, immutable);
    const head = await dl.head;
    if (head.kind === 'body') return this.streamGrowing(req, res, dl, head, path);
    if (head.kind === 'stored' || head.kind === 'unchanged') return sendFile(req, res, path);
    if (head.kind === 'status') {
      res.writeHead(head.status, head.location ? { Location: head.location } : {});
      res.end();
      return;
    }
    // The registry is unreachable: yesterday's index beats none.
    if (stat(path)) return sendFile(req, res, path);
    res.writeHead(504, { 'Content-Type': 'text/plain' });
    res.end(`kumo: the package registry did not answer: ${head.error.message}\n`);
  }

  /** The complete file behind `url` (for kumo's own use: building downloads from packages). */
  async file(url: URL, immutable: boolean): Promise<string> {
    const path = this.pathOf(url);
    if (this.usable(path, immutable)) {
      this.stats.hits++;
      return path;
    }
    const o = await this.fetch(url, path, immutable).done;
    if (o.kind === 'stored' || o.kind === 'unchanged') return path;
    if (o.kind === 'failed' && stat(path)) return path;
    throw new Error(`${url.href}: ${o.kind === 'status' ? `HTTP ${o.status}` : o.error.message}`);
  }

  /** Forgets a file found corrupt (a checksum that does not match): the next ask downloads it again. */
  discard(url: URL): void {
    rmSync(this.pathOf(url), { force: true });
  }

  private usable(path: string, immutable: boolean): boolean {
    if (!stat(path)) return false;
    if (immutable) return true;
    // Checked by an earlier kumo process: checked once by this one.
    const at = this.checked.get(path);
    return at !== undefined && this.now() - at < FRESH_MS;
  }

  private fetch(url: URL, path: string, immutable: boolean): Download {
    const running = this.inflight.get(path);
    if (running) return running;
    const dl = new Download();
    this.inflight.set(path, dl);
    void this.run(dl, url, path, immutable).finally(() => this.inflight.delete(path));
    return dl;
  }

  private async run(dl: Download, url: URL, path: string, immutable: boolean): Promise<void> {
    const have = stat(path);
    let res: IncomingMessage;
    try {
      res = await this.upstream(url, have && !immutable ? { 'if-modified-since': have.mtime.toUTCString() } : {});
    } catch (err) {
      this.stats.upstreamErrors++;
      return dl.settle({ kind: 'failed', error: err as Error });
    }
    if (res.statusCode === 304 && have) {
      res.resume();
      this.stats.revalidations++;
      this.checked.set(path, this.now());
      return dl.settle({ kind: 'unchanged' });
    }
    if (res.statusCode !== 200) {
      res.resume();
      if ((res.statusCode ?? 500) >= 500) this.stats.upstreamErrors++;
      const location = res.headers.location;
      return dl.settle({ kind: 'status', status: res.statusCode ?? 502, ...(location ? { location } : {}) });
    }
    const tmp = join(this.tmpDir, `${process.pid}-${randomBytes(6).toString('hex')}`);
    let fd: FileHandle | undefined;
    try {
      fd = await open(tmp, 'w', 0o644);
      const length = /^\d+$/.test(res.headers['content-length'] ?? '') ? Number(res.headers['content-length']) : undefined;
      const date = Date.parse(res.headers['last-modified'] ?? '');
      const lastModified = new Date(Number.isNaN(date) ? this.now() : date);
      dl.begin({ kind: 'body', tmp, lastModified, ...(length !== undefined ? { length } : {}) });
      const hash = createHash('sha256');
      for await (const chunk of res as AsyncIterable<Buffer>) {
        await fd.write(chunk);
        hash.update(chunk);
        this.stats.bytesDownloaded += chunk.length;
        dl.wrote(chunk.length);
      }
      if (length !== undefined && dl.written !== length) throw new Error(`${url.href}: the connection ended after ${dl.written} of ${length} bytes`);
      await fd.datasync();
      await fd.close();
      fd = undefined;
      await utimes(tmp, lastModified, lastModified);
      this.stats.downloads++;
      if (have && !immutable && (await sha256Of(path)) === hash.digest('hex')) await rm(tmp);
      else {
        await mkdir(dirname(path), { recursive: true });
        await rename(tmp, path);
      }
      this.checked.set(path, this.now());
      dl.settle({ kind: 'stored' });
    } catch (err) {
      await fd?.close().catch(() => {});
      await rm(tmp, { force: true });
      this.stats.upstreamErrors++;
      dl.settle({ kind: 'failed', error: err as Error });
    }
  }

  /**
   * The body as it lands in the download's temporary file (still readable after its rename or
   * removal, once open). A download that finished before the file could be opened is the cached
   * file by then.
   */
  private async streamGrowing(req: IncomingMessage, res: ServerResponse, dl: Download, head: Head & { kind: 'body' }, path: string): Promise<void> {
    let fd: FileHandle;
    try {
      fd = await open(head.tmp, 'r');
    } catch {
      const end = await dl.done;
      return end.kind === 'stored' ? sendFile(req, res, path) : void res.destroy();
    }
    try {
      res.writeHead(200, {
        ...(head.length !== undefined ? { 'Content-Length': String(head.length) } : {}),
        'Last-Modified': head.lastModified.toUTCString(),
        'Content-Type': contentTypeOf(req.url ?? ''),
      });
      if (req.method === 'HEAD') return void res.end();
      let pos = 0;
      while (!res.destroyed) {
        if (pos < dl.written) {
          // A buffer per chunk: res.write may hold it until it is flushed.
          const buf = Buffer.allocUnsafe(Math.min(1 << 16, dl.written - pos));
          const { bytesRead } = await fd.read(buf, 0, buf.length, pos);
          pos += bytesRead;
          if (!res.write(buf.subarray(0, bytesRead))) await drained(res);
        } else if (dl.end?.kind === 'failed') {
          res.destroy(); // the asker sees a cut body, as from the registry itself
        } else if (dl.end) {
          res.end();
          return;
        } else await dl.progress();
      }
    } finally {
      await fd.close();
    }
  }
}

/** Resolves once `res` can take more, or is gone. */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

function stat(path: string): Stats | undefined {
  try {
    const st = statSync(path);
    return st.isFile() ? st : undefined;
  } catch {
    return undefined;
  }
}

export function sha256Of(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path).on('error', reject).on('data', (c) => h.update(c)).on('end', () => resolve(h.digest('hex')));
  });
}
