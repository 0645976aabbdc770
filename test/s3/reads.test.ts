// Ranged and conditional requests through @aws-sdk/client-s3 v3 against a real kumo: partial
// content with Content-Range, InvalidRange, 304/412 by RFC 7232's precedence as S3 applies it,
// and conditional writes (If-None-Match: *, If-Match) on PutObject.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { REGION, startKumoForTest, uniqueName, type TestKumo } from '../helpers/kumo.js';
import { failure, rawRequest, s3Client, xmlField } from './support.js';

let kumo: TestKumo;
let s3: S3Client;
let Bucket: string;
const Key = 'digits.txt';
const BODY = '0123456789';
let etag: string;
let lastModified: Date;

before(async () => {
  kumo = await startKumoForTest();
  s3 = s3Client(kumo.url);
  Bucket = uniqueName('reads');
  await s3.send(new CreateBucketCommand({ Bucket, CreateBucketConfiguration: { LocationConstraint: REGION } }));
  etag = (await s3.send(new PutObjectCommand({ Bucket, Key, Body: BODY }))).ETag!;
  lastModified = (await s3.send(new HeadObjectCommand({ Bucket, Key }))).LastModified!;
});
after(async () => {
  s3.destroy();
  await kumo.stop();
});

async function ranged(Range: string) {
  const got = await s3.send(new GetObjectCommand({ Bucket, Key, Range }));
  return { status: got.$metadata.httpStatusCode, range: got.ContentRange, length: got.ContentLength, text: await got.Body!.transformToString() };
}

describe('ranged GET', () => {
  test('bytes=0-4, bytes=-3 and bytes=5- answer 206 with Content-Range', async () => {
    assert.deepEqual(await ranged('bytes=0-4'), { status: 206, range: 'bytes 0-4/10', length: 5, text: '01234' });
    assert.deepEqual(await ranged('bytes=-3'), { status: 206, range: 'bytes 7-9/10', length: 3, text: '789' });
    assert.deepEqual(await ranged('bytes=5-'), { status: 206, range: 'bytes 5-9/10', length: 5, text: '56789' });
    assert.deepEqual(await ranged('bytes=9-9'), { status: 206, range: 'bytes 9-9/10', length: 1, text: '9' });
  });

  test('a range running past the end is cut to the object; a suffix longer than it is the whole', async () => {
    assert.deepEqual(await ranged('bytes=5-100'), { status: 206, range: 'bytes 5-9/10', length: 5, text: '56789' });
    assert.deepEqual(await ranged('bytes=-100'), { status: 206, range: 'bytes 0-9/10', length: 10, text: BODY });
  });

  test('a range starting past the end is InvalidRange (416) with the object size', async () => {
    const f = await failure(s3.send(new GetObjectCommand({ Bucket, Key, Range: 'bytes=10-20' })));
    assert.equal(f.name, 'InvalidRange');
    assert.equal(f.status, 416);
    const raw = await rawRequest(kumo.url, { method: 'GET', path: `/${Bucket}/${Key}`, headers: { range: 'bytes=50-' } });
    assert.equal(raw.status, 416);
    assert.equal(xmlField(raw.body.toString(), 'Code'), 'InvalidRange');
    assert.equal(xmlField(raw.body.toString(), 'ActualObjectSize'), '10');
    assert.equal(xmlField(raw.body.toString(), 'RangeRequested'), 'bytes=50-');
  });

  test('ranges S3 does not understand are ignored: the whole object, 200', async () => {
    for (const Range of ['bytes=0-1,3-4', 'lines=1-2', 'bytes=4-2']) {
      const got = await ranged(Range);
      assert.equal(got.status, 200, Range);
      assert.equal(got.text, BODY, Range);
      assert.equal(got.range, undefined, Range);
    }
  });
});

