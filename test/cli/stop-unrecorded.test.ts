// `kumo stop` when the pid file cannot help: a kumo whose kumo.pid was deleted is still found (by
// the state.db it holds open), stopped, and guarded against a second kumo on its data dir; a
// kumo started through `npx`, whose npx was sent SIGTERM, is stopped all the same. A process
// that merely has state.db open, and is not kumo, is left alone.
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { isKumoStart } from '../../src/state/data-dir.js';
import { ROOT, waitFor } from '../helpers/kumo.js';
import { useKumoProcesses } from '../helpers/kumo-process.js';
import { missing } from '../helpers/tools.js';

const kumos = useKumoProcesses();
const dir = () => kumos.dataDir('kumo-stop-');
/** Processes other than `kumo start` (npx, a file holder), killed after the tests. */
const others: ChildProcess[] = [];
after(() => {
  for (const c of others) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** `kumo <args>` to completion, with none of the caller's KUMO_* settings. */
function kumo(args: string[]): Promise<Run> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('KUMO_')));
  return new Promise((resolve) => {
    execFile(process.execPath, [join(ROOT, 'bin', 'kumo.js'), ...args], { env, timeout: 90_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

const answers = async (url: string) => {
  try {
    return (await fetch(`${url}/_kumo/health`, { signal: AbortSignal.timeout(2000) })).ok;
  } catch {
    return false;
  }
};

test('a kumo whose pid file was deleted: status finds it, a second start and reset are refused, stop stops it', { timeout: 120_000 }, async () => {
  const dataDir = dir();
  const k = await kumos.start(dataDir);
  rmSync(join(dataDir, 'kumo.pid'));

  const st = await kumo(['status', '--data-dir', dataDir]);
  assert.equal(st.code, 0, st.stdout + st.stderr);
  assert.match(st.stdout, new RegExp(`kumo is running: pid ${k.child.pid}, data dir ${dataDir}\\n.*pid file .* is gone`));

  const second = await kumo(['start', '--port', '0', '--data-dir', dataDir]);
  assert.equal(second.code, 1, 'a second kumo must not open the same data dir');
  assert.match(second.stderr, new RegExp(`in use by kumo \\(pid ${k.child.pid}\\), whose pid file is gone`));
  const reset = await kumo(['reset', '--data-dir', dataDir]);
  assert.equal(reset.code, 1);
  assert.match(reset.stderr, /its pid file is gone/);
  assert.ok(existsSync(join(dataDir, 'state.db')), 'reset wiped nothing under a running kumo');
  assert.ok(await answers(k.url), 'and the first kumo still serves');

  const stop = await kumo(['stop', '--data-dir', dataDir]);
  assert.equal(stop.code, 0, stop.stderr);
  assert.match(stop.stdout, new RegExp(`kumo \\(pid ${k.child.pid}\\) stopped`));
  assert.equal(await k.exited, 0, 'it stopped cleanly, on SIGTERM');
  const after = await kumo(['status', '--data-dir', dataDir]);
  assert.equal(after.code, 3);
});

test('kumo started with npx: SIGTERM to npx does not reach it, `kumo stop` does', { timeout: 120_000 }, async (t) => {
  const dataDir = dir();
  // --no: never download; npx runs this checkout's own bin (package.json "bin").
  const npx = spawn('npx', ['--no', 'kumo', 'start', '--port', '0', '--quiet', '--data-dir', dataDir], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('KUMO_'))), KUMO_RUNTIME: 'process' },
  });
  others.push(npx);
  let out = '';
  npx.stdout!.on('data', (d) => (out += d));
  npx.stderr!.on('data', (d) => (out += d));
  const npxExited = new Promise((resolve) => npx.once('exit', resolve));
  const url = (await waitFor('kumo under npx to be ready', () => /ready on (http:\/\/[0-9.]+:[0-9]+)/.exec(out)?.[1], 60_000))!;
  npx.kill('SIGTERM');
  await npxExited;
  const outlived = await answers(url);
  t.diagnostic(outlived ? 'kumo outlived its npx (npx does not pass SIGTERM on)' : 'npx passed SIGTERM on');

  const stop = await kumo(['stop', '--data-dir', dataDir]);
  assert.equal(stop.code, 0, stop.stderr);
  assert.match(stop.stdout, outlived ? /kumo \(pid \d+\) stopped/ : /not running/);
  assert.equal(await answers(url), false, 'nothing serves on that data dir any more');
  const st = await kumo(['status', '--data-dir', dataDir]);
  assert.equal(st.code, 3, st.stdout);
});

test('a process that has state.db open but is not kumo is neither stopped nor counted', { timeout: 60_000, skip: missing('python3') }, async () => {
  const dataDir = dir();
  const k = await kumos.start(dataDir);
  assert.equal((await kumo(['stop', '--data-dir', dataDir])).code, 0);
  await k.exited;
  const holder = spawn('python3', ['-c', `import sys,time\nf=open(${JSON.stringify(join(dataDir, 'state.db'))},'rb')\nprint('open',flush=True)\ntime.sleep(60)`], { stdio: ['ignore', 'pipe', 'inherit'] });
  others.push(holder);
  await new Promise((resolve) => holder.stdout!.once('data', resolve));
  const stop = await kumo(['stop', '--data-dir', dataDir]);
  assert.match(stop.stdout, /kumo is not running/);
  assert.equal(holder.exitCode, null, 'the python process was not signalled');
  const again = await kumos.start(dataDir);
  assert.ok(await answers(again.url), 'a kumo starts on that data dir');
  await again.kill('SIGTERM');
  holder.kill('SIGKILL');
});

test('what counts as `kumo start` on a command line', () => {
  assert.ok(isKumoStart(['node', '/opt/kumo/bin/kumo.js', 'start', '--data-dir', '/d']));
  assert.ok(isKumoStart(['node', '/root/.npm/_npx/0123/node_modules/.bin/kumo', 'start']));
  assert.ok(isKumoStart(['/usr/bin/node', '/opt/kumo/dist/cli/main.js', 'start']));
  assert.ok(!isKumoStart(['node', '/opt/kumo/bin/kumo.js', 'status']));
  assert.ok(!isKumoStart(['python3', '-c', 'start']));
  assert.ok(!isKumoStart(['sqlite3', '/home/u/.kumo/state.db']));
});
