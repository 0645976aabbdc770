/**
 * Object bytes, as files under `<data-dir>/s3/`. Names are random IDs, never keys, so no key can
 * reach outside the directory. A write goes to `tmp/`, is fsynced, then renamed into
 * `blobs/<2 hex>/<id>` and the directory fsynced; only then does the caller commit the metadata
 * row. A crash at any point leaves at worst an unreferenced file, which `collectGarbage` removes
 * at the next start.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, createReadStream, createWriteStream, mkdirSync, openSync, readdirSync, rmSync, statSync, renameSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable, Transform, type TransformCallback } from 'node:stream';

/** A body grew past the size its writer allowed. */
export class BlobTooLarge extends Error {
  constructor(readonly size: number) {
    super('blob too large');
  }
}

export interface PendingBlob {
  id: string;
  size: number;
  tmpPath: string;
}

export class BlobStore {
  private readonly tmpDir: string;
  private readonly blobDir: string;

  constructor(readonly root: string) {
    this.tmpDir = join(root, 'tmp');
    this.blobDir = join(root, 'blobs');
    mkdirSync(this.tmpDir, { recursive: true });
    mkdirSync(this.blobDir, { recursive: true });
  }

  pathOf(id: string): string {
    return join(this.blobDir, id.slice(0, 2), id);
  }

  /**
   * Streams `body` into a temporary file, feeding every chunk to `observe`; fsynced on return.
   * With `cipher`, what reaches the file is the body after it (SSE-C); `observe` sees the body.
   */
  async writeTemp(body: Readable, observe: (chunk: Buffer) => void, maxSize = Number.MAX_SAFE_INTEGER, cipher?: Transform): Promise<PendingBlob> {
    const id = randomBytes(16).toString('hex');
    const tmpPath = join(this.tmpDir, id);
    let size = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _e, done: TransformCallback) {
        size += chunk.length;
        if (size > maxSize) return done(new BlobTooLarge(size));
        observe(chunk);
        done(null, chunk);
      },
    });
    // Opened synchronously: an asynchronous open could create the file after a failed upload
    // had already removed it, leaving a stray temporary file.
    const out = createWriteStream(tmpPath, { fd: openSync(tmpPath, 'wx') });
    try {
      if (cipher) await pipeline(body, meter, cipher, out);
      else await pipeline(body, meter, out);
      // fsync off the event loop, so concurrent uploads overlap their waits for the disk.
      const fh = await open(tmpPath, 'r');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
    } catch (e) {
      out.destroy();
      rmSync(tmpPath, { force: true });
      throw e;
    }
    return { id, size, tmpPath };
  }

  /** Moves a finished temporary file to its permanent name, durably. */
  async promote(p: PendingBlob): Promise<void> {
    const dir = join(this.blobDir, p.id.slice(0, 2));
    mkdirSync(dir, { recursive: true });
    renameSync(p.tmpPath, this.pathOf(p.id));
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  }

  discard(p: PendingBlob): void {
    rmSync(p.tmpPath, { force: true });
  }

  remove(id: string): void {
    rmSync(this.pathOf(id), { force: true });
  }

  /**
   * Bytes [start, end] of a blob. The file is opened now, and an open descriptor keeps the bytes
   * readable even if the object is overwritten or deleted meanwhile, so no read is torn.
   */
  read(id: string, start: number, end: number): Readable {
    const fd = openSync(this.pathOf(id), 'r');
    if (end < start) {
      closeSync(fd);
      return Readable.from([]);
    }
    return createReadStream('', { fd, start, end, highWaterMark: 1024 * 1024 });
  }

  size(id: string): number {
    return statSync(this.pathOf(id)).size;
  }

  /** Deletes temporary files and blobs no row references. Returns how many files went. */
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
    return removed;
  }

  wipe(): void {
    rmSync(this.tmpDir, { recursive: true, force: true });
    rmSync(this.blobDir, { recursive: true, force: true });
    mkdirSync(this.tmpDir, { recursive: true });
    mkdirSync(this.blobDir, { recursive: true });
  }
}
