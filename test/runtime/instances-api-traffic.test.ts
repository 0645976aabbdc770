/**
 * Rules set through the EC2 API, checked on real traffic between instances launched by
 * RunInstances (and from the host):
 *
 * - a security group rule whose source is a managed prefix list admits exactly the list's CIDRs,
 *   and follows ModifyManagedPrefixList;
 * - egress rules: without the default allow-all egress rule an instance cannot open connections;
 *   an egress rule to an address, or to a prefix list, lets those through;
 * - a custom network ACL associated with a subnet by ReplaceNetworkAclAssociation: a new ACL denies
 *   everything, its rules admit by number, stateless (the replies need their own rule), and
 *   moving the subnet back to the default ACL restores it;
 * - the public side on real traffic: an auto-assigned public IP answers from the host, a new one
 *   after stop/start (the old one no longer does); an Elastic IP answers before and after a stop.
 *
 * Three instances, launched together: a server (HTTP on ports 80 and 8080, enabled at boot) and a
 * client in its subnet, another client in a second subnet. Needs root (skips otherwise; fails
 * under KUMO_REQUIRE_NATIVE=1).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import {
  AllocateAddressCommand, AssociateAddressCommand, AttachInternetGatewayCommand, AuthorizeSecurityGroupEgressCommand,
  AuthorizeSecurityGroupIngressCommand, CreateInternetGatewayCommand, CreateManagedPrefixListCommand, CreateNetworkAclCommand,
  CreateNetworkAclEntryCommand, CreateSecurityGroupCommand, CreateSubnetCommand, CreateVpcCommand, DeleteNetworkAclEntryCommand,
  DescribeManagedPrefixListsCommand, DescribeNetworkAclsCommand, ModifyManagedPrefixListCommand, ReplaceNetworkAclAssociationCommand,
  RevokeSecurityGroupEgressCommand, RunInstancesCommand, StartInstancesCommand, StopInstancesCommand, TerminateInstancesCommand,
  type EC2Client, type Instance, type RunInstancesCommandInput,
} from '@aws-sdk/client-ec2';
import { waitFor } from '../helpers/kumo.js';
import { debianImageId, describeInstance, ec2Fixture, waitForState, type Ec2Fixture } from '../helpers/ec2.js';
import { curlIn } from './instance-access.js';
import { leftovers, nativeSkipReason } from './support.js';

const exec = promisify(execFile);
const skip = nativeSkipReason();
let f: Ec2Fixture;
let ec2: EC2Client;

/** HTTP on 80 and 8080, answering "hello <port>", as a unit enabled at boot. */
const SERVER_USER_DATA = `#!/bin/bash
set -e
cat > /usr/local/bin/hello-ports <<'PY'
#!/usr/bin/env python3
import http.server, threading
class Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"hello %d\\n" % self.server.server_address[1]
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
servers = [http.server.ThreadingHTTPServer(("0.0.0.0", port), Hello) for port in (80, 8080)]
threading.Thread(target=servers[1].serve_forever, daemon=True).start()
servers[0].serve_forever()
PY
chmod 755 /usr/local/bin/hello-ports
cat > /etc/systemd/system/hello-ports.service <<'UNIT'
[Service]
ExecStart=/usr/local/bin/hello-ports
[Install]
WantedBy=multi-user.target
UNIT
systemctl enable --now hello-ports
`;

let vpc = '';
let s2 = '';
let serverIp = '';
let clientsList = '';
let serversList = '';
let clientSg = '';
const at: Record<'server' | 'client' | 'client2', Instance> = {} as never;

