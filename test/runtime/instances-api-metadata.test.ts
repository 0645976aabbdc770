/**
 * The metadata service and the VPC resolver as instances launched by RunInstances see them, set
 * through EC2's own calls (RunInstances' MetadataOptions, ModifyInstanceMetadataOptions,
 * CreateTags, ModifyVpcAttribute) and checked from inside the instances:
 *
 * - IMDS: the identity document and user data match what EC2 says of the instance; instance tags
 *   appear (InstanceMetadataTags=enabled) and follow CreateTags/DeleteTags; HttpEndpoint=disabled
 *   refuses everything until enabled; the hop limit is the TTL replies arrive with.
 * - DNS: in a VPC with DNS hostnames, an instance resolves its own and another instance's private
 *   name, another instance's public name to its private IP and a name outside the VPC to its
 *   public IP, and nothing else; in a new VPC (hostnames off) only public names resolve, and with
 *   DNS support off the resolver refuses.
 *
 * Four instances, launched together. Needs root (skips otherwise; fails under KUMO_REQUIRE_NATIVE=1).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AttachInternetGatewayCommand, CreateInternetGatewayCommand, CreateSubnetCommand, CreateTagsCommand, CreateVpcCommand, DeleteTagsCommand,
  ModifyInstanceMetadataOptionsCommand, ModifyVpcAttributeCommand, RunInstancesCommand, TerminateInstancesCommand, type EC2Client, type Instance,
  type RunInstancesCommandInput,
} from '@aws-sdk/client-ec2';
import { REGION, waitFor } from '../helpers/kumo.js';
import { debianImageId, describeInstance, ec2Fixture, waitForState, type Ec2Fixture } from '../helpers/ec2.js';
import { curlIn, imdsReplyTtls, inside, resolveFrom, statusIn } from './instance-access.js';
import { leftovers, nativeSkipReason } from './support.js';

const skip = nativeSkipReason();
let f: Ec2Fixture;
let ec2: EC2Client;

const USER_DATA = Buffer.from('#!/bin/sh\n# metadata test \u00e9\necho metadata-user-data-ran\n');
/** Instances by role, as DescribeInstances shows them once running. */
const at: Record<'meta' | 'shut' | 'dark' | 'peer', Instance> = {} as never;
let vpcB = '';

const md = (id: string, path: string) => curlIn(id, `http://169.254.169.254/latest/${path}`);

// One hook does it all: node 20 runs a file's before hooks concurrently.
before(async () => {
  if (skip) return;
  f = await ec2Fixture();
  ec2 = f.ec2;
  const ami = await debianImageId(ec2);
  const network = async (cidr: string) => {
    const VpcId = (await ec2.send(new CreateVpcCommand({ CidrBlock: cidr }))).Vpc!.VpcId!;
    const igw = (await ec2.send(new CreateInternetGatewayCommand({}))).InternetGateway!.InternetGatewayId!;
    await ec2.send(new AttachInternetGatewayCommand({ InternetGatewayId: igw, VpcId }));
    const SubnetId = (await ec2.send(new CreateSubnetCommand({ VpcId, CidrBlock: cidr.replace(/\.0\.0\/16$/, '.1.0/24') }))).Subnet!.SubnetId!;
    return { VpcId, SubnetId };
  };
  const a = await network('10.80.0.0/16');
  const b = await network('10.81.0.0/16');
  vpcB = b.VpcId;
  await ec2.send(new ModifyVpcAttributeCommand({ VpcId: a.VpcId, EnableDnsHostnames: { Value: true } }));
  const launch = async (SubnetId: string, extra: Partial<RunInstancesCommandInput>) =>
    (await ec2.send(new RunInstancesCommand({
      ImageId: ami, MinCount: 1, MaxCount: 1, InstanceType: 't3.micro',
      NetworkInterfaces: [{ DeviceIndex: 0, SubnetId, AssociatePublicIpAddress: true }], ...extra,
    }))).Instances![0]!.InstanceId!;
  const ids = {
    meta: await launch(a.SubnetId, {
      UserData: USER_DATA.toString('base64'),
      MetadataOptions: { InstanceMetadataTags: 'enabled', HttpPutResponseHopLimit: 1, HttpTokens: 'optional' },
      TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'Name', Value: 'meta01' }, { Key: 'team', Value: 'kumo' }] }],
    }),
    shut: await launch(a.SubnetId, { MetadataOptions: { HttpEndpoint: 'disabled', HttpPutResponseHopLimit: 3 } }),
    peer: await launch(a.SubnetId, {}),
    dark: await launch(b.SubnetId, {}),
  };
  for (const [role, id] of Object.entries(ids)) at[role as keyof typeof at] = await waitForState(ec2, id, 'running');
});

after(async () => {
  if (skip) return;
  await f.stop();
});

