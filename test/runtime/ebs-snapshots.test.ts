/**
 * EBS snapshots on the native runtime's disks, through the API, without instances: a volume's
 * data is written into its disk file from the host (as an instance would through its device),
 * then snapshotted, restored into new volumes and compared byte for byte. Shows: an empty
 * 100 GiB volume costs nothing; pending → completed with progress; a volume from a snapshot holds
 * its data (and may be larger); a second snapshot after a 1 MiB change stores ~1 MiB, and deleting
 * the first keeps the second whole; DescribeSnapshots' owners, restorable-by, filters and pages;
 * sharing with another account and making public; CopySnapshot within and across regions; the
 * aws CLI's waiter. Needs root (skips otherwise; fails under KUMO_REQUIRE_NATIVE=1).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, readSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import {
  CopySnapshotCommand, CreateSnapshotCommand, CreateVolumeCommand, DeleteSnapshotCommand, DeleteVolumeCommand, DescribeSnapshotAttributeCommand,
  DescribeSnapshotsCommand, DescribeVolumesCommand, EC2Client, ModifySnapshotAttributeCommand, ResetSnapshotAttributeCommand, type DescribeSnapshotsCommandInput, type Snapshot,
} from '@aws-sdk/client-ec2';
import { DEFAULT_CREDENTIAL } from '../../src/config.js';
import { SnapshotStore } from '../../src/runtime/snapshots/store.js';
import { clientConfig, errorCode, startKumoForTest, waitFor, type TestKumo } from '../helpers/kumo.js';
import { aws, awsJson } from '../helpers/python.js';
import { missing } from '../helpers/tools.js';
import { nativeSkipReason } from './support.js';

const skip = nativeSkipReason();
const MiB = 1 << 20;
const GiB = 1 << 30;
const ZONE = 'ap-northeast-1a';
const OTHER = { accessKeyId: 'ebsother', secretAccessKey: 'ebsothersecret', account: '222222222222' };

let kumo: TestKumo;
let ec2: EC2Client;
let other: EC2Client;
let virginia: EC2Client;

before(async () => {
  if (skip) return;
  kumo = await startKumoForTest({ credentials: [DEFAULT_CREDENTIAL, OTHER] });
  ec2 = new EC2Client(clientConfig(kumo.url));
  other = new EC2Client(clientConfig(kumo.url, { credentials: { accessKeyId: OTHER.accessKeyId, secretAccessKey: OTHER.secretAccessKey } }));
  virginia = new EC2Client(clientConfig(kumo.url, { region: 'us-east-1' }));
});

after(async () => {
  if (skip) return;
  for (const c of [ec2, other, virginia]) c.destroy();
  await kumo.stop();
});

const diskOf = (volumeId: string) => join(kumo.dataDir, 'volumes', volumeId, 'disk');
const store = () => new SnapshotStore(join(kumo.dataDir, 'snapshots'));

function writeAt(file: string, offset: number, data: Buffer): void {
  const fd = openSync(file, 'r+');
  try {
    writeSync(fd, data, 0, data.length, offset);
  } finally {
    closeSync(fd);
  }
}

function readAt(file: string, offset: number, length: number): Buffer {
  const fd = openSync(file, 'r');
  try {
    const b = Buffer.alloc(length);
    readSync(fd, b, 0, length, offset);
    return b;
  } finally {
    closeSync(fd);
  }
}

async function newVolume(client: EC2Client, input: { Size?: number; SnapshotId?: string; AvailabilityZone?: string }): Promise<string> {
  const id = (await client.send(new CreateVolumeCommand({ AvailabilityZone: ZONE, ...input }))).VolumeId!;
  await waitFor(`${id} available`, async () => (await client.send(new DescribeVolumesCommand({ VolumeIds: [id] }))).Volumes![0]!.State === 'available', 60_000);
  return id;
}

const describeSnapshot = async (client: EC2Client, id: string): Promise<Snapshot> => (await client.send(new DescribeSnapshotsCommand({ SnapshotIds: [id] }))).Snapshots![0]!;

/** Waits for `completed`, noting every Progress seen on the way. */
async function completed(client: EC2Client, id: string, seen: string[] = []): Promise<Snapshot> {
  const s = await waitFor(`${id} completed`, async () => {
    const x = await describeSnapshot(client, id);
    if (seen.at(-1) !== x.Progress) seen.push(x.Progress!);
    if (x.State === 'error') throw new Error(`${id}: ${x.StateMessage}`);
    return x.State === 'completed' ? x : undefined;
  }, 120_000);
  return s!;
}

