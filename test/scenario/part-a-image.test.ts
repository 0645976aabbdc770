/**
 * SCENARIO.md Part A, on the native runtime, with real data checks inside the instances:
 * cms01 boots from a catalog AMI with user data that installs and enables httpd and writes files;
 * CreateImage (with its reboot: stopping → stopped → running) makes an image whose block device
 * mappings list the root snapshot; cms02 launches from it in another zone with the same key and
 * security group, a larger root volume, and no user data, and serves cms01's page with cms01's
 * files; a snapshot an image uses cannot be deleted until the image is deregistered. Then what
 * goes with it: NoReboot keeps the instance running, RegisterImage from a snapshot boots, a volume
 * made from the image's snapshot is read in another instance, images shared with another
 * account, duplicate names. Needs root (skips otherwise; fails under KUMO_REQUIRE_NATIVE=1).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  AttachVolumeCommand, AuthorizeSecurityGroupIngressCommand, CopyImageCommand, CreateImageCommand, CreateKeyPairCommand, CreateSecurityGroupCommand, CreateVolumeCommand,
  DeleteSnapshotCommand, DeregisterImageCommand, DescribeImageAttributeCommand, DescribeImagesCommand, DescribeInstanceStatusCommand, DescribeVolumesCommand,
  DetachVolumeCommand, EC2Client, ModifyImageAttributeCommand, RegisterImageCommand, RunInstancesCommand, TerminateInstancesCommand, type Image,
} from '@aws-sdk/client-ec2';
import { DEFAULT_CREDENTIAL } from '../../src/config.js';
import { clientConfig, errorCode, tempDir, waitFor } from '../helpers/kumo.js';
import { describeInstance, debianImageId, ec2Fixture, waitForState, type Ec2Fixture } from '../helpers/ec2.js';
import { inside } from '../runtime/instance-access.js';
import { nativeSkipReason } from '../runtime/support.js';

const exec = promisify(execFile);
const skip = nativeSkipReason();
const GiB = 1 << 30;
let f: Ec2Fixture;
let ec2: EC2Client;
let keyFile = '';
let sg = '';
const launched: string[] = [];
const OTHER = { accessKeyId: 'cmsother', secretAccessKey: 'cmsothersecret', account: '222222222222' };

const CMS_USER_DATA = `#!/bin/bash
set -e
yum -y install httpd
echo "cms page from $(hostname)" > /var/www/html/index.html
mkdir -p /srv/cms && echo "article 1" > /srv/cms/articles.txt
systemctl enable --now httpd
echo cms-ready
`;

before(async () => {
  if (skip) return;
  f = await ec2Fixture({ credentials: [DEFAULT_CREDENTIAL, OTHER] });
  ec2 = f.ec2;
  sg = (await ec2.send(new CreateSecurityGroupCommand({ GroupName: 'cms-sg', Description: 'cms' }))).GroupId!;
  for (const port of [22, 80]) {
    await ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: sg, IpPermissions: [{ IpProtocol: 'tcp', FromPort: port, ToPort: port, IpRanges: [{ CidrIp: '0.0.0.0/0' }] }] }));
  }
  const key = await ec2.send(new CreateKeyPairCommand({ KeyName: 'cms-key' }));
  keyFile = join(tempDir('kumo-part-a-'), 'cms-key.pem');
  writeFileSync(keyFile, key.KeyMaterial!);
  chmodSync(keyFile, 0o600);
});

after(async () => {
  if (skip) return;
  if (launched.length) {
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: launched }));
    for (const id of launched) await waitForState(ec2, id, 'terminated', 120_000);
  }
  await f.stop();
});

async function launch(imageId: string, zone: string, extra: Record<string, unknown> = {}): Promise<string> {
  const r = await ec2.send(new RunInstancesCommand({
    ImageId: imageId, MinCount: 1, MaxCount: 1, InstanceType: 't3.micro', KeyName: 'cms-key', SecurityGroupIds: [sg], Placement: { AvailabilityZone: zone }, ...extra,
  }));
  const id = r.Instances![0]!.InstanceId!;
  launched.push(id);
  return id;
}

const page = async (ip: string) => (await exec('curl', ['-sf', '--max-time', '2', `http://${ip}/`]).catch(() => ({ stdout: '' }))).stdout;
const ssh = (ip: string, cmd: string) =>
  exec('ssh', ['-i', keyFile, '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=5', `admin@${ip}`, cmd], { timeout: 20_000 });
const image = async (id: string): Promise<Image> => (await ec2.send(new DescribeImagesCommand({ ImageIds: [id] }))).Images![0]!;
const available = (id: string) => waitFor(`${id} available`, async () => {
  const i = await image(id);
  if (i.State === 'failed') throw new Error(`${id} failed: ${i.StateReason?.Message}`);
  return i.State === 'available' ? i : undefined;
}, 300_000);

let cms01 = '';
let amiId = '';
let rootSnapshot = '';

test('1-4: cms01 serves its page; CreateImage reboots it; cms02 from the image in another zone has its files and services', { skip, timeout: 15 * 60_000 }, async () => {
  cms01 = await launch(await debianImageId(ec2), 'ap-northeast-1a', { UserData: Buffer.from(CMS_USER_DATA).toString('base64'), TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'Name', Value: 'cms01' }] }] });
  const first = await waitForState(ec2, cms01, 'running');
  const ip1 = first.PublicIpAddress!;
  assert.match((await waitFor('cms01 serving its page', async () => (await page(ip1)) || undefined, 180_000))!, /^cms page from ip-/);
  assert.match((await waitFor('ssh into cms01', () => ssh(ip1, 'hostname').then((r) => r.stdout, () => undefined), 60_000))!, /^ip-/);

  // 2. CreateImage with its default reboot: the instance goes down and comes back.
  const seen: string[] = [];
  const statuses = new Set<string>();
  amiId = (await ec2.send(new CreateImageCommand({ InstanceId: cms01, Name: 'cms-image', Description: 'cms01 with httpd' }))).ImageId!;
  assert.match(amiId, /^ami-[0-9a-f]{17}$/);
  assert.equal((await image(amiId)).State, 'pending');
  const made = await waitFor('the image and cms01 back up', async () => {
    const state = (await describeInstance(ec2, cms01)).State!.Name!;
    if (seen.at(-1) !== state) seen.push(state);
    const status = (await ec2.send(new DescribeInstanceStatusCommand({ InstanceIds: [cms01], IncludeAllInstances: true }))).InstanceStatuses![0]?.InstanceStatus?.Status;
    if (status) statuses.add(status);
    const i = await image(amiId);
    if (i.State === 'failed') throw new Error(i.StateReason?.Message);
    return i.State === 'available' && state === 'running' ? i : undefined;
  }, 300_000);
  assert.deepEqual(seen.filter((s) => s !== 'pending'), ['running', 'stopping', 'stopped', 'running'].slice(seen[0] === 'running' ? 0 : 1), `cms01 went ${seen.join(' → ')}`);
  assert.ok([...statuses].some((s) => s !== 'ok'), `its status check did not stay ok meanwhile: ${[...statuses].join(', ')}`);
  await waitFor('cms01 serving again after the reboot', async () => (await page(ip1)) || undefined, 120_000);
  const root = made!.BlockDeviceMappings!.find((b) => b.DeviceName === made!.RootDeviceName)!;
  rootSnapshot = root.Ebs!.SnapshotId!;
  assert.match(rootSnapshot, /^snap-[0-9a-f]{17}$/);
  assert.deepEqual([made!.Name, made!.RootDeviceType, made!.Architecture, made!.VirtualizationType, made!.SourceInstanceId], ['cms-image', 'ebs', 'x86_64', 'hvm', cms01]);
  const rootVolume = (await describeInstance(ec2, cms01)).BlockDeviceMappings![0]!.Ebs!.VolumeId!;
  assert.equal((await ec2.send(new DescribeVolumesCommand({ VolumeIds: [rootVolume] }))).Volumes![0]!.State, 'in-use', 'the volume shows in the volume list');
  assert.deepEqual((await ec2.send(new DescribeImagesCommand({ Owners: ['self'] }))).Images!.map((i) => i.ImageId), [amiId]);

  // 3. cms02 from the image, in zone c, no user data, a larger root volume.
  const cms02 = await launch(amiId, 'ap-northeast-1c', { BlockDeviceMappings: [{ DeviceName: made!.RootDeviceName, Ebs: { VolumeSize: 12 } }] });
  const second = await waitForState(ec2, cms02, 'running');
  assert.equal(second.Placement!.AvailabilityZone, 'ap-northeast-1c');
  const ip2 = second.PublicIpAddress!;
  const served = await waitFor('cms02 serving the page cms01 wrote', async () => (await page(ip2)) || undefined, 120_000);
  assert.equal(served, `cms page from ip-${first.PrivateIpAddress!.replaceAll('.', '-')}\n`, 'the same page, written on cms01');
  assert.equal(await inside(cms02, 'cat /srv/cms/articles.txt'), 'article 1\n');
  assert.equal((await inside(cms02, 'systemctl is-enabled apache2')).trim(), 'enabled');
  assert.match((await ssh(ip2, 'hostname')).stdout, new RegExp(`^ip-${second.PrivateIpAddress!.replaceAll('.', '-')}`), 'the same key logs in; the hostname is its own');
  const size = Number((await inside(cms02, 'df -B1 --output=size / | tail -n1')).trim());
  assert.ok(size > 11 * GiB && size <= 12 * GiB, `df / shows the 12 GiB asked for: ${size}`);
  const newRoot = (await ec2.send(new DescribeVolumesCommand({ VolumeIds: [second.BlockDeviceMappings![0]!.Ebs!.VolumeId!] }))).Volumes![0]!;
  assert.deepEqual([newRoot.SnapshotId, newRoot.Size], [rootSnapshot, 12], "the new root volume's SnapshotId is the image's snapshot");

  // 4. Clean up: the snapshot is the image's until it is deregistered.
  assert.equal(await errorCode(ec2.send(new DeleteSnapshotCommand({ SnapshotId: rootSnapshot }))), 'InvalidSnapshot.InUse');
  await ec2.send(new TerminateInstancesCommand({ InstanceIds: [cms02] }));
  await waitForState(ec2, cms02, 'terminated', 120_000);
});

test('NoReboot keeps the instance running; names are unique; RegisterImage from a snapshot boots', { skip, timeout: 10 * 60_000 }, async () => {
  await inside(cms01, 'echo second-version > /srv/cms/articles.txt && sync');
  const quick = (await ec2.send(new CreateImageCommand({ InstanceId: cms01, Name: 'cms-image-live', NoReboot: true }))).ImageId!;
  const states = new Set<string>();
  const img = await waitFor('the NoReboot image', async () => {
    states.add((await describeInstance(ec2, cms01)).State!.Name!);
    const i = await image(quick);
    return i.State === 'available' ? i : undefined;
  }, 300_000);
  assert.deepEqual([...states], ['running'], 'cms01 kept running');
  assert.equal(await errorCode(ec2.send(new CreateImageCommand({ InstanceId: cms01, Name: 'cms-image' }))), 'InvalidAMIName.Duplicate');

  const snap = img!.BlockDeviceMappings![0]!.Ebs!.SnapshotId!;
  const registered = (await ec2.send(new RegisterImageCommand({
    Name: 'cms-registered', Architecture: 'x86_64', RootDeviceName: '/dev/xvda', VirtualizationType: 'hvm', EnaSupport: true,
    BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: snap } }],
  }))).ImageId!;
  const reg = await image(registered);
  assert.deepEqual([reg.State, reg.RootDeviceName, reg.VirtualizationType, reg.EnaSupport], ['available', '/dev/xvda', 'hvm', true]);
  const booted = await launch(registered, 'ap-northeast-1a');
  await waitForState(ec2, booted, 'running');
  assert.equal(await waitFor('the registered image booted with the data', () => inside(booted, 'cat /srv/cms/articles.txt').catch(() => undefined), 60_000), 'second-version\n');

  // Deregistering keeps the snapshots (as on AWS); then they may go.
  await ec2.send(new DeregisterImageCommand({ ImageId: registered }));
  await ec2.send(new DeregisterImageCommand({ ImageId: quick }));
  assert.equal(await errorCode(ec2.send(new DescribeImagesCommand({ ImageIds: [quick] }))), 'InvalidAMIID.NotFound');
  await ec2.send(new DeleteSnapshotCommand({ SnapshotId: snap }));
  await ec2.send(new TerminateInstancesCommand({ InstanceIds: [booted] }));
});

test("5: a volume made from the image's snapshot is read in another instance", { skip, timeout: 5 * 60_000 }, async () => {
  const vol = (await ec2.send(new CreateVolumeCommand({ AvailabilityZone: 'ap-northeast-1a', SnapshotId: rootSnapshot }))).VolumeId!;
  await waitFor(`${vol} available`, async () => (await ec2.send(new DescribeVolumesCommand({ VolumeIds: [vol] }))).Volumes![0]!.State === 'available', 120_000);
  await ec2.send(new AttachVolumeCommand({ VolumeId: vol, InstanceId: cms01, Device: '/dev/sdf' }));
  await waitFor('the volume in cms01', async () => (await inside(cms01, 'test -b /dev/xvdf && echo yes').catch(() => '')).includes('yes'), 60_000);
  // kumo's root volumes hold the instance's own files (the overlay's upper layer) under upper/.
  assert.equal(await inside(cms01, 'mkdir -p /mnt/old && mount /dev/xvdf /mnt/old && cat /mnt/old/upper/srv/cms/articles.txt && umount /mnt/old'), 'article 1\n');
  await ec2.send(new DetachVolumeCommand({ VolumeId: vol }));
});

test('images shared with another account: it sees and launches them, cannot change them', { skip, timeout: 5 * 60_000 }, async () => {
  const other = new EC2Client(clientConfig(f.kumo.url, { credentials: { accessKeyId: OTHER.accessKeyId, secretAccessKey: OTHER.secretAccessKey } }));
  try {
    const otherAccount = OTHER.account;
    assert.equal(await errorCode(other.send(new DescribeImagesCommand({ ImageIds: [amiId] }))), 'InvalidAMIID.NotFound', 'not shared yet');
    await ec2.send(new ModifyImageAttributeCommand({ ImageId: amiId, LaunchPermission: { Add: [{ UserId: otherAccount }] } }));
    const perms = await ec2.send(new DescribeImageAttributeCommand({ ImageId: amiId, Attribute: 'launchPermission' }));
    assert.deepEqual(perms.LaunchPermissions, [{ UserId: otherAccount }]);
    const seen = (await other.send(new DescribeImagesCommand({ ExecutableUsers: ['self'] }))).Images!;
    assert.deepEqual(seen.map((i) => [i.ImageId, i.Public]), [[amiId, false]]);
    assert.equal(await errorCode(other.send(new DeregisterImageCommand({ ImageId: amiId }))), 'AuthFailure');
    await ec2.send(new ModifyImageAttributeCommand({ ImageId: amiId, LaunchPermission: { Remove: [{ UserId: otherAccount }], Add: [{ Group: 'all' }] } }));
    assert.equal((await image(amiId)).Public, true);
  } finally {
    other.destroy();
  }
});

test('CopyImage to another region: its snapshots are copied, it becomes available there and boots with the data', { skip, timeout: 5 * 60_000 }, async () => {
  const virginia = new EC2Client(clientConfig(f.kumo.url, { region: 'us-east-1' }));
  try {
    const copy = (await virginia.send(new CopyImageCommand({ SourceImageId: amiId, SourceRegion: 'ap-northeast-1', Name: 'cms-image-copy' }))).ImageId!;
    const made = await waitFor(`${copy} available`, async () => {
      const i = (await virginia.send(new DescribeImagesCommand({ ImageIds: [copy] }))).Images![0]!;
      if (i.State === 'failed') throw new Error(i.StateReason?.Message);
      return i.State === 'available' ? i : undefined;
    }, 120_000);
    const snap = made!.BlockDeviceMappings![0]!.Ebs!.SnapshotId!;
    assert.notEqual(snap, rootSnapshot, 'a snapshot of its own in us-east-1');
    const r = await virginia.send(new RunInstancesCommand({ ImageId: copy, MinCount: 1, MaxCount: 1, InstanceType: 't3.micro' }));
    const id = r.Instances![0]!.InstanceId!;
    try {
      await waitForState(virginia, id, 'running');
      assert.equal(await waitFor('the copied image booted with the data', () => inside(id, 'cat /srv/cms/articles.txt').catch(() => undefined), 60_000), 'article 1\n');
    } finally {
      await virginia.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
      await waitForState(virginia, id, 'terminated', 120_000);
    }
  } finally {
    virginia.destroy();
  }
});
