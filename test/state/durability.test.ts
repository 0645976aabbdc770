// Nothing acknowledged is lost: kumo as a child process (bin/kumo.js start) keeps VPCs, subnets,
// tags, buckets and objects across a clean stop and across kill -9, and one data dir serves one kumo.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { CreateSubnetCommand, CreateTagsCommand, CreateVpcCommand, DescribeSubnetsCommand, DescribeVpcsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { CreateBucketCommand, GetObjectCommand, HeadBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { clientConfig, uniqueName, waitFor } from '../helpers/kumo.js';
import { useKumoProcesses } from '../helpers/kumo-process.js';

const kumos = useKumoProcesses();
const start = (dataDir: string, args: string[] = []) => kumos.start(dataDir, ['--quiet', ...args]);

function clients(url: string) {
  return {
    ec2: new EC2Client(clientConfig(url)),
    s3: new S3Client(clientConfig(url, { forcePathStyle: true })),
    destroy() {
      this.ec2.destroy();
      this.s3.destroy();
    },
  };
}

interface Made {
  vpcId: string;
  vpcName: string;
  subnetId: string;
  bucket: string;
  key: string;
  body: string;
}

/** Creates one of everything and returns once every call has been acknowledged. */
async function makeResources(url: string, n: number): Promise<Made> {
  const c = clients(url);
  try {
    const { Vpc } = await c.ec2.send(
      new CreateVpcCommand({ CidrBlock: `10.${n}.0.0/16`, TagSpecifications: [{ ResourceType: 'vpc', Tags: [{ Key: 'Name', Value: `durable-${n}` }] }] }),
    );
    const { Subnet } = await c.ec2.send(new CreateSubnetCommand({ VpcId: Vpc!.VpcId, CidrBlock: `10.${n}.1.0/24`, AvailabilityZone: 'ap-northeast-1c' }));
    await c.ec2.send(new CreateTagsCommand({ Resources: [Subnet!.SubnetId!], Tags: [{ Key: 'Name', Value: 'renamed' }] }));
    const bucket = uniqueName('durable');
    await c.s3.send(new CreateBucketCommand({ Bucket: bucket, CreateBucketConfiguration: { LocationConstraint: 'ap-northeast-1' } }));
    const key = 'notes/hello.txt';
    const body = `written before the stop, run ${n}\n`;
    await c.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'text/plain' }));
    return { vpcId: Vpc!.VpcId!, vpcName: `durable-${n}`, subnetId: Subnet!.SubnetId!, bucket, key, body };
  } finally {
    c.destroy();
  }
}

async function assertStillThere(url: string, made: Made): Promise<void> {
  const c = clients(url);
  try {
    const { Vpcs } = await c.ec2.send(new DescribeVpcsCommand({ VpcIds: [made.vpcId] }));
    assert.equal(Vpcs!.length, 1);
    assert.deepEqual(Vpcs![0].Tags, [{ Key: 'Name', Value: made.vpcName }]);
    const { Subnets } = await c.ec2.send(new DescribeSubnetsCommand({ SubnetIds: [made.subnetId] }));
    assert.equal(Subnets![0].VpcId, made.vpcId);
    assert.equal(Subnets![0].AvailabilityZone, 'ap-northeast-1c');
    assert.deepEqual(Subnets![0].Tags, [{ Key: 'Name', Value: 'renamed' }]);
    await c.s3.send(new HeadBucketCommand({ Bucket: made.bucket }));
    const obj = await c.s3.send(new GetObjectCommand({ Bucket: made.bucket, Key: made.key }));
    assert.equal(obj.ContentType, 'text/plain');
    assert.equal(await obj.Body!.transformToString(), made.body);
  } finally {
    c.destroy();
  }
}

describe('durability', () => {
  test('a clean stop (SIGTERM) and a restart on the same data dir keep everything', async () => {
    const dataDir = kumos.dataDir('kumo-durable-');
    const first = await start(dataDir);
    const made = await makeResources(first.url, 1);
    assert.equal(await first.kill('SIGTERM'), 0, first.output());
    assert.ok(!existsSync(join(dataDir, 'kumo.pid')), 'a clean stop removes the pid file');

    const second = await start(dataDir);
    await assertStillThere(second.url, made);
    assert.equal(await second.kill('SIGTERM'), 0);
  });

  test('kill -9 right after the acknowledgements loses nothing, and the restart takes over the stale lock', async () => {
    const dataDir = kumos.dataDir('kumo-durable-');
    const first = await start(dataDir);
    const made = await makeResources(first.url, 2);
    await first.kill('SIGKILL');
    assert.ok(existsSync(join(dataDir, 'kumo.pid')), 'kill -9 leaves a stale pid file behind');

    const second = await start(dataDir);
    await assertStillThere(second.url, made);
    // And again, with more written on top of the recovered state.
    const more = await makeResources(second.url, 3);
    await second.kill('SIGKILL');
    const third = await start(dataDir);
    await assertStillThere(third.url, made);
    await assertStillThere(third.url, more);
    await third.kill('SIGTERM');
  });

  test('a second kumo on a data dir in use refuses with a clear message', async () => {
    const dataDir = kumos.dataDir('kumo-durable-');
    const first = await start(dataDir);
    await assert.rejects(start(dataDir), (e: Error) => {
      assert.match(e.message, /exited early \(1\)/);
      assert.match(e.message, /data directory .* is in use by kumo \(pid [0-9]+, port [0-9]+\)/);
      assert.match(e.message, new RegExp(`port ${first.port}`));
      return true;
    });
    // The refused kumo left the lock alone: the first still answers and still owns the pid file.
    const res = await fetch(`${first.url}/_kumo/health`);
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { pid: number }).pid, first.child.pid);
    assert.equal(await first.kill('SIGTERM'), 0);
  });

  test('a stop lets a request in flight finish, and what it acknowledged is kept', async () => {
    const dataDir = kumos.dataDir('kumo-durable-');
    // Unsigned requests keep this test to plain HTTP, so the body can be held back mid-upload.
    const first = await start(dataDir, ['--no-auth']);
    assert.equal((await fetch(`${first.url}/in-flight`, { method: 'PUT' })).status, 200);
    const half = 'first half, ';
    const rest = 'sent after SIGTERM';
    const put = request(`${first.url}/in-flight/object`, {
      method: 'PUT',
      headers: { 'content-length': String(half.length + rest.length), 'content-type': 'text/plain' },
    });
    const response = new Promise<number>((resolve, reject) => {
      put.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      put.on('error', reject);
    });
    put.write(half);
    await waitFor('the upload to reach kumo', () => put.socket?.bytesWritten);
    first.child.kill('SIGTERM');
    await waitFor('kumo to begin stopping', () => first.output().includes('SIGTERM: stopping'));
    put.end(rest);
    assert.equal(await response, 200, first.output());
    assert.equal(await first.exited, 0);

    const second = await start(dataDir, ['--no-auth']);
    const got = await fetch(`${second.url}/in-flight/object`);
    assert.equal(got.status, 200);
    assert.equal(await got.text(), half + rest);
    await second.kill('SIGTERM');
  });
});