// Data at offsets a real disk would have it: the start, the middle, near the end.
const regions = [0, 37 * MiB + 4096, 3 * GiB + 5].map((offset) => ({ offset, data: randomBytes(2 * MiB) }));

let source: string;
let first: string;

test('an empty 100 GiB volume costs nothing on disk', { skip }, async () => {
  const id = await newVolume(ec2, { Size: 100 });
  const st = statSync(diskOf(id));
  assert.equal(st.size, 100 * GiB);
  assert.ok(st.blocks * 512 < MiB, `allocated ${st.blocks * 512} bytes`);
  await ec2.send(new DeleteVolumeCommand({ VolumeId: id }));
  await waitFor('its disk to go', () => !existsSync(diskOf(id)), 30_000);
});

test('a snapshot goes pending → completed with progress; a volume made from it holds its data', { skip, timeout: 300_000 }, async (t) => {
  source = await newVolume(ec2, { Size: 4 });
  for (const r of regions) writeAt(diskOf(source), r.offset, r.data);
  const made = await ec2.send(new CreateSnapshotCommand({ VolumeId: source, Description: 'first', TagSpecifications: [{ ResourceType: 'snapshot', Tags: [{ Key: 'Name', Value: 'snap-one' }] }] }));
  first = made.SnapshotId!;
  assert.match(first, /^snap-[0-9a-f]{17}$/);
  assert.equal(made.State, 'pending');
  assert.equal(made.Progress, '0%');
  assert.equal(made.VolumeSize, 4);
  const seen: string[] = [];
  const done = await completed(ec2, first, seen);
  t.diagnostic(`progress seen: ${seen.join(' ')}`);
  assert.equal(done.Progress, '100%');
  assert.equal(done.VolumeId, source);
  assert.deepEqual(done.Tags, [{ Key: 'Name', Value: 'snap-one' }]);
  for (const p of seen) assert.match(p, /^\d{1,3}%$/);
  assert.ok(store().info(first)!.storedBytes >= 6 * MiB, 'the data is stored');

  const restored = await newVolume(ec2, { SnapshotId: first, Size: 6 });
  const v = (await ec2.send(new DescribeVolumesCommand({ VolumeIds: [restored] }))).Volumes![0]!;
  assert.deepEqual([v.SnapshotId, v.Size], [first, 6]);
  assert.equal(statSync(diskOf(restored)).size, 6 * GiB);
  for (const r of regions) assert.ok(readAt(diskOf(restored), r.offset, r.data.length).equals(r.data), `data at ${r.offset}`);
  assert.ok(readAt(diskOf(restored), 5 * GiB, MiB).equals(Buffer.alloc(MiB)), 'the grown part reads as zeros');
  assert.equal(await errorCode(ec2.send(new CreateVolumeCommand({ AvailabilityZone: ZONE, SnapshotId: first, Size: 2 }))), 'InvalidParameterValue', 'smaller than the snapshot');
});

test('incremental: a second snapshot after a 1 MiB change stores ~1 MiB; deleting the first keeps the second whole', { skip, timeout: 300_000 }, async () => {
  const change = randomBytes(MiB);
  writeAt(diskOf(source), 2 * GiB, change);
  const second = (await ec2.send(new CreateSnapshotCommand({ VolumeId: source }))).SnapshotId!;
  await completed(ec2, second);
  const stored = store().info(second)!.storedBytes;
  assert.ok(stored >= MiB && stored <= 2 * MiB, `the second snapshot stored ${stored} bytes`);

  await ec2.send(new DeleteSnapshotCommand({ SnapshotId: first }));
  assert.equal(await errorCode(ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [first] }))), 'InvalidSnapshot.NotFound');
  await waitFor('the first snapshot to leave the host', () => store().info(first) === undefined, 30_000);
  const restored = await newVolume(ec2, { SnapshotId: second });
  for (const r of regions) assert.ok(readAt(diskOf(restored), r.offset, r.data.length).equals(r.data), `data at ${r.offset}`);
  assert.ok(readAt(diskOf(restored), 2 * GiB, MiB).equals(change), 'the change');
});

