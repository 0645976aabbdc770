/**
 * kill -9 in the middle of a snapshot: a child process (`node --import tsx`) runs the store and
 * prints its progress; the test kills it once progress passes 30 %, then, as kumo does at start,
 * calls recover(): the half snapshot is gone, the chunks it wrote are collected, what was
 * committed before is whole, and the store takes new snapshots as before.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { sha256 } from '../../src/runtime/snapshots/chunks.js';
import { SnapshotStore } from '../../src/runtime/snapshots/store.js';
import { hashFiles, MiB, sparseDisk, storedChunks, tempDir } from './snapshots-support.js';

const STORE_MODULE = fileURLToPath(new URL('../../src/runtime/snapshots/store.ts', import.meta.url));

/** The child: one create, each progress step printed as a line. */
const CHILD = `
import { SnapshotStore } from ${JSON.stringify(STORE_MODULE)};
const [root, id, disk] = process.argv.slice(1);
await new SnapshotStore(root).create(id, disk, { onProgress: (f) => process.stdout.write('progress ' + f + '\\n') });
process.stdout.write('done\\n');
`;

test('kill -9 mid-create: recover() removes the half snapshot and the store stays consistent', { timeout: 120_000 }, async (t) => {
  const tmp = tempDir('snapshots-crash');
  t.after(() => tmp.remove());
  const root = join(tmp.dir, 'store');
  const store = new SnapshotStore(root);

  const base = join(tmp.dir, 'base');
  sparseDisk(base, 256 * MiB, [{ offset: 0, data: randomBytes(16 * MiB) }]);
  await store.create('snap-base', base);
  const committed = storedChunks(root);

  // All new data, so the child is writing chunks when it dies.
  const disk = join(tmp.dir, 'disk');
  sparseDisk(disk, 1024 * MiB, [{ offset: 64 * MiB, data: randomBytes(512 * MiB) }]);
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', CHILD, root, 'snap-half', disk], {
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.on('exit', (code, signal) => resolve(signal ?? code)));
  let killedAt: number | undefined;
  for await (const line of createInterface({ input: child.stdout })) {
    const f = Number(/^progress (.+)$/.exec(line)?.[1]);
    if (f > 0.3) {
      child.kill('SIGKILL');
      killedAt = f;
      break;
    }
    assert.notEqual(line, 'done', 'the child finished before it could be killed');
  }
  assert.equal(await exited, 'SIGKILL', `the child was killed (stderr: ${stderr.slice(-2000)})`);
  t.diagnostic(`killed at progress ${killedAt}`);

  // What the kill left: a create record, chunks no manifest names, no manifest.
  assert.deepEqual(readdirSync(join(root, 'pending')), ['create-snap-half']);
  assert.ok(storedChunks(root).count > committed.count, 'the child had written chunks');
  assert.deepEqual(store.list(), ['snap-base']);
  assert.equal(store.info('snap-half'), undefined);

  const recovered = store.recover();
  assert.deepEqual(recovered.abandoned, ['snap-half']);
  assert.ok(recovered.removedChunks > 0);
  t.diagnostic(`recover(): ${JSON.stringify(recovered)}`);
  assert.deepEqual(storedChunks(root), committed, 'exactly the committed chunks are left');
  for (const h of committed.hashes) assert.equal(sha256(readFileSync(join(root, 'chunks', h.slice(0, 2), h))), h, `chunk ${h} is whole`);
  assert.deepEqual([readdirSync(join(root, 'pending')), readdirSync(join(root, 'tmp'))], [[], []]);
  assert.deepEqual(store.recover(), { abandoned: [], removedChunks: 0 }, 'a second recover() finds nothing');

  // The committed snapshot is whole, and the same id can be taken again.
  await store.restore('snap-base', join(tmp.dir, 'base-out'));
  const info = await store.create('snap-half', disk);
  assert.equal(info.storedBytes, 512 * MiB);
  await store.restore('snap-half', join(tmp.dir, 'disk-out'));
  const [a, b, c, d] = await hashFiles(base, join(tmp.dir, 'base-out'), disk, join(tmp.dir, 'disk-out'));
  assert.equal(b, a);
  assert.equal(d, c);
  assert.equal(existsSync(join(root, 'pending', 'create-snap-half')), false);
});
