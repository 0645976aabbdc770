/**
 * EBS volumes through the API, on the process runtime (no disks: volumes are rows, so everything
 * here is control plane and runs on any host): CreateVolume's type/size/IOPS/throughput rules and
 * defaults, zones, tags and ClientToken; DescribeVolumes' filters and pages; DeleteVolume;
 * every instance's root volume as a row that DescribeInstances agrees with, through
 * DeleteOnTermination and termination; AttachVolume/DetachVolume's refusals (and the process
 * runtime's own: no attaching, no snapshots); ModifyVolume and its modification states;
 * volume status and attributes; the aws CLI and boto3 on the same calls. Snapshots and attaching
 * for real are in test/runtime/ebs-*.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AttachVolumeCommand, CreateSnapshotCommand, CreateVolumeCommand, DeleteVolumeCommand, DescribeInstancesCommand, DescribeVolumeAttributeCommand,
  DescribeVolumesCommand, DescribeVolumesModificationsCommand, DescribeVolumeStatusCommand, DetachVolumeCommand, ModifyInstanceAttributeCommand,
  ModifyVolumeAttributeCommand, ModifyVolumeCommand, RunInstancesCommand, TerminateInstancesCommand, type EC2Client, type Volume,
} from '@aws-sdk/client-ec2';
import { errorCode, waitFor, type TestKumo } from '../helpers/kumo.js';
import { debianImageId, useEc2, waitForState } from '../helpers/ec2.js';
import { aws, awsJson, boto3 } from '../helpers/python.js';
import { missing } from '../helpers/tools.js';

let ec2: EC2Client;
let kumo: TestKumo;
useEc2((f) => ({ ec2, kumo } = f), { runtime: 'process' });

const ZONE = 'ap-northeast-1a';
const volume = async (id: string): Promise<Volume> => (await ec2.send(new DescribeVolumesCommand({ VolumeIds: [id] }))).Volumes![0]!;
const waitVolume = async (id: string, state: string): Promise<Volume> =>
  (await waitFor(`${id} ${state}`, async () => {
    const v = await volume(id);
    return v.State === state ? v : undefined;
  }))!;

test('CreateVolume: AWS defaults per type, creating → available, tags', async () => {
  const gp2 = await ec2.send(new CreateVolumeCommand({ AvailabilityZone: ZONE, Size: 10, TagSpecifications: [{ ResourceType: 'volume', Tags: [{ Key: 'Name', Value: 'data' }] }] }));
  assert.match(gp2.VolumeId!, /^vol-[0-9a-f]{17}$/);
  assert.equal(gp2.State, 'creating');
  assert.equal(gp2.VolumeType, 'gp2', 'gp2 is the API default');
  assert.equal(gp2.Iops, 100, 'gp2: 3 IOPS per GiB, at least 100');
  assert.equal(gp2.Encrypted, false);
  assert.deepEqual(gp2.Tags, [{ Key: 'Name', Value: 'data' }]);
  const ready = await waitVolume(gp2.VolumeId!, 'available');
  assert.equal(ready.Size, 10);
  assert.equal(ready.AvailabilityZone, ZONE);
  assert.deepEqual(ready.Attachments, []);
  assert.equal(ready.SnapshotId, '');

  const gp3 = await ec2.send(new CreateVolumeCommand({ AvailabilityZone: ZONE, Size: 100, VolumeType: 'gp3' }));
  assert.deepEqual([gp3.Iops, gp3.Throughput], [3000, 125]);
  const io2 = await ec2.send(new CreateVolumeCommand({ AvailabilityZone: ZONE, Size: 10, VolumeType: 'io2', Iops: 10000 }));
  assert.equal(io2.Iops, 10000);
  const st1 = await ec2.send(new CreateVolumeCommand({ AvailabilityZone: ZONE, Size: 125, VolumeType: 'st1' }));
  assert.equal(st1.Iops, undefined);
});

test('CreateVolume refuses what AWS refuses', async () => {
  const code = (input: Record<string, unknown>) => errorCode(ec2.send(new CreateVolumeCommand({ AvailabilityZone: ZONE, ...input })));
  assert.equal(await code({}), 'MissingParameter', 'no size and no snapshot');
  assert.equal(await code({ Size: 10, AvailabilityZone: 'ap-northeast-1z' }), 'InvalidParameterValue');
  assert.equal(await code({ Size: 10, AvailabilityZone: 'us-east-1a' }), 'InvalidParameterValue', 'a zone of another region');
  assert.equal(await code({ Size: 10, VolumeType: 'gp9' }), 'InvalidParameterValue');
  assert.equal(await code({ Size: 16385 }), 'InvalidParameterValue');
  assert.equal(await code({ Size: 1025, VolumeType: 'standard' }), 'InvalidParameterValue');
  assert.equal(await code({ Size: 100, VolumeType: 'st1' }), 'InvalidParameterValue', 'st1 starts at 125 GiB');
  assert.equal(await code({ Size: 10, Iops: 300 }), 'InvalidParameterCombination', 'gp2 takes no IOPS');
  assert.equal(await code({ Size: 10, VolumeType: 'io1' }), 'MissingParameter', 'io1 needs IOPS');
  assert.equal(await code({ Size: 10, VolumeType: 'io1', Iops: 1000 }), 'InvalidParameterValue', 'io1: at most 50 IOPS per GiB');
  assert.equal(await code({ Size: 10, VolumeType: 'gp3', Iops: 2000 }), 'InvalidParameterValue', 'gp3: at least 3,000 IOPS');
  assert.equal(await code({ Size: 10, VolumeType: 'gp3', Iops: 6000 }), 'InvalidParameterValue', 'gp3: above 3,000 at most 500 IOPS per GiB');
  assert.equal(await code({ Size: 100, VolumeType: 'gp3', Throughput: 1000 }), 'InvalidParameterValue', 'gp3: at most 0.25 MiB/s per IOPS');
  assert.equal(await code({ Size: 10, VolumeType: 'io1', Iops: 100, Throughput: 200 }), 'InvalidParameterCombination');
  assert.equal(await code({ Size: 10, Encrypted: true }), 'InvalidParameterValue', 'encryption is refused, not ignored');
  assert.equal(await code({ Size: 10, SnapshotId: 'snap-0123456789abcdef0' }), 'InvalidSnapshot.NotFound');
  assert.equal(await code({ Size: 10, SnapshotId: 'snap-x' }), 'InvalidSnapshotID.Malformed');
  assert.equal(await code({ Size: 10, TagSpecifications: [{ ResourceType: 'snapshot', Tags: [{ Key: 'a', Value: 'b' }] }] }), 'InvalidParameterValue');
  assert.equal(await code({ Size: 10, DryRun: true }), 'DryRunOperation');
});

test('ClientToken makes CreateVolume idempotent', async () => {
  const a = await ec2.send(new CreateVolumeCommand({ AvailabilityZone: ZONE, Size: 3, ClientToken: 'token-vol-1' }));
  const b = await ec2.send(new CreateVolumeCommand({ AvailabilityZone: ZONE, Size: 3, ClientToken: 'token-vol-1' }));
  assert.equal(a.VolumeId, b.VolumeId);
});

test('DescribeVolumes: filters, pages, unknown and malformed IDs; DeleteVolume', async () => {
  const ids: string[] = [];
  for (let k = 0; k < 7; k++) {
    const v = await ec2.send(new CreateVolumeCommand({ AvailabilityZone: 'ap-northeast-1c', Size: 20 + k, VolumeType: 'gp3', TagSpecifications: [{ ResourceType: 'volume', Tags: [{ Key: 'batch', Value: 'pages' }] }] }));
    ids.push(v.VolumeId!);
  }
  await Promise.all(ids.map((id) => waitVolume(id, 'available')));
  const filtered = async (Filters: { Name: string; Values: string[] }[]) =>
    ((await ec2.send(new DescribeVolumesCommand({ Filters }))).Volumes ?? []).map((v) => v.VolumeId).sort();
  assert.deepEqual(await filtered([{ Name: 'tag:batch', Values: ['pages'] }]), [...ids].sort());
  assert.deepEqual(await filtered([{ Name: 'tag:batch', Values: ['pages'] }, { Name: 'size', Values: ['21', '22'] }]), [ids[1], ids[2]].sort());
  assert.deepEqual(await filtered([{ Name: 'availability-zone', Values: ['ap-northeast-1c'] }, { Name: 'volume-type', Values: ['gp3'] }, { Name: 'status', Values: ['available'] }]), [...ids].sort());
  assert.deepEqual(await filtered([{ Name: 'tag:batch', Values: ['pages'] }, { Name: 'attachment.instance-id', Values: ['i-*'] }]), []);

  const seen: string[] = [];
  let token: string | undefined;
  let pages = 0;
  do {
    const page = await ec2.send(new DescribeVolumesCommand({ Filters: [{ Name: 'tag:batch', Values: ['pages'] }], MaxResults: 5, NextToken: token }));
    seen.push(...page.Volumes!.map((v) => v.VolumeId!));
    token = page.NextToken;
    pages++;
  } while (token);
  assert.equal(pages, 2);
  assert.deepEqual(seen.sort(), [...ids].sort());

  assert.equal(await errorCode(ec2.send(new DescribeVolumesCommand({ VolumeIds: ['vol-0123456789abcdef0'] }))), 'InvalidVolume.NotFound');
  assert.equal(await errorCode(ec2.send(new DescribeVolumesCommand({ VolumeIds: ['vol-nope'] }))), 'InvalidVolumeID.Malformed');
  assert.equal(await errorCode(ec2.send(new DescribeVolumesCommand({ Filters: [{ Name: 'colour', Values: ['red'] }] }))), 'InvalidParameterValue');

  await ec2.send(new DeleteVolumeCommand({ VolumeId: ids[0]! }));
  await waitFor('the deleted volume to go', async () => (await errorCode(ec2.send(new DescribeVolumesCommand({ VolumeIds: [ids[0]!] })))) === 'InvalidVolume.NotFound');
  assert.equal(await errorCode(ec2.send(new DeleteVolumeCommand({ VolumeId: 'vol-0123456789abcdef0' }))), 'InvalidVolume.NotFound');
});

test('a root volume is a row: in-use at the root device, as DescribeInstances says, deleted or kept at termination', async () => {
  const ami = await debianImageId(ec2);
  const r = await ec2.send(new RunInstancesCommand({
    ImageId: ami, MinCount: 2, MaxCount: 2, InstanceType: 't3.micro', Placement: { AvailabilityZone: ZONE },
    TagSpecifications: [{ ResourceType: 'volume', Tags: [{ Key: 'role', Value: 'root' }] }],
  }));
  const [kept, gone] = r.Instances!.map((i) => i.InstanceId!) as [string, string];
  const running = await waitForState(ec2, kept, 'running', 30_000);
  const bdm = running.BlockDeviceMappings!;
  assert.equal(bdm.length, 1);
  const rootId = bdm[0]!.Ebs!.VolumeId!;
  const root = await volume(rootId);
  assert.equal(root.State, 'in-use');
  assert.equal(root.Size, 8);
  assert.equal(root.VolumeType, 'gp3');
  assert.equal(root.AvailabilityZone, ZONE);
  assert.match(root.SnapshotId!, /^snap-[0-9a-f]{17}$/);
  assert.deepEqual(root.Tags, [{ Key: 'role', Value: 'root' }]);
  const a = root.Attachments![0]!;
  assert.deepEqual([a.InstanceId, a.Device, a.State, a.DeleteOnTermination], [kept, running.RootDeviceName, 'attached', true]);
  assert.equal(bdm[0]!.DeviceName, a.Device);
  const byAttachment = await ec2.send(new DescribeVolumesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: [kept] }] }));
  assert.deepEqual(byAttachment.Volumes!.map((v) => v.VolumeId), [rootId]);
  const byVolume = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'block-device-mapping.volume-id', Values: [rootId] }] }));
  assert.deepEqual(byVolume.Reservations!.flatMap((x) => x.Instances!.map((i) => i.InstanceId)), [kept]);

  assert.equal(await errorCode(ec2.send(new DeleteVolumeCommand({ VolumeId: rootId }))), 'VolumeInUse');
  assert.equal(await errorCode(ec2.send(new DetachVolumeCommand({ VolumeId: rootId }))), 'OperationNotPermitted', 'kumo never detaches a root volume');

  await ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: kept, BlockDeviceMappings: [{ DeviceName: running.RootDeviceName, Ebs: { DeleteOnTermination: false } }] }));
  assert.equal((await volume(rootId)).Attachments![0]!.DeleteOnTermination, false, 'the volume row follows ModifyInstanceAttribute');
  const goneRoot = (await waitForState(ec2, gone, 'running', 30_000)).BlockDeviceMappings![0]!.Ebs!.VolumeId!;

  await ec2.send(new TerminateInstancesCommand({ InstanceIds: [kept, gone] }));
  await waitForState(ec2, kept, 'terminated', 30_000);
  await waitForState(ec2, gone, 'terminated', 30_000);
  const left = await waitVolume(rootId, 'available');
  assert.deepEqual(left.Attachments, [], 'DeleteOnTermination=false: the volume stays, detached');
  await waitFor('the other root volume to be deleted', async () => (await errorCode(ec2.send(new DescribeVolumesCommand({ VolumeIds: [goneRoot] })))) === 'InvalidVolume.NotFound');
  await ec2.send(new DeleteVolumeCommand({ VolumeId: rootId }));
});

test('AttachVolume and DetachVolume refuse as AWS does; the process runtime attaches nothing and snapshots nothing', async () => {
  const ami = await debianImageId(ec2);
  const r = await ec2.send(new RunInstancesCommand({ ImageId: ami, MinCount: 1, MaxCount: 1, InstanceType: 't3.micro', Placement: { AvailabilityZone: ZONE } }));
  const id = r.Instances![0]!.InstanceId!;
  const root = (await waitForState(ec2, id, 'running', 30_000)).RootDeviceName!;
  const here = (await ec2.send(new CreateVolumeCommand({ AvailabilityZone: ZONE, Size: 1 }))).VolumeId!;
  const there = (await ec2.send(new CreateVolumeCommand({ AvailabilityZone: 'ap-northeast-1c', Size: 1 }))).VolumeId!;
  await waitVolume(here, 'available');
  await waitVolume(there, 'available');
  const attach = (VolumeId: string, Device: string, InstanceId = id) => errorCode(ec2.send(new AttachVolumeCommand({ VolumeId, Device, InstanceId })));
  assert.equal(await attach(here, '/dev/sdz9'), 'InvalidParameterValue', 'not an EBS device name');
  assert.equal(await attach(here, '/dev/sda'), 'InvalidParameterValue');
  assert.equal(await attach(there, '/dev/sdf'), 'InvalidVolume.ZoneMismatch');
  assert.equal(await attach(here, root), 'InvalidParameterValue', 'the root device is in use');
  assert.equal(await attach(here, '/dev/sdf', 'i-0123456789abcdef0'), 'InvalidInstanceID.NotFound');
  assert.equal(await attach('vol-0123456789abcdef0', '/dev/sdf'), 'InvalidVolume.NotFound');
  assert.equal(await attach(here, '/dev/sdf'), 'UnsupportedOperation', 'the process runtime has no disk to attach');
  assert.equal(await errorCode(ec2.send(new DetachVolumeCommand({ VolumeId: here }))), 'IncorrectState', 'not attached');
  assert.equal(await errorCode(ec2.send(new CreateSnapshotCommand({ VolumeId: here }))), 'UnsupportedOperation');
  await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
  await waitForState(ec2, id, 'terminated', 30_000);
  assert.equal(await attach(here, '/dev/sdf'), 'IncorrectInstanceState', 'not to a terminated instance');
});

test('ModifyVolume grows a volume: modifying → optimizing → completed; attributes and status', async () => {
  const id = (await ec2.send(new CreateVolumeCommand({ AvailabilityZone: ZONE, Size: 8, VolumeType: 'gp3' }))).VolumeId!;
  await waitVolume(id, 'available');
  assert.equal(await errorCode(ec2.send(new ModifyVolumeCommand({ VolumeId: id, Size: 4 }))), 'InvalidParameterValue', 'volumes only grow');
  assert.equal(await errorCode(ec2.send(new ModifyVolumeCommand({ VolumeId: id, Iops: 100 }))), 'InvalidParameterValue');
  const m = (await ec2.send(new ModifyVolumeCommand({ VolumeId: id, Size: 16, Iops: 4000 }))).VolumeModification!;
  assert.equal(m.ModificationState, 'modifying');
  assert.deepEqual([m.OriginalSize, m.TargetSize, m.OriginalIops, m.TargetIops, m.TargetThroughput], [8, 16, 3000, 4000, 125]);
  const done = await waitFor('the modification to complete', async () => {
    const out = await ec2.send(new DescribeVolumesModificationsCommand({ VolumeIds: [id] }));
    return out.VolumesModifications![0]!.ModificationState === 'completed' ? out.VolumesModifications![0] : undefined;
  });
  assert.equal(done!.Progress, 100);
  assert.ok(done!.EndTime);
  const grown = await volume(id);
  assert.deepEqual([grown.Size, grown.Iops], [16, 4000]);
  const byState = await ec2.send(new DescribeVolumesModificationsCommand({ Filters: [{ Name: 'modification-state', Values: ['completed'] }, { Name: 'volume-id', Values: [id] }] }));
  assert.equal(byState.VolumesModifications!.length, 1);
  const retype = (await ec2.send(new ModifyVolumeCommand({ VolumeId: id, VolumeType: 'io2', Iops: 2000 }))).VolumeModification!;
  assert.deepEqual([retype.OriginalVolumeType, retype.TargetVolumeType, retype.TargetThroughput], ['gp3', 'io2', undefined]);

  const status = (await ec2.send(new DescribeVolumeStatusCommand({ VolumeIds: [id] }))).VolumeStatuses![0]!;
  assert.equal(status.VolumeStatus!.Status, 'ok');
  assert.deepEqual(status.VolumeStatus!.Details!.map((d) => d.Name), ['io-enabled', 'io-performance']);
  assert.equal((await ec2.send(new DescribeVolumeAttributeCommand({ VolumeId: id, Attribute: 'autoEnableIO' }))).AutoEnableIO!.Value, false);
  await ec2.send(new ModifyVolumeAttributeCommand({ VolumeId: id, AutoEnableIO: { Value: true } }));
  assert.equal((await ec2.send(new DescribeVolumeAttributeCommand({ VolumeId: id, Attribute: 'autoEnableIO' }))).AutoEnableIO!.Value, true);
  assert.deepEqual((await ec2.send(new DescribeVolumeAttributeCommand({ VolumeId: id, Attribute: 'productCodes' }))).ProductCodes, []);
  assert.equal(await errorCode(ec2.send(new DescribeVolumeAttributeCommand({ VolumeId: id, Attribute: 'colour' as 'autoEnableIO' }))), 'InvalidParameterValue');
});

test('the aws CLI and boto3 create, wait for, filter and delete volumes', { skip: missing('aws', 'boto3') }, async () => {
  const made = await awsJson<{ VolumeId: string }>(kumo.url, ['ec2', 'create-volume', '--availability-zone', ZONE, '--size', '5', '--volume-type', 'gp3',
    '--tag-specifications', 'ResourceType=volume,Tags=[{Key=Name,Value=cli-vol}]']);
  const wait = await aws(kumo.url, ['ec2', 'wait', 'volume-available', '--volume-ids', made.VolumeId]);
  assert.equal(wait.code, 0, wait.stderr);
  const listed = await awsJson<{ Volumes: { VolumeId: string; Size: number }[] }>(kumo.url, ['ec2', 'describe-volumes', '--filters', 'Name=tag:Name,Values=cli-vol']);
  assert.deepEqual(listed.Volumes.map((v) => [v.VolumeId, v.Size]), [[made.VolumeId, 5]]);
  const seen = await boto3<{ ids: string[]; state: string }>(kumo.url, `
import boto3, json, os
ec2 = boto3.client('ec2', endpoint_url=os.environ['KUMO_URL'])
pages = ec2.get_paginator('describe_volumes').paginate(Filters=[{'Name': 'tag:Name', 'Values': ['cli-vol']}], PaginationConfig={'PageSize': 5})
ids = [v['VolumeId'] for p in pages for v in p['Volumes']]
ec2.modify_volume(VolumeId=ids[0], Size=6)
ec2.delete_volume(VolumeId=ids[0])
print(json.dumps({'ids': ids, 'state': 'deleted'}))
`);
  assert.deepEqual(seen.ids, [made.VolumeId]);
  await waitFor('the volume to go', async () => (await errorCode(ec2.send(new DescribeVolumesCommand({ VolumeIds: [made.VolumeId] })))) === 'InvalidVolume.NotFound');
});
