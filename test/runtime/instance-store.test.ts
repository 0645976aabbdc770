/**
 * Instance store as a user meets it on an i3.large: a raw NVMe disk (/dev/nvme1n1, 475 GB) that
 * root inside formats and mounts with the usual commands (mkfs, mount: kumo mounts it for the
 * instance, see README "Security model"), whose data survives a reboot and is gone after a
 * stop/start, while the EBS root volume keeps everything. A non-root user cannot mount it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RebootInstancesCommand, RunInstancesCommand, StartInstancesCommand, StopInstancesCommand, TerminateInstancesCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { waitFor, type TestKumo } from '../helpers/kumo.js';
import { consoleText, debianImageId, useEc2, waitForState } from '../helpers/ec2.js';
import { inside } from './instance-access.js';
import { leftovers, nativeSkipReason } from './support.js';
import { loopsUnder } from '../../src/runtime/loop.js';

const skip = nativeSkipReason();
let kumo: TestKumo;
let ec2: EC2Client;
if (!skip) useEc2((f) => ({ kumo, ec2 } = f));

const USER_DATA = `#!/bin/bash
set -e
mkfs.ext4 -q /dev/nvme1n1
mkdir -p /scratch
mount /dev/nvme1n1 /scratch
echo ephemeral > /scratch/data
echo durable > /root/data
echo "fstype=$(findmnt -n -o FSTYPE /scratch) size=$(df -B1 --output=size /scratch | tail -1 | tr -d ' ')"
echo instance-store-ready
`;

test('an i3.large has its instance-store disk: formatted, mounted, kept across reboot, gone after stop', { skip, timeout: 10 * 60_000 }, async () => {
  const r = await ec2.send(new RunInstancesCommand({
    ImageId: await debianImageId(ec2), MinCount: 1, MaxCount: 1, InstanceType: 'i3.large', UserData: Buffer.from(USER_DATA).toString('base64'),
  }));
  const id = r.Instances![0]!.InstanceId!;
  try {
    await waitForState(ec2, id, 'running');
    await waitFor('user data to format and mount the disk', async () => (await consoleText(ec2, id)).includes('instance-store-ready'), 120_000);
    const out = await consoleText(ec2, id);
    const size = Number(/fstype=ext4 size=(\d+)/.exec(out)?.[1]);
    assert.ok(size > 400e9 && size < 475e9, `a 475 GB disk, formatted ext4 and mounted: ${size}`);
    assert.equal((await inside(id, 'cat /scratch/data')).trim(), 'ephemeral');
    // lsblk lists the instance's own disks under their AWS names, with their sizes, and nothing of the host's.
    assert.deepEqual((await inside(id, 'lsblk -b -d -n -o NAME,SIZE')).trim().split('\n').map((l) => l.trim().split(/\s+/)).sort(), [['nvme1n1', String(475e9)], ['xvda', String(8 * 2 ** 30)]]);
    await assert.rejects(inside(id, 'su -s /bin/sh nobody -c "mount /dev/nvme1n1 /mnt"'), 'only root may mount it');

    // /run is a tmpfs of each boot: the mark is gone once the instance has rebooted.
    await inside(id, 'touch /run/before-reboot');
    await ec2.send(new RebootInstancesCommand({ InstanceIds: [id] }));
    await waitFor('the reboot', async () => (await inside(id, 'test ! -e /run/before-reboot && test -e /dev/nvme1n1 && echo yes').catch(() => '')).includes('yes'), 60_000);
    await inside(id, 'mkdir -p /scratch && mount /dev/nvme1n1 /scratch');
    assert.equal((await inside(id, 'cat /scratch/data')).trim(), 'ephemeral', 'a reboot keeps instance-store data');

    await ec2.send(new StopInstancesCommand({ InstanceIds: [id] }));
    await waitForState(ec2, id, 'stopped', 60_000);
    assert.deepEqual((await loopsUnder(`${kumo.dataDir}/instance-store`)), [], 'a stopped instance holds no disk');
    await ec2.send(new StartInstancesCommand({ InstanceIds: [id] }));
    await waitForState(ec2, id, 'running', 60_000);
    await waitFor('the disk after start', async () => (await inside(id, 'test -e /dev/nvme1n1 && echo yes').catch(() => '')).includes('yes'), 60_000);
    assert.equal((await inside(id, 'blkid /dev/nvme1n1 || echo blank')).trim(), 'blank', 'after stop/start the instance-store disk is new and empty');
    assert.equal((await inside(id, 'cat /root/data')).trim(), 'durable', 'the EBS root volume kept its data');
  } finally {
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
    await waitForState(ec2, id, 'terminated', 60_000);
  }
  assert.deepEqual(leftovers(id), []);
  assert.deepEqual(await loopsUnder(kumo.dataDir), [], 'no loop device is left');
});
