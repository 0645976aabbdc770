// Presigned URLs (@aws-sdk/s3-request-presigner) used with plain fetch(), their expiry and
// tampering, and virtual-host addressing (<bucket>.s3.localhost) against a real kumo.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { REGION, startKumoForTest, uniqueName, waitFor, type TestKumo } from '../helpers/kumo.js';
import { rawRequest, s3Client, xmlField } from './support.js';

let kumo: TestKumo;
let s3: S3Client;
let Bucket: string;

before(async () => {
  kumo = await startKumoForTest();
  s3 = s3Client(kumo.url);
  Bucket = uniqueName('presign');
  await s3.send(new CreateBucketCommand({ Bucket, CreateBucketConfiguration: { LocationConstraint: REGION } }));
});
after(async () => {
  s3.destroy();
  await kumo.stop();
});

async function errorOf(res: Response): Promise<{ status: number; code: string | undefined; message: string | undefined }> {
  const body = await res.text();
  return { status: res.status, code: xmlField(body, 'Code'), message: xmlField(body, 'Message') };
}

describe('presigned URLs', () => {
  test('a presigned GET serves the object to anyone holding the URL', async () => {
    await s3.send(new PutObjectCommand({ Bucket, Key: 'shared/report 1.txt', Body: 'quarterly numbers', ContentType: 'text/plain' }));
    const url = await getSignedUrl(s3, new GetObjectCommand({ Bucket, Key: 'shared/report 1.txt' }), { expiresIn: 300 });
    const res = await fetch(url);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/plain');
    assert.equal(await res.text(), 'quarterly numbers');

    const overridden = await getSignedUrl(
      s3,
      new GetObjectCommand({ Bucket, Key: 'shared/report 1.txt', ResponseContentDisposition: 'attachment; filename="r.txt"' }),
      { expiresIn: 300 },
    );
    const dl = await fetch(overridden);
    assert.equal(dl.headers.get('content-disposition'), 'attachment; filename="r.txt"');
    assert.equal(await dl.text(), 'quarterly numbers');
  });

  test('a presigned PUT stores the body it is given', async () => {
    // The SDK puts the CRC32 of an empty body in presigned PUT URLs; S3 ignores checksums there.
    const url = await getSignedUrl(s3, new PutObjectCommand({ Bucket, Key: 'uploads/photo.bin' }), { expiresIn: 300 });
    const body = randomBytes(40_000);
    const res = await fetch(url, { method: 'PUT', body });
    assert.equal(res.status, 200, await res.clone().text());
    assert.ok(res.headers.get('etag'));
    const got = await s3.send(new GetObjectCommand({ Bucket, Key: 'uploads/photo.bin' }));
    assert.deepEqual(Buffer.from(await got.Body!.transformToByteArray()), body);
  });

  test('a presigned PUT that signed a Content-Type needs that Content-Type', async () => {
    const url = await getSignedUrl(s3, new PutObjectCommand({ Bucket, Key: 'typed.json', ContentType: 'application/json' }), {
      expiresIn: 300,
      signableHeaders: new Set(['content-type']),
    });
    const wrong = await fetch(url, { method: 'PUT', body: '{}', headers: { 'content-type': 'text/plain' } });
    assert.equal((await errorOf(wrong)).code, 'SignatureDoesNotMatch');
    const right = await fetch(url, { method: 'PUT', body: '{}', headers: { 'content-type': 'application/json' } });
    assert.equal(right.status, 200);
    assert.equal((await s3.send(new HeadObjectCommand({ Bucket, Key: 'typed.json' }))).ContentType, 'application/json');
  });

  test('a URL signed for another key, or with an edited query, is SignatureDoesNotMatch', async () => {
    await s3.send(new PutObjectCommand({ Bucket, Key: 'a.txt', Body: 'a' }));
    await s3.send(new PutObjectCommand({ Bucket, Key: 'b.txt', Body: 'b' }));
    const url = await getSignedUrl(s3, new GetObjectCommand({ Bucket, Key: 'a.txt' }), { expiresIn: 300 });
    const otherKey = await errorOf(await fetch(url.replace('/a.txt?', '/b.txt?')));
    assert.deepEqual([otherKey.status, otherKey.code], [403, 'SignatureDoesNotMatch']);
    const longer = await errorOf(await fetch(url.replace('X-Amz-Expires=300', 'X-Amz-Expires=3000')));
    assert.deepEqual([longer.status, longer.code], [403, 'SignatureDoesNotMatch']);
  });

  test('an expired URL is AccessDenied: "Request has expired"', async () => {
    await s3.send(new PutObjectCommand({ Bucket, Key: 'old.txt', Body: 'old' }));
    const signedAnHourAgo = await getSignedUrl(s3, new GetObjectCommand({ Bucket, Key: 'old.txt' }), {
      expiresIn: 60,
      signingDate: new Date(Date.now() - 3_600_000),
    });
    const res = await fetch(signedAnHourAgo);
    const body = await res.text();
    assert.equal(res.status, 403);
    assert.equal(xmlField(body, 'Code'), 'AccessDenied');
    assert.equal(xmlField(body, 'Message'), 'Request has expired');
    assert.ok(xmlField(body, 'Expires'));

    // And one that expires while we hold it.
    const short = await getSignedUrl(s3, new GetObjectCommand({ Bucket, Key: 'old.txt' }), { expiresIn: 1 });
    const status = async () => {
      const r = await fetch(short);
      await r.arrayBuffer();
      return r.status;
    };
    assert.equal(await status(), 200);
    await waitFor('the one-second URL to expire', async () => (await status()) === 403, 5_000);
  });

  test('a presigned URL with an unknown key is InvalidAccessKeyId', async () => {
    const stranger = s3Client(kumo.url, { credentials: { accessKeyId: 'AKIDUNKNOWN', secretAccessKey: 'x' } });
    try {
      const url = await getSignedUrl(stranger, new GetObjectCommand({ Bucket, Key: 'a.txt' }), { expiresIn: 60 });
      const e = await errorOf(await fetch(url));
      assert.deepEqual([e.status, e.code], [403, 'InvalidAccessKeyId']);
    } finally {
      stranger.destroy();
    }
  });
});

