/**
 * The process driver as EC2 would drive it on a host without nspawn: user data runs once with its
 * output in the console, the instance stays running after the script ends, stop takes down
 * everything the script left running (even what ignores SIGTERM), start does not rerun user data,
 * a restarted kumo finds its running instances again, terminate leaves nothing. Run as the current
 * user; when that is root, once more as `nobody` through setpriv, since non-root hosts are what
 * this driver is for.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ProcessDriver } from '../../src/runtime/instances/process.js';
import { which } from '../../src/runtime/detect.js';
import { waitFor } from './support.js';

const dataDir = mkdtempSync(join(tmpdir(), 'kumo-process-'));
const driver = new ProcessDriver({ root: join(dataDir, 'instances') });
const ids: string[] = [];
let n = 0;
const newId = () => {
  const id = `i-${process.pid.toString(16)}${(n++).toString(16).padStart(4, '0')}`;
  ids.push(id);
  return id;
};

after(async () => {
  for (const id of ids) await driver.terminate(id, 1000);
  const leaked = processesUnder(dataDir);
  rmSync(dataDir, { recursive: true, force: true });
  assert.deepEqual(leaked, [], 'no process of any instance outlives terminate');
});

/** Pids whose working directory is inside dir (Linux; elsewhere none are found). */
function processesUnder(dir: string): number[] {
  if (process.platform !== 'linux') return [];
  return readdirSync('/proc').filter((n) => /^\d+$/.test(n)).map(Number).filter((pid) => {
    try {
      return readlinkSync(`/proc/${pid}/cwd`).startsWith(dir);
    } catch {
      return false;
    }
  });
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};
const spec = (id: string, userData?: string) => ({ id, imageRootfs: '/nonexistent', ...(userData !== undefined ? { userData } : {}) });

test('user data runs at launch with its output in the console; the instance stays running', async () => {
  const id = newId();
  await driver.launch(spec(id, '#!/bin/sh\necho "hello from $INSTANCE_ID in $(pwd)"\necho oops >&2\necho data > made-by-user-data\n'));
  assert.equal(driver.status(id), 'running');
  const p = driver.paths(id);
  await waitFor('user data to finish', 5000, () => existsSync(p.done));
  const out = driver.consoleOutput(id);
  assert.match(out, new RegExp(`hello from ${id} in ${p.root}`));
  assert.match(out, /oops/);
  assert.match(out, /kumo: user data exited with status 0/);
  assert.equal(readFileSync(join(p.root, 'made-by-user-data'), 'utf8'), 'data\n');
  assert.equal(driver.status(id), 'running');
});

test('the user data interpreter comes from #! (python3), and its failure is reported, not fatal', async (t) => {
  if (!which('python3')) return t.skip('no python3');
  const id = newId();
  await driver.launch(spec(id, '#!/usr/bin/env python3\nimport os, sys\nprint("py", os.environ["INSTANCE_ID"], flush=True)\nsys.exit(3)\n'));
  await waitFor('user data to finish', 5000, () => existsSync(driver.paths(id).done));
  assert.match(driver.consoleOutput(id), new RegExp(`py ${id}`));
  assert.match(driver.consoleOutput(id), /exited with status 3/);
  assert.equal(driver.status(id), 'running');
});

test('stop takes down what user data left running, even a process ignoring SIGTERM; start does not rerun user data', async () => {
  const id = newId();
  await driver.launch(spec(id, `#!/bin/sh
sleep 1000 & echo $! > bg.pid
sh -c 'trap "" TERM; echo $$ > stubborn.pid; while :; do sleep 1; done' &
echo ran-once
`));
  const p = driver.paths(id);
  await waitFor('user data to finish', 5000, () => existsSync(p.done) && existsSync(join(p.root, 'stubborn.pid')));
  const pids = ['bg.pid', 'stubborn.pid'].map((f) => Number(readFileSync(join(p.root, f), 'utf8')));
  assert.ok(pids.every(alive));
  const t0 = Date.now();
  await driver.stop(id, 300);
  assert.ok(Date.now() - t0 >= 300, 'waited for the deadline before SIGKILL');
  assert.equal(driver.status(id), 'stopped');
  assert.ok(pids.every((pid) => !alive(pid)), 'nothing of the instance survives stop');
  assert.ok(existsSync(join(p.root, 'bg.pid')), 'files survive stop');

  await driver.start(id);
  assert.equal(driver.status(id), 'running');
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(driver.consoleOutput(id).match(/ran-once/g)?.length, 1);
  await driver.stop(id, 2000);
});

test('a clean stop is quick when everything obeys SIGTERM', async () => {
  const id = newId();
  await driver.launch(spec(id, '#!/bin/sh\nexec sleep 1000\n'));
  await new Promise((r) => setTimeout(r, 100));
  const t0 = Date.now();
  await driver.stop(id, 10_000);
  assert.ok(Date.now() - t0 < 2000, `stop took ${Date.now() - t0} ms`);
  assert.equal(driver.status(id), 'stopped');
});

