/**
 * The EBS snapshot store (src/runtime/snapshots/) on real files: sparse disk files with data at
 * scattered offsets, snapshotted, restored and compared byte for byte by hash; what a store keeps
 * on disk after incremental snapshots, copies, deletes, aborts and corruption. The kill -9 case
 * runs in snapshots-crash.test.ts. Needs no root; the extent-listing checks need a filesystem
 * with FIEMAP (ext4, xfs, btrfs) and filefrag, and skip (or fail under KUMO_REQUIRE_NATIVE=1)
 * without them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chunkRuns, dataRanges, parseFilefrag } from '../../src/runtime/snapshots/extents.js';
import { SnapshotStore } from '../../src/runtime/snapshots/store.js';
import { which } from '../../src/runtime/detect.js';
import { allocated, extentsSkipReason, GiB, hashFiles, MiB, sparseDisk, storedChunks, tempDir, writeAt } from './snapshots-support.js';

const tmp = tempDir('snapshots');
test.after(() => tmp.remove());
const noExtents = await extentsSkipReason(tmp.dir);

let n = 0;
/** A fresh store and a directory for its disks. */
function fixture(): { store: SnapshotStore; root: string; dir: string } {
  const dir = join(tmp.dir, `t${++n}`);
  const root = join(dir, 'store');
  return { store: new SnapshotStore(root), root, dir };
}

/** Restores `id` to `out` and checks it holds what `disk` holds (or held: `expected`). */
async function assertRestores(store: SnapshotStore, id: string, out: string, disk: string, expected?: string): Promise<void> {
  await store.restore(id, out);
  const [want] = expected ? [expected] : await hashFiles(disk);
  assert.equal((await hashFiles(out))[0], want, `${id} restores to the same bytes`);
}

/** Regions spread over `size`, one per slice, at odd offsets and of assorted sizes. */
function scattered(size: number, count: number): Array<{ offset: number; data: Buffer }> {
  const sizes = [4096, 37_000, MiB, 3.5 * MiB, 200_000, 12_288];
  const slice = Math.floor(size / count);
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const regions = [{ offset: 0, data: randomBytes(64 * 1024) }, { offset: size - 4096, data: randomBytes(4096) }];
  for (let i = 1; i < count - 1; i++) {
    const len = sizes[i % sizes.length];
    regions.push({ offset: i * slice + Math.floor(rand() * (slice - len)), data: randomBytes(len) });
  }
  return regions;
}

/** Indexes of the `unit`-sized blocks the regions touch. */
function touched(regions: Array<{ offset: number; data: Buffer }>, unit: number): Set<number> {
  const out = new Set<number>();
  for (const r of regions) for (let i = Math.floor(r.offset / unit); i <= Math.floor((r.offset + r.data.length - 1) / unit); i++) out.add(i);
  return out;
}

test('an 8 GiB sparse disk: only its data is read and stored, and it restores byte for byte, sparse', { timeout: 120_000 }, async (t) => {
  const { store, root, dir } = fixture();
  const disk = join(dir, 'disk');
  const regions = scattered(8 * GiB, 24);
  sparseDisk(disk, 8 * GiB, regions);
  const dataChunks = touched(regions, MiB).size;
  const dataBlocks = touched(regions, 4096).size;

  if (!noExtents) {
    // What create reads: the allocated extents, nothing of the holes.
    const ranges = (await dataRanges(disk))!;
    const read = chunkRuns(ranges, MiB).reduce((s, [a, b]) => s + b - a + 1, 0);
    assert.equal(read, dataChunks, 'the chunks to read are exactly those with data');
  }

  const fractions: number[] = [];
  let t0 = performance.now();
  const info = await store.create('snap-big', disk, { onProgress: (f) => fractions.push(f) });
  t.diagnostic(`create: ${(performance.now() - t0).toFixed(0)} ms for ${dataChunks} MiB of chunks in 8 GiB`);
  assert.equal(info.sizeBytes, 8 * GiB);
  assert.equal(info.referencedBytes, dataChunks * MiB);
  assert.equal(info.storedBytes, dataChunks * MiB);
  assert.deepEqual(store.info('snap-big'), info);
  assert.deepEqual(store.list(), ['snap-big']);
  const chunks = storedChunks(root);
  assert.equal(chunks.count, dataChunks, 'one chunk file per MiB with data, none for holes');
  assert.equal(chunks.bytes, dataChunks * MiB);
  assert.ok(fractions.length >= 2, 'progress reported');
  assert.equal(fractions.at(-1), 1, 'progress ends at 1');
  for (let i = 1; i < fractions.length; i++) assert.ok(fractions[i] > fractions[i - 1], `progress increases (${fractions[i - 1]} then ${fractions[i]})`);

  const out = join(dir, 'restored');
  t0 = performance.now();
  await store.restore('snap-big', out);
  t.diagnostic(`restore: ${(performance.now() - t0).toFixed(0)} ms`);
  assert.equal(statSync(out).size, 8 * GiB);
  const [a, b] = await hashFiles(disk, out);
  assert.equal(b, a, 'restored disk has the same SHA-256 as the original');
  assert.equal(await store.restore('snap-big', out).catch((e: Error) => e.message), `${out} already exists`);
  // Holes stay holes, down to 4 KiB blocks; a little more for the filesystem's extent tree.
  const alloc = allocated(out);
  t.diagnostic(`restored file allocates ${alloc} bytes for ${dataBlocks * 4096} bytes of 4 KiB data blocks`);
  assert.ok(alloc >= dataBlocks * 4096 && alloc <= dataBlocks * 4096 + MiB, `restored file is sparse (${alloc} bytes allocated)`);
  assert.deepEqual(readdirSync(dir).sort(), ['disk', 'restored', 'store'], 'no temp file left beside the disk');
  // The comparison itself sees one byte in a hole.
  writeAt(out, 5 * GiB + 12345, Buffer.from([1]));
  assert.notEqual((await hashFiles(out))[0], a);
});

