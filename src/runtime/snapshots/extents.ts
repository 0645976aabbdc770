/**
 * Which parts of a disk file hold data, so a snapshot reads only those: a fresh 100 GiB volume
 * is one big hole and costs nothing to snapshot.
 *
 * The filesystem knows (FIEMAP); Node has no lseek(SEEK_DATA) nor ioctl, so we ask `filefrag -e`
 * (e2fsprogs, present on every Debian), which prints each extent's logical range in filesystem
 * blocks. `-s` syncs the file first, so data still in the page cache has its extents allocated
 * (a filesystem that did not report delayed allocations would otherwise hide it). Extents flagged
 * `unwritten` (fallocate'd, never written) read as zeros and are skipped too.
 *
 * Where the filesystem cannot list extents (tmpfs, overlayfs on some kernels) or filefrag is
 * missing or prints something we do not understand, the answer is undefined and the caller reads
 * the whole file, skipping all-zero chunks: correct, only slower. A file with no blocks
 * allocated at all (stat) is known to be empty without asking.
 */
import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { which } from '../detect.js';

/** A byte range [start, end) that may hold data. */
export type Range = [number, number];

/** Data ranges of `file` in offset order, clipped to its size; undefined when they cannot be listed. */
export async function dataRanges(file: string): Promise<Range[] | undefined> {
  const st = statSync(file);
  if (st.blocks === 0 || st.size === 0) return [];
  const filefrag = which('filefrag');
  if (!filefrag) return undefined;
  const out = await run(filefrag, ['-e', '-s', '--', file]);
  if (out === undefined) return undefined;
  return parseFilefrag(out, st.size);
}

/**
 * filefrag -e's extents as byte ranges, or undefined when the output is not what we expect
 * (then nothing is trusted: a misparsed listing could skip data). Its shape (e2fsprogs 1.4x):
 *
 *     File size of f is 8589934592 (2097152 blocks of 4096 bytes)
 *      ext:     logical_offset:        physical_offset: length:   expected: flags:
 *        0:    25600..   26367:   21482496..  21483263:    768:      25600:
 *        1:   262144..  278527:   21463554..  21479937:  16384:   21719040: unwritten
 *     f: 2 extents found
 */
export function parseFilefrag(output: string, size: number): Range[] | undefined {
  const block = /\(\d+ blocks? of (\d+) bytes\)/.exec(output);
  const found = /: (\d+) extents? found\s*$/.exec(output);
  if (!block || !found) return undefined;
  const bs = Number(block[1]);
  const ranges: Range[] = [];
  let lines = 0;
  for (const line of output.split('\n')) {
    const ext = /^\s*(\d+):/.exec(line);
    if (!ext) continue;
    // Extent lines are numbered from 0: one we cannot read means we would miss data.
    const m = /^\s*\d+:\s*(\d+)\.\.\s*(\d+):\s*\d+\.\.\s*\d+:\s*(\d+):(.*)$/.exec(line);
    if (!m || Number(ext[1]) !== lines) return undefined;
    lines++;
    if (/\bunwritten\b/.test(m[4])) continue;
    const start = Number(m[1]) * bs;
    const end = Math.min((Number(m[2]) + 1) * bs, size);
    if (start >= end) continue;
    const last = ranges[ranges.length - 1];
    if (last && start <= last[1]) last[1] = Math.max(last[1], end);
    else ranges.push([start, end]);
  }
  // "N extents found" counts physically discontiguous pieces, so it may be fewer than the lines.
  if (Number(found[1]) > lines) return undefined;
  // filefrag lists in logical order; a listing that is not would be a format we do not know.
  for (let i = 1; i < ranges.length; i++) if (ranges[i][0] < ranges[i - 1][1]) return undefined;
  return ranges;
}

/** Inclusive runs of chunk indexes [first, last] that the byte ranges touch. */
export function chunkRuns(ranges: Range[], chunkSize: number): Array<[number, number]> {
  const runs: Array<[number, number]> = [];
  for (const [start, end] of ranges) {
    const first = Math.floor(start / chunkSize);
    const last = Math.floor((end - 1) / chunkSize);
    const prev = runs[runs.length - 1];
    if (prev && first <= prev[1] + 1) prev[1] = Math.max(prev[1], last);
    else runs.push([first, last]);
  }
  return runs;
}

/** stdout of a command, or undefined when it fails (not supported here, not installed). */
function run(cmd: string, args: string[]): Promise<string | undefined> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, LC_ALL: 'C' } });
    const parts: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => parts.push(d));
    child.on('error', () => resolve(undefined));
    child.on('close', (code) => resolve(code === 0 ? Buffer.concat(parts).toString('utf8') : undefined));
  });
}
