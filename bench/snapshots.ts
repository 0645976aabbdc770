/**
 * EBS snapshots (src/runtime/snapshots/, in process, no kumo started): an 8 GiB sparse volume
 * file holding 0, 1 MiB, 100 MiB and 1 GiB of data (1 MiB writes spread evenly over the volume,
 * each unique, fsynced), each into a fresh store on the same filesystem:
 *
 *   first      the first snapshot: ms, MiB/s of data, MiB stored, this process's peak RSS
 *   restore    into a new sparse file: ms, MiB/s, MiB the new file allocates
 *   again      after one more 1 MiB write, the second snapshot: ms and MiB stored
 *
 * Beside them, what the machine does without the store: the disk written with fsync and read
 * back (256 MiB in 1 MiB writes, as s3.ts measures it), and SHA-256 in process, which every
 * chunk read or restored goes through. The volume's data is in the page cache when the snapshot
 * reads it (just written, as after an instance's writes); chunks and restored files go to the
 * disk (fsynced before the manifest, or the file, is committed).
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, rmSync, statSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { SnapshotStore } from '../src/runtime/snapshots/store.js';
import { rawDisk } from './lib/disk.js';
import { table } from './lib/report.js';
import { removeDir, tempDir } from './lib/spawn.js';
import { round } from './lib/stats.js';
import type { Benchmark } from './lib/types.js';

const MiB = 1 << 20;
const VOLUME = 8 * 1024 * MiB;
const DATA_MIB = [0, 1, 100, 1024];
const BLOCK = randomBytes(MiB);

/** A unique 1 MiB block: the shared random block stamped with its number (dedupe must not apply). */
function block(n: number, salt: number): Buffer {
  const b = Buffer.from(BLOCK);
  b.writeUInt32LE(n, 0);
  b.writeUInt32LE(salt, 4);
  return b;
}

/** The volume: `mib` 1 MiB blocks spread evenly over 8 GiB of hole, fsynced. */
function volume(path: string, mib: number): number[] {
  writeFileSync(path, '');
  truncateSync(path, VOLUME);
  const fd = openSync(path, 'r+');
  const offsets: number[] = [];
  try {
    const stride = mib ? Math.floor(VOLUME / MiB / mib) : 0;
    for (let i = 0; i < mib; i++) {
      offsets.push(i * stride * MiB);
      writeSync(fd, block(i, 1), 0, MiB, i * stride * MiB);
    }
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return offsets;
}

/** Runs `fn`, sampling this process's RSS; returns milliseconds and the peak RSS in MiB. */
async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; peakMiB: number; value: T }> {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 10);
  const t = performance.now();
  try {
    const value = await fn();
    return { ms: performance.now() - t, peakMiB: Math.max(peak, process.memoryUsage.rss()) / MiB, value };
  } finally {
    clearInterval(timer);
  }
}

export const snapshots: Benchmark = {
  name: 'snapshots',
  description: 'EBS snapshots of an 8 GiB sparse volume with 0 / 1 MiB / 100 MiB / 1 GiB of data: create, restore, incremental, next to raw disk speed',
  async run(progress) {
    const dir = tempDir('kumo-bench-snapshots-');
    try {
      const rssBefore = process.memoryUsage.rss() / MiB;
      progress('raw disk and SHA-256');
      const raw = rawDisk(dir, BLOCK);
      const rows: Array<Record<string, number>> = [];
      for (const mib of DATA_MIB) {
        const disk = join(dir, 'volume');
        const store = new SnapshotStore(join(dir, `store-${mib}`));
        progress(`8 GiB volume with ${mib} MiB of data`);
        const offsets = volume(disk, mib);
        const first = await timed(() => store.create('snap-1', disk));
        progress(`  first snapshot ${first.ms.toFixed(0)} ms; restoring`);
        const out = join(dir, 'restored');
        const restore = await timed(() => store.restore('snap-1', out));
        const restoredAlloc = statSync(out).blocks * 512;
        rmSync(out);
        // One more 1 MiB write, over existing data when there is some.
        const fd = openSync(disk, 'r+');
        writeSync(fd, block(999_999, 2), 0, MiB, offsets[Math.floor(offsets.length / 2)] ?? 0);
        fsyncSync(fd);
        closeSync(fd);
        const again = await timed(() => store.create('snap-2', disk));
        const perS = (ms: number) => (mib ? mib / (ms / 1000) : NaN);
        rows.push({
          dataMiB: mib,
          firstMs: round(first.ms),
          firstMiBs: round(perS(first.ms)),
          storedMiB: round(first.value.storedBytes / MiB),
          peakRssMiB: round(first.peakMiB),
          restoreMs: round(restore.ms),
          restoreMiBs: round(perS(restore.ms)),
          restoredAllocMiB: round(restoredAlloc / MiB),
          againMs: round(again.ms),
          againStoredMiB: round(again.value.storedBytes / MiB),
        });
        removeDir(join(dir, `store-${mib}`));
        rmSync(disk);
      }
      const text = [
        table('raw disk (node fs, same filesystem, 256 MiB in 1 MiB writes) and hashing', ['what', 'MiB/s'], [
          ['write + fsync', round(raw.writeMiBs)],
          ['read (page cache)', round(raw.readMiBs)],
          ['SHA-256 in process', round(raw.sha256MiBs)],
        ]),
        table(
          'EBS snapshots of an 8 GiB sparse volume (1 MiB chunks; data spread over the volume)',
          ['data', 'snapshot ms', 'MiB/s', 'stored MiB', 'peak RSS MiB', 'restore ms', 'MiB/s', 'restored alloc MiB', '+1 MiB: snapshot ms', 'stored MiB'],
          rows.map((r) => [
            r.dataMiB >= 1024 ? `${r.dataMiB / 1024} GiB` : `${r.dataMiB} MiB`,
            r.firstMs, r.firstMiBs, r.storedMiB, r.peakRssMiB, r.restoreMs, r.restoreMiBs, r.restoredAllocMiB, r.againMs, r.againStoredMiB,
          ]),
        ),
        `\nthis process's RSS before the first snapshot: ${round(rssBefore)} MiB`,
      ].join('');
      return {
        text,
        data: {
          disk: { writeMiBs: round(raw.writeMiBs), readMiBs: round(raw.readMiBs), sha256MiBs: round(raw.sha256MiBs) },
          volumes: rows,
          rssBeforeMiB: round(rssBefore),
        },
      };
    } finally {
      removeDir(dir);
    }
  },
};
