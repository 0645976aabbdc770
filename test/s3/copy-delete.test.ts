// CopyObject, DeleteObjects and ListObjects (v1) through @aws-sdk/client-s3 v3, plus the wire
// details the SDK hides (a DeleteObjects body without Content-MD5, a copy source with an encoded key).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import {
  CopyObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { uniqueName, type TestKumo } from '../helpers/kumo.js';
import { createBucket, failure, rawRequest, xmlField, useS3 } from './support.js';

let kumo: TestKumo;
let s3: S3Client;

useS3((f) => ({ kumo, s3 } = f));

const newBucket = () => createBucket(s3, 'cpy');

async function text(Bucket: string, Key: string): Promise<string> {
  return (await s3.send(new GetObjectCommand({ Bucket, Key }))).Body!.transformToString();
}

const keys = async (Bucket: string) => ((await s3.send(new ListObjectsV2Command({ Bucket }))).Contents ?? []).map((o) => o.Key);

describe('CopyObject', () => {
  test('copies bytes and metadata (COPY) or takes new metadata (REPLACE), across buckets and encoded keys', async () => {
    const a = await newBucket();
    const b = await newBucket();
    const Key = 'dir/über file+1.txt';
    const put = await s3.send(new PutObjectCommand({ Bucket: a, Key, Body: 'payload', ContentType: 'text/plain', Metadata: { origin: 'a' } }));
    const copy = await s3.send(new CopyObjectCommand({ Bucket: b, Key: 'copy', CopySource: `${a}/${encodeURIComponent(Key)}` }));
    assert.equal(copy.CopyObjectResult!.ETag, put.ETag);
    assert.ok(copy.CopyObjectResult!.LastModified instanceof Date);
    const head = await s3.send(new HeadObjectCommand({ Bucket: b, Key: 'copy' }));
    assert.deepEqual([head.ContentType, head.Metadata], ['text/plain', { origin: 'a' }]);
    assert.equal(await text(b, 'copy'), 'payload');

    await s3.send(
      new CopyObjectCommand({ Bucket: b, Key: 'replaced', CopySource: `/${a}/${encodeURIComponent(Key)}`, MetadataDirective: 'REPLACE', ContentType: 'x/y', Metadata: { n: '2' } }),
    );
    const replaced = await s3.send(new HeadObjectCommand({ Bucket: b, Key: 'replaced' }));
    assert.deepEqual([replaced.ContentType, replaced.Metadata], ['x/y', { n: '2' }]);
  });

  test('copying onto itself needs REPLACE; a missing source is NoSuchKey; a failed condition is 412', async () => {
    const Bucket = await newBucket();
    const put = await s3.send(new PutObjectCommand({ Bucket, Key: 'self', Body: 'me', Metadata: { v: '1' } }));
    const self = await failure(s3.send(new CopyObjectCommand({ Bucket, Key: 'self', CopySource: `${Bucket}/self` })));
    assert.deepEqual([self.name, self.status], ['InvalidRequest', 400]);
    await s3.send(new CopyObjectCommand({ Bucket, Key: 'self', CopySource: `${Bucket}/self`, MetadataDirective: 'REPLACE', Metadata: { v: '2' } }));
    assert.deepEqual((await s3.send(new HeadObjectCommand({ Bucket, Key: 'self' }))).Metadata, { v: '2' });

    const missing = await failure(s3.send(new CopyObjectCommand({ Bucket, Key: 'x', CopySource: `${Bucket}/nope` })));
    assert.deepEqual([missing.name, missing.status], ['NoSuchKey', 404]);
    const noBucket = await failure(s3.send(new CopyObjectCommand({ Bucket, Key: 'x', CopySource: `${uniqueName('none')}/k` })));
    assert.equal(noBucket.name, 'NoSuchBucket');
    const cond = await failure(s3.send(new CopyObjectCommand({ Bucket, Key: 'x', CopySource: `${Bucket}/self`, CopySourceIfMatch: '"0000"' })));
    assert.deepEqual([cond.name, cond.status], ['PreconditionFailed', 412]);
    const none = await failure(s3.send(new CopyObjectCommand({ Bucket, Key: 'x', CopySource: `${Bucket}/self`, CopySourceIfNoneMatch: put.ETag })));
    assert.deepEqual([none.name, none.status], ['PreconditionFailed', 412]);
    await s3.send(new CopyObjectCommand({ Bucket, Key: 'x', CopySource: `${Bucket}/self`, CopySourceIfNoneMatch: '"other"' }));
    assert.equal(await text(Bucket, 'x'), 'me');
    const badDirective = await failure(s3.send(new CopyObjectCommand({ Bucket, Key: 'y', CopySource: `${Bucket}/self`, MetadataDirective: 'MERGE' as 'COPY' })));
    assert.deepEqual([badDirective.name, badDirective.status], ['InvalidArgument', 400]);
    assert.deepEqual(await keys(Bucket), ['self', 'x']);
  });
});

