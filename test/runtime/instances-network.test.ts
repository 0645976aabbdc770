/**
 * Instances on the VPC data plane, through the API: a web instance whose user data installs a
 * web server enabled at boot; a second instance reaches its page while `web-sg` allows port 80
 * and not after the rule is revoked; a group-referencing rule admits members only; a network ACL
 * deny blocks across subnets; the host reaches the page through the instance's public (loopback)
 * IP; ssh with the key pair logs in and a wrong key does not; IMDS v1/v2 answers match
 * DescribeInstances; the VPC DNS server answers the instances' names. "From an instance" means
 * from inside its network namespace (`ip netns exec`), the network view its processes have.
 * Needs root (skips otherwise; fails under KUMO_REQUIRE_NATIVE=1).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  AttachInternetGatewayCommand, AuthorizeSecurityGroupIngressCommand, CreateInternetGatewayCommand, CreateKeyPairCommand,
  CreateNetworkAclEntryCommand, CreateRouteCommand, CreateSecurityGroupCommand, CreateSubnetCommand, CreateVpcCommand,
  DescribeNetworkAclsCommand, DeleteNetworkAclEntryCommand, DescribeRouteTablesCommand, RevokeSecurityGroupIngressCommand,
  RunInstancesCommand, TerminateInstancesCommand, AllocateAddressCommand, AssociateAddressCommand, ModifyInstanceAttributeCommand,
  ModifyInstanceMetadataOptionsCommand, ModifyVpcAttributeCommand, type EC2Client, type Instance,
} from '@aws-sdk/client-ec2';
import { tempDir, waitFor } from '../helpers/kumo.js';
import { debianImageId, describeInstance, ec2Fixture, waitForState, type Ec2Fixture } from '../helpers/ec2.js';
import { nativeSkipReason } from './support.js';

const exec = promisify(execFile);
const skip = nativeSkipReason();
let f: Ec2Fixture;
let ec2: EC2Client;
let keyDir = '';
const ids: string[] = [];

const WEB_USER_DATA = `#!/bin/bash
set -e
apt-get install -y nginx
echo "hello from $(hostname)" > /var/www/html/index.html
systemctl enable --now nginx
`;

/** Runs a command in the instance's network namespace (the fabric names it after the instance). */
async function inInstance(id: string, cmd: string[]): Promise<string> {
  const ns = readdirSync('/run/netns').find((n) => n.endsWith(`-${id}`));
  if (!ns) throw new Error(`no namespace for ${id}`);
  const { stdout } = await exec('ip', ['netns', 'exec', ns, ...cmd], { timeout: 20_000 });
  return stdout;
}

const curlFrom = (id: string, url: string, headers: string[] = []) =>
  inInstance(id, ['curl', '-sf', '--max-time', '2', ...headers.flatMap((h) => ['-H', h]), url]).catch(() => undefined);

before(async () => {
  if (skip) return;
  f = await ec2Fixture();
  ec2 = f.ec2;
  keyDir = tempDir('kumo-keys-');
});

after(async () => {
  if (skip) return;
  if (ids.length) {
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: ids }));
    for (const id of ids) await waitForState(ec2, id, 'terminated', 60_000);
  }
  await f.stop();
  rmSync(keyDir, { recursive: true, force: true });
});

