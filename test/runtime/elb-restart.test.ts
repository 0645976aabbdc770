/**
 * Load balancers across kumo's own lifecycle, with kumo as a real process (bin/kumo.js):
 *
 * - `kill -9` of kumo interrupts nothing: its HAProxy processes keep serving through the load
 *   balancer's public address; the next kumo adopts them as they are (the same master process,
 *   targets still healthy) and every request across the crash and restart is answered
 * - `kumo stop` ends every HAProxy and leaves nothing of the fabric; the next start brings the
 *   load balancer back up
 * - `kumo reset` of a dead kumo's data dir ends the HAProxy processes it left
 *
 * Needs root and haproxy (skips otherwise; fails under KUMO_REQUIRE_NATIVE=1).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { request } from 'node:http';
import { Resolver } from 'node:dns/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  AuthorizeSecurityGroupIngressCommand, CreateSecurityGroupCommand, DescribeSubnetsCommand, DescribeVpcsCommand, EC2Client, RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import {
  CreateListenerCommand, CreateLoadBalancerCommand, CreateTargetGroupCommand, DescribeLoadBalancersCommand, DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client, RegisterTargetsCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { clientConfig, ROOT, tempDir, waitFor } from '../helpers/kumo.js';
import { ensureDist, spawnKumo, type SpawnedKumo } from '../helpers/kumo-process.js';
import { COUNTER_SERVICE, debianImageId, waitForState } from '../helpers/ec2.js';
import { Fabric } from '../../src/runtime/network/fabric.js';
import { masterOf, nodeDirs, processesOf } from '../../src/services/elbv2/dataplane/haproxy.js';
import { haproxySkipReason, nativeSkipReason } from './support.js';

const skip = nativeSkipReason() ?? haproxySkipReason();
const exec = promisify(execFile);
const dataDir = skip ? '' : tempDir('kumo-elb-restart-');
const nodesRoot = join(dataDir, 'elbv2');
let kumo: SpawnedKumo | undefined;

const USER_DATA = `#!/bin/bash
${COUNTER_SERVICE}systemctl enable --now counter.service
`;

async function boot(): Promise<{ ec2: EC2Client; elb: ElasticLoadBalancingV2Client; dns: string }> {
  kumo = await spawnKumo(dataDir, ['--quiet']);
  const dns = ((await (await fetch(`${kumo.url}/_kumo/health`)).json()) as { dns: string }).dns;
  return { ec2: new EC2Client(clientConfig(kumo.url)), elb: new ElasticLoadBalancingV2Client(clientConfig(kumo.url)), dns };
}

async function stopKumo(signal: NodeJS.Signals): Promise<number | undefined> {
  const slot = /fabric slot (\d+)/.exec(kumo!.output())?.[1];
  await kumo!.kill(signal);
  kumo = undefined;
  return slot === undefined ? undefined : Number(slot);
}

function hit(ip: string, host: string): Promise<number | string> {
  return new Promise((resolve) => {
    const req = request({ host: ip, port: 80, path: '/', headers: { Host: host }, agent: false, timeout: 3_000 }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve(res.statusCode === 200 ? Number(body) : `HTTP ${res.statusCode}`));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (e) => resolve(e.message));
    req.end();
  });
}

before(async () => {
  if (!skip) await ensureDist();
});

after(async () => {
  if (skip) return;
  if (kumo) await stopKumo('SIGTERM');
  for (const n of nodeDirs(nodesRoot)) for (const pid of processesOf(n.dir)) process.kill(pid, 'SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

test('HAProxy outlives a kill -9 of kumo and is adopted; kumo stop ends it; kumo reset of a dead kumo too', { skip, timeout: 10 * 60_000 }, async (t) => {
  let { ec2, elb, dns } = await boot();
  const ami = await debianImageId(ec2);
  const vpc = (await ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: 'is-default', Values: ['true'] }] }))).Vpcs![0]!.VpcId!;
  const subnets = (await ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: 'vpc-id', Values: [vpc] }] }))).Subnets!;
  const inZone = (z: string) => subnets.find((s) => s.AvailabilityZone === z)!.SubnetId!;
  const sg = async (name: string) => (await ec2.send(new CreateSecurityGroupCommand({ GroupName: `${name}-${process.pid}`, Description: name, VpcId: vpc }))).GroupId!;
  const elbSg = await sg('elb');
  const webSg = await sg('web');
  await ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: elbSg, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 80, ToPort: 80, IpRanges: [{ CidrIp: '0.0.0.0/0' }] }] }));
  await ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: webSg, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 80, ToPort: 80, UserIdGroupPairs: [{ GroupId: elbSg }] }] }));
  const id = (await ec2.send(new RunInstancesCommand({
    ImageId: ami, MinCount: 1, MaxCount: 1, InstanceType: 't3.micro', SubnetId: inZone('ap-northeast-1a'), SecurityGroupIds: [webSg], UserData: Buffer.from(USER_DATA).toString('base64'),
  }))).Instances![0]!.InstanceId!;
  const tg = (await elb.send(new CreateTargetGroupCommand({
    Name: 'counter', Protocol: 'HTTP', Port: 80, VpcId: vpc, HealthCheckIntervalSeconds: 5, HealthCheckTimeoutSeconds: 2, HealthyThresholdCount: 2,
  }))).TargetGroups![0]!.TargetGroupArn!;
  await elb.send(new RegisterTargetsCommand({ TargetGroupArn: tg, Targets: [{ Id: id }] }));
  const lb = (await elb.send(new CreateLoadBalancerCommand({ Name: 'counter', Subnets: [inZone('ap-northeast-1a'), inZone('ap-northeast-1c')], SecurityGroups: [elbSg] }))).LoadBalancers![0]!;
  await elb.send(new CreateListenerCommand({ LoadBalancerArn: lb.LoadBalancerArn, Protocol: 'HTTP', Port: 80, DefaultActions: [{ Type: 'forward', TargetGroupArn: tg }] }));
  await waitForState(ec2, id, 'running');
  const resolver = new Resolver();
  resolver.setServers([dns]);
  const [ip] = await resolver.resolve4(lb.DNSName!);
  await waitFor('the counter through the load balancer', async () => typeof (await hit(ip!, lb.DNSName!)) === 'number', 180_000);

  const masters = nodeDirs(nodesRoot).map((n) => masterOf(n.dir));
  assert.equal(masters.length, 2);
  const results: (number | string)[] = [];
  let running = true;
  const load = (async () => {
    while (running) results.push(await hit(ip!, lb.DNSName!));
  })();
  try {
    const slot = await stopKumo('SIGKILL');
    assert.ok(slot !== undefined);
    const during = results.length;
    await waitFor('requests answered while kumo is down', () => results.length > during + 5, 10_000);
    ({ ec2, elb, dns } = await boot());
    const after = results.length;
    await waitFor('requests answered by the restarted kumo\'s load balancer', () => results.length > after + 20, 20_000);
    assert.deepEqual(nodeDirs(nodesRoot).map((n) => masterOf(n.dir)), masters, 'the same HAProxy masters, adopted');
    const health = (await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: tg }))).TargetHealthDescriptions!;
    assert.equal(health[0]!.TargetHealth!.State, 'healthy', 'health is kept across the restart');
  } finally {
    running = false;
    await load;
  }
  const failed = results.filter((r) => typeof r !== 'number');
  t.diagnostic(`${results.length} requests across the kill -9 and the restart, ${failed.length} failed`);
  assert.deepEqual(failed, [], 'no request failed');

  // kumo stop: nothing of the load balancer stays; the next start brings it back.
  const running0 = nodeDirs(nodesRoot).map((n) => n.dir);
  const slot = await stopKumo('SIGTERM');
  assert.deepEqual(running0.flatMap((d) => processesOf(d)), [], 'kumo stop ends every HAProxy');
  assert.deepEqual(await Fabric.leftovers(slot), [], `fabric slot ${slot} left behind`);
  ({ ec2, elb, dns } = await boot());
  await waitFor('the load balancer back after a restart', async () => typeof (await hit(ip!, lb.DNSName!)) === 'number', 120_000);
  assert.equal((await elb.send(new DescribeLoadBalancersCommand({ LoadBalancerArns: [lb.LoadBalancerArn!] }))).LoadBalancers![0]!.State!.Code, 'active');

  // A kumo that died and is never started again: `kumo reset` ends its HAProxy processes.
  const dead = await stopKumo('SIGKILL');
  const dirs = nodeDirs(nodesRoot).map((n) => n.dir);
  assert.ok(dirs.some((d) => processesOf(d).length > 0), 'a killed kumo leaves its load balancer running');
  await exec(process.execPath, [join(ROOT, 'bin', 'kumo.js'), 'reset', '--data-dir', dataDir]);
  assert.deepEqual(dirs.flatMap((d) => processesOf(d)), [], 'kumo reset ends them');
  assert.deepEqual(await Fabric.leftovers(dead), [], 'and their network');
});
