/**
 * Load balancers (needs root, systemd-nspawn and haproxy; otherwise it says why and reports
 * nothing): one instance serving a small page with nginx, reached from the host three ways, each
 * with the same keep-alive client at the same concurrency for the same time:
 *
 *   direct     the instance's public (loopback) address
 *   kumo ELB   an internet-facing application load balancer in front of it (its DNS name's
 *              first address): listener, default rule, target group, one healthy target
 *   HAProxy    Debian's haproxy on the host, a minimal http-mode proxy to the instance's public
 *              address: the reference for what a proxy adds
 *
 * Requests/s and latency p50/p99 per way, and the load balancer's overhead as ratios to direct
 * and to plain HAProxy; before that, how long the load balancer (a node in each of two subnets)
 * takes from CreateLoadBalancer to `active`. KUMO_BENCH_ELB_SECONDS picks the duration per way (default 5),
 * KUMO_BENCH_ELB_CONCURRENCY the concurrency (default 16).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { Resolver } from 'node:dns/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  AttachInternetGatewayCommand, AuthorizeSecurityGroupIngressCommand, CreateInternetGatewayCommand, CreateSecurityGroupCommand, CreateSubnetCommand,
  CreateVpcCommand, DescribeImagesCommand, DescribeInstancesCommand, EC2Client, RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import {
  CreateListenerCommand, CreateLoadBalancerCommand, CreateTargetGroupCommand, DescribeLoadBalancersCommand, DescribeTargetHealthCommand, ElasticLoadBalancingV2Client,
  RegisterTargetsCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { detectRuntime, which } from '../src/runtime/detect.js';
import { clientConfig } from './lib/clients.js';
import { table } from './lib/report.js';
import { sleep, spawnKumo } from './lib/spawn.js';
import { round, summarize } from './lib/stats.js';
import type { Benchmark } from './lib/types.js';

const IMAGE_CACHE = process.env.KUMO_TEST_IMAGE_CACHE || '/var/tmp/kumo-test-images';
const SECONDS = Number(process.env.KUMO_BENCH_ELB_SECONDS || 5);
const CONCURRENCY = Number(process.env.KUMO_BENCH_ELB_CONCURRENCY || 16);

const USER_DATA = `#!/bin/bash
apt-get install -y nginx
printf 'hello from kumo\\n' > /var/www/html/index.html
systemctl enable --now nginx
`;

async function until<T>(what: string, ms: number, check: () => Promise<T | undefined | false>): Promise<T> {
  const end = performance.now() + ms;
  for (;;) {
    const v = await check().catch(() => undefined);
    if (v) return v;
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

function get(agent: Agent, host: string, port: number, hostHeader: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path: '/', agent, headers: { Host: hostHeader }, timeout: 10_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

/** Keep-alive requests at `CONCURRENCY` for `SECONDS`: requests/s, latency summary, failures. */
async function drive(host: string, port: number, hostHeader: string) {
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const latencies: number[] = [];
  let failed = 0;
  // Warm-up: connections open, caches filled.
  for (let i = 0; i < CONCURRENCY * 4; i++) await get(agent, host, port, hostHeader).catch(() => failed++);
  failed = 0;
  const t0 = performance.now();
  const end = t0 + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < end) {
        const s = performance.now();
        const status = await get(agent, host, port, hostHeader).catch(() => 0);
        if (status === 200) latencies.push(performance.now() - s);
        else failed++;
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  agent.destroy();
  const s = summarize(latencies);
  return { rps: latencies.length / seconds, p50: s.p50, p99: s.p99, failed };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

/** Debian's haproxy on the host, in front of `target`: started in the foreground, stopped after. */
async function plainHaproxy(target: string): Promise<{ port: number; stop(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'kumo-bench-haproxy-'));
  const port = await freePort();
  writeFileSync(join(dir, 'haproxy.cfg'), [
    'global', '  maxconn 4096', 'defaults', '  mode http', '  timeout connect 10s', '  timeout client 60s', '  timeout server 60s',
    'frontend f', `  bind 127.0.0.1:${port}`, '  option forwardfor', '  default_backend b',
    'backend b', `  server s ${target}:80`, '',
  ].join('\n'));
  const child = spawn('haproxy', ['-f', join(dir, 'haproxy.cfg')], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    port,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const elb: Benchmark = {
  name: 'elb',
  description: 'HTTP requests/s and p50/p99 to one target: direct, through kumo\'s load balancer, through plain HAProxy',
  async run(progress) {
    const rt = detectRuntime();
    if (rt.mode !== 'native') return { text: `elb: skipped (${rt.reason})`, data: { skipped: true } };
    if (!which('haproxy')) return { text: 'elb: skipped (haproxy is not installed: apt-get install haproxy)', data: { skipped: true } };
    const kumo = await spawnKumo({ env: { KUMO_IMAGE_DIR: IMAGE_CACHE, KUMO_DNS: '127.0.0.1:0' } });
    const ec2 = new EC2Client(clientConfig(kumo.url));
    const elbv2 = new ElasticLoadBalancingV2Client(clientConfig(kumo.url));
    try {
      const ami = (await ec2.send(new DescribeImagesCommand({ Owners: ['136693071363'], Filters: [{ Name: 'name', Values: ['debian-12-amd64-*'] }] }))).Images![0]!.ImageId!;
      const vpc = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.0.0.0/16' }))).Vpc!.VpcId!;
      const igw = (await ec2.send(new CreateInternetGatewayCommand({}))).InternetGateway!.InternetGatewayId!;
      await ec2.send(new AttachInternetGatewayCommand({ InternetGatewayId: igw, VpcId: vpc }));
      const subnet = async (cidr: string, zone: string) => (await ec2.send(new CreateSubnetCommand({ VpcId: vpc, CidrBlock: cidr, AvailabilityZone: zone }))).Subnet!.SubnetId!;
      const a = await subnet('10.0.0.0/24', 'ap-northeast-1a');
      const c = await subnet('10.0.1.0/24', 'ap-northeast-1c');
      const sg = (await ec2.send(new CreateSecurityGroupCommand({ VpcId: vpc, GroupName: 'bench', Description: 'bench' }))).GroupId!;
      await ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: sg, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 80, ToPort: 80, IpRanges: [{ CidrIp: '0.0.0.0/0' }] }] }));
      progress('launching the target (nginx)');
      const id = (await ec2.send(new RunInstancesCommand({
        ImageId: ami, MinCount: 1, MaxCount: 1, InstanceType: 't3.micro', UserData: Buffer.from(USER_DATA).toString('base64'),
        NetworkInterfaces: [{ DeviceIndex: 0, SubnetId: a, Groups: [sg], AssociatePublicIpAddress: true }],
      }))).Instances![0]!.InstanceId!;
      const tg = (await elbv2.send(new CreateTargetGroupCommand({
        Name: 'bench', Protocol: 'HTTP', Port: 80, VpcId: vpc, HealthCheckIntervalSeconds: 5, HealthCheckTimeoutSeconds: 2, HealthyThresholdCount: 2,
      }))).TargetGroups![0]!.TargetGroupArn!;
      await elbv2.send(new RegisterTargetsCommand({ TargetGroupArn: tg, Targets: [{ Id: id }] }));
      const publicIp = await until('the target\'s public address', 120_000, async () => {
        const i = (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }))).Reservations![0]!.Instances![0]!;
        return i.State?.Name === 'running' ? (i.PublicIpAddress ?? i.PrivateIpAddress) : undefined;
      });
      progress('creating the load balancer (a node in each of 2 subnets)');
      const t0 = performance.now();
      const lb = (await elbv2.send(new CreateLoadBalancerCommand({ Name: 'bench', Subnets: [a, c], SecurityGroups: [sg] }))).LoadBalancers![0]!;
      await elbv2.send(new CreateListenerCommand({ LoadBalancerArn: lb.LoadBalancerArn, Protocol: 'HTTP', Port: 80, DefaultActions: [{ Type: 'forward', TargetGroupArn: tg }] }));
      await until('the load balancer to be active', 60_000, async () => {
        const l = (await elbv2.send(new DescribeLoadBalancersCommand({ LoadBalancerArns: [lb.LoadBalancerArn!] }))).LoadBalancers![0]!;
        return l.State?.Code === 'active';
      });
      const activeMs = performance.now() - t0;
      progress('waiting for the target to be healthy');
      await until('a healthy target', 300_000, async () => {
        const h = (await elbv2.send(new DescribeTargetHealthCommand({ TargetGroupArn: tg }))).TargetHealthDescriptions![0]!;
        return h.TargetHealth?.State === 'healthy';
      });
      const dns = ((await (await fetch(`${kumo.url}/_kumo/health`)).json()) as { dns: string }).dns;
      const resolver = new Resolver();
      resolver.setServers([dns]);
      const [lbIp] = await resolver.resolve4(lb.DNSName!);
      await until('the load balancer to serve', 30_000, async () => (await get(new Agent(), lbIp!, 80, lb.DNSName!)) === 200);
      const direct = publicIp.startsWith('127.') ? publicIp : undefined;
      const rows: { way: string; rps: number; p50: number; p99: number; failed: number }[] = [];
      if (direct) {
        progress('direct');
        rows.push({ way: 'direct', ...(await drive(direct, 80, direct)) });
      }
      progress('through kumo\'s load balancer');
      rows.push({ way: 'kumo ELB', ...(await drive(lbIp!, 80, lb.DNSName!)) });
      if (direct) {
        progress('through plain HAProxy');
        const hp = await plainHaproxy(direct);
        try {
          await until('plain HAProxy', 10_000, async () => (await get(new Agent(), '127.0.0.1', hp.port, 'bench')) === 200);
          rows.push({ way: 'HAProxy', ...(await drive('127.0.0.1', hp.port, 'bench')) });
        } finally {
          await hp.stop();
        }
      }
      const by = (w: string) => rows.find((r) => r.way === w);
      const ratio = (x?: number, y?: number) => (x && y ? `${(x / y).toFixed(2)}×` : '-');
      const text = [
        table(`elb: one nginx target, keep-alive, concurrency ${CONCURRENCY}, ${SECONDS} s each`, ['way', 'requests/s', 'p50 ms', 'p99 ms', 'failed'],
          rows.map((r) => [r.way, round(r.rps), round(r.p50), round(r.p99), r.failed])),
        `kumo ELB requests/s: ${ratio(by('kumo ELB')?.rps, by('direct')?.rps)} of direct, ${ratio(by('kumo ELB')?.rps, by('HAProxy')?.rps)} of plain HAProxy`,
        `CreateLoadBalancer (2 subnets) and a listener to \`active\`: ${Math.round(activeMs)} ms`,
        ...(direct ? [] : ['(the target has no public address here: direct and plain HAProxy were not measured)']),
      ].join('\n');
      return { text, data: { concurrency: CONCURRENCY, secondsPerWay: SECONDS, rows, activeMs: Math.round(activeMs) } };
    } finally {
      ec2.destroy();
      elbv2.destroy();
      await kumo.stop();
    }
  },
};
