/**
 * Application load balancers on real traffic (SCENARIO.md Part B, steps 4, 7 and 9): instances
 * launched through the EC2 API serve HTTP, a load balancer made through the ELBv2 API balances
 * them, and requests from the host go to its DNS name, resolved by kumo's host resolver.
 *
 * - both targets are seen, round robin; a target in a zone the load balancer does not span gets
 *   nothing (unused, Target.NotInUse); X-Forwarded-For/-Proto/-Port and X-Amzn-Trace-Id arrive
 * - the security group chain: web-sg admits port 80 only from elb-sg, so the load balancer gets
 *   in and an instance of web-sg does not; from inside the VPC the name resolves to the nodes'
 *   private addresses, which answer
 * - a health path answering 500 → unhealthy with Target.ResponseCodeMismatch, no traffic; back
 * - a hanging health path → unhealthy with Target.Timeout, no traffic; targets deregistered during a long
 *   request drain: no new requests, the one in flight completes
 * - a stopped target: unused (Target.InvalidState), no traffic, failed requests meanwhile within
 *   what the thresholds allow; started again → healthy → traffic. Its root volume is let go on the
 *   host, though other instances and a load balancer's HAProxy started while it was mounted
 * - rules by path and host; fixed responses; 503 without healthy targets, 502 from a refusing
 *   target, 504 past the idle timeout
 * - classic and network load balancers on the same instances; SetSubnets moves nodes and
 *   targets between zones
 * - deleting the load balancer ends its HAProxy processes, and so does /_kumo/reset; kumo stop
 *   leaves none behind
 *
 * Needs root and haproxy (skips otherwise; fails under KUMO_REQUIRE_NATIVE=1).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { Resolver } from 'node:dns/promises';
import {
  AttachInternetGatewayCommand, AuthorizeSecurityGroupIngressCommand, CreateInternetGatewayCommand, CreateSecurityGroupCommand, CreateSubnetCommand,
  CreateVpcCommand, EC2Client, RunInstancesCommand, StartInstancesCommand, StopInstancesCommand, type Instance,
} from '@aws-sdk/client-ec2';
import {
  CreateListenerCommand, CreateLoadBalancerCommand, CreateRuleCommand, CreateTargetGroupCommand, DeleteLoadBalancerCommand, DescribeLoadBalancersCommand,
  DeregisterTargetsCommand, DescribeTargetHealthCommand, ElasticLoadBalancingV2Client, SetSubnetsCommand, ModifyLoadBalancerAttributesCommand, ModifyTargetGroupAttributesCommand,
  ModifyTargetGroupCommand, RegisterTargetsCommand, type LoadBalancer,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { clientConfig, startKumoForTest, TEST_PUBLIC_IP_POOL, waitFor } from '../helpers/kumo.js';
import { appendFileSync } from 'node:fs';
import { debianImageId, waitForState, webServiceUserData, type Ec2Fixture } from '../helpers/ec2.js';
import { processesOf } from '../../src/services/elbv2/dataplane/haproxy.js';
import { nodeDirs } from '../../src/services/elbv2/dataplane/haproxy.js';
import { curlIn, inside } from './instance-access.js';
import { diskHolders, haproxySkipReason, leftovers, nativeSkipReason } from './support.js';
import { aws, awsJson } from '../helpers/python.js';
import { join } from 'node:path';

const skip = nativeSkipReason() ?? haproxySkipReason();
let f: Ec2Fixture;
let ec2: EC2Client;
let elb: ElasticLoadBalancingV2Client;
let lb: LoadBalancer;
let dnsServer = '';
let tgArn = '';
let tgTwo = '';
let tgRefuse = '';
let elbSg = '';
let subnetsAC: string[] = [];
const at: Record<'web1' | 'web2' | 'web3', Instance> = {} as never;

/** HTTP on 80: its name at /, 500 on /health while /tmp/sick exists, headers at /headers, 3 s late at /slow. */
const webUserData = (name: string) => webServiceUserData(`import http.server, json, os, time
class Web(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        code, body = 200, b"${name}\\n"
        if self.path == "/health" and os.path.exists("/tmp/sick"):
            code = 500
        elif self.path == "/headers":
            body = json.dumps({k.lower(): v for k, v in self.headers.items()}).encode()
        elif self.path == "/slow":
            time.sleep(3)
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
`);

