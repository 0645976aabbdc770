/**
 * An instance's public side through the API, as AWS keeps it: an auto-assigned public IP (from a
 * subnet that maps them, or AssociatePublicIpAddress on one that does not) is released at stop and
 * a new one given at every start; an Elastic IP stays across stop/start and, when it goes, a
 * running instance that asked for a public IP gets a new one; PublicDnsName follows the VPC's DNS
 * attributes (empty in a new VPC, whose enableDnsHostnames is off) while PrivateDnsName is always
 * given; stop protection refuses StopInstances and TerminateInstances. Control plane only: runs
 * on any host with the process runtime (test/runtime/instances-api-*.test.ts reach instances at
 * these addresses on real traffic).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AllocateAddressCommand, AssociateAddressCommand, AttachInternetGatewayCommand, CreateInternetGatewayCommand, CreateSubnetCommand,
  CreateVpcCommand, DescribeInstancesCommand, DescribeSubnetsCommand, DisassociateAddressCommand, ModifyInstanceAttributeCommand,
  ModifyVpcAttributeCommand, RunInstancesCommand, StartInstancesCommand, StopInstancesCommand, TerminateInstancesCommand,
  type EC2Client, type Instance, type RunInstancesCommandInput,
} from '@aws-sdk/client-ec2';
import { errorCode, REGION } from '../helpers/kumo.js';
import { debianImageId, describeInstance, ec2Fixture, waitForState, type Ec2Fixture } from '../helpers/ec2.js';

let f: Ec2Fixture;
let ec2: EC2Client;
let ami = '';

before(async () => {
  f = await ec2Fixture({ runtime: 'process' });
  ec2 = f.ec2;
  ami = await debianImageId(ec2);
});

after(() => f.stop());

const launch = async (extra: Partial<RunInstancesCommandInput> = {}): Promise<string> =>
  (await ec2.send(new RunInstancesCommand({ ImageId: ami, MinCount: 1, MaxCount: 1, InstanceType: 't3.micro', ...extra }))).Instances![0]!.InstanceId!;

const publicName = (ip: string) => `ec2-${ip.replaceAll('.', '-')}.${REGION}.compute.amazonaws.com`;
const privateName = (ip: string) => `ip-${ip.replaceAll('.', '-')}.${REGION}.compute.internal`;

/** Stops and starts the instance; answers what it looks like running again. */
async function stopStart(id: string): Promise<{ stopped: Instance; running: Instance }> {
  await ec2.send(new StopInstancesCommand({ InstanceIds: [id] }));
  const stopped = await waitForState(ec2, id, 'stopped', 30_000);
  await ec2.send(new StartInstancesCommand({ InstanceIds: [id] }));
  return { stopped, running: await waitForState(ec2, id, 'running', 30_000) };
}

/** A new VPC with an internet gateway and a subnet that does not map public IPs. */
async function customVpc(cidr: string) {
  const VpcId = (await ec2.send(new CreateVpcCommand({ CidrBlock: cidr }))).Vpc!.VpcId!;
  const igw = (await ec2.send(new CreateInternetGatewayCommand({}))).InternetGateway!.InternetGatewayId!;
  await ec2.send(new AttachInternetGatewayCommand({ InternetGatewayId: igw, VpcId }));
  const subnet = (await ec2.send(new CreateSubnetCommand({ VpcId, CidrBlock: cidr.replace(/\/16$/, '/24') }))).Subnet!;
  assert.equal(subnet.MapPublicIpOnLaunch, false);
  return { VpcId, SubnetId: subnet.SubnetId! };
}

test('a default subnet maps a public IP; a new one at every start, none while stopped', { timeout: 120_000 }, async () => {
  const id = await launch();
  const first = await waitForState(ec2, id, 'running', 30_000);
  const seen = [first.PublicIpAddress!];
  assert.match(seen[0]!, /^127\./);
  assert.equal(first.PublicDnsName, publicName(seen[0]!), 'the default VPC gives public DNS names');
  assert.equal(first.PrivateDnsName, privateName(first.PrivateIpAddress!));
  for (let round = 0; round < 2; round++) {
    const { stopped, running } = await stopStart(id);
    assert.equal(stopped.PublicIpAddress, undefined, 'released at stop');
    assert.equal(stopped.PublicDnsName, '');
    assert.match(running.PublicIpAddress ?? '', /^127\./, 'a public IP again after start');
    assert.ok(!seen.includes(running.PublicIpAddress!), `a new one each time: ${running.PublicIpAddress} after ${seen.join(', ')}`);
    assert.equal(running.PublicDnsName, publicName(running.PublicIpAddress!));
    assert.equal(running.NetworkInterfaces![0]!.Association?.PublicIp, running.PublicIpAddress);
    seen.push(running.PublicIpAddress!);
  }
  await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
});

test('AssociatePublicIpAddress=false on a subnet that maps them: no public IP, before or after a restart', { timeout: 60_000 }, async () => {
  const subnet = (await ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: 'default-for-az', Values: ['true'] }] }))).Subnets![0]!;
  const id = await launch({ NetworkInterfaces: [{ DeviceIndex: 0, SubnetId: subnet.SubnetId, AssociatePublicIpAddress: false }] });
  assert.equal((await waitForState(ec2, id, 'running', 30_000)).PublicIpAddress, undefined);
  const { running } = await stopStart(id);
  assert.equal(running.PublicIpAddress, undefined);
  assert.equal(running.PublicDnsName, '');
  await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
});