// One hook does it all: node 20 runs a file's before hooks concurrently.
before(async () => {
  if (skip) return;
  f = await ec2Fixture();
  ec2 = f.ec2;
  const ami = await debianImageId(ec2);
  vpc = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.90.0.0/16' }))).Vpc!.VpcId!;
  const igw = (await ec2.send(new CreateInternetGatewayCommand({}))).InternetGateway!.InternetGatewayId!;
  await ec2.send(new AttachInternetGatewayCommand({ InternetGatewayId: igw, VpcId: vpc }));
  const s1 = (await ec2.send(new CreateSubnetCommand({ VpcId: vpc, CidrBlock: '10.90.1.0/24' }))).Subnet!.SubnetId!;
  s2 = (await ec2.send(new CreateSubnetCommand({ VpcId: vpc, CidrBlock: '10.90.2.0/24' }))).Subnet!.SubnetId!;
  const sg = async (name: string) => (await ec2.send(new CreateSecurityGroupCommand({ VpcId: vpc, GroupName: name, Description: name }))).GroupId!;
  const serverSg = await sg('server-sg');
  clientSg = await sg('client-sg');
  const client2Sg = await sg('client2-sg');
  clientsList = (await ec2.send(new CreateManagedPrefixListCommand({
    PrefixListName: 'clients', AddressFamily: 'IPv4', MaxEntries: 5, Entries: [{ Cidr: '10.90.1.0/24', Description: 'subnet 1' }],
  }))).PrefixList!.PrefixListId!;
  await ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: serverSg, IpPermissions: [
    { IpProtocol: 'tcp', FromPort: 80, ToPort: 80, PrefixListIds: [{ PrefixListId: clientsList }] },
    { IpProtocol: 'tcp', FromPort: 8080, ToPort: 8080, IpRanges: [{ CidrIp: '0.0.0.0/0' }] },
  ] }));
  const launch = async (SubnetId: string, group: string, extra: Partial<RunInstancesCommandInput> = {}) =>
    (await ec2.send(new RunInstancesCommand({
      ImageId: ami, MinCount: 1, MaxCount: 1, InstanceType: 't3.micro',
      NetworkInterfaces: [{ DeviceIndex: 0, SubnetId, Groups: [group], AssociatePublicIpAddress: extra.UserData !== undefined }], ...extra,
    }))).Instances![0]!.InstanceId!;
  const ids = {
    server: await launch(s1, serverSg, { UserData: Buffer.from(SERVER_USER_DATA).toString('base64') }),
    client: await launch(s1, clientSg),
    client2: await launch(s2, client2Sg),
  };
  for (const [role, id] of Object.entries(ids)) at[role as keyof typeof at] = await waitForState(ec2, id, 'running');
  serverIp = at.server.PrivateIpAddress!;
  serversList = (await ec2.send(new CreateManagedPrefixListCommand({
    PrefixListName: 'servers', AddressFamily: 'IPv4', MaxEntries: 2, Entries: [{ Cidr: `${serverIp}/32` }],
  }))).PrefixList!.PrefixListId!;
  await waitFor('the server to serve', () => curlIn(at.client.InstanceId!, `http://${serverIp}:8080/`), 120_000);
});

after(async () => {
  if (skip) return;
  await f.stop();
});

const get = (from: 'client' | 'client2', port: number) => curlIn(at[from].InstanceId!, `http://${serverIp}:${port}/`);
const opens = (from: 'client' | 'client2', port: number, what: string) =>
  waitFor(what, async () => (await get(from, port)) === `hello ${port}\n`, 10_000);
const closes = (from: 'client' | 'client2', port: number, what: string) => waitFor(what, async () => (await get(from, port)) === undefined, 10_000);

async function listVersion(id: string): Promise<number> {
  return (await ec2.send(new DescribeManagedPrefixListsCommand({ PrefixListIds: [id] }))).PrefixLists![0]!.Version!;
}

test('a prefix-list source admits the list\'s CIDRs only, and follows changes to the list', { skip, timeout: 60_000 }, async () => {
  assert.equal(await get('client', 80), 'hello 80\n', 'subnet 1 is in the list');
  assert.equal(await get('client2', 80), undefined, 'subnet 2 is not');
  assert.equal(await get('client2', 8080), 'hello 8080\n', '8080 is open to all');
  await ec2.send(new ModifyManagedPrefixListCommand({ PrefixListId: clientsList, CurrentVersion: await listVersion(clientsList), AddEntries: [{ Cidr: '10.90.2.0/24' }] }));
  await opens('client2', 80, 'subnet 2, added to the list, to get in');
  await ec2.send(new ModifyManagedPrefixListCommand({ PrefixListId: clientsList, CurrentVersion: await listVersion(clientsList), RemoveEntries: [{ Cidr: '10.90.2.0/24' }] }));
  await closes('client2', 80, 'subnet 2, removed again, to be kept out');
  assert.equal(await get('client', 80), 'hello 80\n');
});

test('egress rules: no egress rule, no connection; a rule to an address or a prefix list lets those through', { skip, timeout: 60_000 }, async () => {
  await ec2.send(new RevokeSecurityGroupEgressCommand({ GroupId: clientSg, IpPermissions: [{ IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }] }] }));
  await closes('client', 8080, 'the client, without egress rules, to get nowhere');
  assert.equal(await get('client', 80), undefined);
  await ec2.send(new AuthorizeSecurityGroupEgressCommand({ GroupId: clientSg, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 8080, ToPort: 8080, IpRanges: [{ CidrIp: `${serverIp}/32` }] }] }));
  await opens('client', 8080, 'egress to the server\'s 8080');
  assert.equal(await get('client', 80), undefined, 'port 80 is still not allowed out, though the server would take it');
  await ec2.send(new AuthorizeSecurityGroupEgressCommand({ GroupId: clientSg, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 80, ToPort: 80, PrefixListIds: [{ PrefixListId: serversList }] }] }));
  await opens('client', 80, 'egress to port 80 of the prefix list\'s addresses');
  assert.equal(await curlIn(at.client.InstanceId!, `http://${at.client2.PrivateIpAddress}:22/`, ['-o', '/dev/null']), undefined, 'nowhere else');
});