// One hook does it all: node 20 runs a file's before hooks concurrently.
before(async () => {
  if (skip) return;
  // KUMO_TEST_LOG=<file>: kumo's log lines go there (for a failing run).
  const logFile = process.env.KUMO_TEST_LOG;
  const kumo = await startKumoForTest({ elasticIpPool: TEST_PUBLIC_IP_POOL }, logFile ? (line) => appendFileSync(logFile, `${new Date().toISOString()} ${line}\n`) : undefined);
  ec2 = new EC2Client(clientConfig(kumo.url));
  f = { kumo, ec2, stop: async () => { ec2.destroy(); await kumo.stop(); } };
  elb = new ElasticLoadBalancingV2Client(clientConfig(f.kumo.url));
  dnsServer = ((await (await fetch(`${f.kumo.url}/_kumo/health`)).json()) as { dns: string }).dns;
  const ami = await debianImageId(ec2);
  const vpc = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.0.0.0/16' }))).Vpc!.VpcId!;
  const igw = (await ec2.send(new CreateInternetGatewayCommand({}))).InternetGateway!.InternetGatewayId!;
  await ec2.send(new AttachInternetGatewayCommand({ InternetGatewayId: igw, VpcId: vpc }));
  const subnet = async (cidr: string, zone: string) => (await ec2.send(new CreateSubnetCommand({ VpcId: vpc, CidrBlock: cidr, AvailabilityZone: zone }))).Subnet!.SubnetId!;
  const [a, c, d] = [await subnet('10.0.0.0/24', 'ap-northeast-1a'), await subnet('10.0.1.0/24', 'ap-northeast-1c'), await subnet('10.0.2.0/24', 'ap-northeast-1d')];
  const sg = async (name: string) => (await ec2.send(new CreateSecurityGroupCommand({ VpcId: vpc, GroupName: name, Description: name }))).GroupId!;
  elbSg = await sg('elb-sg');
  subnetsAC = [a, c];
  const webSg = await sg('web-sg');
  await ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: elbSg, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 80, ToPort: 80, IpRanges: [{ CidrIp: '0.0.0.0/0' }] }] }));
  // 80 and 81 from the load balancer only (81: nothing listens there, so it refuses).
  await ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: webSg, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 80, ToPort: 81, UserIdGroupPairs: [{ GroupId: elbSg }] }] }));
  const launch = async (name: string, SubnetId: string) =>
    (await ec2.send(new RunInstancesCommand({
      ImageId: ami, MinCount: 1, MaxCount: 1, InstanceType: 't3.micro', SubnetId, SecurityGroupIds: [webSg], UserData: Buffer.from(webUserData(name)).toString('base64'),
    }))).Instances![0]!.InstanceId!;
  // Launched together: their boots overlap.
  const [web1, web2, web3] = await Promise.all([launch('web1', a), launch('web2', c), launch('web3', d)]);
  const tg = async (Name: string, extra: Record<string, unknown> = {}) => (await elb.send(new CreateTargetGroupCommand({
    Name, Protocol: 'HTTP', Port: 80, VpcId: vpc, HealthCheckPath: '/health', HealthCheckIntervalSeconds: 5, HealthCheckTimeoutSeconds: 2,
    HealthyThresholdCount: 2, UnhealthyThresholdCount: 2, ...extra,
  }))).TargetGroups![0]!.TargetGroupArn!;
  tgArn = await tg('elb-targetgroup');
  tgTwo = await tg('only-two');
  // Traffic to port 81, where nothing listens; health checks on 80 pass.
  tgRefuse = await tg('refuses', { Port: 81, HealthCheckPort: '80' });
  await elb.send(new RegisterTargetsCommand({ TargetGroupArn: tgArn, Targets: [{ Id: web1 }, { Id: web2 }, { Id: web3 }] }));
  await elb.send(new RegisterTargetsCommand({ TargetGroupArn: tgTwo, Targets: [{ Id: web2 }] }));
  await elb.send(new RegisterTargetsCommand({ TargetGroupArn: tgRefuse, Targets: [{ Id: web1 }] }));
  lb = (await elb.send(new CreateLoadBalancerCommand({ Name: 'Test-ELB', Subnets: [a, c], SecurityGroups: [elbSg] }))).LoadBalancers![0]!;
  const listener = (await elb.send(new CreateListenerCommand({
    LoadBalancerArn: lb.LoadBalancerArn, Protocol: 'HTTP', Port: 80, DefaultActions: [{ Type: 'forward', TargetGroupArn: tgArn }],
  }))).Listeners![0]!.ListenerArn!;
  const rule = async (Priority: number, Conditions: object[], Actions: object[]) =>
    elb.send(new CreateRuleCommand({ ListenerArn: listener, Priority, Conditions: Conditions as never, Actions: Actions as never }));
  await rule(10, [{ Field: 'path-pattern', PathPatternConfig: { Values: ['/two/*'] } }], [{ Type: 'forward', TargetGroupArn: tgTwo }]);
  await rule(20, [{ Field: 'host-header', HostHeaderConfig: { Values: ['only.example.com'] } }], [{ Type: 'fixed-response', FixedResponseConfig: { StatusCode: '200', ContentType: 'text/plain', MessageBody: 'host rule' } }]);
  await rule(30, [{ Field: 'path-pattern', PathPatternConfig: { Values: ['/refused'] } }], [{ Type: 'forward', TargetGroupArn: tgRefuse }]);
  for (const [name, id] of Object.entries({ web1, web2, web3 })) at[name as keyof typeof at] = await waitForState(ec2, id, 'running');
  await waitFor('the load balancer to be active', async () => (await elb.send(new DescribeLoadBalancersCommand({ LoadBalancerArns: [lb.LoadBalancerArn!] }))).LoadBalancers![0]!.State!.Code === 'active', 60_000);
  await waitFor('both targets healthy', async () => (await healthOf(tgArn)).filter((h) => h.state === 'healthy').length === 2, 180_000);
  await waitFor('web2 healthy in only-two', async () => (await healthOf(tgTwo))[0]!.state === 'healthy', 60_000);
  // DescribeTargetHealth leads the proxies by up to a pass of the supervisor.
  await waitFor('both targets in service', async () => new Set(await bodies(4)).size === 2, 10_000);
});

