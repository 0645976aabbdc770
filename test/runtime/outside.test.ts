/**
 * The instance's view of the outside world, through the API with the documents' own user data:
 * seeds/002's script for Test-EC2#1 (Amazon Linux 2), run byte for byte as it is printed, installs
 * php, httpd and mysql with yum (kumo's shim, Debian's packages through kumo's package proxy),
 * downloads http://ja.wordpress.org/latest-ja.tar.gz (kumo's mirror, built from Debian's wordpress
 * and wordpress-l10n) and serves WordPress's web installer on its public IP. A second instance
 * installing a package the first one already got through the proxy downloads nothing (kumo's
 * counters, /_kumo/health). What is not mirrored fails: example.com has no address, a path of
 * ja.wordpress.org kumo does not mirror is 404, the proxy answers nothing but the registry. And no
 * route out (kumo start --internet is off): an instance cannot reach a host address beyond
 * loopback. The package cache is the machine's (next to the test image cache): a first run on a
 * fresh machine downloads from Debian's mirror, later runs reuse it.
 *
 * Two instances, launched together, one kumo. Needs root (skips otherwise; fails under
 * KUMO_REQUIRE_NATIVE=1).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { promisify } from 'node:util';
import {
  AssociateRouteTableCommand, AttachInternetGatewayCommand, AuthorizeSecurityGroupIngressCommand, CreateInternetGatewayCommand,
  CreateRouteCommand, CreateRouteTableCommand, CreateSecurityGroupCommand, CreateSubnetCommand, CreateVpcCommand,
  DescribeImagesCommand, ModifySubnetAttributeCommand, RunInstancesCommand, TerminateInstancesCommand, type EC2Client, type Instance,
} from '@aws-sdk/client-ec2';
import { waitFor } from '../helpers/kumo.js';
import { SEED_002_SHA256, SEED_002_USER_DATA } from '../helpers/seeds.js';
import { consoleText, debianImageId, ec2Fixture, waitForState, type Ec2Fixture } from '../helpers/ec2.js';
import { routerNs, slotOfNetns } from '../../src/runtime/network/names.js';
import { inNetns, inside, netnsOf } from './instance-access.js';
import { leftovers, nativeSkipReason } from './support.js';

const exec = promisify(execFile);
const skip = nativeSkipReason();
let f: Ec2Fixture;
let ec2: EC2Client;
let vpcId = '';
let wordpress: Instance;
let debian: Instance;

/** A small package of Debian's that kumo's image does not carry: only the package proxy has it. */
const OTHER_USER_DATA = `#!/bin/bash
apt-get install -y hello && hello --greeting=hello-installed
`;

interface PackageCounters { requests: number; refused: number; hits: number; downloads: number; bytesDownloaded: number; revalidations: number }
async function packageCounters(): Promise<PackageCounters> {
  const health = (await (await fetch(`${f.kumo.url}/_kumo/health`)).json()) as { outside: { packages: PackageCounters } };
  return health.outside.packages;
}

/** The HTTP status curl gets inside the instance (its own resolver: the VPC's DNS). */
const statusInside = async (id: string, args: string) => (await inside(id, `curl -s -o /dev/null -w '%{http_code}' --max-time 10 ${args}`)).trim();

/** The console once user data has finished (kumo's runner says so). */
async function userDataDone(id: string): Promise<string> {
  return (await waitFor(`${id}'s user data to finish`, async () => {
    const c = await consoleText(ec2, id);
    return /user data exited with status \d+/.test(c) ? c : undefined;
  }, 8 * 60_000))!;
}

