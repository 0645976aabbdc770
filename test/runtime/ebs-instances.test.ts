/**
 * EBS with running instances on the native runtime, through the API: the root volume's row; a
 * snapshot of a root volume in use with data written inside (frozen for the read), a volume made
 * from it holding that data, incremental snapshots of it; a data volume attached to a running
 * instance (it is /dev/xvdf there, formatted xfs and mounted from inside, and what is written to it stays), detached, attached to another
 * instance in the same zone (the data is there), kept across that instance's stop/start, and let go
 * at termination; ModifyVolume growing a root volume under a running instance (`df /` follows).
 * Needs root (skips otherwise; fails under KUMO_REQUIRE_NATIVE=1).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  AttachVolumeCommand, CreateSnapshotCommand, CreateVolumeCommand, DeleteSnapshotCommand, DeleteVolumeCommand, DescribeSnapshotsCommand,
  DescribeVolumesCommand, DescribeVolumesModificationsCommand, DetachVolumeCommand, ModifyVolumeCommand, RunInstancesCommand,
  StartInstancesCommand, StopInstancesCommand, TerminateInstancesCommand, type EC2Client, type Snapshot, type Volume,
} from '@aws-sdk/client-ec2';
import { loopsOf } from '../../src/runtime/loop.js';
import { SnapshotStore } from '../../src/runtime/snapshots/store.js';
import { errorCode, waitFor } from '../helpers/kumo.js';
import { debianImageId, describeInstance, ec2Fixture, waitForState, type Ec2Fixture } from '../helpers/ec2.js';
import { inside } from './instance-access.js';
import { bytesFromRootVolume, nativeSkipReason, readFromRootVolume } from './support.js';

const skip = nativeSkipReason();
const MiB = 1 << 20;
const GiB = 1 << 30;
const ZONE = 'ap-northeast-1a';
let f: Ec2Fixture;
let ec2: EC2Client;
let ami: string;

before(async () => {
  if (skip) return;
  f = await ec2Fixture();
  ec2 = f.ec2;
  ami = await debianImageId(ec2);
});

after(async () => {
  if (skip) return;
  await f.stop();
});

const CAP_SYS_RESOURCE = 24n;
const hostMayResizeOnline = () => ((BigInt('0x' + /CapEff:\s*([0-9a-f]+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]) >> CAP_SYS_RESOURCE) & 1n) === 1n;
const diskOf = (volumeId: string) => join(f.kumo.dataDir, 'volumes', volumeId, 'disk');
const volume = async (id: string): Promise<Volume> => (await ec2.send(new DescribeVolumesCommand({ VolumeIds: [id] }))).Volumes![0]!;
const until = async (what: string, check: () => Promise<boolean>, ms = 60_000) => void (await waitFor(what, check, ms));
const volumeState = (id: string, state: string) => until(`${id} ${state}`, async () => (await volume(id)).State === state);
const attachment = (id: string, state: string) => until(`${id} ${state}`, async () => (await volume(id)).Attachments?.[0]?.State === state);

async function launch(): Promise<string> {
  const r = await ec2.send(new RunInstancesCommand({ ImageId: ami, MinCount: 1, MaxCount: 1, InstanceType: 't3.micro', Placement: { AvailabilityZone: ZONE } }));
  const id = r.Instances![0]!.InstanceId!;
  await waitForState(ec2, id, 'running');
  return id;
}

async function snapshotOf(volumeId: string, seen: string[] = []): Promise<Snapshot> {
  const id = (await ec2.send(new CreateSnapshotCommand({ VolumeId: volumeId }))).SnapshotId!;
  const done = await waitFor(`${id} completed`, async () => {
    const s = (await ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [id] }))).Snapshots![0]!;
    if (seen.at(-1) !== s.Progress) seen.push(s.Progress!);
    if (s.State === 'error') throw new Error(`${id}: ${s.StateMessage}`);
    return s.State === 'completed' ? s : undefined;
  }, 120_000);
  return done!;
}

async function newVolume(input: { Size?: number; SnapshotId?: string }): Promise<string> {
  const id = (await ec2.send(new CreateVolumeCommand({ AvailabilityZone: ZONE, ...input }))).VolumeId!;
  await volumeState(id, 'available');
  return id;
}

let first: string;

test('a running instance root volume: snapshots with the data written inside, incremental, and volumes made from them', { skip, timeout: 10 * 60_000 }, async (t) => {
  first = await launch();
  const running = await describeInstance(ec2, first);
  const rootId = running.BlockDeviceMappings![0]!.Ebs!.VolumeId!;
  const root = await volume(rootId);
  assert.deepEqual([root.State, root.Size, root.Attachments![0]!.InstanceId, root.Attachments![0]!.Device], ['in-use', 8, first, running.RootDeviceName]);

  await inside(first, 'echo kept-data > /root/data.txt && head -c 8388608 /dev/urandom > /var/tmp/blob && sync');
  const seen: string[] = [];
  const one = await snapshotOf(rootId, seen);
  t.diagnostic(`progress seen: ${seen.join(' ')}`);
  assert.equal(one.VolumeSize, 8);
  assert.equal(await inside(first, 'cat /root/data.txt'), 'kept-data\n', 'the instance runs on after its volume was frozen and thawed');

  await inside(first, 'head -c 1048576 /dev/urandom > /root/change.bin && sync');
  const two = await snapshotOf(rootId);
  const stored = new SnapshotStore(join(f.kumo.dataDir, 'snapshots')).info(two.SnapshotId!)!.storedBytes;
  t.diagnostic(`second snapshot of the root volume after a 1 MiB file: ${(stored / MiB).toFixed(1)} MiB stored (the file and the filesystem's own metadata and journal)`);
  assert.ok(stored >= MiB && stored < 16 * MiB, `stored ${stored} bytes`);
  const sum = (await inside(first, 'sha256sum < /root/change.bin')).split(' ')[0];

  await ec2.send(new DeleteSnapshotCommand({ SnapshotId: one.SnapshotId! }));
  const restored = await newVolume({ SnapshotId: two.SnapshotId! });
  assert.equal((await volume(restored)).SnapshotId, two.SnapshotId);
  assert.equal(await readFromRootVolume(diskOf(restored), 'root/data.txt'), 'kept-data\n', 'the first file, though the first snapshot is gone');
  const copied = createHash('sha256').update(await bytesFromRootVolume(diskOf(restored), 'root/change.bin')).digest('hex');
  assert.equal(copied, sum, 'the second file, byte for byte');
  await ec2.send(new DeleteVolumeCommand({ VolumeId: restored }));
});

test('a data volume attached to a running instance is its /dev/xvdf; its data follows it to another instance', { skip, timeout: 10 * 60_000 }, async () => {
  const vol = await newVolume({ Size: 2 });
  const attached = await ec2.send(new AttachVolumeCommand({ VolumeId: vol, InstanceId: first, Device: '/dev/sdf' }));
  assert.equal(attached.State, 'attaching');
  await attachment(vol, 'attached');
  assert.equal((await volume(vol)).State, 'in-use');
  const bdm = (await describeInstance(ec2, first)).BlockDeviceMappings!;
  assert.deepEqual(bdm.map((b) => [b.DeviceName, b.Ebs!.VolumeId]).slice(1), [['/dev/sdf', vol]]);
  assert.equal((await inside(first, 'blockdev --getsize64 /dev/xvdf')).trim(), String(2 * GiB), 'inside, the volume is /dev/xvdf of its size');
  assert.deepEqual((await inside(first, 'lsblk -b -d -n -o NAME,SIZE')).trim().split('\n').map((l) => l.trim().split(/\s+/)).sort(), [['xvda', String(8 * GiB)], ['xvdf', String(2 * GiB)]], 'lsblk shows the root and the new volume');
  // Only root inside may format or mount it, and only with options that concern the disk alone.
  await assert.rejects(inside(first, 'su -s /bin/sh nobody -c "mount /dev/xvdf /mnt"'), 'nobody cannot mount it');
  await assert.rejects(inside(first, 'curl -sf -X POST -H "X-Kumo-Token: guess" --data "device=/dev/xvdf&type=xfs" http://169.254.169.254/kumo/mkfs'), 'a wrong token is refused');
  await assert.rejects(inside(first, 'mkfs.xfs -f -d name=/etc/shadow /dev/xvdf'), /not one kumo passes on/);
  // As on AWS: format the new disk, mount it, write, unmount before detaching.
  await inside(first, 'mkfs -t xfs -q /dev/xvdf && mkdir -p /data && mount /dev/xvdf /data && echo written-inside > /data/file && umount /data');
  assert.equal(await errorCode(ec2.send(new DeleteVolumeCommand({ VolumeId: vol }))), 'VolumeInUse');
  assert.equal(await errorCode(ec2.send(new AttachVolumeCommand({ VolumeId: vol, InstanceId: first, Device: '/dev/sdg' }))), 'VolumeInUse');

  const detaching = await ec2.send(new DetachVolumeCommand({ VolumeId: vol }));
  assert.equal(detaching.State, 'detaching');
  await volumeState(vol, 'available');
  assert.equal((await inside(first, 'test -e /dev/xvdf && echo present || echo gone')).trim(), 'gone');
  assert.deepEqual(await loopsOf(diskOf(vol)), [], 'no loop device is left of a detached volume');

  const second = await launch();
  await ec2.send(new AttachVolumeCommand({ VolumeId: vol, InstanceId: second, Device: 'xvdg' }));
  await attachment(vol, 'attached');
  const read = () => inside(second, 'mountpoint -q /data || { mkdir -p /data && mount /dev/xvdg /data; }; findmnt -n -o FSTYPE /data; cat /data/file');
  assert.equal(await read(), 'xfs\nwritten-inside\n', 'the xfs filesystem made in the first instance, with its file');

  await ec2.send(new StopInstancesCommand({ InstanceIds: [second] }));
  await waitForState(ec2, second, 'stopped', 60_000);
  assert.deepEqual([(await volume(vol)).State, (await volume(vol)).Attachments![0]!.State], ['in-use', 'attached'], 'a stopped instance keeps its volumes');
  assert.deepEqual(await loopsOf(diskOf(vol)), [], 'while it is stopped the volume is no device on the host');
  await ec2.send(new StartInstancesCommand({ InstanceIds: [second] }));
  await waitForState(ec2, second, 'running', 60_000);
  await until('the volume back in the started instance', async () => (await read().catch(() => '')) === 'xfs\nwritten-inside\n');

  await ec2.send(new TerminateInstancesCommand({ InstanceIds: [second] }));
  await waitForState(ec2, second, 'terminated', 60_000);
  await volumeState(vol, 'available');
  assert.deepEqual((await volume(vol)).Attachments, [], 'termination detaches a volume attached with DeleteOnTermination false');
  await until('its loop device to go', async () => (await loopsOf(diskOf(vol))).length === 0);
});

test('ModifyVolume grows a running instance root volume; df / follows', { skip, timeout: 5 * 60_000 }, async () => {
  const rootId = (await describeInstance(ec2, first)).BlockDeviceMappings![0]!.Ebs!.VolumeId!;
  const size = async () => Number((await inside(first, 'df -B1 --output=size / | tail -n1')).trim());
  const before = await size();
  await ec2.send(new ModifyVolumeCommand({ VolumeId: rootId, Size: 12 }));
  await until('the modification to complete', async () => (await ec2.send(new DescribeVolumesModificationsCommand({ VolumeIds: [rootId] }))).VolumesModifications![0]!.ModificationState === 'completed');
  assert.equal((await volume(rootId)).Size, 12);
  // ext4 grows online only where kumo holds CAP_SYS_RESOURCE (some sandboxes withhold it); else
  // at the volume's next mount, that is after a stop and start.
  if (!hostMayResizeOnline()) {
    await ec2.send(new StopInstancesCommand({ InstanceIds: [first] }));
    await waitForState(ec2, first, 'stopped', 60_000);
    await ec2.send(new StartInstancesCommand({ InstanceIds: [first] }));
    await waitForState(ec2, first, 'running', 60_000);
  }
  const after = await waitFor('df / to answer', () => size().catch(() => undefined), 30_000);
  assert.ok(after! > before + 3 * GiB, `df / went from ${before} to ${after} bytes`);
  await ec2.send(new TerminateInstancesCommand({ InstanceIds: [first] }));
  await waitForState(ec2, first, 'terminated', 60_000);
  await until('the root volume to be deleted', async () => (await errorCode(ec2.send(new DescribeVolumesCommand({ VolumeIds: [rootId] })))) === 'InvalidVolume.NotFound');
});