after(async () => {
  if (skip) return;
  elb.destroy();
  const dir = join(f.kumo.dataDir, 'elbv2');
  const nodes = nodeDirs(dir);
  await f.stop();
  assert.deepEqual(nodes.flatMap((n) => processesOf(n.dir)), [], 'kumo stop leaves no HAProxy running');
  for (const i of Object.values(at)) assert.deepEqual(leftovers(i.InstanceId!), [], i.InstanceId);
  for (const n of nodes) assert.deepEqual(leftovers(n.eniId), [], n.eniId);
});

/** Figures for the record (test output), never asserted on. */
const t = { diagnostic: (msg: string) => console.log(`# ${msg}`) };

async function healthOf(arn: string) {
  const out = await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: arn }));
  return out.TargetHealthDescriptions!.map((d) => ({ id: d.Target!.Id!, state: d.TargetHealth!.State!, reason: d.TargetHealth!.Reason }));
}

/** A load balancer's addresses, as kumo's host resolver answers its DNS name. */
async function addresses(name = lb.DNSName!): Promise<string[]> {
  const r = new Resolver();
  r.setServers([dnsServer]);
  return r.resolve4(name);
}

type Answer = { status: number; body: string; headers: Record<string, unknown> };

/** One request from the host to the load balancer's first address: status and body. */
async function get(path: string, headers: Record<string, string> = {}): Promise<Answer> {
  const [ip] = await addresses();
  return getFrom(ip!, 80, path, { Host: lb.DNSName!, ...headers });
}

function getFrom(ip: string, port: number, path: string, headers: Record<string, string>): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: ip, port, path, headers, agent: false, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, body, headers: res.headers }));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

/** Bodies of `n` requests to `/`. */
async function bodies(n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push((await get('/')).body.trim());
  return out;
}

test('both targets serve, round robin; the zone the load balancer does not span gets nothing; forwarding headers', { skip, timeout: 60_000 }, async () => {
  const ips = await addresses();
  assert.equal(ips.length, 2, 'one address per node');
  assert.ok(ips.every((ip) => ip.startsWith('127.')), `public (loopback) addresses: ${ips}`);
  const seen = await bodies(10);
  assert.deepEqual([...new Set(seen)].sort(), ['web1', 'web2']);
  assert.equal(seen.filter((b) => b === 'web1').length, 5, `round robin: ${seen}`);
  const web3 = (await healthOf(tgArn)).find((h) => h.id === at.web3.InstanceId)!;
  assert.deepEqual([web3.state, web3.reason], ['unused', 'Target.NotInUse']);
  const { body, headers } = await get('/headers', { 'X-Forwarded-For': '203.0.113.7' });
  const seenHeaders = JSON.parse(body) as Record<string, string>;
  assert.match(seenHeaders['x-forwarded-for']!, /^203\.0\.113\.7, \d+\.\d+\.\d+\.\d+$/);
  assert.equal(seenHeaders['x-forwarded-proto'], 'http');
  assert.equal(seenHeaders['x-forwarded-port'], '80');
  assert.match(seenHeaders['x-amzn-trace-id']!, /^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$/);
  assert.equal(seenHeaders['host'], lb.DNSName);
  assert.ok(!('server' in headers) || headers.server !== 'awselb/2.0', 'a target\'s answer passes as it is');
});

