// kumo's own endpoints: /_kumo/health and /_kumo/reset.
import { readFileSync } from 'node:fs';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CreateSubnetCommand, CreateVpcCommand, DescribeSubnetsCommand, DescribeVpcsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { CreateTargetGroupCommand, DescribeTargetGroupsCommand, ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { CreateBucketCommand, GetObjectCommand, ListBucketsCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { VERSION } from '../../src/version.js';
import { clientConfig, startKumoForTest, uniqueName, type TestKumo } from '../helpers/kumo.js';

let kumo: TestKumo;
let ec2: EC2Client;
let s3: S3Client;
let elbv2: ElasticLoadBalancingV2Client;

before(async () => {
  kumo = await startKumoForTest();
  ec2 = new EC2Client(clientConfig(kumo.url));
  s3 = new S3Client(clientConfig(kumo.url, { forcePathStyle: true }));
  elbv2 = new ElasticLoadBalancingV2Client(clientConfig(kumo.url));
});
after(async () => {
  ec2.destroy();
  s3.destroy();
  elbv2.destroy();
  await kumo.stop();
});

describe('/_kumo/health', () => {
  test('reports version, services and how instances will run', async () => {
    const r = await fetch(`${kumo.url}/_kumo/health`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type')!, /^application\/json/);
    const h = (await r.json()) as {
      status: string;
      version: string;
      services: Record<string, { protocol: string; apiVersion: string }>;
      runtime: { mode: string; reason: string };
      pid: number;
      memoryMiB: { rss: number; heapTotal: number; heapUsed: number; external: number };
    };
    assert.equal(h.status, 'running');
    assert.equal(h.version, VERSION);
    for (const name of ['ec2', 'elbv2', 'elb', 'acm', 'rds', 's3', 'sts']) assert.ok(h.services[name], `services lists ${name}`);
    assert.equal(h.services.ec2.apiVersion, '2016-11-15');
    assert.equal(h.services.s3.protocol, 'rest-xml');
    assert.ok(['native', 'process'].includes(h.runtime.mode), h.runtime.mode);
    assert.ok(h.runtime.reason.length > 0);
    // What `ps` would say of the process that answered, give or take what a request allocates.
    const rssMiB = Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${h.pid}/status`, 'utf8'))![1]) / 1024;
    assert.ok(Math.abs(h.memoryMiB.rss - rssMiB) < rssMiB * 0.2, `health says ${h.memoryMiB.rss} MiB, /proc says ${rssMiB}`);
    assert.ok(h.memoryMiB.heapUsed > 0 && h.memoryMiB.heapUsed <= h.memoryMiB.heapTotal, JSON.stringify(h.memoryMiB));
  });

  test('needs no signature, refuses other methods, and unknown /_kumo paths are 404', async () => {
    assert.equal((await fetch(`${kumo.url}/_kumo/health`, { method: 'HEAD' })).status, 200);
    const post = await fetch(`${kumo.url}/_kumo/health`, { method: 'POST', body: 'x' });
    assert.equal(post.status, 405);
    const missing = await fetch(`${kumo.url}/_kumo/nothing`);
    assert.equal(missing.status, 404);
    assert.match(((await missing.json()) as { error: string }).error, /nothing/);
  });
});

async function reset(): Promise<void> {
  const r = await fetch(`${kumo.url}/_kumo/reset`, { method: 'POST' });
  const body = await r.text();
  assert.equal(r.status, 200, body);
  assert.deepEqual(JSON.parse(body), { reset: true });
}

describe('/_kumo/reset', () => {
  test('wipes VPCs, subnets and target groups', async () => {
    const vpc = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.9.0.0/16' }))).Vpc!;
    await ec2.send(new CreateSubnetCommand({ VpcId: vpc.VpcId, CidrBlock: '10.9.1.0/24' }));
    await elbv2.send(new CreateTargetGroupCommand({ Name: 'reset-tg', Protocol: 'HTTP', Port: 80, VpcId: vpc.VpcId }));
    await reset();
    // What was made is gone; the region's default VPC is made afresh on the next call.
    const vpcs = (await ec2.send(new DescribeVpcsCommand({}))).Vpcs!;
    assert.deepEqual(vpcs.map((v) => [v.IsDefault, v.CidrBlock]), [[true, '172.31.0.0/16']]);
    assert.deepEqual((await ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: 'default-for-az', Values: ['false'] }] }))).Subnets, []);
    assert.deepEqual((await elbv2.send(new DescribeTargetGroupsCommand({}))).TargetGroups, []);
  });

  test('wipes buckets and their objects', async () => {
    const bucket = uniqueName('reset');
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'v' }));
    await reset();
    assert.deepEqual((await s3.send(new ListBucketsCommand({}))).Buckets ?? [], []);
    // The name is free again and the old object's bytes are gone with it.
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await assert.rejects(s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'k' })), { name: 'NoSuchKey' });
    await reset();
  });

  test('only POST, and not from a web page of another origin', async () => {
    const count = async () => (await ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: 'is-default', Values: ['false'] }] }))).Vpcs!.length;
    await ec2.send(new CreateVpcCommand({ CidrBlock: '10.8.0.0/16' }));
    const before = await count();
    assert.equal((await fetch(`${kumo.url}/_kumo/reset`)).status, 405);
    const crossSite = await fetch(`${kumo.url}/_kumo/reset`, { method: 'POST', headers: { origin: 'https://evil.example' } });
    assert.equal(crossSite.status, 403);
    assert.equal(await count(), before);
    const sameSite = await fetch(`${kumo.url}/_kumo/reset`, { method: 'POST', headers: { origin: kumo.url } });
    assert.equal(sameSite.status, 200);
    assert.equal(await count(), 0);
  });
});