test('a fresh 100 GiB volume, and fallocated space, cost nothing to snapshot', { skip: noExtents }, async (t) => {
  const { store, root, dir } = fixture();
  const disk = join(dir, 'disk');
  sparseDisk(disk, 100 * GiB);
  let t0 = performance.now();
  const info = await store.create('snap-empty', disk);
  t.diagnostic(`100 GiB hole: ${(performance.now() - t0).toFixed(0)} ms`);
  assert.deepEqual([info.storedBytes, info.referencedBytes, storedChunks(root).count], [0, 0, 0]);
  const out = join(dir, 'restored');
  await store.restore('snap-empty', out);
  assert.deepEqual([statSync(out).size, allocated(out)], [100 * GiB, 0]);

  if (!which('fallocate')) return t.diagnostic('fallocate (util-linux) missing: unwritten extents not checked');
  // Allocated but never written: the filesystem knows they read as zeros.
  execFileSync('fallocate', ['--keep-size', '-o', String(10 * GiB), '-l', String(256 * MiB), disk]);
  assert.ok(allocated(disk) >= 256 * MiB);
  t0 = performance.now();
  const info2 = await store.create('snap-fallocated', disk);
  t.diagnostic(`256 MiB unwritten extent: ${(performance.now() - t0).toFixed(0)} ms`);
  assert.deepEqual([info2.storedBytes, info2.referencedBytes, storedChunks(root).count], [0, 0, 0]);
});

test('a second snapshot after a 1 MiB change stores ~1 MiB; deleting the first keeps the second restorable', { timeout: 60_000 }, async () => {
  const { store, root, dir } = fixture();
  const disk = join(dir, 'disk');
  sparseDisk(disk, GiB, [{ offset: 100 * MiB, data: randomBytes(32 * MiB) }]);
  assert.equal((await store.create('snap-a', disk)).storedBytes, 32 * MiB);

  writeAt(disk, 110 * MiB, randomBytes(MiB)); // chunk-aligned: one chunk changes
  const b = await store.create('snap-b', disk);
  assert.equal(b.storedBytes, MiB, 'an aligned 1 MiB change stores 1 MiB');
  assert.equal(b.referencedBytes, 32 * MiB);
  assert.equal(storedChunks(root).bytes, 33 * MiB);
  const [hashB] = await hashFiles(disk);

  writeAt(disk, 120 * MiB + 1000, randomBytes(MiB)); // straddles two chunks
  const c = await store.create('snap-c', disk);
  assert.equal(c.storedBytes, 2 * MiB, 'an unaligned 1 MiB change stores the 2 chunks it touches');
  assert.equal(storedChunks(root).bytes, 35 * MiB);
  const [hashC] = await hashFiles(disk);

  store.delete('snap-a');
  assert.deepEqual(store.list(), ['snap-b', 'snap-c']);
  assert.equal(store.info('snap-a'), undefined);
  // Only the chunk of a's that neither b nor c holds (the one b replaced) went.
  assert.equal(storedChunks(root).bytes, 34 * MiB);
  await assertRestores(store, 'snap-b', join(dir, 'b'), disk, hashB);
  await assertRestores(store, 'snap-c', join(dir, 'c'), disk, hashC);

  store.delete('snap-b');
  assert.equal(storedChunks(root).bytes, 32 * MiB, "only c's chunks are left");
  store.delete('snap-c');
  assert.equal(storedChunks(root).count, 0, 'the last delete empties the store');
  store.delete('snap-c'); // a second delete does nothing
});