test('AssociatePublicIpAddress=true in a new VPC: a public IP at every start; PublicDnsName once DNS hostnames are on', { timeout: 120_000 }, async () => {
  const { VpcId, SubnetId } = await customVpc('10.70.0.0/16');
  const id = await launch({ NetworkInterfaces: [{ DeviceIndex: 0, SubnetId, AssociatePublicIpAddress: true }] });
  const first = await waitForState(ec2, id, 'running', 30_000);
  assert.match(first.PublicIpAddress ?? '', /^127\./);
  assert.equal(first.PublicDnsName, '', 'enableDnsHostnames is off in a new VPC: no public DNS name');
  assert.equal(first.NetworkInterfaces![0]!.Association?.PublicDnsName, '');
  assert.equal(first.PrivateDnsName, privateName(first.PrivateIpAddress!), 'the private DNS name is given whatever the attributes');
  const noName = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'dns-name', Values: [publicName(first.PublicIpAddress!)] }] }));
  assert.deepEqual(noName.Reservations, []);

  const { stopped, running } = await stopStart(id);
  assert.equal(stopped.PublicIpAddress, undefined);
  assert.match(running.PublicIpAddress ?? '', /^127\./, 'the instance remembers it wants a public IP');
  assert.notEqual(running.PublicIpAddress, first.PublicIpAddress);

  await ec2.send(new ModifyVpcAttributeCommand({ VpcId, EnableDnsHostnames: { Value: true } }));
  const named = await describeInstance(ec2, id);
  assert.equal(named.PublicDnsName, publicName(running.PublicIpAddress!));
  assert.equal(named.NetworkInterfaces![0]!.Association?.PublicDnsName, named.PublicDnsName);
  const byName = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'dns-name', Values: [named.PublicDnsName!] }] }));
  assert.deepEqual(byName.Reservations?.flatMap((r) => r.Instances!.map((i) => i.InstanceId)), [id]);
  await ec2.send(new ModifyVpcAttributeCommand({ VpcId, EnableDnsSupport: { Value: false } }));
  assert.equal((await describeInstance(ec2, id)).PublicDnsName, '', 'no DNS support, no public DNS names');
  await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
});

test('an Elastic IP stays across stop/start; when it goes, the instance gets a new public IP if it asked for one', { timeout: 120_000 }, async () => {
  const { SubnetId } = await customVpc('10.71.0.0/16');
  const wants = await launch({ NetworkInterfaces: [{ DeviceIndex: 0, SubnetId, AssociatePublicIpAddress: true }] });
  const plain = await launch({ SubnetId });
  const auto = (await waitForState(ec2, wants, 'running', 30_000)).PublicIpAddress!;
  assert.equal((await waitForState(ec2, plain, 'running', 30_000)).PublicIpAddress, undefined);

  const eip = await ec2.send(new AllocateAddressCommand({ Domain: 'vpc' }));
  await ec2.send(new AssociateAddressCommand({ AllocationId: eip.AllocationId, InstanceId: wants }));
  assert.equal((await describeInstance(ec2, wants)).PublicIpAddress, eip.PublicIp, 'the Elastic IP replaces the auto-assigned one');
  const { stopped, running } = await stopStart(wants);
  assert.equal(stopped.PublicIpAddress, eip.PublicIp, 'kept while stopped');
  assert.equal(running.PublicIpAddress, eip.PublicIp, 'and after start, no auto-assigned one beside it');
  assert.equal(running.NetworkInterfaces![0]!.Association?.IpOwnerId, running.NetworkInterfaces![0]!.OwnerId, 'owned by the account, not amazon');

  // Moved to the other instance: the first one gets a new public IP of its own, the second has the Elastic IP.
  await ec2.send(new AssociateAddressCommand({ AllocationId: eip.AllocationId, InstanceId: plain, AllowReassociation: true }));
  const regained = (await describeInstance(ec2, wants)).PublicIpAddress;
  assert.match(regained ?? '', /^127\./);
  assert.notEqual(regained, eip.PublicIp);
  assert.notEqual(regained, auto, 'not the address it gave back');
  assert.equal((await describeInstance(ec2, plain)).PublicIpAddress, eip.PublicIp);
  await ec2.send(new DisassociateAddressCommand({ PublicIp: eip.PublicIp }));
  assert.equal((await describeInstance(ec2, plain)).PublicIpAddress, undefined, 'an instance that never asked for a public IP gets none');
  await ec2.send(new TerminateInstancesCommand({ InstanceIds: [wants, plain] }));
});

test('stop protection refuses StopInstances and TerminateInstances until it is lifted', { timeout: 60_000 }, async () => {
  const id = await launch({ DisableApiStop: true });
  await waitForState(ec2, id, 'running', 30_000);
  assert.equal(await errorCode(ec2.send(new StopInstancesCommand({ InstanceIds: [id] }))), 'OperationNotPermitted');
  assert.equal(await errorCode(ec2.send(new StopInstancesCommand({ InstanceIds: [id], Force: true }))), 'OperationNotPermitted');
  assert.equal(await errorCode(ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }))), 'OperationNotPermitted', 'stop protection also guards against termination');
  assert.equal((await describeInstance(ec2, id)).State?.Name, 'running');
  await ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: id, DisableApiStop: { Value: false } }));
  await ec2.send(new StopInstancesCommand({ InstanceIds: [id] }));
  await waitForState(ec2, id, 'stopped', 30_000);
  await ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: id, DisableApiStop: { Value: true } }));
  assert.equal(await errorCode(ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }))), 'OperationNotPermitted', 'set while stopped, it holds too');
  await ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: id, DisableApiStop: { Value: false } }));
  await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
  await waitForState(ec2, id, 'terminated', 30_000);
});