test('stickiness (lb_cookie): a client with the AWSALB cookie stays on its target', { skip, timeout: 60_000 }, async () => {
  await elb.send(new ModifyTargetGroupAttributesCommand({ TargetGroupArn: tgArn, Attributes: [{ Key: 'stickiness.enabled', Value: 'true' }] }));
  const first = (await waitFor('the AWSALB cookie', async () => {
    const r = await get('/');
    const cookie = ([] as string[]).concat((r.headers['set-cookie'] as string[] | undefined) ?? []).find((c) => c.startsWith('AWSALB='));
    return cookie ? { cookie: cookie.split(';')[0]!, body: r.body } : undefined;
  }, 10_000))!;
  const sticky = new Set<string>();
  for (let i = 0; i < 6; i++) sticky.add((await get('/', { Cookie: first.cookie })).body);
  assert.deepEqual([...sticky], [first.body], 'every request with the cookie went to the same target');
  await elb.send(new ModifyTargetGroupAttributesCommand({ TargetGroupArn: tgArn, Attributes: [{ Key: 'stickiness.enabled', Value: 'false' }] }));
  await waitFor('round robin again', async () => new Set(await bodies(4)).size === 2, 10_000);
});

test('elb-sg → web-sg: the load balancer gets in, a web-sg instance does not; inside the VPC the name is private', { skip, timeout: 60_000 }, async () => {
  assert.equal(await curlIn(at.web3.InstanceId!, `http://${at.web1.PrivateIpAddress}/`), undefined, 'web-sg admits port 80 only from elb-sg');
  const resolved = await inside(at.web3.InstanceId!, `getent hosts ${lb.DNSName}`);
  assert.match(resolved, /^10\.0\.[01]\.\d+ /, resolved);
  // curl in the instance's namespace resolves with the host's resolver: the address getent found.
  const ip = resolved.split(' ')[0]!;
  const body = await waitFor('the load balancer from inside the VPC', () => curlIn(at.web3.InstanceId!, `http://${ip}/`, ['-H', `Host: ${lb.DNSName}`]), 20_000);
  assert.match(body!, /^web[12]\n$/);
});

test('rules: by path to another group, by host to a fixed response; 502 from a refusing target; 504 past the idle timeout', { skip, timeout: 90_000 }, async () => {
  for (let i = 0; i < 4; i++) assert.equal((await get('/two/x')).body, 'web2\n');
  const host = await get('/', { Host: 'only.example.com' });
  assert.deepEqual([host.status, host.body, host.headers.server], [200, 'host rule', 'awselb/2.0']);
  await waitFor('web1 healthy in the refusing group', async () => (await healthOf(tgRefuse))[0]!.state === 'healthy', 30_000);
  const refused = await get('/refused');
  assert.equal(refused.status, 502);
  assert.equal(refused.headers.server, 'awselb/2.0');
  await elb.send(new ModifyLoadBalancerAttributesCommand({ LoadBalancerArn: lb.LoadBalancerArn, Attributes: [{ Key: 'idle_timeout.timeout_seconds', Value: '1' }] }));
  await waitFor('the idle timeout to apply', async () => (await get('/slow')).status === 504, 20_000);
  await elb.send(new ModifyLoadBalancerAttributesCommand({ LoadBalancerArn: lb.LoadBalancerArn, Attributes: [{ Key: 'idle_timeout.timeout_seconds', Value: '60' }] }));
  await waitFor('the idle timeout back', async () => (await get('/slow')).status === 200, 20_000);
});

