/**
 * The native driver end to end on this host: launch an instance whose user data writes a page and
 * enables a web server; reach it from a router namespace the test owns (10.213.0.0/24 exists only
 * inside these two namespaces: no traffic leaves them); stop (files persist, nothing held on the
 * host), start (user data does not run again, the enabled service does), terminate (nothing left).
 * Prints launch-to-user-data-done time and the idle instance's memory.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { DEBIAN_12, ensureImage } from '../../src/runtime/images/builder.js';
import { NativeDriver } from '../../src/runtime/instances/native.js';
import { DONE_MARKER, STARTED_MARKER } from '../../src/runtime/instances/first-boot.js';
import { ensureNetns, removeNetns, run } from '../../src/runtime/instances/host.js';
import { IMAGE_CACHE, leftovers, nativeSkipReason, waitFor } from './support.js';

const skip = nativeSkipReason();
const tag = `kt${process.pid}`;
const id = `i-${tag}`;
const forcedId = `i-${tag}-forced`;
const routerNs = `kumo-rt-${tag}`;
// The caller (in kumo, the VPC fabric) owns the instance's namespace; here the test does.
const instanceNs = `kumo-in-${tag}`;
const ADDRESS = '10.213.0.2';

const USER_DATA = `#!/bin/sh
set -e
mkdir -p /srv/www
echo "hello from $(hostname)" > /srv/www/index.html
cat > /etc/systemd/system/web.service <<'UNIT'
[Unit]
Description=test web server
After=network.target
[Service]
ExecStart=/usr/bin/python3 -m http.server 80 --directory /srv/www
[Install]
WantedBy=multi-user.target
UNIT
systemctl enable web.service
systemctl start --no-block web.service
echo "user-data-ran-$((40 + 2))"
`;

let dataDir = '';
let driver: NativeDriver;
let rootfs = '';

async function fetchPage(): Promise<string | undefined> {
  try {
    return await run('ip', ['netns', 'exec', routerNs, 'curl', '-sf', '--max-time', '1', `http://${ADDRESS}/`]);
  } catch {
    return undefined;
  }
}

before(async () => {
  if (skip) return;
  dataDir = mkdtempSync(`/var/tmp/kumo-${tag}-`);
  driver = new NativeDriver({ root: join(dataDir, 'instances'), prefix: 'kumo-test-' });
  rootfs = await ensureImage(IMAGE_CACHE, DEBIAN_12, (l) => console.log(`# ${l}`));
  await ensureNetns(routerNs);
  await ensureNetns(instanceNs);
  // eth0 in the instance's namespace, its peer (the gateway) in the router's; both go with their namespaces.
  const ip = (ns: string, ...args: string[]) => run('ip', ['-n', ns, ...args]);
  await ip(instanceNs, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'gw0', 'netns', routerNs);
  await ip(instanceNs, 'addr', 'add', `${ADDRESS}/24`, 'dev', 'eth0');
  await ip(instanceNs, 'link', 'set', 'eth0', 'up');
  await ip(routerNs, 'addr', 'add', '10.213.0.1/24', 'dev', 'gw0');
  await ip(routerNs, 'link', 'set', 'gw0', 'up');
  await ip(instanceNs, 'route', 'add', 'default', 'via', '10.213.0.1');
});

after(async () => {
  if (skip) return;
  // Clean up whatever a failing test left, then prove nothing of ours remains.
  try {
    for (const i of [id, forcedId]) if (driver.status(i) !== 'terminated') await driver.terminate(i, 5_000);
  } finally {
    await removeNetns(instanceNs);
    await removeNetns(routerNs);
    rmSync(dataDir, { recursive: true, force: true });
  }
  assert.deepEqual(leftovers(tag), [], 'no nspawn process, overlay mount or namespace left behind');
});

test('an instance boots, runs its user data once, serves, stops, starts and terminates', { skip, timeout: 5 * 60_000 }, async (t) => {
  const p = driver.paths(id);
  const launched = Date.now();
  await driver.launch({
    id, imageRootfs: rootfs, hostname: 'ip-10-213-0-2', userData: USER_DATA,
    netns: instanceNs,
  });
  assert.equal(driver.status(id), 'running');
  await waitFor('user data to finish', 60_000, () => existsSync(join(p.merged, DONE_MARKER)));
  const userDataMs = Date.now() - launched;
  assert.equal(readFileSync(join(p.merged, DONE_MARKER), 'utf8').trim(), '0', 'user data exited 0');
  const page = await waitFor('the web server', 30_000, fetchPage);
  assert.equal(page.trim(), 'hello from ip-10-213-0-2');
  assert.match(driver.consoleOutput(id), /user-data-ran-42/, 'user data output is on the console');

  const rss = driver.rss(id);
  t.diagnostic(`launch to user data done: ${userDataMs} ms`);
  t.diagnostic(`idle instance RSS: ${(rss.container / 2 ** 20).toFixed(1)} MiB in ${driver.containerPids(id).length} processes, + ${(rss.nspawn / 2 ** 20).toFixed(1)} MiB systemd-nspawn; PSS of all ${(rss.pss / 2 ** 20).toFixed(1)} MiB`);

  const stopping = Date.now();
  await driver.stop(id);
  t.diagnostic(`clean stop: ${Date.now() - stopping} ms`);
  assert.equal(driver.status(id), 'stopped');
  assert.match(driver.consoleOutput(id), /shutdown\.target[\s\S]*Halting system/, 'stop was an orderly shutdown, not a kill');
  assert.deepEqual(leftovers(tag).filter((l) => !l.includes(routerNs) && !l.includes(instanceNs)), [], 'a stopped instance holds no process, mount or netns');
  assert.ok(existsSync(join(p.dir, 'upper', 'srv/www/index.html')), 'files persist in the root volume');
  assert.ok(existsSync(join(p.dir, 'upper', STARTED_MARKER)));

  const starting = Date.now();
  await driver.start(id, { netns: instanceNs });
  assert.equal(driver.status(id), 'running');
  assert.equal((await waitFor('the web server after start', 30_000, fetchPage)).trim(), 'hello from ip-10-213-0-2');
  t.diagnostic(`start to web server answering: ${Date.now() - starting} ms`);
  assert.equal(driver.consoleOutput(id).match(/user-data-ran-42/g)?.length, 1, 'user data ran only at first boot');

  await driver.terminate(id);
  assert.equal(driver.status(id), 'terminated');
  assert.ok(!existsSync(p.dir), 'root volume deleted');
  assert.ok(!existsSync(`/run/netns/${driver.netnsOf(id)}`));
  assert.deepEqual(leftovers(tag).filter((l) => !l.includes(routerNs) && !l.includes(instanceNs)), []);
});

test('a stop past its deadline kills the container and still leaves nothing behind', { skip, timeout: 60_000 }, async () => {
  await driver.launch({ id: forcedId, imageRootfs: rootfs });
  await waitFor('the container to boot', 10_000, () => driver.containerPids(forcedId).length > 2);
  const pids = driver.containerPids(forcedId);
  // 1 ms is too short for an orderly shutdown, so this takes the SIGKILL path.
  await driver.stop(forcedId, 1);
  assert.equal(driver.status(forcedId), 'stopped');
  assert.deepEqual(leftovers(forcedId), []);
  for (const pid of pids) {
    const stat = existsSync(`/proc/${pid}/stat`) ? readFileSync(`/proc/${pid}/stat`, 'utf8') : '';
    assert.ok(!stat || / Z /.test(stat), `container process ${pid} is gone`);
  }
  await driver.start(forcedId);
  await waitFor('the container to boot again', 10_000, () => driver.containerPids(forcedId).length > 2);
  await driver.terminate(forcedId);
  assert.deepEqual(leftovers(forcedId), []);
});
