/**
 * Shared by the snapshot store's tests (snapshots*.test.ts): sparse disk files with data at
 * chosen offsets, whole-file hashes (fast enough for 8 GiB: see hashFiles), allocated sizes, and what a store holds on disk. Real files under a temp dir.
 */
import { createHash } from 'node:crypto';
import { closeSync, constants, existsSync, mkdtempSync, openSync, readdirSync, readSync, rmSync, statSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
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

const BLOCK = 8 * MiB;
const ZERO = Buffer.alloc(BLOCK);
const ZERO_BLOCK_DIGEST = createHash('sha256').update(ZERO).digest();

/**
 * A SHA-256 of each whole file, every byte read (holes as zeros; nothing asks the filesystem
 * where the data is, as the store does). Two things keep an 8 GiB file from taking a minute:
 * reads bypass the page cache with O_DIRECT where the filesystem allows (reading a hole through
 * the cache allocates and zeroes a cache page for each of its 4 KiB), and the hash is of the
 * 8 MiB blocks' hashes, an all-zero block's being computed once, so zeros cost a comparison
 * rather than a hash. Any byte that differs still changes the result.
 */
export async function hashFiles(...files: string[]): Promise<string[]> {
  return files.map(hashFile);
}

function hashFile(file: string): string {
  // O_DIRECT needs a block-aligned buffer: WebAssembly memory is page-aligned.
  const buf = Buffer.from(new WebAssembly.Memory({ initial: BLOCK / 65536 }).buffer);
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_DIRECT);
  } catch {
    fd = openSync(file, 'r'); // tmpfs has no O_DIRECT
  }
  try {
    const outer = createHash('sha256');
    for (let pos = 0; ; ) {
      let n = 0;
      while (n < BLOCK) {
        const got = readSync(fd, buf, n, BLOCK - n, pos + n);
        if (got === 0) break;
        n += got;
      }
      if (n === 0) break;
      const block = buf.subarray(0, n);
      outer.update(n === BLOCK && block.equals(ZERO) ? ZERO_BLOCK_DIGEST : createHash('sha256').update(block).digest());
      pos += n;
      if (n < BLOCK) break;
    }
    return outer.digest('hex');
  } finally {
    closeSync(fd);
  }
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