test('a health path answering 500: unhealthy (Target.ResponseCodeMismatch), no traffic; 503 without a healthy target; back', { skip, timeout: 120_000 }, async () => {
  await inside(at.web2.InstanceId!, 'touch /tmp/sick');
  await waitFor('web2 unhealthy', async () => (await healthOf(tgArn)).some((h) => h.id === at.web2.InstanceId && h.state === 'unhealthy'), 30_000);
  const web2 = (await healthOf(tgArn)).find((h) => h.id === at.web2.InstanceId)!;
  assert.equal(web2.reason, 'Target.ResponseCodeMismatch');
  await waitFor('only web1 served', async () => (await bodies(4)).every((b) => b === 'web1'), 10_000);
  await waitFor('503 on /two/ (its only target is unhealthy)', async () => (await get('/two/x')).status === 503, 10_000);
  assert.match((await get('/two/x')).body, /503 Service Temporarily Unavailable/);
  await inside(at.web2.InstanceId!, 'rm /tmp/sick');
  await waitFor('web2 healthy again', async () => (await healthOf(tgArn)).some((h) => h.id === at.web2.InstanceId && h.state === 'healthy'), 30_000);
  await waitFor('both served again', async () => new Set(await bodies(4)).size === 2, 10_000);
});

test('a hanging health path: unhealthy with Target.Timeout; deregistration lets a long request finish, then drains', { skip, timeout: 120_000 }, async () => {
  await elb.send(new ModifyTargetGroupCommand({ TargetGroupArn: tgTwo, HealthCheckPath: '/slow' }));
  await waitFor('web2 timing out in only-two', async () => (await healthOf(tgTwo))[0]!.reason === 'Target.Timeout', 30_000);
  assert.equal((await healthOf(tgTwo))[0]!.state, 'unhealthy');
  // No request is sent to a target that hangs: its group's only target is out, so /two/ is 503.
  await waitFor('no traffic to the hanging target', async () => (await get('/two/x')).status === 503, 10_000);
  await elb.send(new ModifyTargetGroupCommand({ TargetGroupArn: tgTwo, HealthCheckPath: '/health' }));
  await waitFor('web2 back in only-two', async () => (await get('/two/x')).body === 'web2\n', 30_000);

  // A request of 3 s in flight on one of the two targets, both deregistered meanwhile: it completes.
  await elb.send(new ModifyTargetGroupAttributesCommand({ TargetGroupArn: tgArn, Attributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: '10' }] }));
  const slow = get('/slow');
  await new Promise((res) => setTimeout(res, 500));
  const both = [{ Id: at.web1.InstanceId! }, { Id: at.web2.InstanceId! }];
  await elb.send(new DeregisterTargetsCommand({ TargetGroupArn: tgArn, Targets: both }));
  assert.deepEqual(new Set((await healthOf(tgArn)).filter((h) => h.id !== at.web3.InstanceId).map((h) => h.state)), new Set(['draining']));
  await waitFor('no new requests to draining targets', async () => (await get('/')).status === 503, 10_000);
  const done = await slow;
  assert.deepEqual([done.status, /^web[12]\n$/.test(done.body)], [200, true], 'the request in flight finished');
  await waitFor('drained', async () => (await healthOf(tgArn)).every((h) => h.id === at.web3.InstanceId), 20_000);
  await elb.send(new RegisterTargetsCommand({ TargetGroupArn: tgArn, Targets: both }));
  await waitFor('both back in service', async () => new Set(await bodies(4)).size === 2, 60_000);
});