describe('conditional GET and HEAD', () => {
  const future = () => new Date(Date.now() + 3_600_000);
  const past = () => new Date(lastModified.getTime() - 3_600_000);

  test('If-None-Match with the ETag is 304 Not Modified, with the ETag', async () => {
    const f = await failure(s3.send(new GetObjectCommand({ Bucket, Key, IfNoneMatch: etag })));
    assert.equal(f.status, 304);
    const head = await failure(s3.send(new HeadObjectCommand({ Bucket, Key, IfNoneMatch: etag })));
    assert.equal(head.status, 304);
    const raw = await rawRequest(kumo.url, { method: 'GET', path: `/${Bucket}/${Key}`, headers: { 'if-none-match': etag } });
    assert.equal(raw.status, 304);
    assert.equal(raw.body.length, 0);
    assert.equal(raw.headers.etag, etag);
    assert.equal(raw.headers['last-modified'], lastModified.toUTCString());
  });

  test('If-Match with another ETag is PreconditionFailed (412); with the ETag it is the object', async () => {
    const f = await failure(s3.send(new GetObjectCommand({ Bucket, Key, IfMatch: '"0123456789abcdef0123456789abcdef"' })));
    assert.equal(f.name, 'PreconditionFailed');
    assert.equal(f.status, 412);
    const head = await failure(s3.send(new HeadObjectCommand({ Bucket, Key, IfMatch: '"nope"' })));
    assert.equal(head.status, 412);
    const raw = await rawRequest(kumo.url, { method: 'GET', path: `/${Bucket}/${Key}`, headers: { 'if-match': '"nope"' } });
    assert.equal(xmlField(raw.body.toString(), 'Condition'), 'If-Match');
    const ok = await s3.send(new GetObjectCommand({ Bucket, Key, IfMatch: etag }));
    assert.equal(await ok.Body!.transformToString(), BODY);
  });

  test('If-Modified-Since: in the future is 304, in the past is the object', async () => {
    assert.equal((await failure(s3.send(new GetObjectCommand({ Bucket, Key, IfModifiedSince: future() })))).status, 304);
    const ok = await s3.send(new GetObjectCommand({ Bucket, Key, IfModifiedSince: past() }));
    assert.equal(await ok.Body!.transformToString(), BODY);
  });

  test('If-Unmodified-Since in the past is 412; in the future is the object', async () => {
    const f = await failure(s3.send(new GetObjectCommand({ Bucket, Key, IfUnmodifiedSince: past() })));
    assert.equal(f.name, 'PreconditionFailed');
    const ok = await s3.send(new GetObjectCommand({ Bucket, Key, IfUnmodifiedSince: future() }));
    assert.equal(await ok.Body!.transformToString(), BODY);
  });

  test('S3 precedence: a true If-Match beats a false If-Unmodified-Since; a false If-None-Match beats If-Modified-Since', async () => {
    const both = await s3.send(new GetObjectCommand({ Bucket, Key, IfMatch: etag, IfUnmodifiedSince: past() }));
    assert.equal(await both.Body!.transformToString(), BODY);
    const other = await s3.send(new GetObjectCommand({ Bucket, Key, IfNoneMatch: '"other"', IfModifiedSince: future() }));
    assert.equal(await other.Body!.transformToString(), BODY);
    assert.equal((await failure(s3.send(new GetObjectCommand({ Bucket, Key, IfNoneMatch: etag, IfModifiedSince: past() })))).status, 304);
  });

  test('conditions combine with a range', async () => {
    const got = await s3.send(new GetObjectCommand({ Bucket, Key, IfMatch: etag, Range: 'bytes=1-2' }));
    assert.equal(got.$metadata.httpStatusCode, 206);
    assert.equal(await got.Body!.transformToString(), '12');
  });
});

describe('conditional PUT', () => {
  test("If-None-Match: * creates once; on an existing key it is 412 and the object is kept", async () => {
    const created = await s3.send(new PutObjectCommand({ Bucket, Key: 'once', Body: 'first', IfNoneMatch: '*' }));
    assert.ok(created.ETag);
    const f = await failure(s3.send(new PutObjectCommand({ Bucket, Key: 'once', Body: 'second', IfNoneMatch: '*' })));
    assert.equal(f.name, 'PreconditionFailed');
    assert.equal(f.status, 412);
    const got = await s3.send(new GetObjectCommand({ Bucket, Key: 'once' }));
    assert.equal(await got.Body!.transformToString(), 'first');
  });

  test('If-Match replaces only the version named by its ETag', async () => {
    const first = await s3.send(new PutObjectCommand({ Bucket, Key: 'cas', Body: 'v1' }));
    const second = await s3.send(new PutObjectCommand({ Bucket, Key: 'cas', Body: 'v2', IfMatch: first.ETag }));
    const stale = await failure(s3.send(new PutObjectCommand({ Bucket, Key: 'cas', Body: 'v3', IfMatch: first.ETag })));
    assert.equal(stale.name, 'PreconditionFailed');
    assert.equal(stale.status, 412);
    const got = await s3.send(new GetObjectCommand({ Bucket, Key: 'cas' }));
    assert.equal(got.ETag, second.ETag);
    assert.equal(await got.Body!.transformToString(), 'v2');

    const missing = await failure(s3.send(new PutObjectCommand({ Bucket, Key: 'cas-missing', Body: 'x', IfMatch: first.ETag })));
    assert.equal(missing.name, 'NoSuchKey');
    assert.equal(missing.status, 404);
  });

  test('If-None-Match with an ETag on PUT is NotImplemented, as on AWS', async () => {
    const f = await failure(s3.send(new PutObjectCommand({ Bucket, Key: 'etagged', Body: 'x', IfNoneMatch: etag })));
    assert.equal(f.name, 'NotImplemented');
    assert.equal(f.status, 501);
  });
});
