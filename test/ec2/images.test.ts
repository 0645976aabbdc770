// DescribeImages and DescribeImageAttribute over the public AMI catalog, through
// @aws-sdk/client-ec2 v3 and the aws CLI against a real kumo: the lookups user scripts and
// Terraform do (owner + name wildcard, newest by CreationDate), IDs per region, AWS's errors.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CopyImageCommand, CreateImageCommand, DeregisterImageCommand, DescribeImageAttributeCommand, DescribeImagesCommand, DescribeInstancesCommand, EC2Client,
  ModifyImageAttributeCommand, paginateDescribeImages, RegisterImageCommand, RunInstancesCommand, TerminateInstancesCommand, type Image,
} from '@aws-sdk/client-ec2';
import { findImage } from '../../src/services/ec2/images/images.js';
import { clientConfig, errorCode, REGION, waitFor, type TestKumo } from '../helpers/kumo.js';
import { ec2Fixture, type Ec2Fixture } from '../helpers/ec2.js';
import { aws } from '../helpers/python.js';

let f: Ec2Fixture;
let kumo: TestKumo;
let ec2: EC2Client;

before(async () => {
  f = await ec2Fixture();
  ({ kumo, ec2 } = f);
});
after(() => f.stop());

const names = (images: Image[] | undefined) => (images ?? []).map((i) => i.Name!).sort();

describe('DescribeImages', () => {
  test('owners amazon + a name wildcard finds Amazon Linux 2023, with the fields launch tools read', async () => {
    const { Images } = await ec2.send(new DescribeImagesCommand({
      Owners: ['amazon'],
      Filters: [{ Name: 'name', Values: ['al2023-ami-2023.*-kernel-6.1-x86_64'] }, { Name: 'state', Values: ['available'] }],
    }));
    // 2023.5.20240701.0 is past its DeprecationTime (two years after creation) and hidden.
    assert.deepEqual(names(Images), [
      'al2023-ami-2023.6.20251201.1-kernel-6.1-x86_64',
      'al2023-ami-2023.6.20260101.0-kernel-6.1-x86_64',
    ]);
    const img = Images!.find((i) => i.Name!.includes('20260101'))!;
    assert.match(img.ImageId!, /^ami-[0-9a-f]{17}$/);
    assert.equal(img.OwnerId, '137112412989');
    assert.equal(img.ImageOwnerAlias, 'amazon');
    assert.equal(img.Public, true);
    assert.equal(img.Architecture, 'x86_64');
    assert.equal(img.RootDeviceType, 'ebs');
    assert.equal(img.RootDeviceName, '/dev/xvda');
    assert.equal(img.VirtualizationType, 'hvm');
    assert.equal(img.PlatformDetails, 'Linux/UNIX');
    assert.match(img.BlockDeviceMappings![0]!.Ebs!.SnapshotId!, /^snap-[0-9a-f]{17}$/);
    assert.equal(img.CreationDate, '2026-01-01T04:13:22.000Z');
  });

  test('IDs are stable per region and differ between regions; findImage resolves them', async () => {
    const { Images } = await ec2.send(new DescribeImagesCommand({ Filters: [{ Name: 'name', Values: ['debian-12-amd64-20260101-*'] }] }));
    assert.equal(Images!.length, 1);
    const id = Images![0]!.ImageId!;
    const again = await ec2.send(new DescribeImagesCommand({ ImageIds: [id] }));
    assert.equal(again.Images![0]!.Name, Images![0]!.Name);
    const other = new EC2Client(clientConfig(kumo.url, { region: 'us-east-1' }));
    try {
      assert.equal(await errorCode(other.send(new DescribeImagesCommand({ ImageIds: [id] }))), 'InvalidAMIID.NotFound');
    } finally {
      other.destroy();
    }
    const found = findImage(REGION, id)!;
    assert.equal(found.defaultUser, 'admin');
    assert.equal(found.kumoImage.name, 'debian-12');
    assert.equal(found.rootDeviceName, '/dev/xvda');
    assert.equal(findImage('us-east-1', id), undefined);
  });

  test('owners by account id and owner-alias / owner-id filters; self owns none of the catalog', async () => {
    const debian = await ec2.send(new DescribeImagesCommand({ Owners: ['136693071363'] }));
    assert.deepEqual(names(debian.Images), ['debian-12-amd64-20251201-2310', 'debian-12-amd64-20260101-2340']);
    const ubuntu = await ec2.send(new DescribeImagesCommand({ Filters: [{ Name: 'owner-id', Values: ['099720109477'] }] }));
    assert.ok(names(ubuntu.Images).every((n) => n.startsWith('ubuntu/images/')), names(ubuntu.Images).join());
    assert.ok(names(ubuntu.Images).includes('ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-20260101'));
    const alias = await ec2.send(new DescribeImagesCommand({ Filters: [{ Name: 'owner-alias', Values: ['amazon'] }] }));
    assert.ok(names(alias.Images).every((n) => /^(al2023|amzn2)-/.test(n)));
    const self = await ec2.send(new DescribeImagesCommand({ Owners: ['self'] }));
    assert.deepEqual(self.Images, []);
    const shared = await ec2.send(new DescribeImagesCommand({ ExecutableUsers: ['self'] }));
    assert.deepEqual(shared.Images, []);
    const publicOnes = await ec2.send(new DescribeImagesCommand({ ExecutableUsers: ['all'], Filters: [{ Name: 'is-public', Values: ['true'] }] }));
    const everything = await ec2.send(new DescribeImagesCommand({}));
    assert.equal(publicOnes.Images!.length, everything.Images!.length);
    assert.ok(everything.Images!.length >= 8);
    assert.equal(await errorCode(ec2.send(new DescribeImagesCommand({ Owners: ['nobody'] }))), 'InvalidParameterValue');
  });

  test('deprecated images are hidden unless IncludeDeprecated, or asked for by ID', async () => {
    const filter = [{ Name: 'name', Values: ['amzn2-ami-hvm-2.0.2023*'] }];
    assert.deepEqual((await ec2.send(new DescribeImagesCommand({ Filters: filter }))).Images, []);
    const { Images } = await ec2.send(new DescribeImagesCommand({ Filters: filter, IncludeDeprecated: true }));
    assert.deepEqual(names(Images), ['amzn2-ami-hvm-2.0.20231101.0-x86_64-gp2']);
    const byId = await ec2.send(new DescribeImagesCommand({ ImageIds: [Images![0]!.ImageId!] }));
    assert.equal(byId.Images!.length, 1);
  });

  test('architecture, root-device-type, virtualization-type, platform-details and image-id filters', async () => {
    const all = await ec2.send(new DescribeImagesCommand({}));
    const { Images } = await ec2.send(new DescribeImagesCommand({
      Filters: [
        { Name: 'architecture', Values: ['x86_64'] }, { Name: 'root-device-type', Values: ['ebs'] },
        { Name: 'virtualization-type', Values: ['hvm'] }, { Name: 'platform-details', Values: ['Linux/UNIX'] },
      ],
    }));
    assert.equal(Images!.length, all.Images!.length);
    assert.deepEqual((await ec2.send(new DescribeImagesCommand({ Filters: [{ Name: 'architecture', Values: ['arm64'] }] }))).Images, []);
    const one = all.Images![0]!.ImageId!;
    assert.deepEqual((await ec2.send(new DescribeImagesCommand({ Filters: [{ Name: 'image-id', Values: [one] }] }))).Images!.map((i) => i.ImageId), [one]);
  });

  test('pages with MaxResults/NextToken', async () => {
    const all = await ec2.send(new DescribeImagesCommand({}));
    const seen: string[] = [];
    for await (const page of paginateDescribeImages({ client: ec2, pageSize: 5 }, {})) {
      assert.ok(page.Images!.length <= 5);
      seen.push(...page.Images!.map((i) => i.ImageId!));
    }
    assert.deepEqual(seen.sort(), all.Images!.map((i) => i.ImageId!).sort());
  });

  test('unknown IDs are InvalidAMIID.NotFound, malformed ones InvalidAMIID.Malformed', async () => {
    assert.equal(await errorCode(ec2.send(new DescribeImagesCommand({ ImageIds: ['ami-0123456789abcdef0'] }))), 'InvalidAMIID.NotFound');
    assert.equal(await errorCode(ec2.send(new DescribeImagesCommand({ ImageIds: ['ami-xyz'] }))), 'InvalidAMIID.Malformed');
    assert.equal(await errorCode(ec2.send(new DescribeImagesCommand({ ImageIds: ['vol-0123456789abcdef0'] }))), 'InvalidAMIID.Malformed');
  });
});