test('a stopped target gets no traffic (failures only while it stops), and returns once started and healthy', { skip, timeout: 240_000 }, async () => {
  const failures: number[] = [];
  let served = 0;
  let running = true;
  // Requests all along, as a visitor's browser would send them.
  const load = (async () => {
    while (running) {
      const r = await get('/').catch(() => ({ status: 0, body: '' }));
      if (r.status === 200) served++;
      else failures.push(Date.now());
      await new Promise((res) => setTimeout(res, 20));
    }
  })();
  let unused = 0;
  // A load balancer whose HAProxy starts while web1's root volume is mounted.
  const nodesBefore = nodeDirs(join(f.kumo.dataDir, 'elbv2')).length;
  const late = (await elb.send(new CreateLoadBalancerCommand({ Name: 'while-web1-runs', Subnets: subnetsAC, SecurityGroups: [elbSg] }))).LoadBalancers![0]!;
  await waitFor('it to be active', async () => (await elb.send(new DescribeLoadBalancersCommand({ LoadBalancerArns: [late.LoadBalancerArn!] }))).LoadBalancers![0]!.State!.Code === 'active', 60_000);
  const rootDisk = join(f.kumo.dataDir, 'volumes', at.web1.BlockDeviceMappings![0]!.Ebs!.VolumeId!, 'disk');
  assert.notDeepEqual(await diskHolders(rootDisk), [], 'web1 runs on its root volume');
  const stopAsked = Date.now();
  try {
    await ec2.send(new StopInstancesCommand({ InstanceIds: [at.web1.InstanceId!] }));
    await waitFor('web1 unused', async () => {
      const web1 = (await healthOf(tgArn)).find((h) => h.id === at.web1.InstanceId)!;
      return web1.state === 'unused' && web1.reason === 'Target.InvalidState';
    }, 10_000);
    unused = Date.now();
    await waitForState(ec2, at.web1.InstanceId!, 'stopped', 60_000);
    // Two more seconds of traffic once it is stopped.
    await new Promise((res) => setTimeout(res, 2_000));
    assert.deepEqual(new Set(await bodies(6)), new Set(['web2']));
    // Stopped, its filesystem is closed: what it wrote is on the disk (the state an image copies).
    assert.deepEqual(await diskHolders(rootDisk), [], 'nothing holds the stopped instance\'s root volume');
  } finally {
    running = false;
    await load;
    await elb.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: late.LoadBalancerArn }));
    await waitFor('its nodes to go', () => nodeDirs(join(f.kumo.dataDir, 'elbv2')).length === nodesBefore, 20_000);
  }
  t.diagnostic(`${served} served, ${failures.length} failed, the last ${failures.length ? failures.at(-1)! - stopAsked : 0} ms after the stop was asked`);
  // What the thresholds allow: failures only until the proxies leave it out, within
  // UnhealthyThreshold × Interval (2 × 5 s) of the stop; here about a second and a half.
  assert.ok(failures.every((at) => at - stopAsked < 10_000), `failures came ${failures.map((at) => at - stopAsked)} ms after the stop was asked`);
  assert.ok(failures.every((at) => at - unused < 5_000), `failures came ${failures.map((at) => at - unused)} ms after the target was unused`);
  await ec2.send(new StartInstancesCommand({ InstanceIds: [at.web1.InstanceId!] }));
  await waitForState(ec2, at.web1.InstanceId!, 'running', 60_000);
  // It starts over at initial: back in service only after HealthyThresholdCount checks.
  await waitFor('web1 initial', async () => (await healthOf(tgArn)).some((h) => h.id === at.web1.InstanceId && h.state === 'initial'), 10_000);
  await waitFor('web1 healthy again', async () => (await healthOf(tgArn)).some((h) => h.id === at.web1.InstanceId && h.state === 'healthy'), 120_000);
  await waitFor('web1 served again', async () => (await bodies(4)).includes('web1'), 10_000);
});