describe('virtual-host addressing', () => {
  const vhost = () => `${Bucket}.s3.localhost:${kumo.port}`;

  test('a signed request to <bucket>.s3.localhost reaches the bucket', async () => {
    const put = await rawRequest(kumo.url, { method: 'PUT', host: vhost(), path: '/vhost/key%20one.txt', body: 'via the host header' });
    assert.equal(put.status, 200, put.body.toString());

    const get = await rawRequest(kumo.url, { method: 'GET', host: vhost(), path: '/vhost/key%20one.txt' });
    assert.equal(get.status, 200);
    assert.equal(get.body.toString(), 'via the host header');

    const list = await rawRequest(kumo.url, { method: 'GET', host: vhost(), path: '/', query: { 'list-type': '2', prefix: 'vhost/' } });
    assert.equal(list.status, 200);
    assert.equal(xmlField(list.body.toString(), 'Name'), Bucket);
    assert.equal(xmlField(list.body.toString(), 'Key'), 'vhost/key one.txt');

    const viaPath = await s3.send(new GetObjectCommand({ Bucket, Key: 'vhost/key one.txt' }));
    assert.equal(await viaPath.Body!.transformToString(), 'via the host header');
  });

  test('the region-qualified and AWS-style host names work too', async () => {
    for (const host of [`${Bucket}.s3.${REGION}.localhost:${kumo.port}`, `${Bucket}.s3.${REGION}.amazonaws.com`]) {
      const head = await rawRequest(kumo.url, { method: 'HEAD', host, path: '/vhost/key%20one.txt' });
      assert.equal(head.status, 200, host);
      assert.equal(head.headers['content-length'], String('via the host header'.length), host);
    }
  });

  test('an unsigned virtual-host request is anonymous: AccessDenied', async () => {
    const res = await rawRequest(kumo.url, { method: 'GET', host: vhost(), path: '/vhost/key%20one.txt', credentials: null });
    assert.equal(res.status, 403);
    assert.equal(xmlField(res.body.toString(), 'Code'), 'AccessDenied');
  });
});
