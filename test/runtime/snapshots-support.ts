/**
 * Shared by the snapshot store's tests (snapshots*.test.ts): sparse disk files with data at
 * chosen offsets, whole-file hashes (in a child process: an 8 GiB file takes seconds to hash),
 * allocated sizes, and what a store holds on disk. Real files under a temp dir.
 */
import { execFile } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dataRanges } from '../../src/runtime/snapshots/extents.js';

export const MiB = 1 << 20;
export const GiB = 1 << 30;

export function tempDir(label: string): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), `kumo-${label}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export function writeAt(file: string, offset: number, data: Buffer): void {
  const fd = openSync(file, existsSync(file) ? 'r+' : 'w');
  try {
    writeSync(fd, data, 0, data.length, offset);
  } finally {
    closeSync(fd);
  }
}

/** A sparse file of `size` bytes (one hole); `regions` are written into it. */
export function sparseDisk(file: string, size: number, regions: Array<{ offset: number; data: Buffer }> = []): void {
  writeFileSync(file, '');
  truncateSync(file, size);
  for (const r of regions) writeAt(file, r.offset, r.data);
}

const HASH_SCRIPT = `
const { createHash } = require('node:crypto');
const { openSync, readSync } = require('node:fs');
const h = createHash('sha256');
const fd = openSync(process.argv[1], 'r');
const buf = Buffer.allocUnsafe(8 << 20);
for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0; ) h.update(buf.subarray(0, n));
process.stdout.write(h.digest('hex'));
`;

/**
 * SHA-256 of each whole file (holes read as zeros), in a child process so the test's event loop
 * stays free; one after the other, which on two cores proved faster than side by side.
 */
export async function hashFiles(...files: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const f of files) {
    out.push(
      await new Promise<string>((resolve, reject) =>
        execFile(process.execPath, ['-e', HASH_SCRIPT, f], { maxBuffer: 1 << 16 }, (err, stdout) => (err ? reject(err) : resolve(stdout.trim()))),
      ),
    );
  }
  return out;
}

/** Bytes the filesystem has allocated to the file. */
export const allocated = (file: string): number => statSync(file).blocks * 512;

/** The chunk files of a store: how many, and their bytes. */
export function storedChunks(root: string): { count: number; bytes: number; hashes: string[] } {
  const hashes: string[] = [];
  let bytes = 0;
  const dir = join(root, 'chunks');
  for (const sub of readdirSync(dir)) {
    for (const name of readdirSync(join(dir, sub))) {
      hashes.push(name);
      bytes += statSync(join(dir, sub, name)).size;
    }
  }
  return { count: hashes.length, bytes, hashes: hashes.sort() };
}

/**
 * Why extent listing cannot be tested in `dir` (its filesystem or filefrag cannot list a file's
 * extents), or undefined. Throws under KUMO_REQUIRE_NATIVE=1, as test/runtime/support.ts does.
 */
export async function extentsSkipReason(dir: string): Promise<string | undefined> {
  let reason: string | undefined;
  if (process.platform !== 'linux') reason = `platform is ${process.platform}`;
  else {
    const probe = join(dir, 'extents-probe');
    sparseDisk(probe, 64 * MiB, [{ offset: 32 * MiB, data: Buffer.alloc(4096, 1) }]);
    const ranges = await dataRanges(probe);
    rmSync(probe);
    if (!ranges) reason = `cannot list extents of files in ${dir} (filefrag missing, or its filesystem has no FIEMAP): apt-get install e2fsprogs`;
    else if (ranges.length !== 1) reason = `filefrag listed ${JSON.stringify(ranges)} for one 4 KiB block`;
  }
  if (reason && process.env.KUMO_REQUIRE_NATIVE === '1') throw new Error(`KUMO_REQUIRE_NATIVE=1 but snapshot extent tests cannot run: ${reason}`);
  if (reason) console.log(`# skipping snapshot extent tests: ${reason}`);
  return reason;
}