before(async () => {
  if (skip) return;
  f = await ec2Fixture();
  ec2 = f.ec2;
  // Part B's network: Test-VPC, a public subnet in zone a routed to an internet gateway, web-sg.
  vpcId = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.0.0.0/16' }))).Vpc!.VpcId!;
  const igw = (await ec2.send(new CreateInternetGatewayCommand({}))).InternetGateway!.InternetGatewayId!;
  await ec2.send(new AttachInternetGatewayCommand({ InternetGatewayId: igw, VpcId: vpcId }));
  const subnet = (await ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: '10.0.0.0/24', AvailabilityZone: 'ap-northeast-1a' }))).Subnet!.SubnetId!;
  await ec2.send(new ModifySubnetAttributeCommand({ SubnetId: subnet, MapPublicIpOnLaunch: { Value: true } }));
  const rtb = (await ec2.send(new CreateRouteTableCommand({ VpcId: vpcId }))).RouteTable!.RouteTableId!;
  await ec2.send(new CreateRouteCommand({ RouteTableId: rtb, DestinationCidrBlock: '0.0.0.0/0', GatewayId: igw }));
  await ec2.send(new AssociateRouteTableCommand({ RouteTableId: rtb, SubnetId: subnet }));
  const web = (await ec2.send(new CreateSecurityGroupCommand({ GroupName: 'web-sg', Description: 'web', VpcId: vpcId }))).GroupId!;
  await ec2.send(new AuthorizeSecurityGroupIngressCommand({
    GroupId: web,
    IpPermissions: [22, 80].map((p) => ({ IpProtocol: 'tcp', FromPort: p, ToPort: p, IpRanges: [{ CidrIp: '0.0.0.0/0' }] })),
  }));
  const amzn2 = (await ec2.send(new DescribeImagesCommand({ Owners: ['amazon'], Filters: [{ Name: 'name', Values: ['amzn2-ami-hvm-*-x86_64-gp2'] }] })))
    .Images!.sort((a, b) => a.CreationDate!.localeCompare(b.CreationDate!)).at(-1)!.ImageId!;
  const launch = async (ImageId: string, userData: string) => (await ec2.send(new RunInstancesCommand({
    ImageId, MinCount: 1, MaxCount: 1, InstanceType: 't2.micro', SubnetId: subnet, SecurityGroupIds: [web],
    UserData: Buffer.from(userData).toString('base64'),
  }))).Instances![0]!.InstanceId!;
  const [a, b] = await Promise.all([launch(amzn2, SEED_002_USER_DATA), launch(await debianImageId(ec2), OTHER_USER_DATA)]);
  [wordpress, debian] = await Promise.all([waitForState(ec2, a, 'running'), waitForState(ec2, b, 'running')]);
});

after(async () => {
  if (skip) return;
  const ids = [wordpress?.InstanceId, debian?.InstanceId].filter((x): x is string => !!x);
  if (ids.length) {
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: ids }));
    for (const id of ids) await waitForState(ec2, id, 'terminated', 60_000);
  }
  await f.stop();
  for (const id of ids) assert.deepEqual(leftovers(id), [], id);
});