describe('DescribeImageAttribute', () => {
  test('description and blockDeviceMapping; launchPermission is the owner\'s; unknown attribute refused', async () => {
    const { Images } = await ec2.send(new DescribeImagesCommand({ Owners: ['amazon'], Filters: [{ Name: 'name', Values: ['al2023-ami-2023.6.20260101.0-*'] }] }));
    const ImageId = Images![0]!.ImageId!;
    const d = await ec2.send(new DescribeImageAttributeCommand({ ImageId, Attribute: 'description' }));
    assert.equal(d.ImageId, ImageId);
    assert.match(d.Description!.Value!, /Amazon Linux 2023/);
    // Launch permissions are the owner's business: Amazon's images are not the caller's.
    assert.equal(await errorCode(ec2.send(new DescribeImageAttributeCommand({ ImageId, Attribute: 'launchPermission' }))), 'AuthFailure');
    const bdm = await ec2.send(new DescribeImageAttributeCommand({ ImageId, Attribute: 'blockDeviceMapping' }));
    assert.equal(bdm.BlockDeviceMappings![0]!.DeviceName, '/dev/xvda');
    assert.equal(await errorCode(ec2.send(new DescribeImageAttributeCommand({ ImageId, Attribute: 'bogus' as 'description' }))), 'InvalidParameterValue');
    assert.equal(await errorCode(ec2.send(new DescribeImageAttributeCommand({ ImageId: 'ami-0123456789abcdef0', Attribute: 'description' }))), 'InvalidAMIID.NotFound');
  });
});