test('a classic load balancer: TCP health checks, InService, zones without cross-zone, an HTTP and a TCP listener', { skip, timeout: 120_000 }, async () => {
  const url = f.kumo.url;
  await ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: elbSg, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 8000, ToPort: 8000, IpRanges: [{ CidrIp: '0.0.0.0/0' }] }] }));
  const dns = (await awsJson<{ DNSName: string }>(url, [
    'elb', 'create-load-balancer', '--load-balancer-name', 'Classic-ELB', '--subnets', ...subnetsAC, '--security-groups', elbSg,
    '--listeners', 'Protocol=HTTP,LoadBalancerPort=80,InstanceProtocol=HTTP,InstancePort=80', 'Protocol=TCP,LoadBalancerPort=8000,InstanceProtocol=TCP,InstancePort=80',
  ])).DNSName;
  await awsJson(url, ['elb', 'configure-health-check', '--load-balancer-name', 'Classic-ELB', '--health-check', 'Target=TCP:80,Interval=5,Timeout=2,UnhealthyThreshold=2,HealthyThreshold=2']);
  await awsJson(url, ['elb', 'register-instances-with-load-balancer', '--load-balancer-name', 'Classic-ELB', '--instances', at.web1.InstanceId!, at.web2.InstanceId!, at.web3.InstanceId!]);
  type Health = { InstanceStates: { InstanceId: string; State: string; ReasonCode: string }[] };
  const states = async () => new Map((await awsJson<Health>(url, ['elb', 'describe-instance-health', '--load-balancer-name', 'Classic-ELB'])).InstanceStates.map((s) => [s.InstanceId, s]));
  await waitFor('web1 and web2 InService', async () => {
    const s = await states();
    return s.get(at.web1.InstanceId!)!.State === 'InService' && s.get(at.web2.InstanceId!)!.State === 'InService';
  }, 60_000);
  assert.deepEqual([(await states()).get(at.web3.InstanceId!)!.State, (await states()).get(at.web3.InstanceId!)!.ReasonCode], ['OutOfService', 'ELB']);
  const ips = await addresses(dns);
  assert.equal(ips.length, 2);
  // Cross-zone off (the API's default): each node sends only to its own zone's instances.
  const perNode = async () => Promise.all(ips.map(async (ip) => new Set(await Promise.all([1, 2, 3, 4].map(async () => (await getFrom(ip, 80, '/', { Host: dns })).body.trim())))));
  await waitFor('each node to its own zone', async () => {
    const [first, second] = await perNode();
    return first!.size === 1 && first!.has('web1') && second!.size === 1 && second!.has('web2');
  }, 10_000);
  await awsJson(url, ['elb', 'modify-load-balancer-attributes', '--load-balancer-name', 'Classic-ELB', '--load-balancer-attributes', '{"CrossZoneLoadBalancing":{"Enabled":true}}']);
  await waitFor('cross-zone: both from one node', async () => (await perNode())[0]!.size === 2, 10_000);
  // HTTP listeners add X-Forwarded-For; TCP listeners pass the bytes as they are.
  const viaHttp = JSON.parse((await getFrom(ips[0]!, 80, '/headers', { Host: dns })).body) as Record<string, string>;
  assert.ok(viaHttp['x-forwarded-for']);
  assert.equal(viaHttp['x-amzn-trace-id'], undefined, 'classic load balancers add no trace id');
  const viaTcp = JSON.parse((await getFrom(ips[0]!, 8000, '/headers', { Host: dns })).body) as Record<string, string>;
  assert.equal(viaTcp['x-forwarded-for'], undefined);
  await aws(url, ['elb', 'delete-load-balancer', '--load-balancer-name', 'Classic-ELB']);
  await waitFor('its name gone', async () => (await addresses(dns).then(() => false, () => true)), 10_000);
  await waitFor('its nodes gone', () => !nodeDirs(join(f.kumo.dataDir, 'elbv2')).some((n) => n.dir.includes('classic-')), 20_000);
});

test('a network load balancer: TCP through, TCP health checks, each node to its own zone until cross-zone is on', { skip, timeout: 90_000 }, async () => {
  const tcp = (await elb.send(new CreateTargetGroupCommand({
    Name: 'tcp-web', Protocol: 'TCP', Port: 80, VpcId: lb.VpcId, HealthCheckIntervalSeconds: 5, HealthCheckTimeoutSeconds: 2, HealthyThresholdCount: 2, UnhealthyThresholdCount: 2,
  }))).TargetGroups![0]!.TargetGroupArn!;
  await elb.send(new RegisterTargetsCommand({ TargetGroupArn: tcp, Targets: [{ Id: at.web1.InstanceId! }, { Id: at.web2.InstanceId! }] }));
  const nlb = (await elb.send(new CreateLoadBalancerCommand({ Name: 'tcp-nlb', Type: 'network', Subnets: subnetsAC, SecurityGroups: [elbSg] }))).LoadBalancers![0]!;
  await elb.send(new CreateListenerCommand({ LoadBalancerArn: nlb.LoadBalancerArn, Protocol: 'TCP', Port: 80, DefaultActions: [{ Type: 'forward', TargetGroupArn: tcp }] }));
  await waitFor('both healthy by TCP checks', async () => (await healthOf(tcp)).filter((h) => h.state === 'healthy').length === 2, 60_000);
  const ips = await addresses(nlb.DNSName!);
  assert.equal(ips.length, 2);
  const perNode = async () => Promise.all(ips.map(async (ip) => new Set(await Promise.all([1, 2, 3, 4].map(async () => (await getFrom(ip, 80, '/', { Host: 'x' })).body.trim())))));
  await waitFor('each node to its own zone', async () => {
    const [first, second] = await perNode();
    return first!.size === 1 && first!.has('web1') && second!.size === 1 && second!.has('web2');
  }, 10_000);
  // TCP passes bytes as they are: no forwarding headers.
  const headers = JSON.parse((await getFrom(ips[0]!, 80, '/headers', { Host: 'x' })).body) as Record<string, string>;
  assert.equal(headers['x-forwarded-for'], undefined);
  await elb.send(new ModifyLoadBalancerAttributesCommand({ LoadBalancerArn: nlb.LoadBalancerArn, Attributes: [{ Key: 'load_balancing.cross_zone.enabled', Value: 'true' }] }));
  await waitFor('cross-zone: both from one node', async () => (await perNode())[0]!.size === 2, 10_000);
  await elb.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: nlb.LoadBalancerArn }));
  const id = nlb.LoadBalancerArn!.split('/').at(-1)!;
  await waitFor('its nodes gone', () => !nodeDirs(join(f.kumo.dataDir, 'elbv2')).some((n) => n.lbId === id), 20_000);
});