test('seeds/002\'s user data, unchanged: PHP with mysqli, httpd enabled, Japanese WordPress served on the public IP', { skip, timeout: 10 * 60_000 }, async (t) => {
  assert.equal(createHash('sha256').update(SEED_002_USER_DATA).digest('hex'), SEED_002_SHA256, 'the documents\' bytes');
  const id = wordpress.InstanceId!;
  const started = Date.now();
  const out = await userDataDone(id);
  t.diagnostic(`user data done ${((Date.now() - started) / 1000).toFixed(0)} s after running`);
  // The documents' PHP_VERSION line is not valid bash (on AWS too): the loop never runs, the script goes on.
  assert.match(out, /user data exited with status 0/, out.slice(-3000));
  const modules = (await inside(id, 'php -m')).split('\n');
  for (const m of ['mysqli', 'mbstring', 'xml']) assert.ok(modules.includes(m), `php -m lists ${m}`);
  assert.equal((await inside(id, 'systemctl is-enabled httpd.service; systemctl is-active httpd.service')).trim(), 'enabled\nactive');
  assert.equal((await inside(id, 'stat -c %U:%G /var/www/html/index.php /var/www/html/wp-content/languages/ja.mo')).trim(), 'www-data:www-data\nwww-data:www-data', 'apache is www-data');
  assert.match(await inside(id, 'mysql --version'), /MariaDB/);

  // From the host, through the public IP: the installer (no wp-config.php yet: install.php sends
  // the browser to setup-config.php, as on any fresh WordPress), in Japanese.
  const base = `http://${wordpress.PublicIpAddress}`;
  const { stdout } = await exec('curl', ['-sSL', '--max-time', '20', '-w', '\n%{http_code} %{url_effective}', `${base}/wp-admin/install.php`]);
  const [status, effective] = stdout.slice(stdout.lastIndexOf('\n') + 1).split(' ');
  assert.equal(status, '200', stdout.slice(-2000));
  assert.equal(effective, `${base}/wp-admin/setup-config.php`);
  assert.match(stdout, /<title>WordPress &rsaquo; 設定構成ファイル<\/title>/, 'the installer speaks Japanese (latest-ja)');
  assert.match(stdout, /setup-config\.php\?step=1&amp;language=ja"[^>]*>さあ、始めましょう/, 'WordPress\'s setup wizard, its first step');
});

test('a second instance installing the same package downloads nothing', { skip, timeout: 8 * 60_000 }, async () => {
  const first = debian.InstanceId!;
  const second = wordpress.InstanceId!;
  assert.match(await userDataDone(first), /hello-installed/, 'the first instance got `hello` through the proxy');
  await userDataDone(second); // its apt is idle again
  const before = await packageCounters();
  assert.match(await inside(second, 'DEBIAN_FRONTEND=noninteractive apt-get install -y hello >/dev/null && hello'), /Hello, world!/);
  const after = await packageCounters();
  assert.ok(after.requests > before.requests, 'the second instance asked kumo\'s proxy');
  assert.equal(after.downloads, before.downloads, 'nothing downloaded');
  assert.equal(after.bytesDownloaded, before.bytesDownloaded);
  assert.ok(after.hits > before.hits, 'answered from the cache');
});

test('what kumo does not mirror fails as an unreachable host would; a non-mirrored path is 404', { skip, timeout: 2 * 60_000 }, async () => {
  const id = wordpress.InstanceId!;
  await userDataDone(id);
  // No address for example.com (curl exit 6: could not resolve), whatever the tool.
  const curl = await inside(id, 'curl -sS --max-time 5 http://example.com/ 2>&1; echo "exit $?"');
  assert.match(curl, /exit 6$/m, curl);
  assert.match(await inside(id, 'wget -q -T 5 -t 1 http://example.com/ 2>&1; echo "exit $?"'), /exit 4$/m, 'wget: network failure');
  assert.match(await inside(id, 'getent hosts ja.wordpress.org'), /^169\.254\.169\.250\s/, 'the mirrored host resolves to kumo\'s mirror');
  assert.equal(await statusInside(id, 'http://ja.wordpress.org/wordpress-6.1-ja.tar.gz'), '404');
  assert.equal(await statusInside(id, '-I http://wordpress.org/latest.tar.gz'), '200', 'wordpress.org is mirrored too');
  // The proxy apt uses is not a way out either.
  assert.equal(await statusInside(id, '-x http://169.254.169.250:80 http://example.com/'), '504');
  assert.ok((await packageCounters()).refused >= 1);
});

test('no internet by default: an instance in a public subnet reaches no host address beyond loopback', { skip, timeout: 60_000 }, async (t) => {
  const id = debian.InstanceId!;
  const ns = netnsOf(id);
  const router = routerNs(slotOfNetns(ns)!, vpcId);
  assert.equal((await exec('ip', ['-n', router, 'route', 'show', 'default'])).stdout.trim(), '', 'the VPC\'s router has no default route');
  assert.doesNotMatch((await exec('ip', ['netns', 'exec', router, 'nft', 'list', 'ruleset'])).stdout, /masquerade/);
  const address = Object.values(networkInterfaces()).flat().find((a) => a && a.family === 'IPv4' && !a.internal && !/^198\.1[89]\./.test(a.address))?.address;
  if (!address) return t.skip('this host has no IPv4 address beyond loopback');
  // Something listens there, so a failure is the network's, not a closed port's.
  const server: Server = createServer((_req, res) => res.end('host'));
  await new Promise<void>((r) => server.listen(0, '0.0.0.0', r));
  try {
    const url = `http://${address}:${(server.address() as AddressInfo).port}/`;
    assert.equal((await fetch(url)).status, 200, 'the host itself reaches it');
    const out = await inNetns(id, ['sh', '-c', `curl -sS --max-time 3 ${url} 2>&1; echo "exit $?"`]);
    assert.match(out, /exit (7|28)$/m, out);
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});
