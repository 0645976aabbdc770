/**
 * Object bytes. A body of at most INLINE_MAX bytes is kept in state.db (./inline-store.ts), written
 * in the same transaction as the row that refers to it: a small write costs no file of its own,
 * only its share of the commit's flush. A larger one is a file under `<data-dir>/s3/`, named by a
 * random ID, never by its key, so no key can reach outside the directory: it goes to `tmp/`, is
 * flushed, then renamed into `blobs/<2 hex>/<id>` and the directory flushed; only then does the
 * caller commit the metadata row. A crash at any point leaves at worst an unreferenced file (or
 * inline row), which `collectGarbage` removes at the next start. A file a commit stopped
 * referencing (an overwrite, a delete) goes only once that commit is on disk (`release`): before,
 * a power loss would bring the row back without it.
 *
 * File work runs on libuv's thread pool, never on the event loop, except opening a file to read:
 * that is done at once so that no overwrite or delete can come between the row read and the open.
 * Concurrent writes into one directory share its flushes (../../lib/shared-run.ts).
 */
import { randomBytes, type Cipher } from 'node:crypto';
import { close as closeFd, closeSync, createReadStream, mkdirSync, openSync, read as readFd, readdirSync, rmSync } from 'node:fs';
import { mkdir, open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { shared } from '../../lib/shared-run.js';
import { transact } from '../../state/db.js';
import type { Commits } from '../../state/group-commit.js';
import { INLINE_MAX, INLINE_PREFIX, type InlineStore } from './inline-store.js';

/** A body grew past the size its writer allowed. */
export class BlobTooLarge extends Error {
  constructor(readonly size: number) {
    super('blob too large');
  }
}

/** Bytes taken in and not yet referenced by a row: a flushed temporary file, or held in memory. */
export interface PendingBlob {
  id: string;
  size: number;
  tmpPath?: string;
  /** Kept inline: stored with the commit that refers to it. */
  bytes?: Buffer;
}

/** Chunks gather up to this much while the previous write is on the disk. */
const WRITE_BATCH = 1024 * 1024;
/** File ranges up to this size are read with one read into a buffer of their size. */
const SMALL_READ = 256 * 1024;

const inlineRow = (id: string) => (id.startsWith(INLINE_PREFIX) ? Number(id.slice(INLINE_PREFIX.length)) : undefined);

export class BlobStore {
  private readonly tmpDir: string;
  private readonly blobDir: string;
  private readonly made = new Set<string>();
  private readonly dirFlush = new Map<string, () => Promise<void>>();

  constructor(
    readonly root: string,
    private readonly inline: InlineStore,
    private readonly commits: Commits,
  ) {
    this.tmpDir = join(root, 'tmp');
    this.blobDir = join(root, 'blobs');
    mkdirSync(this.tmpDir, { recursive: true });
    mkdirSync(this.blobDir, { recursive: true });
  }

  pathOf(id: string): string {
    return join(this.blobDir, id.slice(0, 2), id);
  }

  /**
   * Takes `body` in, feeding every chunk to `observe`: held in memory while it stays within
   * INLINE_MAX, else written to a temporary file, flushed on return. With `cipher`, what is
   * stored is the body after it (SSE-C); `observe` sees the body.
   */
  async writePending(body: Readable, observe: (chunk: Buffer) => void, maxSize = Number.MAX_SAFE_INTEGER, cipher?: Cipher): Promise<PendingBlob> {
    const held: Buffer[] = [];
    let heldBytes = 0;
    let size = 0;
    let file: TempFile | undefined;
    try {
      for await (const chunk of body as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > maxSize) throw new BlobTooLarge(size);
        observe(chunk);
        const bytes = cipher ? cipher.update(chunk) : chunk;
        if (file) {
          await file.out.write(bytes);
          continue;
        }
        held.push(bytes);
        heldBytes += bytes.length;
        if (heldBytes <= INLINE_MAX) continue;
        file = await this.openTemp();
        for (const b of held.splice(0)) await file.out.write(b);
      }
      const tail = cipher?.final();
      if (!file) return { id: `${INLINE_PREFIX}${this.inline.newId()}`, size, bytes: Buffer.concat(tail ? [...held, tail] : held) };
      if (tail) await file.out.write(tail);
      await file.out.end();
      await file.fh.datasync();
      await file.fh.close();
      return { id: file.id, size, tmpPath: file.tmpPath };
    } catch (e) {
      body.destroy();
      if (file) {
        await file.fh.close().catch(() => {});
        rmSync(file.tmpPath, { force: true });
      }
      throw e;
    }
  }

  /** Moves a finished temporary file to its permanent name, durably (inline bytes: nothing to do). */
  async promote(p: PendingBlob): Promise<void> {
    if (!p.tmpPath) return;
    const dir = join(this.blobDir, p.id.slice(0, 2));
    if (!this.made.has(dir)) {
      await mkdir(dir, { recursive: true });
      this.made.add(dir);
    }
    await rename(p.tmpPath, this.pathOf(p.id));
    await this.flushDir(dir);
  }

  /** Runs `commit` (which writes the row naming `p`) in one transaction with `p`'s inline bytes. */
  commitWith<T>(p: PendingBlob, commit: () => T): T {
    const row = inlineRow(p.id);
    if (row === undefined || !p.bytes) return commit();
    const bytes = p.bytes;
    return transact(this.inline.db, () => {
      this.inline.insert(row, bytes);
      return commit();
    });
  }

  /** A pending blob that will not be committed. */
  discard(p: PendingBlob): void {
    if (p.tmpPath) rmSync(p.tmpPath, { force: true });
  }

  /** A promoted blob whose commit failed (inline bytes went with the transaction). */
  drop(id: string): void {
    if (inlineRow(id) === undefined) rmSync(this.pathOf(id), { force: true });
  }

  /**
   * Blobs a commit stopped referencing. Inline ones go at once: their delete is a later commit
   * than the one that freed them, so it is never on disk without it. Files go once that commit
   * is on disk.
   */
  async release(ids: string[]): Promise<void> {
    await this.releaseFiles(this.releaseInline(ids));
  }

  /**
   * The inline part of `release`, at once (inside the transaction that stopped referencing them,
   * they go with it); returns the file blobs among `ids`, for `releaseFiles`.
   */
  releaseInline(ids: string[]): string[] {
    const rows = ids.map(inlineRow).filter((r): r is number => r !== undefined);
    this.inline.delete(rows);
    return rows.length === ids.length ? [] : ids.filter((id) => inlineRow(id) === undefined);
  }

  /**
   * Blob files a commit stopped referencing, deleted once that commit is on disk. Not waiting
   * for it loses nothing: a file left by a crash meanwhile is an orphan that `collectGarbage`
   * removes at the next start.
   */
  async releaseFiles(files: string[]): Promise<void> {
    if (files.length === 0) return;
    await this.commits.durable();
    await Promise.all(files.map((id) => unlink(this.pathOf(id)).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e;
    })));
  }

  /**
   * Bytes [start, end] of a blob. A file is opened now, and an open descriptor keeps the bytes
   * readable even if the object is overwritten or deleted meanwhile, so no read is torn (inline
   * bytes are read now, whole).
   */
  read(id: string, start: number, end: number): Readable {
    const b = this.body(id, start, end);
    return Buffer.isBuffer(b) ? bufferStream(b) : b;
  }

  /** Like `read`, for an answer's body: inline bytes come as they are, one Buffer. */
  body(id: string, start: number, end: number): Buffer | Readable {
    const row = inlineRow(id);
    if (row !== undefined) {
      const bytes = this.inline.bytes(row);
      if (!bytes) throw Object.assign(new Error(`inline blob ${id} is gone`), { code: 'ENOENT' });
      return end < start ? Buffer.alloc(0) : bytes.subarray(start, end + 1);
    }
    const fd = openSync(this.pathOf(id), 'r');
    if (end < start) {
      closeSync(fd);
      return Readable.from([]);
    }
    if (end - start + 1 <= SMALL_READ) return new SmallRead(fd, start, end - start + 1);
    return createReadStream('', { fd, start, end, highWaterMark: 1024 * 1024 });
  }

  /** Deletes temporary files, and blobs no row references. Returns how many went. */
  collectGarbage(isReferenced: (id: string) => boolean): number {
    let removed = 0;
    for (const f of readdirSync(this.tmpDir)) {
      rmSync(join(this.tmpDir, f), { force: true });
      removed++;
    }
    for (const sub of readdirSync(this.blobDir)) {
      const dir = join(this.blobDir, sub);
      for (const f of readdirSync(dir)) {
        if (!isReferenced(f)) {
          rmSync(join(dir, f), { force: true });
          removed++;
        }
      }
    }
    const orphans = this.inline.ids().filter((row) => !isReferenced(`${INLINE_PREFIX}${row}`));
    this.inline.delete(orphans);
    return removed + orphans.length;
  }

  wipe(): void {
    rmSync(this.tmpDir, { recursive: true, force: true });
    rmSync(this.blobDir, { recursive: true, force: true });
    this.made.clear();
    mkdirSync(this.tmpDir, { recursive: true });
    mkdirSync(this.blobDir, { recursive: true });
  }

  private async openTemp(): Promise<TempFile> {
    const id = randomBytes(16).toString('hex');
    const tmpPath = join(this.tmpDir, id);
    const fh = await open(tmpPath, 'wx');
    return { id, tmpPath, fh, out: new BatchedWriter(fh) };
  }

  private flushDir(dir: string): Promise<void> {
    let flush = this.dirFlush.get(dir);
    if (!flush) {
      flush = shared(async () => {
        const fh = await open(dir, 'r');
        try {
          await fh.sync();
        } finally {
          await fh.close();
        }
      });
      this.dirFlush.set(dir, flush);
    }
    return flush();
  }
}