describe('DeleteObjects', () => {
  test('deletes listed keys, reports each (even absent ones), and Quiet reports only errors', async () => {
    const Bucket = await newBucket();
    for (const Key of ['a', 'b', 'c', 'd']) await s3.send(new PutObjectCommand({ Bucket, Key, Body: Key }));
    const r = await s3.send(new DeleteObjectsCommand({ Bucket, Delete: { Objects: [{ Key: 'a' }, { Key: 'b' }, { Key: 'never' }] } }));
    assert.deepEqual(r.Deleted!.map((d) => d.Key).sort(), ['a', 'b', 'never']);
    assert.equal(r.Errors, undefined);
    const quiet = await s3.send(new DeleteObjectsCommand({ Bucket, Delete: { Quiet: true, Objects: [{ Key: 'c' }, { Key: 'k'.repeat(1025) }] } }));
    assert.equal(quiet.Deleted, undefined);
    assert.deepEqual(quiet.Errors!.map((e) => e.Code), ['KeyTooLongError']);
    assert.deepEqual(await keys(Bucket), ['d']);
  });

  test('answers in the order asked; a key named twice is deleted once, small and large bodies alike, and versions named too', async () => {
    const Bucket = await newBucket();
    const large = Buffer.alloc(100 * 1024, 'L');
    for (const Key of ['small', 'other']) await s3.send(new PutObjectCommand({ Bucket, Key, Body: Key }));
    await s3.send(new PutObjectCommand({ Bucket, Key: 'large', Body: large }));
    const Objects = [{ Key: 'large' }, { Key: 'small' }, { Key: 'never' }, { Key: 'small' }, { Key: 'other', VersionId: 'null' }];
    const r = await s3.send(new DeleteObjectsCommand({ Bucket, Delete: { Objects } }));
    assert.deepEqual(r.Deleted!.map((d) => [d.Key, d.VersionId]), Objects.map((o) => [o.Key, o.VersionId]));
    assert.deepEqual(await keys(Bucket), []);
    // The names are free again, for new objects of either kind.
    await s3.send(new PutObjectCommand({ Bucket, Key: 'large', Body: 'now small' }));
    assert.equal(await text(Bucket, 'large'), 'now small');
  });

  test('without Content-MD5 or a checksum, with a wrong one, or with over 1000 keys, nothing is deleted', async () => {
    const Bucket = await newBucket();
    await s3.send(new PutObjectCommand({ Bucket, Key: 'keep', Body: 'k' }));
    const body = '<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Object><Key>keep</Key></Object></Delete>';
    const bare = await rawRequest(kumo.url, { method: 'POST', path: `/${Bucket}`, query: { delete: '' }, body });
    assert.equal(bare.status, 400);
    assert.equal(xmlField(bare.body.toString(), 'Code'), 'InvalidRequest');
    const wrong = await rawRequest(kumo.url, {
      method: 'POST',
      path: `/${Bucket}`,
      query: { delete: '' },
      body,
      headers: { 'content-md5': createHash('md5').update('other').digest('base64') },
    });
    assert.deepEqual([wrong.status, xmlField(wrong.body.toString(), 'Code')], [400, 'BadDigest']);
    const many = `<Delete>${'<Object><Key>k</Key></Object>'.repeat(1001)}</Delete>`;
    const tooMany = await rawRequest(kumo.url, {
      method: 'POST',
      path: `/${Bucket}`,
      query: { delete: '' },
      body: many,
      headers: { 'content-md5': createHash('md5').update(many).digest('base64') },
    });
    assert.deepEqual([tooMany.status, xmlField(tooMany.body.toString(), 'Code')], [400, 'MalformedXML']);
    assert.deepEqual(await keys(Bucket), ['keep']);
    const right = await rawRequest(kumo.url, {
      method: 'POST',
      path: `/${Bucket}`,
      query: { delete: '' },
      body,
      headers: { 'content-md5': createHash('md5').update(body).digest('base64') },
    });
    assert.equal(right.status, 200);
    assert.deepEqual(await keys(Bucket), []);
  });
});

describe('ListObjects (v1)', () => {
  test('pages by Marker; NextMarker only with a delimiter, and a prefix marker skips the whole prefix', async () => {
    const Bucket = await newBucket();
    for (const Key of ['a/1', 'a/2', 'b', 'c/1', 'd']) await s3.send(new PutObjectCommand({ Bucket, Key, Body: 'x' }));
    const first = await s3.send(new ListObjectsCommand({ Bucket, MaxKeys: 2 }));
    assert.deepEqual(first.Contents!.map((o) => o.Key), ['a/1', 'a/2']);
    assert.equal(first.IsTruncated, true);
    assert.equal(first.NextMarker, undefined);
    assert.ok(first.Contents![0].Owner?.ID);
    const second = await s3.send(new ListObjectsCommand({ Bucket, Marker: 'a/2' }));
    assert.deepEqual(second.Contents!.map((o) => o.Key), ['b', 'c/1', 'd']);

    const folded = await s3.send(new ListObjectsCommand({ Bucket, Delimiter: '/', MaxKeys: 2 }));
    assert.deepEqual([folded.CommonPrefixes!.map((p) => p.Prefix), folded.Contents!.map((o) => o.Key)], [['a/'], ['b']]);
    assert.equal(folded.NextMarker, 'b');
    const next = await s3.send(new ListObjectsCommand({ Bucket, Delimiter: '/', Marker: 'a/' }));
    assert.deepEqual([next.CommonPrefixes!.map((p) => p.Prefix), next.Contents!.map((o) => o.Key)], [['c/'], ['b', 'd']]);
  });
});

describe('DeleteObject conditions', () => {
  test('a conditional delete (If-Match) is NotImplemented and deletes nothing', async () => {
    const Bucket = await newBucket();
    const put = await s3.send(new PutObjectCommand({ Bucket, Key: 'k', Body: 'x' }));
    const r = await rawRequest(kumo.url, { method: 'DELETE', path: `/${Bucket}/k`, headers: { 'if-match': put.ETag! } });
    assert.deepEqual([r.status, xmlField(r.body.toString(), 'Code')], [501, 'NotImplemented']);
    assert.equal(await text(Bucket, 'k'), 'x');
  });
});
