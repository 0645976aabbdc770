/**
 * What root in an instance can and cannot do to the host (README, "Security model"): it runs as
 * an unprivileged host user (its own user namespace), a setuid-root file it writes gives nobody on
 * the host any privilege, kumo's data dir is private, and the instance is held to its instance
 * type's memory (t2.nano: 512 MiB; past it the allocating process is killed inside, and the
 * instance keeps running), its vCPUs, and its root volume's size.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { RunInstancesCommand, TerminateInstancesCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { type TestKumo, waitFor } from '../helpers/kumo.js';
import { consoleText, debianImageId, describeInstance, useEc2, waitForState } from '../helpers/ec2.js';
import { leftovers, nativeSkipReason } from './support.js';
import { CONTAINER_ID_BASE } from '../../src/runtime/instances/user-namespace.js';
import { descendantsOf, childrenOf } from '../../src/runtime/instances/host.js';

const skip = nativeSkipReason();
const exec = promisify(execFile);
let kumo: TestKumo;
let ec2: EC2Client;
if (!skip) useEc2((f) => ({ kumo, ec2 } = f));

const USER_DATA = `#!/bin/bash
cp /bin/bash /opt/rootsh && chmod 4755 /opt/rootsh
echo "inside-uid=$(id -u)"
python3 -c "b = b'x' * (200 << 20); print('within-limit-' + 'ok')"
python3 -c "b = b'x' * (768 << 20); print('over-limit-' + 'allocated')"
echo "over-limit-exit=$?"
echo "root-size=$(df -B1 --output=size / | tail -1 | tr -d ' ')"
fallocate -l 9G /too-big 2>&1; echo "fallocate-exit=$?"
echo isolation-done
`;

/** The instance's init (pid 1 inside), found as any host user would: the child of its systemd-nspawn. */
function initOf(instanceId: string): number {
  const nspawn = Number(/^process (\d+):/.exec(leftovers(instanceId).find((l) => l.startsWith('process'))!)![1]);
  return childrenOf(nspawn)[0]!;
}

/** The CPU quota the kernel holds a process to: its cgroup's or the nearest ancestor's that sets one ("quota period"). */
function cpuLimitOf(pid: number): string {
  const v1 = /^\d+:cpu(?:,cpuacct)?:(.*)$/m.exec(readFileSync(`/proc/${pid}/cgroup`, 'utf8'));
  let dir = v1 ? `/sys/fs/cgroup/cpu${v1[1]}` : `/sys/fs/cgroup${/^0::(.*)$/m.exec(readFileSync(`/proc/${pid}/cgroup`, 'utf8'))![1]}`;
  for (; dir.startsWith('/sys/fs/cgroup/'); dir = dirname(dir)) {
    const limit = v1
      ? `${readFileSync(join(dir, 'cpu.cfs_quota_us'), 'utf8').trim()} ${readFileSync(join(dir, 'cpu.cfs_period_us'), 'utf8').trim()}`
      : readFileSync(join(dir, 'cpu.max'), 'utf8').trim();
    if (!/^(-1|max) /.test(limit)) return limit;
  }
  return 'none';
}

/** Runs a command as the host's `nobody`, as any unprivileged local user could. */
const asNobody = (cmd: string, args: string[]) => exec('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', cmd, ...args]);

let id = '';

test('a t2.nano instance whose user data writes a setuid shell and allocates past its memory', { skip, timeout: 5 * 60_000 }, async () => {
  const r = await ec2.send(new RunInstancesCommand({
    ImageId: await debianImageId(ec2), MinCount: 1, MaxCount: 1, InstanceType: 't2.nano', UserData: Buffer.from(USER_DATA).toString('base64'),
  }));
  id = r.Instances![0]!.InstanceId!;
  await waitForState(ec2, id, 'running');
  await waitFor('user data to finish', async () => (await consoleText(ec2, id)).includes('isolation-done'), 120_000);
});

