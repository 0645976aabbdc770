/**
 * The read side of a snapshot: a disk file in, the list of its non-zero chunks out, with every
 * chunk not already stored written to the chunk files on the way.
 *
 *   extents.ts: which 1 MiB chunks may hold data (only allocated extents; all of them when the
 *   filesystem cannot say) → read each, a few in flight → all zeros: skipped (holes and zeroed
 *   blocks are never stored) → SHA-256 → already stored: referenced → else written → manifest
 *
 * So the cost is the allocated data read plus the new data written, whatever the volume's size,
 * and memory is a few chunks. `claimed` is shared with the store for the length of the create:
 * a hash goes in before its existence is checked, so a delete running meanwhile (store.ts) keeps
 * every chunk this create relies on.
 */
import { type FileHandle, open } from 'node:fs/promises';
import { fstatSync } from 'node:fs';
import type { ChunkFiles } from './chunks.js';
import { sha256 } from './chunks.js';
import { chunkRuns, dataRanges } from './extents.js';
import type { ChunkRef } from './manifest.js';
import { forEachLimit } from './parallel.js';

/** Reads and writes in flight: enough to keep the disk busy while the main thread hashes. */
const IN_FLIGHT = 4;

export interface CaptureOptions {
  chunkSize: number;
  onProgress?: (fraction: number) => void;
  signal?: AbortSignal;
  /** Hashes this create references or wrote; shared with the store (see the header). */
  claimed: Set<string>;
}

export interface Captured {
  sizeBytes: number;
  chunks: ChunkRef[];
  storedBytes: number;
  referencedBytes: number;
}

export async function capture(diskFile: string, store: ChunkFiles, opts: CaptureOptions): Promise<Captured> {
  const { chunkSize, claimed } = opts;
  const progress = progressReporter(opts.onProgress);
  progress(0);
  const fh = await open(diskFile, 'r');
  try {
    const sizeBytes = fstatSync(fh.fd).size;
    const ranges = (await dataRanges(diskFile)) ?? (sizeBytes > 0 ? [[0, sizeBytes] as [number, number]] : []);
    const runs = chunkRuns(ranges, chunkSize);
    const lengthOf = (index: number) => Math.min(chunkSize, sizeBytes - index * chunkSize);
    let total = 0;
    for (const [first, last] of runs) total += (last - first) * chunkSize + lengthOf(last);

    const chunks: ChunkRef[] = [];
    let done = 0;
    let storedBytes = 0;
    let referencedBytes = 0;
    const zero = Buffer.alloc(chunkSize);
    await forEachLimit(
      indexes(runs),
      IN_FLIGHT,
      async (index) => {
        const length = lengthOf(index);
        const buf = await readAt(fh, index * chunkSize, length);
        if (!buf.equals(length === chunkSize ? zero : zero.subarray(0, length))) {
          const hash = sha256(buf);
          chunks.push({ index, hash });
          referencedBytes += length;
          if (!claimed.has(hash)) {
            claimed.add(hash);
            if (!store.has(hash)) {
              await store.put(hash, buf);
              storedBytes += length;
            }
          }
        }
        done += length;
        progress(done / total);
      },
      opts.signal,
    );
    progress(1);
    chunks.sort((a, b) => a.index - b.index);
    return { sizeBytes, chunks, storedBytes, referencedBytes };
  } finally {
    await fh.close();
  }
}

function* indexes(runs: Array<[number, number]>): Generator<number> {
  for (const [first, last] of runs) for (let i = first; i <= last; i++) yield i;
}

async function readAt(fh: FileHandle, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length);
  let got = 0;
  while (got < length) {
    const { bytesRead } = await fh.read(buf, got, length - got, position + got);
    // The file shrank under us: the caller was to keep it quiet; what is gone reads as zeros.
    if (bytesRead === 0) {
      buf.fill(0, got);
      return buf;
    }
    got += bytesRead;
  }
  return buf;
}

/** Calls `report` with increasing fractions, at most once per 0.1 %, and always with 1. */
function progressReporter(report: ((fraction: number) => void) | undefined): (fraction: number) => void {
  let last = -1;
  return (f) => {
    if (!report) return;
    const v = Math.min(1, f);
    if (v === 1 ? last === 1 : v - last < 0.001) return;
    last = v;
    report(v);
  };
}
