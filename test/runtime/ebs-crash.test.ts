/**
 * `kill -9` of kumo while a snapshot is being taken: the snapshot completed before it is whole
 * after the restart (a volume made from it holds its data, byte for byte), and the one cut short
 * either completed or is `error` with a reason, never `pending` forever and never a snapshot
 * whose data is wrong. kumo as a child process on one data dir; needs root (skips otherwise).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { CreateSnapshotCommand, CreateVolumeCommand, DeleteSnapshotCommand, DeleteVolumeCommand, DescribeSnapshotsCommand, DescribeVolumesCommand, EC2Client, type Snapshot } from '@aws-sdk/client-ec2';
import { clientConfig, waitFor } from '../helpers/kumo.js';
import { useKumoProcesses } from '../helpers/kumo-process.js';
import { loopsUnder } from '../../src/runtime/loop.js';
import { nativeSkipReason } from './support.js';

const skip = nativeSkipReason();
const MiB = 1 << 20;
const ZONE = 'ap-northeast-1a';
const kumos = useKumoProcesses();

function sha(file: string, bytes: number): string {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(bytes);
    readSync(fd, buf, 0, bytes, 0);
    return createHash('sha256').update(buf).digest('hex');
  } finally {
    closeSync(fd);
  }
}

/** Fills the first `mib` MiB of a volume's disk with random data, as if an instance had written it. */
function fill(disk: string, mib: number): void {
  const fd = openSync(disk, 'r+');
  try {
    for (let i = 0; i < mib; i++) writeSync(fd, createHash('sha512').update(`${disk}:${i}:${Math.random()}`).digest().toString('hex').repeat(MiB / 128), 0, 'latin1');
  } finally {
    closeSync(fd);
  }
}

test('kill -9 during a snapshot: the completed one stays whole, the cut one completes or errors at the next start', { skip, timeout: 10 * 60_000 }, async () => {
  const dataDir = kumos.dataDir('kumo-ebs-crash-');
  let kumo = await kumos.start(dataDir, ['--quiet']);
  let ec2 = new EC2Client(clientConfig(kumo.url));
  const volume = async (id: string) => (await ec2.send(new DescribeVolumesCommand({ VolumeIds: [id] }))).Volumes![0]!;
  const snapshot = async (id: string): Promise<Snapshot> => (await ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [id] }))).Snapshots![0]!;

  const vol = (await ec2.send(new CreateVolumeCommand({ AvailabilityZone: ZONE, Size: 2 }))).VolumeId!;
  await waitFor(`${vol} available`, async () => (await volume(vol)).State === 'available', 60_000);
  const disk = join(dataDir, 'volumes', vol, 'disk');
  fill(disk, 64);
  const firstSum = sha(disk, 64 * MiB);
  const first = (await ec2.send(new CreateSnapshotCommand({ VolumeId: vol }))).SnapshotId!;
  await waitFor(`${first} completed`, async () => (await snapshot(first)).State === 'completed', 120_000);

  // A large change, so that the next snapshot is still being taken when kumo dies.
  fill(disk, 768);
  const cut = (await ec2.send(new CreateSnapshotCommand({ VolumeId: vol }))).SnapshotId!;
  await waitFor(`${cut} under way`, async () => (await snapshot(cut)).State === 'pending', 10_000);
  await kumo.kill('SIGKILL');
  ec2.destroy();

  kumo = await kumos.start(dataDir, ['--quiet']);
  ec2 = new EC2Client(clientConfig(kumo.url));
  const after = await waitFor(`${cut} settled`, async () => {
    const s = await snapshot(cut);
    return s.State === 'pending' ? undefined : s;
  }, 60_000);
  assert.ok(after!.State === 'completed' || after!.State === 'error', `cut short: ${after!.State}`);
  if (after!.State === 'error') assert.match(after!.StateMessage ?? '', /kumo stopped/);
  assert.equal((await snapshot(first)).State, 'completed');

  // The completed snapshot's data, byte for byte, in a volume made from it.
  const restored = (await ec2.send(new CreateVolumeCommand({ AvailabilityZone: ZONE, SnapshotId: first }))).VolumeId!;
  await waitFor(`${restored} available`, async () => (await volume(restored)).State === 'available', 120_000);
  assert.equal(sha(join(dataDir, 'volumes', restored, 'disk'), 64 * MiB), firstSum);

  for (const v of [vol, restored]) await ec2.send(new DeleteVolumeCommand({ VolumeId: v }));
  for (const s of [first, cut]) await ec2.send(new DeleteSnapshotCommand({ SnapshotId: s }));
  ec2.destroy();
  await kumo.kill('SIGTERM');
  assert.deepEqual(await loopsUnder(dataDir), []);
});
