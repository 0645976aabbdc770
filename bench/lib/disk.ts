/**
 * What the disk under a benchmark's temp dir does without kumo, to print beside kumo's figures:
 * 256 MiB written in 1 MiB writes and fsynced, read back (from the page cache, as a read right
 * after a write is), and SHA-256 over the same bytes in process; and the latency of a flush
 * (4 KiB appended, then fdatasync), what every acknowledged write must wait for at least once.
 */
import { createHash } from 'node:crypto';
import { closeSync, fdatasyncSync, fsyncSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { summarize } from './stats.js';

const MiB = 1 << 20;
const TOTAL = 256 * MiB;

/** MiB/s; `block` is the 1 MiB written over and over (random, so nothing compresses it). */
export function rawDisk(dir: string, block: Buffer): { writeMiBs: number; readMiBs: number; sha256MiBs: number } {
  const path = join(dir, 'disk-probe.bin');
  const fd = openSync(path, 'w');
  let t = performance.now();
  for (let off = 0; off < TOTAL; off += MiB) writeSync(fd, block);
  fsyncSync(fd);
  closeSync(fd);
  const writeMs = performance.now() - t;
  const rfd = openSync(path, 'r');
  const buf = Buffer.alloc(MiB);
  t = performance.now();
  while (readSync(rfd, buf, 0, MiB, null) > 0);
  const readMs = performance.now() - t;
  closeSync(rfd);
  rmSync(path);
  t = performance.now();
  for (let off = 0; off < TOTAL; off += MiB) createHash('sha256').update(block).digest();
  const hashMs = performance.now() - t;
  const rate = (ms: number) => TOTAL / MiB / (ms / 1000);
  return { writeMiBs: rate(writeMs), readMiBs: rate(readMs), sha256MiBs: rate(hashMs) };
}

/** fdatasync after each 4 KiB append, `n` times: milliseconds at p50 and p99. */
export function flushLatency(dir: string, n = 200): { p50Ms: number; p99Ms: number } {
  const path = join(dir, 'flush-probe.bin');
  const fd = openSync(path, 'w');
  const block = Buffer.alloc(4096, 1);
  const ms: number[] = [];
  try {
    for (let i = 0; i < n; i++) {
      writeSync(fd, block);
      const t = performance.now();
      fdatasyncSync(fd);
      ms.push(performance.now() - t);
    }
  } finally {
    closeSync(fd);
    rmSync(path);
  }
  const s = summarize(ms);
  return { p50Ms: s.p50, p99Ms: s.p99 };
}
