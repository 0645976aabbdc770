/**
 * Chunk files: the bytes of snapshots, content-addressed (`chunks/<hh>/<sha256>`, layout.ts), so
 * a chunk already stored is never stored again, whichever snapshot or volume it came from.
 *
 * A chunk is written to tmp/ and renamed into place, so a chunk file under its name is always
 * whole (a kill -9 leaves at worst a temp file). Its bytes reach the disk before any manifest
 * names it: `sync()` runs before the manifest is committed. Until then a chunk is "unsynced"; a
 * chunk written by an abandoned create is collected by recover() (a power cut could have left it
 * empty under its name, so it must not survive to be reused). Reads verify the hash: a corrupt
 * chunk is an error, never silently wrong data.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { open, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fsyncPath, type Layout } from './layout.js';
import { forEachLimit } from './parallel.js';

export const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

/** A chunk a snapshot needs is missing or does not hash to its name. */
export class CorruptChunk extends Error {
  readonly code = 'SnapshotCorrupt';
}

export class ChunkFiles {
  /** Chunks renamed into place whose bytes may not be on the disk yet. */
  private readonly unsynced = new Set<string>();
  private readonly dirs = new Set<string>();

  constructor(private readonly layout: Layout) {}

  has(hash: string): boolean {
    return existsSync(this.layout.chunk(hash));
  }

  async put(hash: string, data: Buffer): Promise<void> {
    const path = this.layout.chunk(hash);
    const dir = dirname(path);
    if (!this.dirs.has(dir)) {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      this.dirs.add(dir);
    }
    const tmp = this.layout.tmpFile(hash.slice(0, 16));
    try {
      await writeFile(tmp, data, { mode: 0o600, flag: 'wx' });
      renameSync(tmp, path);
    } catch (e) {
      rmSync(tmp, { force: true });
      throw e;
    }
    this.unsynced.add(hash);
  }

  /** The chunk's bytes, checked against its name and expected length. */
  async read(hash: string, length: number, what: string): Promise<Buffer> {
    let data: Buffer;
    try {
      data = await readFile(this.layout.chunk(hash));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new CorruptChunk(`${what}: chunk ${hash} is missing from the snapshot store`);
      throw e;
    }
    if (data.length !== length) throw new CorruptChunk(`${what}: chunk ${hash} is corrupt (${data.length} bytes, expected ${length})`);
    const actual = sha256(data);
    if (actual !== hash) throw new CorruptChunk(`${what}: chunk ${hash} is corrupt (its bytes hash to ${actual})`);
    return data;
  }

  remove(hash: string): void {
    rmSync(this.layout.chunk(hash), { force: true });
    this.unsynced.delete(hash);
  }

  /** Every stored chunk's hash. */
  *list(): Generator<string> {
    for (const sub of readdirSync(this.layout.chunks)) {
      for (const name of readdirSync(join(this.layout.chunks, sub))) if (/^[0-9a-f]{64}$/.test(name)) yield name;
    }
  }

  /**
   * Makes the chunks in `needed` durable, with their names. One syncfs (`sync -f`, coreutils)
   * flushes the whole filesystem at once, far cheaper than an fsync per chunk, each of which
   * waits for its own journal commit; where `sync -f` fails, each unsynced chunk and its
   * directory are fsynced.
   */
  async sync(needed: Iterable<string>): Promise<void> {
    const todo = [...needed].filter((h) => this.unsynced.has(h));
    if (todo.length === 0) return;
    const before = new Set(this.unsynced);
    if (await syncfs(this.layout.chunks)) {
      // Everything renamed before the syncfs started is on the disk now.
      for (const h of before) this.unsynced.delete(h);
      return;
    }
    const dirs = new Set<string>();
    await forEachLimit(todo, 8, async (h) => {
      const fh = await open(this.layout.chunk(h), 'r');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
      dirs.add(dirname(this.layout.chunk(h)));
    });
    for (const d of dirs) fsyncPath(d);
    for (const h of todo) this.unsynced.delete(h);
  }
}

function syncfs(path: string): Promise<boolean> {
  return new Promise((resolve) => execFile('sync', ['-f', path], (err) => resolve(!err)));
}