test('a custom network ACL on a subnet (ReplaceNetworkAclAssociation): deny by default, rules by number, stateless', { skip, timeout: 90_000 }, async () => {
  const dflt = (await ec2.send(new DescribeNetworkAclsCommand({ Filters: [{ Name: 'vpc-id', Values: [vpc] }, { Name: 'default', Values: ['true'] }] }))).NetworkAcls![0]!;
  const association = dflt.Associations!.find((a) => a.SubnetId === s2)!.NetworkAclAssociationId!;
  const acl = (await ec2.send(new CreateNetworkAclCommand({ VpcId: vpc }))).NetworkAcl!.NetworkAclId!;
  const moved = (await ec2.send(new ReplaceNetworkAclAssociationCommand({ AssociationId: association, NetworkAclId: acl }))).NewAssociationId!;
  await closes('client2', 8080, 'subnet 2 under a new ACL, which denies everything');
  assert.equal(await get('client', 8080), 'hello 8080\n', 'subnet 1 keeps the default ACL');

  const entry = (RuleNumber: number, Egress: boolean, RuleAction: 'allow' | 'deny', From: number, To: number) =>
    ec2.send(new CreateNetworkAclEntryCommand({ NetworkAclId: acl, RuleNumber, Egress, RuleAction, Protocol: '6', CidrBlock: '10.90.1.0/24', PortRange: { From, To } }));
  await entry(100, true, 'allow', 8080, 8080);
  await entry(100, false, 'allow', 1024, 65535);
  await opens('client2', 8080, 'requests out (egress rule 100) and replies in (ingress rule 100)');
  await ec2.send(new DeleteNetworkAclEntryCommand({ NetworkAclId: acl, RuleNumber: 100, Egress: false }));
  await closes('client2', 8080, 'nothing, once the replies have no rule: ACLs are stateless');
  await entry(100, false, 'allow', 1024, 65535);
  await opens('client2', 8080, 'the replies\' rule back');
  await entry(90, false, 'deny', 1024, 65535);
  await closes('client2', 8080, 'a lower-numbered deny to win');
  await ec2.send(new DeleteNetworkAclEntryCommand({ NetworkAclId: acl, RuleNumber: 90, Egress: false }));
  await opens('client2', 8080, 'the allow to apply again');
  assert.equal(await get('client2', 80), undefined, 'port 80 has no egress rule in the ACL');

  await ec2.send(new ReplaceNetworkAclAssociationCommand({ AssociationId: moved, NetworkAclId: dflt.NetworkAclId }));
  await opens('client2', 8080, 'subnet 2 back on the default ACL');
});

const fromHost = async (ip: string) => {
  try {
    return (await exec('curl', ['-sf', '--max-time', '2', `http://${ip}:8080/`])).stdout;
  } catch {
    return undefined;
  }
};

test('from the host: a new public IP after every start, the old one gone; an Elastic IP kept across stop/start', { skip, timeout: 5 * 60_000 }, async () => {
  const id = at.server.InstanceId!;
  const first = at.server.PublicIpAddress!;
  assert.equal(await fromHost(first), 'hello 8080\n');
  const restart = async () => {
    await ec2.send(new StopInstancesCommand({ InstanceIds: [id] }));
    await waitForState(ec2, id, 'stopped', 60_000);
    await ec2.send(new StartInstancesCommand({ InstanceIds: [id] }));
    return waitForState(ec2, id, 'running', 120_000);
  };
  const again = await restart();
  const second = again.PublicIpAddress!;
  assert.match(second ?? '', /^127\./, 'AssociatePublicIpAddress holds at every start');
  assert.notEqual(second, first);
  assert.equal(await waitFor('the server on its new public IP', () => fromHost(second), 60_000), 'hello 8080\n');
  assert.equal(await fromHost(first), undefined, 'the old address leads nowhere');

  const eip = await ec2.send(new AllocateAddressCommand({ Domain: 'vpc' }));
  await ec2.send(new AssociateAddressCommand({ AllocationId: eip.AllocationId, InstanceId: id }));
  await waitFor('the server on its Elastic IP', () => fromHost(eip.PublicIp!), 10_000);
  assert.equal(await fromHost(second), undefined, 'the Elastic IP replaced the auto-assigned one');
  const third = await restart();
  assert.equal(third.PublicIpAddress, eip.PublicIp, 'the Elastic IP stays across stop/start');
  assert.equal(await waitFor('the server on its Elastic IP after the start', () => fromHost(eip.PublicIp!), 60_000), 'hello 8080\n');
  assert.equal((await describeInstance(ec2, id)).PrivateIpAddress, serverIp);
});

test('terminated, the three leave nothing on the host', { skip, timeout: 2 * 60_000 }, async () => {
  const ids = Object.values(at).map((i) => i.InstanceId!);
  await ec2.send(new TerminateInstancesCommand({ InstanceIds: ids }));
  for (const id of ids) await waitForState(ec2, id, 'terminated', 60_000);
  for (const id of ids) assert.deepEqual(leftovers(id), [], id);
});