test('IMDS serves the identity document, user data and tags EC2 has for the instance', { skip, timeout: 3 * 60_000 }, async () => {
  const id = at.meta.InstanceId!;
  const doc = JSON.parse((await waitFor('the identity document', () => md(id, 'dynamic/instance-identity/document'), 60_000))!);
  assert.deepEqual(
    [doc.instanceId, doc.imageId, doc.instanceType, doc.privateIp, doc.availabilityZone, doc.region, doc.architecture],
    [id, at.meta.ImageId, 't3.micro', at.meta.PrivateIpAddress, at.meta.Placement!.AvailabilityZone, REGION, 'x86_64'],
  );
  assert.equal(doc.accountId, at.meta.NetworkInterfaces![0]!.OwnerId);
  assert.equal(Date.parse(doc.pendingTime), Math.floor(at.meta.LaunchTime!.getTime() / 1000) * 1000);
  const userData = await userDataBytes(id);
  assert.deepEqual(userData, USER_DATA, 'user data comes back byte for byte');
  assert.equal(await md(id, 'meta-data/local-hostname'), at.meta.PrivateDnsName);
  assert.equal(await md(id, 'meta-data/public-ipv4'), at.meta.PublicIpAddress);
  assert.equal(await md(id, 'meta-data/public-hostname'), at.meta.PublicDnsName, 'the VPC has DNS hostnames: a public name');
  assert.match(at.meta.PublicDnsName!, /^ec2-127-/);

  assert.equal(await md(id, 'meta-data/tags/instance'), 'Name\nteam');
  assert.equal(await md(id, 'meta-data/tags/instance/Name'), 'meta01');
  await ec2.send(new CreateTagsCommand({ Resources: [id], Tags: [{ Key: 'stage', Value: 'blue' }] }));
  await ec2.send(new DeleteTagsCommand({ Resources: [id], Tags: [{ Key: 'team' }] }));
  assert.equal(await md(id, 'meta-data/tags/instance'), 'Name\nstage', 'tags are read at the moment the instance asks');
  assert.equal(await md(id, 'meta-data/tags/instance/stage'), 'blue');
  await ec2.send(new ModifyInstanceMetadataOptionsCommand({ InstanceId: id, InstanceMetadataTags: 'disabled' }));
  assert.equal(await statusIn(id, 'http://169.254.169.254/latest/meta-data/tags/instance'), 404, 'no tags once InstanceMetadataTags is disabled');
  assert.equal(await md(id, 'meta-data/instance-id'), id);
});

/** The user data as the instance reads it, as bytes (through base64, so no byte is lost to text decoding). */
async function userDataBytes(id: string): Promise<Buffer> {
  const b64 = await inside(id, 'curl -sf --max-time 3 http://169.254.169.254/latest/user-data | base64 -w0');
  return Buffer.from(b64.trim(), 'base64');
}

test('HttpEndpoint=disabled refuses every request until ModifyInstanceMetadataOptions enables it', { skip, timeout: 60_000 }, async () => {
  const id = at.shut.InstanceId!;
  assert.deepEqual(at.shut.MetadataOptions?.HttpEndpoint, 'disabled');
  assert.equal(await statusIn(id, 'http://169.254.169.254/latest/meta-data/'), 403);
  assert.equal(await statusIn(id, 'http://169.254.169.254/latest/api/token', ['-X', 'PUT', '-H', 'X-aws-ec2-metadata-token-ttl-seconds: 60']), 403);
  await ec2.send(new ModifyInstanceMetadataOptionsCommand({ InstanceId: id, HttpEndpoint: 'enabled' }));
  assert.equal((await describeInstance(ec2, id)).MetadataOptions?.HttpEndpoint, 'enabled');
  assert.equal(await md(id, 'meta-data/instance-id'), id);
  await ec2.send(new ModifyInstanceMetadataOptionsCommand({ InstanceId: id, HttpEndpoint: 'disabled' }));
  assert.equal(await statusIn(id, 'http://169.254.169.254/latest/meta-data/instance-id'), 403, 'disabled again at once');
  await ec2.send(new ModifyInstanceMetadataOptionsCommand({ InstanceId: id, HttpEndpoint: 'enabled' }));
});

test('the hop limit is the TTL the metadata service\'s replies arrive with', { skip, timeout: 60_000 }, async () => {
  assert.deepEqual(await imdsReplyTtls(at.meta.InstanceId!), [1], 'HttpPutResponseHopLimit 1 at launch');
  assert.deepEqual(await imdsReplyTtls(at.shut.InstanceId!), [3], 'HttpPutResponseHopLimit 3 at launch');
  assert.deepEqual(await imdsReplyTtls(at.peer.InstanceId!), [1], 'the Debian AMI\'s default (IMDSv2 optional: 1)');
  await ec2.send(new ModifyInstanceMetadataOptionsCommand({ InstanceId: at.meta.InstanceId, HttpPutResponseHopLimit: 2 }));
  assert.equal((await describeInstance(ec2, at.meta.InstanceId!)).MetadataOptions?.HttpPutResponseHopLimit, 2);
  await waitFor('the new hop limit', async () => (await imdsReplyTtls(at.meta.InstanceId!)).join() === '2', 10_000);
});

