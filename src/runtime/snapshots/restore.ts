/**
 * The write side: a snapshot's chunks into a new sparse disk file.
 *
 *   manifest refs → read each chunk, a few in flight → check its SHA-256 (a corrupt or missing
 *   chunk fails the restore) → write its non-zero 4 KiB blocks at their offsets
 *
 * Only data is written: chunks the snapshot does not list stay holes, and so do the all-zero
 * blocks inside a stored chunk (an ext4 image's free blocks), so the new file allocates about
 * what the original held. It is built as `<diskFile>.restoring` (a crashed restore's leftover is
 * overwritten by the next), fsynced, then hard-linked to its name, which fails rather than
 * replace an existing file: a disk file appears whole or not at all, and never clobbers one.
 */
import { linkSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { ChunkFiles } from './chunks.js';
import { fsyncPath } from './layout.js';
import type { Manifest } from './manifest.js';
import { forEachLimit } from './parallel.js';

const IN_FLIGHT = 4;
/** The filesystem block: the finest grain a hole can have. */
const BLOCK = 4096;
const ZERO_BLOCK = Buffer.alloc(BLOCK);

export async function writeSparse(diskFile: string, sizeBytes: number, manifest: Manifest, store: ChunkFiles, onProgress?: (fraction: number) => void): Promise<void> {
  const tmp = `${diskFile}.restoring`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.truncate(sizeBytes);
    const what = `snapshot ${manifest.id}`;
    let done = 0;
    await forEachLimit(manifest.chunks, IN_FLIGHT, async ({ index, hash }) => {
      const offset = index * manifest.chunkSize;
      const length = Math.min(manifest.chunkSize, manifest.sizeBytes - offset);
      const data = await store.read(hash, length, `${what} at offset ${offset}`);
      for (const [start, end] of dataRuns(data)) await fh.write(data, start, end - start, offset + start);
      done++;
      onProgress?.(done / manifest.chunks.length);
    });
    await fh.sync();
    await fh.close();
    linkSync(tmp, diskFile);
    rmSync(tmp);
    fsyncPath(dirname(diskFile));
  } catch (e) {
    await fh.close().catch(() => {});
    rmSync(tmp, { force: true });
    throw e;
  }
  if (manifest.chunks.length === 0) onProgress?.(1);
}

/** Runs [start, end) of `data` made of 4 KiB blocks that are not all zeros. */
function* dataRuns(data: Buffer): Generator<[number, number]> {
  let start = -1;
  for (let off = 0; off < data.length; off += BLOCK) {
    const end = Math.min(off + BLOCK, data.length);
    const zero = data.subarray(off, end).equals(end - off === BLOCK ? ZERO_BLOCK : ZERO_BLOCK.subarray(0, end - off));
    if (!zero && start < 0) start = off;
    if (zero && start >= 0) {
      yield [start, off];
      start = -1;
    }
  }
  if (start >= 0) yield [start, data.length];
}
