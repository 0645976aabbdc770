// The data dir lock (src/state/data-dir.ts) and the reset wipe (src/state/wipe.ts), in process.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { lockDataDir, pidFilePath, processStart, readPidFile, runningKumo } from '../../src/state/data-dir.js';
import { openDatabase } from '../../src/state/db.js';
import { wipeAll } from '../../src/state/wipe.js';
import { startKumoForTest, tempDir } from '../helpers/kumo.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function dir(): string {
  const d = tempDir('kumo-lock-');
  dirs.push(d);
  return d;
}

/** The pid of a process that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

describe('data dir lock', () => {
  test('one holder at a time, also within one process; release frees it', () => {
    const d = dir();
    const lock = lockDataDir(d, 'test');
    assert.equal(readPidFile(d)?.pid, process.pid);
    assert.equal(readPidFile(d)?.port, 0, 'no port while starting');
    assert.throws(() => lockDataDir(d, 'test'), /is in use by kumo \(pid [0-9]+, still starting\)/);
    lock.ready('127.0.0.1', 4566);
    assert.deepEqual([runningKumo(d)?.host, runningKumo(d)?.port], ['127.0.0.1', 4566]);
    assert.throws(() => lockDataDir(d, 'test'), /port 4566/);
    lock.release();
    assert.ok(!existsSync(pidFilePath(d)));
    assert.equal(runningKumo(d), undefined);
    lockDataDir(d, 'test').release();
  });

  test('a pid file left by a dead process, by a reused pid, or half-written long ago is taken over', () => {
    const d = dir();
    const stale = (p: object) => writeFileSync(pidFilePath(d), JSON.stringify({ host: '127.0.0.1', port: 1, startedAt: '', version: '0', ...p }));
    for (const setup of [
      () => stale({ pid: deadPid() }),
      () => stale({ pid: process.ppid, procStart: 'not-its-start-time' }),
      () => stale({ pid: process.pid }), // this process, but it never locked d: a previous life with the same pid
    ]) {
      setup();
      assert.equal(runningKumo(d), undefined);
      const lock = lockDataDir(d, 'test');
      assert.equal(readPidFile(d)?.pid, process.pid);
      lock.release();
    }
    if (processStart(process.ppid) !== undefined) {
      // The parent is alive and the recorded start time is its own: that is a running holder.
      stale({ pid: process.ppid, procStart: processStart(process.ppid) });
      assert.throws(() => lockDataDir(d, 'test'), /in use/);
      rmSync(pidFilePath(d));
    }
    writeFileSync(pidFilePath(d), '');
    assert.throws(() => lockDataDir(d, 'test'), /being locked by another kumo/, 'an empty, fresh file is a kumo mid-start');
  });

  test('startKumo: a second one on the same dir is refused, and a failed start releases the lock', async () => {
    const d = dir();
    const first = await startKumoForTest({ dataDir: d });
    try {
      await assert.rejects(startKumoForTest({ dataDir: d }), /is in use by kumo/);
      assert.equal(JSON.parse(readFileSync(pidFilePath(d), 'utf8')).port, first.port, 'the refused start left the lock alone');
      assert.equal((await fetch(`${first.url}/_kumo/health`)).status, 200);
    } finally {
      await first.stop();
    }
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    try {
      const port = (blocker.address() as { port: number }).port;
      await assert.rejects(startKumoForTest({ dataDir: d, port }), /already in use/);
      assert.ok(!existsSync(pidFilePath(d)));
    } finally {
      blocker.close();
    }
    const again = await startKumoForTest({ dataDir: d });
    await again.stop();
  });
});

describe('wipeAll', () => {
  test('empties every table, whatever the foreign keys between them, and keeps the schema record', () => {
    const d = dir();
    const db = openDatabase(d);
    try {
      db.exec(`CREATE TABLE zz_parent (id TEXT PRIMARY KEY);
        CREATE TABLE aa_child (id TEXT PRIMARY KEY, parent TEXT NOT NULL REFERENCES zz_parent(id));
        INSERT INTO zz_parent VALUES ('p'); INSERT INTO aa_child VALUES ('c', 'p');
        INSERT INTO schema_migrations VALUES ('x', 1, 'now');`);
      wipeAll(db);
      assert.equal((db.prepare('SELECT count(*) AS n FROM zz_parent').get() as { n: number }).n, 0);
      assert.equal((db.prepare('SELECT count(*) AS n FROM aa_child').get() as { n: number }).n, 0);
      assert.equal((db.prepare('SELECT count(*) AS n FROM schema_migrations').get() as { n: number }).n, 1);
      assert.equal(db.pragma('foreign_keys', { simple: true }), 1, 'foreign keys are enforced again afterwards');
      assert.throws(() => db.exec(`INSERT INTO aa_child VALUES ('orphan', 'nobody')`), /FOREIGN KEY/);
    } finally {
      db.close();
    }
  });
});