test('copy shares the data: it costs a manifest and outlives its source', async () => {
  const { store, root, dir } = fixture();
  const disk = join(dir, 'disk');
  sparseDisk(disk, 256 * MiB, [{ offset: 5 * MiB, data: randomBytes(8 * MiB) }, { offset: 200 * MiB + 77, data: randomBytes(5000) }]);
  const x = await store.create('snap-x', disk);
  const before = storedChunks(root);
  const y = store.copy('snap-x', 'snap-y');
  assert.equal(y.id, 'snap-y');
  assert.deepEqual([y.sizeBytes, y.referencedBytes, y.storedBytes], [x.sizeBytes, x.referencedBytes, 0]);
  assert.deepEqual(storedChunks(root), before, 'no chunk was copied');
  assert.throws(() => store.copy('snap-x', 'snap-y'), /already exists/);
  assert.throws(() => store.copy('snap-nope', 'snap-z'), /does not exist/);
  assert.throws(() => store.copy('snap-x', '../escape'), /bad snapshot id/);

  store.delete('snap-x');
  assert.deepEqual(storedChunks(root), before, "the copy keeps the source's chunks");
  await assertRestores(store, 'snap-y', join(dir, 'y'), disk);
});

test('a corrupt, truncated or missing chunk fails restore with a clear error, leaving no file', async () => {
  const { store, root, dir } = fixture();
  const disk = join(dir, 'disk');
  sparseDisk(disk, 64 * MiB, [{ offset: 3 * MiB, data: randomBytes(4 * MiB) }]);
  await store.create('snap-c', disk);
  const [victim] = storedChunks(root).hashes;
  const file = join(root, 'chunks', victim.slice(0, 2), victim);
  const good = readFileSync(file);
  const out = join(dir, 'out');
  const restoreFails = async (pattern: RegExp) => {
    await assert.rejects(store.restore('snap-c', out), pattern);
    assert.deepEqual(readdirSync(dir).sort(), ['disk', 'store'], 'neither the disk nor its temp file is left');
  };

  const flipped = Buffer.from(good);
  flipped[12345] ^= 0x40;
  writeFileSync(file, flipped);
  await restoreFails(new RegExp(`snapshot snap-c at offset \\d+: chunk ${victim} is corrupt \\(its bytes hash to [0-9a-f]{64}\\)`));
  writeFileSync(file, good.subarray(0, 1000));
  await restoreFails(new RegExp(`chunk ${victim} is corrupt \\(1000 bytes, expected ${MiB}\\)`));
  rmSync(file);
  await restoreFails(new RegExp(`chunk ${victim} is missing`));

  writeFileSync(file, good);
  const manifest = join(root, 'snapshots', 'snap-c.manifest');
  const text = readFileSync(manifest, 'utf8');
  writeFileSync(manifest, text.replace(/\n3 /, '\n9 '));
  await restoreFails(/manifest is corrupt/);
  writeFileSync(manifest, text);
  await assertRestores(store, 'snap-c', out, disk); // whole again
});

test('restore: a size that is no whole number of chunks, into a larger size, never over an existing file, never smaller', async () => {
  const { store, dir } = fixture();
  const disk = join(dir, 'disk');
  const size = 64 * MiB + 5000; // the last chunk is 5000 bytes, and holds data
  sparseDisk(disk, size, [{ offset: 60 * MiB, data: randomBytes(4 * MiB + 5000) }]);
  const info = await store.create('snap-r', disk);
  assert.deepEqual([info.sizeBytes, info.referencedBytes], [size, 4 * MiB + 5000]);
  await assertRestores(store, 'snap-r', join(dir, 'same'), disk);
  const big = join(dir, 'big');
  await store.restore('snap-r', big, { sizeBytes: 96 * MiB });
  assert.equal(statSync(big).size, 96 * MiB);
  truncateSync(big, size); // the grown part is zeros: cut it off and the original is back
  assert.deepEqual(...((await hashFiles(disk, big)) as [string, string]));
  assert.ok(allocated(big) <= 5 * MiB);
  await assert.rejects(store.restore('snap-r', big), /already exists/);
  assert.equal(statSync(big).size, size, 'the existing file is untouched');
  await assert.rejects(store.restore('snap-r', join(dir, 'small'), { sizeBytes: 32 * MiB }), /into 33554432 bytes/);
  await assert.rejects(store.restore('snap-nope', join(dir, 'x')), /does not exist/);
});