describe('the aws CLI', () => {
  test('newest AL2023 by CreationDate, as in launch scripts', async () => {
    const r = await aws(kumo.url, [
      'ec2', 'describe-images', '--owners', 'amazon',
      '--filters', 'Name=name,Values=al2023-ami-2023.*-x86_64', 'Name=state,Values=available',
      '--query', 'sort_by(Images,&CreationDate)[-1].[ImageId,Name]', '--output', 'text',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const [id, name] = r.stdout.trim().split(/\s+/);
    assert.match(id!, /^ami-[0-9a-f]{17}$/);
    assert.equal(name, 'al2023-ami-2023.6.20260101.0-kernel-6.1-x86_64');
  });

  test('errors come back with their codes', async () => {
    const nf = await aws(kumo.url, ['ec2', 'describe-images', '--image-ids', 'ami-0123456789abcdef0']);
    assert.notEqual(nf.code, 0);
    assert.match(nf.stderr, /InvalidAMIID\.NotFound/);
    const bad = await aws(kumo.url, ['ec2', 'describe-images', '--image-ids', 'ami-nope']);
    assert.match(bad.stderr, /InvalidAMIID\.Malformed/);
    const ub = await aws(kumo.url, [
      'ec2', 'describe-images', '--owners', '099720109477',
      '--filters', 'Name=name,Values=ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-*',
      '--query', 'sort_by(Images,&CreationDate)[-1].Name', '--output', 'text',
    ]);
    assert.equal(ub.stdout.trim(), 'ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-20260101');
  });
});

describe('images of one own: refusals, on the process runtime (no disks to snapshot)', () => {
  let p: Ec2Fixture;
  before(async () => {
    p = await ec2Fixture({ runtime: 'process' });
  });
  after(() => p.stop());

  test('CreateImage needs the native runtime; bad names and instances are refused as AWS refuses them', async () => {
    const ami = (await p.ec2.send(new DescribeImagesCommand({ Owners: ['136693071363'] }))).Images![0]!.ImageId!;
    const id = (await p.ec2.send(new RunInstancesCommand({ ImageId: ami, MinCount: 1, MaxCount: 1, InstanceType: 't3.micro' }))).Instances![0]!.InstanceId!;
    await waitFor('running', async () => (await p.ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }))).Reservations![0]!.Instances![0]!.State!.Name === 'running', 30_000);
    assert.equal(await errorCode(p.ec2.send(new CreateImageCommand({ InstanceId: id, Name: 'ok-name' }))), 'UnsupportedOperation');
    assert.equal(await errorCode(p.ec2.send(new CreateImageCommand({ InstanceId: id, Name: 'x' }))), 'InvalidAMIName.Malformed');
    assert.equal(await errorCode(p.ec2.send(new CreateImageCommand({ InstanceId: id, Name: 'bad*name' }))), 'InvalidAMIName.Malformed');
    assert.equal(await errorCode(p.ec2.send(new CreateImageCommand({ InstanceId: 'i-0123456789abcdef0', Name: 'ok-name' }))), 'InvalidInstanceID.NotFound');
    await p.ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
  });

  test('RegisterImage needs a completed snapshot of a root volume at the root device', async () => {
    const base = { Name: 'registered', RootDeviceName: '/dev/xvda', Architecture: 'x86_64' as const, VirtualizationType: 'hvm' };
    assert.equal(await errorCode(p.ec2.send(new RegisterImageCommand({ ...base, BlockDeviceMappings: [] }))), 'InvalidParameterValue');
    assert.equal(await errorCode(p.ec2.send(new RegisterImageCommand({ ...base, BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: 'snap-0123456789abcdef0' } }] }))), 'InvalidSnapshot.NotFound');
    assert.equal(await errorCode(p.ec2.send(new RegisterImageCommand({ ...base, BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: 'snap-nope' } }] }))), 'InvalidSnapshotID.Malformed');
  });

  test('catalog images cannot be changed or deregistered; own-image calls on unknown IDs are NotFound', async () => {
    const ami = (await p.ec2.send(new DescribeImagesCommand({ Owners: ['amazon'] }))).Images![0]!.ImageId!;
    assert.equal(await errorCode(p.ec2.send(new ModifyImageAttributeCommand({ ImageId: ami, Description: { Value: 'mine now' } }))), 'AuthFailure');
    assert.equal(await errorCode(p.ec2.send(new DeregisterImageCommand({ ImageId: ami }))), 'InvalidAMIID.NotFound');
    assert.equal(await errorCode(p.ec2.send(new DeregisterImageCommand({ ImageId: 'ami-0123456789abcdef0' }))), 'InvalidAMIID.NotFound');
    assert.equal(await errorCode(p.ec2.send(new CopyImageCommand({ SourceImageId: 'ami-0123456789abcdef0', SourceRegion: 'us-east-1', Name: 'copy' }))), 'InvalidAMIID.NotFound');
    assert.deepEqual((await p.ec2.send(new DescribeImagesCommand({ Owners: ['self'] }))).Images, []);
  });
});