test('SetSubnets: the zone taken away loses its node and its targets; the zone added gets both', { skip, timeout: 90_000 }, async () => {
  const dir = join(f.kumo.dataDir, 'elbv2');
  const before = nodeDirs(dir).map((n) => n.eniId);
  const zoneD = at.web3.SubnetId!;
  await elb.send(new SetSubnetsCommand({ LoadBalancerArn: lb.LoadBalancerArn, Subnets: [subnetsAC[0]!, zoneD] }));
  await waitFor('web3 healthy, web2 unused', async () => {
    const h = new Map((await healthOf(tgArn)).map((x) => [x.id, x]));
    return h.get(at.web3.InstanceId!)?.state === 'healthy' && h.get(at.web2.InstanceId!)?.reason === 'Target.NotInUse';
  }, 60_000);
  await waitFor('web1 and web3 served', async () => {
    const seen = new Set(await bodies(6));
    return seen.size === 2 && seen.has('web1') && seen.has('web3');
  }, 10_000);
  await waitFor('the zone c node gone', () => {
    const now = nodeDirs(dir).map((n) => n.eniId);
    return now.length === 2 && before.filter((e) => now.includes(e)).length === 1;
  }, 20_000);
  assert.equal((await addresses()).length, 2);
});

test('deleting the load balancer ends its nodes and its name', { skip, timeout: 60_000 }, async () => {
  const dir = join(f.kumo.dataDir, 'elbv2');
  const nodes = nodeDirs(dir);
  assert.equal(nodes.length, 2);
  assert.ok(nodes.every((n) => processesOf(n.dir).length > 0));
  await elb.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: lb.LoadBalancerArn }));
  await waitFor('HAProxy to end', () => nodes.every((n) => processesOf(n.dir).length === 0) && nodeDirs(dir).length === 0, 20_000);
  await assert.rejects(addresses(), /ENOTFOUND/);
});

test('/_kumo/reset ends every load balancer node (last: it wipes the instances too)', { skip, timeout: 60_000 }, async () => {
  const dir = join(f.kumo.dataDir, 'elbv2');
  const again = (await elb.send(new CreateLoadBalancerCommand({ Name: 'before-reset', Subnets: subnetsAC, SecurityGroups: [elbSg] }))).LoadBalancers![0]!;
  await elb.send(new CreateListenerCommand({
    LoadBalancerArn: again.LoadBalancerArn, Protocol: 'HTTP', Port: 80,
    DefaultActions: [{ Type: 'fixed-response', FixedResponseConfig: { StatusCode: '200', MessageBody: 'up' } }],
  }));
  const [ip] = (await waitFor('its name', () => addresses(again.DNSName!).catch(() => undefined), 20_000))!;
  await waitFor('it to answer', async () => (await getFrom(ip!, 80, '/', { Host: again.DNSName! }).catch(() => undefined))?.body === 'up', 30_000);
  const nodes = nodeDirs(dir);
  assert.ok(nodes.length >= 2 && nodes.every((n) => processesOf(n.dir).length > 0));
  const res = await fetch(`${f.kumo.url}/_kumo/reset`, { method: 'POST' });
  assert.equal(res.status, 200);
  assert.deepEqual(nodes.flatMap((n) => processesOf(n.dir)), [], 'no HAProxy left');
  assert.deepEqual(nodeDirs(dir), []);
  assert.deepEqual((await elb.send(new DescribeLoadBalancersCommand({}))).LoadBalancers, []);
  for (const n of nodes) assert.deepEqual(leftovers(n.eniId), [], n.eniId);
});
