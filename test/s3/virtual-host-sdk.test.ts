/**
 * S3 in virtual-host style through the SDK, as a client that does not force path style uses it:
 * with the endpoint http://s3.localhost:PORT the SDK sends to <bucket>.s3.localhost, with
 * http://localhost:PORT to <bucket>.localhost. `*.localhost` does not resolve on every host (not
 * here), so the client's HTTP agent resolves it to loopback, as systemd-resolved and browsers do
 * (RFC 6761); the agent records the names it was asked for, so the test sees the SDK really used
 * the bucket's host name. Create, put, get, head, list, copy, batch delete, multipart and a
 * presigned GET all go to the bucket's host.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, get as httpGet } from 'node:http';
import type { LookupFunction } from 'node:net';
import {
  CompleteMultipartUploadCommand, CopyObjectCommand, CreateBucketCommand, CreateMultipartUploadCommand, DeleteObjectsCommand,
  GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client, UploadPartCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { clientConfig, REGION, startKumoForTest, uniqueName, type TestKumo } from '../helpers/kumo.js';

let kumo: TestKumo;
const asked: string[] = [];

/** Resolves every *.localhost name to 127.0.0.1 and remembers it; anything else is not found. */
const lookup: LookupFunction = (hostname, options, callback) => {
  asked.push(hostname);
  const found = hostname === 'localhost' || hostname.endsWith('.localhost');
  const cb = callback as (err: NodeJS.ErrnoException | null, address?: string | { address: string; family: number }[], family?: number) => void;
  if (!found) return cb(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }));
  if (options.all) cb(null, [{ address: '127.0.0.1', family: 4 }]);
  else cb(null, '127.0.0.1', 4);
};
const agent = new Agent({ keepAlive: true, lookup });

function client(endpoint: string): S3Client {
  return new S3Client(clientConfig(endpoint, { forcePathStyle: false, requestHandler: { httpAgent: agent } }));
}

before(async () => {
  kumo = await startKumoForTest();
});

after(async () => {
  agent.destroy();
  await kumo.stop();
});

for (const style of ['s3.localhost', 'localhost'] as const) {
  describe(`endpoint http://${style}:PORT`, () => {
    let s3: S3Client;
    let Bucket = '';
    const host = () => `${Bucket}.${style}`;
    before(() => {
      s3 = client(`http://${style}:${kumo.port}`);
      Bucket = uniqueName('vhost');
    });
    after(() => s3.destroy());

    test('create, put, get, head, list and copy go to <bucket>.' + style, async () => {
      asked.length = 0;
      await s3.send(new CreateBucketCommand({ Bucket, CreateBucketConfiguration: { LocationConstraint: REGION } }));
      await s3.send(new PutObjectCommand({ Bucket, Key: 'dir/a b.txt', Body: 'virtual host', ContentType: 'text/plain' }));
      const got = await s3.send(new GetObjectCommand({ Bucket, Key: 'dir/a b.txt' }));
      assert.equal(await got.Body!.transformToString(), 'virtual host');
      assert.equal(got.ContentType, 'text/plain');
      const head = await s3.send(new HeadObjectCommand({ Bucket, Key: 'dir/a b.txt' }));
      assert.equal(head.ContentLength, 'virtual host'.length);
      await s3.send(new CopyObjectCommand({ Bucket, Key: 'dir/copy.txt', CopySource: `${Bucket}/dir/a%20b.txt` }));
      const list = await s3.send(new ListObjectsV2Command({ Bucket, Prefix: 'dir/' }));
      assert.deepEqual(list.Contents?.map((o) => o.Key), ['dir/a b.txt', 'dir/copy.txt']);
      assert.equal(list.Name, Bucket);
      assert.ok(asked.length > 0 && asked.every((h) => h === host()), `the SDK asked for ${[...new Set(asked)].join(', ')}`);
    });

    test('multipart upload and batch delete on the bucket\'s host', async () => {
      asked.length = 0;
      const Key = 'big.bin';
      const part = Buffer.alloc(5 * 1024 * 1024, 7);
      const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key }));
      const parts = [];
      for (const PartNumber of [1, 2]) {
        const body = PartNumber === 1 ? part : Buffer.from('tail');
        parts.push({ PartNumber, ETag: (await s3.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber, Body: body }))).ETag });
      }
      await s3.send(new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: { Parts: parts } }));
      assert.equal((await s3.send(new HeadObjectCommand({ Bucket, Key }))).ContentLength, part.length + 4);
      const del = await s3.send(new DeleteObjectsCommand({ Bucket, Delete: { Objects: [{ Key }, { Key: 'dir/copy.txt' }] } }));
      assert.deepEqual(del.Deleted?.map((d) => d.Key).sort(), ['big.bin', 'dir/copy.txt']);
      assert.deepEqual((await s3.send(new ListObjectsV2Command({ Bucket }))).Contents?.map((o) => o.Key), ['dir/a b.txt']);
      assert.ok(asked.every((h) => h === host()), `the SDK asked for ${[...new Set(asked)].join(', ')}`);
    });

    test('a presigned GET names the bucket in its host and works without credentials', async () => {
      const url = new URL(await getSignedUrl(s3, new GetObjectCommand({ Bucket, Key: 'dir/a b.txt' }), { expiresIn: 60 }));
      assert.equal(url.hostname, host());
      const body = await new Promise<{ status: number; text: string }>((resolve, reject) => {
        httpGet(url, { agent }, (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d) => (text += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        }).on('error', reject);
      });
      assert.deepEqual(body, { status: 200, text: 'virtual host' });
    });
  });
}