test('an aborted create leaves nothing: no snapshot, no chunk, no record', async () => {
  const { store, root, dir } = fixture();
  const disk = join(dir, 'disk');
  sparseDisk(disk, 256 * MiB, [{ offset: 0, data: randomBytes(4 * MiB) }]);
  await store.create('snap-keep', disk);
  writeAt(disk, 100 * MiB, randomBytes(64 * MiB));
  const before = storedChunks(root);
  const ac = new AbortController();
  await assert.rejects(
    store.create('snap-aborted', disk, { signal: ac.signal, onProgress: (f) => f > 0.5 && ac.abort() }),
    (e: Error) => e.name === 'AbortError',
  );
  assert.deepEqual(store.list(), ['snap-keep']);
  assert.deepEqual(storedChunks(root), before, 'the chunks it wrote are gone');
  assert.deepEqual([readdirSync(join(root, 'pending')), readdirSync(join(root, 'tmp'))], [[], []]);
  assert.deepEqual(store.recover(), { abandoned: [], removedChunks: 0 }, 'nothing for recover() to do');
  await assert.rejects(store.create('snap-keep', disk), /already exists/);
});

test('deleting a snapshot while another create relies on its chunks keeps them', async () => {
  const { store, root, dir } = fixture();
  const disk = join(dir, 'disk');
  sparseDisk(disk, 128 * MiB, [{ offset: 0, data: randomBytes(64 * MiB) }]);
  await store.create('snap-old', disk);
  let deleted = false;
  // The new snapshot finds every chunk stored already; half way, the old one that stored them goes.
  const info = await store.create('snap-new', disk, {
    onProgress: (f) => {
      if (f > 0.5 && !deleted) (deleted = true), store.delete('snap-old');
    },
  });
  assert.ok(deleted);
  // The chunks it had already counted on stayed; those it reached later it stored again.
  assert.ok(info.storedBytes > 0 && info.storedBytes < 64 * MiB, `stored ${info.storedBytes}`);
  assert.equal(storedChunks(root).count, 64);
  await assertRestores(store, 'snap-new', join(dir, 'out'), disk);
});

test('a create aborted after a delete it kept chunks for leaves none of them behind', async () => {
  const { store, root, dir } = fixture();
  const disk = join(dir, 'disk');
  sparseDisk(disk, 128 * MiB, [{ offset: 0, data: randomBytes(32 * MiB) }]);
  await store.create('snap-old', disk);
  const ac = new AbortController();
  const onProgress = (f: number) => {
    if (f > 0.5 && store.list().length) store.delete('snap-old');
    if (f > 0.7) ac.abort();
  };
  await assert.rejects(store.create('snap-new', disk, { onProgress, signal: ac.signal }), (e: Error) => e.name === 'AbortError');
  assert.deepEqual(store.list(), []);
  assert.equal(storedChunks(root).count, 0, 'neither the chunks it kept alive nor those it wrote');
  assert.deepEqual(store.recover(), { abandoned: [], removedChunks: 0 });
});

test('a snapshot deleted while it is being restored: the restore completes, then its chunks go', async () => {
  const { store, root, dir } = fixture();
  const disk = join(dir, 'disk');
  sparseDisk(disk, 128 * MiB, [{ offset: 0, data: randomBytes(48 * MiB) }]);
  await store.create('snap-d', disk);
  const out = join(dir, 'out');
  let deleted = false;
  await store.restore('snap-d', out, {
    onProgress: (f) => {
      if (f < 0.5 || deleted) return;
      deleted = true;
      store.delete('snap-d');
      assert.deepEqual(store.list(), [], 'gone from the list at once');
      assert.throws(() => store.copy('snap-d', 'snap-e'), /does not exist/);
      assert.equal(existsSync(join(root, 'pending', 'delete-snap-d')), true, 'its record waits for the restore');
      assert.deepEqual(store.recover(), { abandoned: [], removedChunks: 0 }, 'recover() leaves a delete waiting on a restore alone');
    },
  });
  assert.ok(deleted);
  assert.equal((await hashFiles(out))[0], (await hashFiles(disk))[0], 'the restore read every chunk');
  assert.equal(storedChunks(root).count, 0, 'then the chunks went');
  assert.deepEqual(readdirSync(join(root, 'pending')), []);
  await store.create('snap-d', disk); // the id is free again
});