test('a restarted kumo (new driver, same data dir) sees the running instance and can stop it', async () => {
  const id = newId();
  await driver.launch(spec(id, '#!/bin/sh\necho $$ > pid; exec sleep 1000\n'));
  const p = driver.paths(id);
  await waitFor('user data', 5000, () => existsSync(join(p.root, 'pid')));
  const pid = Number(readFileSync(join(p.root, 'pid'), 'utf8'));
  const again = new ProcessDriver({ root: join(dataDir, 'instances') });
  assert.equal(again.status(id), 'running');
  await again.stop(id, 2000);
  assert.equal(again.status(id), 'stopped');
  assert.equal(driver.status(id), 'stopped');
  await waitFor('user data process to go', 2000, () => !alive(pid));
});

test('gzip-compressed user data runs as its script', async () => {
  const id = newId();
  await driver.launch({ id, imageRootfs: '/nonexistent', userData: gzipSync('#!/bin/sh\necho unzipped-ok\n') });
  await waitFor('user data to finish', 5000, () => existsSync(driver.paths(id).done));
  assert.match(driver.consoleOutput(id), /unzipped-ok/);
});

test('if init dies, the instance is stopped; orphans it left are cleared by stop or start', async () => {
  const id = newId();
  await driver.launch(spec(id, '#!/bin/sh\nsleep 1000 & echo $! > orphan.pid\n'));
  const p = driver.paths(id);
  await waitFor('user data to finish', 5000, () => existsSync(p.done));
  const orphan = Number(readFileSync(join(p.root, 'orphan.pid'), 'utf8'));
  process.kill(Number(readFileSync(p.pid, 'utf8')), 'SIGKILL');
  await waitFor('init to be gone', 2000, () => driver.status(id) === 'stopped');
  assert.ok(alive(orphan));
  await driver.start(id);
  assert.ok(!alive(orphan), 'start cleared the orphan first');
  assert.equal(driver.status(id), 'running');
  await driver.stop(id, 2000);
});

test('non-script user data is skipped with a console note; no user data is fine', async () => {
  const a = newId();
  await driver.launch(spec(a, '#cloud-config\npackages: [nginx]\n'));
  await waitFor('first boot', 5000, () => existsSync(driver.paths(a).done));
  assert.match(driver.consoleOutput(a), /not a #! script/);
  const b = newId();
  await driver.launch(spec(b));
  assert.equal(driver.status(b), 'running');
  assert.equal(driver.consoleOutput(b), '');
});

test('terminate removes everything; status says terminated; ids are checked', async () => {
  const id = newId();
  await driver.launch(spec(id, '#!/bin/sh\nsleep 1000 &\n'));
  await assert.rejects(driver.launch(spec(id)), /already exists/);
  await driver.terminate(id, 2000);
  assert.equal(driver.status(id), 'terminated');
  assert.ok(!existsSync(driver.paths(id).dir));
  assert.equal(driver.consoleOutput(id), '');
  await driver.terminate(id); // idempotent
  assert.throws(() => driver.paths('../etc'), /bad instance id/);
  await assert.rejects(driver.start('i-doesnotexist'), /does not exist/);
});

test('works as an unprivileged user (nobody, via setpriv)', (t) => {
  if (process.getuid?.() !== 0) return t.skip('already not root: the tests above ran unprivileged');
  if (!which('setpriv')) return t.skip('no setpriv');
  const dir = mkdtempSync(join(tmpdir(), 'kumo-process-nobody-'));
  chownSync(dir, 65534, 65534);
  const script = `
    import { ProcessDriver } from './src/runtime/instances/process.ts';
    import { existsSync } from 'node:fs';
    const d = new ProcessDriver({ root: process.env.DIR + '/instances' });
    await d.launch({ id: 'i-nobody', imageRootfs: '/', userData: '#!/bin/sh\\necho "uid=$(id -u)"\\nsleep 1000 &\\n' });
    for (let i = 0; i < 100 && !existsSync(d.paths('i-nobody').done); i++) await new Promise((r) => setTimeout(r, 50));
    const status = d.status('i-nobody');
    await d.stop('i-nobody', 1000);
    console.log(JSON.stringify({ status, after: d.status('i-nobody'), out: d.consoleOutput('i-nobody') }));
    await d.terminate('i-nobody');
  `;
  try {
    const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '--', process.execPath, '--import', 'tsx',
      '--input-type=module', '-e', script], { cwd: process.cwd(), env: { PATH: process.env.PATH, DIR: dir }, encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 0, r.stderr);
    const got = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { status: string; after: string; out: string };
    assert.equal(got.status, 'running');
    assert.equal(got.after, 'stopped');
    assert.match(got.out, /uid=65534/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