test('security groups, ACLs, public IPs, ssh, IMDS and DNS work on real traffic', { skip, timeout: 10 * 60_000 }, async (t) => {
  const ami = await debianImageId(ec2);
  const vpcId = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.0.0.0/16' }))).Vpc!.VpcId!;
  // Its resolver answers EC2's names only with DNS hostnames on, as on AWS (a new VPC has them off).
  await ec2.send(new ModifyVpcAttributeCommand({ VpcId: vpcId, EnableDnsHostnames: { Value: true } }));
  const igw = (await ec2.send(new CreateInternetGatewayCommand({}))).InternetGateway!.InternetGatewayId!;
  await ec2.send(new AttachInternetGatewayCommand({ InternetGatewayId: igw, VpcId: vpcId }));
  const main = (await ec2.send(new DescribeRouteTablesCommand({ Filters: [{ Name: 'vpc-id', Values: [vpcId] }] }))).RouteTables![0]!;
  await ec2.send(new CreateRouteCommand({ RouteTableId: main.RouteTableId, DestinationCidrBlock: '0.0.0.0/0', GatewayId: igw }));
  const pub = (await ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: '10.0.1.0/24' }))).Subnet!.SubnetId!;
  const other = (await ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: '10.0.2.0/24' }))).Subnet!.SubnetId!;
  const sg = async (name: string) => (await ec2.send(new CreateSecurityGroupCommand({ VpcId: vpcId, GroupName: name, Description: name }))).GroupId!;
  const webSg = await sg('web-sg');
  const clientSg = await sg('client-sg');
  const strangerSg = await sg('stranger-sg');
  const open = { GroupId: webSg, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 80, ToPort: 80, IpRanges: [{ CidrIp: '0.0.0.0/0' }] }] };
  await ec2.send(new AuthorizeSecurityGroupIngressCommand(open));
  await ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: webSg, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '0.0.0.0/0' }] }] }));
  const key = await ec2.send(new CreateKeyPairCommand({ KeyName: 'web-key' }));
  const keyFile = join(keyDir, 'web-key.pem');
  writeFileSync(keyFile, key.KeyMaterial!);
  chmodSync(keyFile, 0o600);

  const launch = async (subnet: string, group: string, extra: Record<string, unknown> = {}): Promise<Instance> => {
    const r = await ec2.send(new RunInstancesCommand({ ImageId: ami, MinCount: 1, MaxCount: 1, InstanceType: 't3.micro', SubnetId: subnet, SecurityGroupIds: [group], ...extra }));
    ids.push(r.Instances![0]!.InstanceId!);
    return r.Instances![0]!;
  };
  // A public IP on a subnet that does not map them: asked for on the primary interface, as the console does.
  const web = await launch(pub, webSg, {
    SubnetId: undefined, SecurityGroupIds: undefined,
    NetworkInterfaces: [{ DeviceIndex: 0, SubnetId: pub, Groups: [webSg], AssociatePublicIpAddress: true }],
    KeyName: 'web-key', UserData: Buffer.from(WEB_USER_DATA).toString('base64'),
  });
  const client = await launch(other, clientSg);
  const stranger = await launch(other, strangerSg);
  const running = await waitForState(ec2, web.InstanceId!, 'running');
  await waitForState(ec2, client.InstanceId!, 'running');
  await waitForState(ec2, stranger.InstanceId!, 'running');
  const webIp = running.PrivateIpAddress!;
  const page = `http://${webIp}/`;

  // nginx answers with its own page between its install and the user data's next line.
  const first = await waitFor('the web page from the second instance', async () => {
    const body = await curlFrom(client.InstanceId!, page);
    return body?.startsWith('hello from') ? body : undefined;
  }, 120_000);
  assert.equal(first!.trim(), `hello from ip-${webIp.replaceAll('.', '-')}`);

  await ec2.send(new RevokeSecurityGroupIngressCommand(open));
  await waitFor('port 80 to close', async () => (await curlFrom(client.InstanceId!, page)) === undefined, 10_000);

  await ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: webSg, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 80, ToPort: 80, UserIdGroupPairs: [{ GroupId: clientSg }] }] }));
  await waitFor('a member of client-sg to get in', () => curlFrom(client.InstanceId!, page), 10_000);
  assert.equal(await curlFrom(stranger.InstanceId!, page), undefined, 'a non-member stays out');
  await ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: stranger.InstanceId, Groups: [strangerSg, clientSg] }));
  await waitFor('the stranger, now a member, to get in', () => curlFrom(stranger.InstanceId!, page), 10_000);

  const acl = (await ec2.send(new DescribeNetworkAclsCommand({ Filters: [{ Name: 'vpc-id', Values: [vpcId] }, { Name: 'default', Values: ['true'] }] }))).NetworkAcls![0]!;
  await ec2.send(new CreateNetworkAclEntryCommand({ NetworkAclId: acl.NetworkAclId, RuleNumber: 50, Protocol: '6', RuleAction: 'deny', Egress: false, CidrBlock: '10.0.2.0/24', PortRange: { From: 80, To: 80 } }));
  await waitFor('the ACL deny to apply', async () => (await curlFrom(client.InstanceId!, page)) === undefined, 10_000);
  await ec2.send(new DeleteNetworkAclEntryCommand({ NetworkAclId: acl.NetworkAclId, RuleNumber: 50, Egress: false }));
  await waitFor('the ACL deny to go', () => curlFrom(client.InstanceId!, page), 10_000);

  // From the host, through the public (loopback) IP; web-sg has only the group rule now.
  await ec2.send(new AuthorizeSecurityGroupIngressCommand(open));
  const publicIp = running.PublicIpAddress;
  assert.ok(publicIp?.startsWith('127.'), 'AssociatePublicIpAddress gave a (loopback) public IP');
  const fromHost = await waitFor('the page on the public IP', async () => {
    const { stdout } = await exec('curl', ['-sf', '--max-time', '2', `http://${publicIp}/`]).catch(() => ({ stdout: '' }));
    return stdout;
  }, 10_000);
  assert.match(fromHost!, /hello from/);

  const ssh = (identity: string) =>
    exec('ssh', ['-i', identity, '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=5', `admin@${publicIp}`, 'sudo cat /etc/hostname'], { timeout: 20_000 });
  const login = await waitFor('ssh with the key pair', async () => (await ssh(keyFile)).stdout, 60_000);
  assert.equal(login!.trim(), `ip-${webIp.replaceAll('.', '-')}`);
  const wrongKey = join(keyDir, 'wrong');
  await exec('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', wrongKey]);
  await assert.rejects(ssh(wrongKey), 'a key that is not the key pair is refused');

  // An Elastic IP replaces the auto-assigned public IP, and the host reaches the instance there.
  const eip = await ec2.send(new AllocateAddressCommand({ Domain: 'vpc' }));
  await ec2.send(new AssociateAddressCommand({ AllocationId: eip.AllocationId, InstanceId: web.InstanceId }));
  assert.equal((await describeInstance(ec2, web.InstanceId!)).PublicIpAddress, eip.PublicIp);
  const viaEip = await waitFor('the page on the Elastic IP', async () => {
    const { stdout } = await exec('curl', ['-sf', '--max-time', '2', `http://${eip.PublicIp}/`]).catch(() => ({ stdout: '' }));
    return stdout;
  }, 10_000);
  assert.match(viaEip!, /hello from/);

  // IMDS from the web instance: v1, then v2 with a token.
  const md = (path: string, headers: string[] = []) => curlFrom(web.InstanceId!, `http://169.254.169.254/latest/meta-data/${path}`, headers);
  assert.equal(await md('instance-id'), web.InstanceId);
  assert.equal(await md('local-ipv4'), webIp);
  assert.equal(await md('public-ipv4'), eip.PublicIp);
  assert.equal(await md('placement/availability-zone'), running.Placement!.AvailabilityZone);
  assert.equal(await md('security-groups'), 'web-sg');
  assert.match((await md('public-keys/0/openssh-key'))!, /^ssh-rsa /);
  const token = await inInstance(web.InstanceId!, ['curl', '-sf', '-X', 'PUT', '-H', 'X-aws-ec2-metadata-token-ttl-seconds: 60', 'http://169.254.169.254/latest/api/token']);
  assert.equal(await md('instance-type', [`X-aws-ec2-metadata-token: ${token}`]), 't3.micro');
  assert.equal(await md('ami-id', [`X-aws-ec2-metadata-token: ${token}`]), ami);
  await ec2.send(new ModifyInstanceMetadataOptionsCommand({ InstanceId: web.InstanceId, HttpTokens: 'required' }));
  assert.equal(await md('instance-id'), undefined, 'IMDSv1 is refused once tokens are required');
  assert.equal(await md('instance-id', [`X-aws-ec2-metadata-token: ${token}`]), web.InstanceId);

  // The VPC's DNS server (base+2) answers instance names; nothing else resolves.
  const lookup = (name: string) =>
    inInstance(client.InstanceId!, [process.execPath, '-e', `const r=new (require('dns').promises.Resolver)();r.setServers(['10.0.0.2']);r.resolve4(${JSON.stringify(name)}).then(a=>console.log(a.join(',')),e=>console.log(e.code))`]);
  const region = (await md('placement/region', [`X-aws-ec2-metadata-token: ${token}`]))!;
  assert.equal((await lookup(`ip-${webIp.replaceAll('.', '-')}.${region}.compute.internal`)).trim(), webIp);
  assert.equal((await lookup(`ec2-${eip.PublicIp!.replaceAll('.', '-')}.${region}.compute.amazonaws.com`)).trim(), webIp, 'a public name resolves to the private IP inside the VPC');
  assert.equal((await lookup('example.com')).trim(), 'ENOTFOUND', 'no lookups leave the host');
  t.diagnostic(`web instance ${web.InstanceId} at ${webIp} / ${publicIp}`);
});