test('recover() finishes a delete a killed process left half done', async () => {
  const { store, root, dir } = fixture();
  const disk = join(dir, 'disk');
  sparseDisk(disk, 64 * MiB, [{ offset: 0, data: randomBytes(8 * MiB) }]);
  await store.create('snap-1', disk);
  writeAt(disk, 0, randomBytes(MiB));
  await store.create('snap-2', disk);
  assert.deepEqual(store.recover(), { abandoned: [], removedChunks: 0 });
  // What a delete killed after its record and before its manifest went leaves: its record, naming a dead process.
  const dead = spawnSync(process.execPath, ['-e', '']).pid;
  writeFileSync(join(root, 'pending', 'delete-snap-1'), JSON.stringify({ op: 'delete', id: 'snap-1', pid: dead, startTime: '1' }));
  assert.deepEqual(store.recover(), { abandoned: [], removedChunks: 1 });
  assert.deepEqual(store.list(), ['snap-2']);
  assert.equal(storedChunks(root).count, 8);
  assert.equal(existsSync(join(root, 'pending', 'delete-snap-1')), false);
});

test('where extents cannot be listed (tmpfs), every chunk is read and zero chunks are skipped', async (t) => {
  const shm = '/dev/shm';
  const mounts = existsSync('/proc/mounts') ? readFileSync('/proc/mounts', 'utf8') : '';
  if (!mounts.split('\n').some((l) => l.split(' ')[1] === shm && l.split(' ')[2] === 'tmpfs')) return t.skip(`${shm} is not a tmpfs here`);
  const { store, root } = fixture();
  const disk = join(shm, `kumo-snap-${process.pid}`);
  const out = `${disk}.out`;
  try {
    const regions = [{ offset: 7 * MiB + 5, data: randomBytes(300_000) }, { offset: 90 * MiB, data: randomBytes(2 * MiB) }];
    sparseDisk(disk, 128 * MiB, regions);
    assert.equal(await dataRanges(disk), undefined, 'tmpfs has no FIEMAP');
    const info = await store.create('snap-tmpfs', disk);
    assert.equal(info.storedBytes, 3 * MiB, 'only the three chunks with data are stored');
    assert.equal(storedChunks(root).count, 3);
    await assertRestores(store, 'snap-tmpfs', out, disk);
    assert.ok(allocated(out) <= 3 * MiB);
  } finally {
    rmSync(disk, { force: true });
    rmSync(out, { force: true });
  }
});

test('filefrag output: extents become byte ranges; unwritten extents and odd output are handled', () => {
  const out = [
    'Filesystem type is: ef53',
    'File size of /x/a b: c is 8589934592 (2097152 blocks of 4096 bytes)',
    ' ext:     logical_offset:        physical_offset: length:   expected: flags:',
    '   0:        0..       0:      34816..     34816:      1:            ',
    '   1:        1..      15:      40000..     40014:     15:      34817:',
    '   2:    25600..   26367:   21482496..  21483263:    768:      40015:',
    '   3:   262144..  278527:   21463554..  21479937:  16384:   21719040: unwritten',
    '   4:  2097151.. 2097151:   21484672..  21484672:      1:   23201410: last,eof',
    '/x/a b: c: 5 extents found',
  ].join('\n');
  const size = 8 * GiB - 100; // the last block is partly past the end
  assert.deepEqual(parseFilefrag(out, size), [
    [0, 16 * 4096],
    [25600 * 4096, 26368 * 4096],
    [2097151 * 4096, size],
  ]);
  assert.deepEqual(chunkRuns(parseFilefrag(out, size)!, MiB), [[0, 0], [100, 102], [8191, 8191]]);
  assert.equal(parseFilefrag(out.replace('5 extents', '6 extents'), size), undefined, 'more extents than lines');
  assert.equal(parseFilefrag(out.replace('5 extents', '4 extents'), size)?.length, 3, 'contiguous pieces are counted as one');
  assert.equal(parseFilefrag(out.replace('   2:    25600..', '   2:    25600.'), size), undefined, 'a line we cannot read');
  assert.equal(parseFilefrag(out.replace('   2:', '   7:'), size), undefined, 'a line missing');
  assert.equal(parseFilefrag('/x: FIBMAP/FIEMAP unsupported', size), undefined);
  assert.deepEqual(parseFilefrag(out.split('\n').slice(0, 3).join('\n') + '\n/x: 0 extents found', size), []);
});