interface TempFile {
  id: string;
  tmpPath: string;
  fh: FileHandle;
  out: BatchedWriter;
}

export function bufferStream(bytes: Buffer): Readable {
  const r = new Readable({ read() {} });
  if (bytes.length) r.push(bytes);
  r.push(null);
  return r;
}

/**
 * Writes chunks in batches: while one batch is on its way to the disk the next gathers (up to
 * WRITE_BATCH), so reading the body and writing the file overlap, with at most two batches held.
 */
class BatchedWriter {
  private batch: Buffer[] = [];
  private bytes = 0;
  private writing?: Promise<void>;

  constructor(private readonly fh: FileHandle) {}

  async write(chunk: Buffer): Promise<void> {
    if (chunk.length === 0) return;
    this.batch.push(chunk);
    this.bytes += chunk.length;
    if (this.bytes < WRITE_BATCH) return;
    await this.writing;
    this.writing = this.flushBatch();
    // Its failure is seen by the next write or by end(); never left unhandled meanwhile.
    this.writing.catch(() => {});
  }

  async end(): Promise<void> {
    await this.writing;
    await this.flushBatch();
  }

  private async flushBatch(): Promise<void> {
    let bufs = this.batch;
    let left = this.bytes;
    this.batch = [];
    this.bytes = 0;
    while (left > 0) {
      const { bytesWritten } = await this.fh.writev(bufs);
      left -= bytesWritten;
      if (left > 0) bufs = [Buffer.concat(bufs).subarray(bufs.reduce((n, b) => n + b.length, 0) - left)];
    }
  }
}

/** A small range read with one read into a buffer of its size (a file stream would allocate 1 MiB). */
class SmallRead extends Readable {
  private reading = false;
  /** Destroyed while the read was on: the descriptor is closed once it is back. */
  private closeAfter?: () => void;

  constructor(
    private fd: number | undefined,
    private readonly start: number,
    private readonly length: number,
  ) {
    super();
  }

  override _read(): void {
    const fd = this.fd;
    if (fd === undefined || this.reading) return;
    this.reading = true;
    const buf = Buffer.allocUnsafe(this.length);
    readFd(fd, buf, 0, this.length, this.start, (e, n) => {
      this.reading = false;
      if (this.closeAfter) return this.closeAfter();
      if (e) return void this.destroy(e);
      this.push(n === this.length ? buf : buf.subarray(0, n));
      this.push(null);
    });
  }

  override _destroy(e: Error | null, done: (e: Error | null) => void): void {
    const fd = this.fd;
    this.fd = undefined;
    if (fd === undefined) return done(e);
    // Never closed under a read in flight: the number could be reused by another open meanwhile.
    const close = () => closeFd(fd, () => done(e));
    if (this.reading) this.closeAfter = close;
    else close();
  }
}