const name = (ip: string, kind: 'private' | 'public') =>
  kind === 'private' ? `ip-${ip.replaceAll('.', '-')}.${REGION}.compute.internal` : `ec2-${ip.replaceAll('.', '-')}.${REGION}.compute.amazonaws.com`;

/** What the instance's own resolver (its /etc/resolv.conf, through glibc) makes of a name: its address, or 'none'. */
const getent = (id: string, host: string) => inside(id, `getent ahostsv4 ${host} | head -n1 | cut -d' ' -f1`).then((s) => s.trim() || 'none', () => 'none');

test('in a VPC with DNS hostnames, the resolver answers EC2\'s names as AWS does, and nothing else', { skip, timeout: 2 * 60_000 }, async () => {
  const me = at.meta;
  const id = me.InstanceId!;
  assert.match(await inside(id, 'cat /etc/resolv.conf'), /nameserver 10\.80\.0\.2/);
  assert.equal(await getent(id, me.PrivateDnsName!), me.PrivateIpAddress, 'its own private name');
  assert.equal(await getent(id, at.peer.PrivateDnsName!), at.peer.PrivateIpAddress, 'another instance\'s private name');
  assert.equal(await getent(id, at.peer.PublicDnsName!), at.peer.PrivateIpAddress, 'another instance\'s public name, inside the VPC: its private IP');
  assert.equal(await getent(id, name(at.dark.PublicIpAddress!, 'public')), at.dark.PublicIpAddress, 'a public name outside the VPC: the public IP');
  for (const other of [name(at.dark.PrivateIpAddress!, 'private'), 'example.com', 'ip-10-80-1-9.eu-west-1.compute.internal']) {
    assert.equal(await getent(id, other), 'none', other);
    assert.equal(await resolveFrom(id, '10.80.0.2', other), 'ENOTFOUND', `${other}: NXDOMAIN`);
  }
  assert.equal(await resolveFrom(id, '169.254.169.253', me.PrivateDnsName!), me.PrivateIpAddress, 'the link-local resolver address answers the same');
});

test('in a new VPC (DNS hostnames off) only public names resolve; DNS support off, the resolver refuses', { skip, timeout: 2 * 60_000 }, async () => {
  const id = at.dark.InstanceId!;
  assert.equal(at.dark.PublicDnsName, '', 'no public DNS name without DNS hostnames');
  assert.equal(at.dark.PrivateDnsName, name(at.dark.PrivateIpAddress!, 'private'), 'a private DNS name all the same');
  assert.equal(await md(id, 'meta-data/local-hostname'), at.dark.PrivateDnsName);
  assert.equal(await md(id, 'meta-data/public-hostname'), '', 'IMDS has no public name for it either');
  assert.equal(await resolveFrom(id, '10.81.0.2', at.dark.PrivateDnsName!), 'ENOTFOUND', 'AWS resolves private names only with DNS hostnames on');
  assert.equal(await getent(id, name(at.dark.PublicIpAddress!, 'public')), at.dark.PublicIpAddress, 'its public name: the public IP (no split horizon)');

  await ec2.send(new ModifyVpcAttributeCommand({ VpcId: vpcB, EnableDnsHostnames: { Value: true } }));
  assert.equal((await describeInstance(ec2, id)).PublicDnsName, name(at.dark.PublicIpAddress!, 'public'));
  assert.equal(await getent(id, at.dark.PrivateDnsName!), at.dark.PrivateIpAddress, 'hostnames on: its private name resolves');
  assert.equal(await getent(id, name(at.dark.PublicIpAddress!, 'public')), at.dark.PrivateIpAddress, 'and its public name to its private IP');

  await ec2.send(new ModifyVpcAttributeCommand({ VpcId: vpcB, EnableDnsSupport: { Value: false } }));
  assert.equal(await resolveFrom(id, '10.81.0.2', at.dark.PrivateDnsName!), 'EREFUSED', 'no DNS support: no answers');
  assert.equal((await describeInstance(ec2, id)).PublicDnsName, '');
  assert.equal(await resolveFrom(at.meta.InstanceId!, '10.80.0.2', at.meta.PrivateDnsName!), at.meta.PrivateIpAddress, 'the other VPC is unaffected');
});

test('terminated, the four leave nothing on the host', { skip, timeout: 2 * 60_000 }, async () => {
  const ids = Object.values(at).map((i) => i.InstanceId!);
  await ec2.send(new TerminateInstancesCommand({ InstanceIds: ids }));
  for (const id of ids) await waitForState(ec2, id, 'terminated', 60_000);
  for (const id of ids) assert.deepEqual(leftovers(id), [], id);
});