test('DescribeSnapshots: owners, filters, pages; refusals', { skip, timeout: 120_000 }, async () => {
  const vol = await newVolume(ec2, { Size: 1 });
  const ids: string[] = [];
  for (let k = 0; k < 6; k++) {
    ids.push((await ec2.send(new CreateSnapshotCommand({ VolumeId: vol, Description: `page-${k}`, TagSpecifications: [{ ResourceType: 'snapshot', Tags: [{ Key: 'batch', Value: 'paged' }] }] }))).SnapshotId!);
  }
  for (const id of ids) await completed(ec2, id);
  const list = async (input: DescribeSnapshotsCommandInput) => ((await ec2.send(new DescribeSnapshotsCommand(input))).Snapshots ?? []).map((s) => s.SnapshotId).sort();
  const batch = { Name: 'tag:batch', Values: ['paged'] };
  assert.deepEqual(await list({ OwnerIds: ['self'], Filters: [batch] }), [...ids].sort());
  assert.deepEqual(await list({ OwnerIds: ['000000000000'], Filters: [batch, { Name: 'description', Values: ['page-1', 'page-2'] }] }), [ids[1], ids[2]].sort());
  assert.deepEqual(await list({ OwnerIds: ['amazon'], Filters: [batch] }), []);
  assert.deepEqual(await list({ Filters: [{ Name: 'volume-id', Values: [vol] }, { Name: 'status', Values: ['completed'] }, { Name: 'volume-size', Values: ['1'] }] }), [...ids].sort());
  const seen: string[] = [];
  let token: string | undefined;
  do {
    const page = await ec2.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'], Filters: [batch], MaxResults: 5, NextToken: token }));
    seen.push(...page.Snapshots!.map((s) => s.SnapshotId!));
    token = page.NextToken;
  } while (token);
  assert.deepEqual(seen.sort(), [...ids].sort());
  assert.equal(await errorCode(ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: ['snap-0123456789abcdef0'] }))), 'InvalidSnapshot.NotFound');
  assert.equal(await errorCode(ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: ['snap-nope'] }))), 'InvalidSnapshotID.Malformed');
  assert.equal(await errorCode(ec2.send(new CreateSnapshotCommand({ VolumeId: 'vol-0123456789abcdef0' }))), 'InvalidVolume.NotFound');
  assert.equal(await errorCode(ec2.send(new CreateSnapshotCommand({ VolumeId: vol, Description: 'x'.repeat(256) }))), 'InvalidParameterValue');
});

test('sharing: another account sees a shared snapshot and makes volumes of it, but cannot change it; public; reset', { skip, timeout: 120_000 }, async () => {
  const vol = await newVolume(ec2, { Size: 1 });
  writeAt(diskOf(vol), 0, Buffer.from('shared-data'));
  const id = (await ec2.send(new CreateSnapshotCommand({ VolumeId: vol }))).SnapshotId!;
  await completed(ec2, id);
  assert.equal(await errorCode(other.send(new DescribeSnapshotsCommand({ SnapshotIds: [id] }))), 'InvalidSnapshot.NotFound', 'private to its owner');

  await ec2.send(new ModifySnapshotAttributeCommand({ SnapshotId: id, CreateVolumePermission: { Add: [{ UserId: OTHER.account }] } }));
  const attr = await ec2.send(new DescribeSnapshotAttributeCommand({ SnapshotId: id, Attribute: 'createVolumePermission' }));
  assert.deepEqual(attr.CreateVolumePermissions, [{ UserId: OTHER.account }]);
  const theirs = await other.send(new DescribeSnapshotsCommand({ RestorableByUserIds: ['self'] }));
  assert.deepEqual(theirs.Snapshots!.map((s) => [s.SnapshotId, s.OwnerId]), [[id, '000000000000']]);
  const copyOfIt = await newVolume(other, { SnapshotId: id });
  assert.equal(readAt(diskOf(copyOfIt), 0, 11).toString(), 'shared-data');
  assert.equal(await errorCode(other.send(new DeleteSnapshotCommand({ SnapshotId: id }))), 'UnauthorizedOperation');
  assert.equal(await errorCode(other.send(new DescribeSnapshotAttributeCommand({ SnapshotId: id, Attribute: 'createVolumePermission' }))), 'UnauthorizedOperation');

  await ec2.send(new ModifySnapshotAttributeCommand({ SnapshotId: id, Attribute: 'createVolumePermission', OperationType: 'add', GroupNames: ['all'] }));
  const listed = async (input: DescribeSnapshotsCommandInput) => ((await ec2.send(new DescribeSnapshotsCommand(input))).Snapshots ?? []).map((s) => s.SnapshotId);
  assert.ok((await listed({ RestorableByUserIds: ['all'] })).includes(id), 'public');
  assert.deepEqual(await listed({ OwnerIds: ['self'], RestorableByUserIds: [OTHER.account], Filters: [{ Name: 'snapshot-id', Values: [id] }] }), [id]);
  await ec2.send(new ResetSnapshotAttributeCommand({ SnapshotId: id, Attribute: 'createVolumePermission' }));
  assert.equal(await errorCode(other.send(new DescribeSnapshotsCommand({ SnapshotIds: [id] }))), 'InvalidSnapshot.NotFound', 'private again');
  assert.equal(await errorCode(ec2.send(new ModifySnapshotAttributeCommand({ SnapshotId: id, CreateVolumePermission: { Add: [{ UserId: 'someone' }] } }))), 'InvalidUserID.Malformed');
});