test('root inside an instance is an unprivileged user on the host', { skip }, async () => {
  const out = await consoleText(ec2, id);
  assert.match(out, /inside-uid=0/, 'user data runs as root inside the instance');
  const init = initOf(id);
  const hostUids = [init, ...descendantsOf(init)].map((pid) => {
    try {
      return Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
    } catch {
      return undefined; // exited meanwhile
    }
  }).filter((u) => u !== undefined);
  assert.ok(hostUids.length > 3, 'the instance runs processes');
  assert.ok(hostUids.every((u) => u >= CONTAINER_ID_BASE), `every process of the instance runs as a host uid of its range, none as root: ${hostUids.join(' ')}`);
});

test('a setuid-root file written in an instance gives no privilege on the host', { skip }, async () => {
  const volumeId = (await describeInstance(ec2, id)).BlockDeviceMappings![0]!.Ebs!.VolumeId!;
  // While the instance runs, its root volume's filesystem is mounted under the data dir.
  const mnt = join(kumo.dataDir, 'volumes', volumeId, 'mnt');
  const file = join(mnt, 'upper', 'opt', 'rootsh');
  const st = statSync(file);
  assert.ok(st.mode & 0o4000, 'the file is setuid');
  assert.equal(st.uid, CONTAINER_ID_BASE, 'owned by the instance root, which the host knows as an unprivileged uid');
  const mount = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => l.split(' ')[4] === mnt);
  assert.match(mount?.split(' ')[5] ?? '', /(^|,)nosuid(,|$)/, 'and the volume is mounted nosuid on the host: no setuid bit in it counts there');
  // The data dir keeps every other host user out...
  await assert.rejects(asNobody('ls', [kumo.dataDir]), /Permission denied/);
  // ...and even a copy of the file where anyone can run it (owner and setuid bit kept) is no way to root.
  const open = mkdtempSync('/tmp/kumo-setuid-');
  try {
    chmodSync(open, 0o755);
    await exec('cp', ['-a', file, join(open, 'rootsh')]);
    const { stdout } = await asNobody(join(open, 'rootsh'), ['-p', '-c', 'id -u']);
    assert.equal(stdout.trim(), String(CONTAINER_ID_BASE), 'it runs as the instance root\'s host uid, not as root');
  } finally {
    rmSync(open, { recursive: true, force: true });
  }
});

test('the root disk is the root volume: 8 GiB inside, and full at 8 GiB for that instance alone', { skip }, async () => {
  const out = await consoleText(ec2, id);
  const size = Number(/root-size=(\d+)/.exec(out)?.[1]);
  assert.ok(size > 7.5 * 2 ** 30 && size <= 8 * 2 ** 30, `df / shows the 8 GiB volume, not the host's disk: ${size}`);
  assert.match(out, /No space left on device/, 'more than the volume holds does not fit');
  assert.match(out, /fallocate-exit=1/);
  assert.equal((await describeInstance(ec2, id)).BlockDeviceMappings![0]!.Ebs!.Status, 'attached');
});

test('kumo keeps its state private: data dir 0700, state.db and console logs 0600', { skip }, () => {
  const mode = (p: string) => statSync(p).mode & 0o777;
  assert.equal(mode(kumo.dataDir), 0o700);
  assert.equal(mode(join(kumo.dataDir, 'state.db')), 0o600);
  assert.equal(mode(join(kumo.dataDir, 'instances', id, 'console.log')), 0o600);
});

test('an instance is held to its type: memory past 512 MiB is refused inside it, one vCPU of time', { skip }, async () => {
  const out = await consoleText(ec2, id);
  assert.match(out, /within-limit-ok/, '200 MiB fits in a t2.nano');
  assert.doesNotMatch(out, /over-limit-allocated/, '768 MiB does not');
  assert.match(out, /over-limit-exit=137/, 'the process that went past the limit was killed (SIGKILL), inside the instance');
  const cpu = cpuLimitOf(initOf(id));
  assert.equal(cpu, '100000 100000', 't2.nano has one vCPU: the kernel gives it one period of CPU time per period');
  assert.equal((await describeInstance(ec2, id)).State?.Name, 'running', 'the instance itself keeps running');
  await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
  await waitForState(ec2, id, 'terminated', 60_000);
  assert.deepEqual(leftovers(id), []);
});