test('CopySnapshot within a region and from another one', { skip, timeout: 120_000 }, async () => {
  const vol = (await virginia.send(new CreateVolumeCommand({ AvailabilityZone: 'us-east-1a', Size: 1 }))).VolumeId!;
  await waitFor('the volume', async () => (await virginia.send(new DescribeVolumesCommand({ VolumeIds: [vol] }))).Volumes![0]!.State === 'available', 60_000);
  writeAt(diskOf(vol), 4096, Buffer.from('from-virginia'));
  const src = (await virginia.send(new CreateSnapshotCommand({ VolumeId: vol }))).SnapshotId!;
  await completed(virginia, src);

  const copy = await ec2.send(new CopySnapshotCommand({ SourceRegion: 'us-east-1', SourceSnapshotId: src, TagSpecifications: [{ ResourceType: 'snapshot', Tags: [{ Key: 'copy', Value: 'yes' }] }] }));
  assert.deepEqual(copy.Tags, [{ Key: 'copy', Value: 'yes' }]);
  const done = await completed(ec2, copy.SnapshotId!);
  assert.equal(done.Description, `[Copied ${src} from us-east-1]`);
  assert.equal(done.VolumeSize, 1);
  const again = (await ec2.send(new CopySnapshotCommand({ SourceRegion: 'ap-northeast-1', SourceSnapshotId: copy.SnapshotId! }))).SnapshotId!;
  await completed(ec2, again);
  const restored = await newVolume(ec2, { SnapshotId: again });
  assert.equal(readAt(diskOf(restored), 4096, 13).toString(), 'from-virginia');
  assert.equal(await errorCode(ec2.send(new CopySnapshotCommand({ SourceRegion: 'ap-northeast-1', SourceSnapshotId: src }))), 'InvalidSnapshot.NotFound', 'not in that region');
});

test('the aws CLI takes a snapshot and waits for it', { skip: skip || missing('aws'), timeout: 120_000 }, async () => {
  const vol = await newVolume(ec2, { Size: 2 });
  const made = await awsJson<{ SnapshotId: string; State: string }>(kumo.url, ['ec2', 'create-snapshot', '--volume-id', vol, '--description', 'cli']);
  assert.equal(made.State, 'pending');
  const wait = await aws(kumo.url, ['ec2', 'wait', 'snapshot-completed', '--snapshot-ids', made.SnapshotId]);
  assert.equal(wait.code, 0, wait.stderr);
  const listed = await awsJson<{ Snapshots: { SnapshotId: string; Progress: string }[] }>(kumo.url, ['ec2', 'describe-snapshots', '--owner-ids', 'self', '--filters', `Name=volume-id,Values=${vol}`]);
  assert.deepEqual(listed.Snapshots.map((s) => [s.SnapshotId, s.Progress]), [[made.SnapshotId, '100%']]);
  const del = await aws(kumo.url, ['ec2', 'delete-snapshot', '--snapshot-id', made.SnapshotId]);
  assert.equal(del.code, 0, del.stderr);
});
