// What S3 answers in the corners existing users' test suites check, through @aws-sdk/client-s3
// v3, boto3 and raw requests: a ranged HEAD, the headers an object keeps (Expires, Content-Encoding
// as sent, x-amz-tagging-count), version IDs of a suspended bucket, tags in key order, status
// codes and error fields, keys that are only spaces, and bodies sent without a length.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetBucketTaggingCommand,
  GetObjectAclCommand,
  GetObjectAttributesCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutBucketOwnershipControlsCommand,
  PutBucketTaggingCommand,
  PutBucketVersioningCommand,
  PutObjectAclCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { type TestKumo } from '../helpers/kumo.js';
import { boto3 } from '../helpers/python.js';
import { missing } from '../helpers/tools.js';
import { createBucket, failure, rawRequest, signHeaders, socketRequest, useS3, xmlField } from './support.js';

let kumo: TestKumo;
let s3: S3Client;

useS3((f) => ({ kumo, s3 } = f));

const newBucket = () => createBucket(s3, 'answers');

describe('HEAD', () => {
  test('with Range answers 206 and Content-Range, as the GET would; an unsatisfiable one is 416', async () => {
    const Bucket = await newBucket();
    await s3.send(new PutObjectCommand({ Bucket, Key: 'k', Body: '0123456789' }));
    const head = await s3.send(new HeadObjectCommand({ Bucket, Key: 'k', Range: 'bytes=2-5' }));
    assert.equal(head.$metadata.httpStatusCode, 206);
    assert.equal(head.ContentRange, 'bytes 2-5/10');
    assert.equal(head.ContentLength, 4);
    const tail = await s3.send(new HeadObjectCommand({ Bucket, Key: 'k', Range: 'bytes=-3' }));
    assert.deepEqual([tail.$metadata.httpStatusCode, tail.ContentRange, tail.ContentLength], [206, 'bytes 7-9/10', 3]);
    const whole = await s3.send(new HeadObjectCommand({ Bucket, Key: 'k' }));
    assert.deepEqual([whole.$metadata.httpStatusCode, whole.ContentRange, whole.ContentLength], [200, undefined, 10]);
    const beyond = await failure(s3.send(new HeadObjectCommand({ Bucket, Key: 'k', Range: 'bytes=10-' })));
    assert.equal(beyond.status, 416);
  });

  test('says how many tags the object has (x-amz-tagging-count), as GET does', async () => {
    const Bucket = await newBucket();
    await s3.send(new PutObjectCommand({ Bucket, Key: 'k', Body: 'x', Tagging: 'a=1&b=2&c=3' }));
    const raw = await rawRequest(kumo.url, { method: 'HEAD', path: `/${Bucket}/k` });
    assert.equal(raw.headers['x-amz-tagging-count'], '3');
    await s3.send(new PutObjectCommand({ Bucket, Key: 'untagged', Body: 'x' }));
    const none = await rawRequest(kumo.url, { method: 'HEAD', path: `/${Bucket}/untagged` });
    assert.equal(none.headers['x-amz-tagging-count'], undefined);
  });
});

describe('headers an object keeps', () => {
  test('Expires is stored and answered on GET and HEAD (SDK and boto3)', { skip: missing('boto3') }, async () => {
    const Bucket = await newBucket();
    const Expires = new Date('2031-05-06T07:08:09Z');
    await s3.send(new PutObjectCommand({ Bucket, Key: 'k', Body: 'x', Expires }));
    const head = await s3.send(new HeadObjectCommand({ Bucket, Key: 'k' }));
    assert.equal(head.ExpiresString, 'Tue, 06 May 2031 07:08:09 GMT');
    assert.equal(head.Expires?.toISOString(), Expires.toISOString());
    const get = await s3.send(new GetObjectCommand({ Bucket, Key: 'k' }));
    assert.equal(get.Expires?.toISOString(), Expires.toISOString());
    const copied = await s3.send(new CopyObjectCommand({ Bucket, Key: 'copy', CopySource: `${Bucket}/k` }));
    assert.ok(copied.CopyObjectResult?.ETag);
    assert.equal((await s3.send(new HeadObjectCommand({ Bucket, Key: 'copy' }))).ExpiresString, 'Tue, 06 May 2031 07:08:09 GMT');
    const viaBoto = await boto3<{ expires: string }>(
      kumo.url,
      `
import json, os, boto3
s3 = boto3.client('s3', endpoint_url=os.environ['KUMO_URL'])
h = s3.head_object(Bucket=${JSON.stringify(Bucket)}, Key='k')
print(json.dumps({'expires': h.get('ExpiresString') or h['Expires'].isoformat()}))
`,
    );
    assert.match(viaBoto.expires, /2031/);
  });

  test('Content-Encoding comes back exactly as sent, without the aws-chunked framing', async () => {
    const Bucket = await newBucket();
    await s3.send(new PutObjectCommand({ Bucket, Key: 'gz', Body: 'x', ContentEncoding: 'gzip' }));
    assert.equal((await s3.send(new HeadObjectCommand({ Bucket, Key: 'gz' }))).ContentEncoding, 'gzip');
    const r = await rawRequest(kumo.url, {
      method: 'PUT',
      path: `/${Bucket}/two`,
      headers: { 'content-encoding': 'gzip, br', 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
      body: 'x',
    });
    assert.equal(r.status, 200);
    const head = await rawRequest(kumo.url, { method: 'HEAD', path: `/${Bucket}/two` });
    assert.equal(head.headers['content-encoding'], 'gzip, br');
  });
});

describe('user metadata beyond ASCII', () => {
  const encodedWord = (text: string) => `=?UTF-8?B?${Buffer.from(text, 'utf8').toString('base64')}?=`;

  test('verifies under SigV4 as the SDK signs it, and is answered in RFC 2047 form as S3 does', async () => {
    const Bucket = await newBucket();
    await s3.send(new PutObjectCommand({ Bucket, Key: 'sdk', Body: 'x', Metadata: { city: 'café', plain: 'ascii' } }));
    const head = await s3.send(new HeadObjectCommand({ Bucket, Key: 'sdk' }));
    assert.deepEqual(head.Metadata, { city: encodedWord('café'), plain: 'ascii' });

    // Any UTF-8 (not only Latin-1, which is all the SDK's HTTP client can put in a header): the
    // bytes on the wire are UTF-8, the signature is over the same text.
    const signed = await signHeaders(kumo.url, {
      method: 'PUT',
      path: `/${Bucket}/raw`,
      body: 'x',
      headers: { 'x-amz-meta-word': '日本語 ok', 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
    });
    const put = await rawRequest(kumo.url, {
      method: 'PUT',
      path: `/${Bucket}/raw`,
      body: 'x',
      credentials: null,
      headers: { ...signed, 'x-amz-meta-word': Buffer.from('日本語 ok', 'utf8').toString('latin1') },
    });
    assert.equal(put.status, 200, put.body.toString());
    const raw = await s3.send(new HeadObjectCommand({ Bucket, Key: 'raw' }));
    assert.equal(raw.Metadata?.word, encodedWord('日本語 ok'));
  });
});

describe('versions', () => {
  test('a suspended bucket answers VersionId "null" for PUT, copy and multipart', async () => {
    const Bucket = await newBucket();
    await s3.send(new PutBucketVersioningCommand({ Bucket, VersioningConfiguration: { Status: 'Enabled' } }));
    await s3.send(new PutBucketVersioningCommand({ Bucket, VersioningConfiguration: { Status: 'Suspended' } }));
    const put = await s3.send(new PutObjectCommand({ Bucket, Key: 'k', Body: 'x' }));
    assert.equal(put.VersionId, 'null');
    const copy = await s3.send(new CopyObjectCommand({ Bucket, Key: 'c', CopySource: `${Bucket}/k` }));
    assert.equal(copy.VersionId, 'null');
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key: 'm' }));
    const part = await s3.send(new UploadPartCommand({ Bucket, Key: 'm', UploadId, PartNumber: 1, Body: 'p' }));
    const done = await s3.send(new CompleteMultipartUploadCommand({ Bucket, Key: 'm', UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] } }));
    assert.equal(done.VersionId, 'null');
    assert.equal((await s3.send(new HeadObjectCommand({ Bucket, Key: 'k' }))).VersionId, 'null');
  });

  test('GetObjectAcl and PutObjectAcl take a version ID; a missing version is NoSuchVersion', async () => {
    const Bucket = await newBucket();
    await s3.send(new PutBucketOwnershipControlsCommand({ Bucket, OwnershipControls: { Rules: [{ ObjectOwnership: 'ObjectWriter' }] } }));
    await s3.send(new PutBucketVersioningCommand({ Bucket, VersioningConfiguration: { Status: 'Enabled' } }));
    const v1 = await s3.send(new PutObjectCommand({ Bucket, Key: 'k', Body: '1' }));
    await s3.send(new PutObjectCommand({ Bucket, Key: 'k', Body: '2' }));
    const acl = await s3.send(new GetObjectAclCommand({ Bucket, Key: 'k', VersionId: v1.VersionId }));
    assert.equal(acl.Grants?.[0]?.Permission, 'FULL_CONTROL');
    await s3.send(new PutObjectAclCommand({ Bucket, Key: 'k', VersionId: v1.VersionId, ACL: 'private' }));
    const gone = await failure(s3.send(new GetObjectAclCommand({ Bucket, Key: 'k', VersionId: 'A'.repeat(32) })));
    assert.deepEqual([gone.name, gone.status], ['NoSuchVersion', 404]);
  });
});

describe('tags', () => {
  test('object and bucket tags come back sorted by key; PutBucketTagging answers 204', async () => {
    const Bucket = await newBucket();
    await s3.send(new PutObjectCommand({ Bucket, Key: 'k', Body: 'x', Tagging: 'zeta=1&alpha=2&Mid=3' }));
    const tags = await s3.send(new GetObjectTaggingCommand({ Bucket, Key: 'k' }));
    assert.deepEqual(tags.TagSet!.map((t) => t.Key), ['Mid', 'alpha', 'zeta']);
    await s3.send(new PutObjectTaggingCommand({ Bucket, Key: 'k', Tagging: { TagSet: [{ Key: 'b', Value: '1' }, { Key: 'a', Value: '2' }] } }));
    assert.deepEqual((await s3.send(new GetObjectTaggingCommand({ Bucket, Key: 'k' }))).TagSet!.map((t) => t.Key), ['a', 'b']);
    const put = await s3.send(new PutBucketTaggingCommand({ Bucket, Tagging: { TagSet: [{ Key: 'z', Value: '1' }, { Key: 'a', Value: '2' }] } }));
    assert.equal(put.$metadata.httpStatusCode, 204);
    assert.deepEqual((await s3.send(new GetBucketTaggingCommand({ Bucket }))).TagSet!.map((t) => t.Key), ['a', 'z']);
  });
});

describe('errors', () => {
  test("MethodNotAllowed names the request's own method and the kind of resource", async () => {
    const Bucket = await newBucket();
    await s3.send(new PutBucketVersioningCommand({ Bucket, VersioningConfiguration: { Status: 'Enabled' } }));
    await s3.send(new PutObjectCommand({ Bucket, Key: 'k', Body: 'x' }));
    const marker = await s3.send(new DeleteObjectCommand({ Bucket, Key: 'k' }));
    const put = await failure(s3.send(new PutObjectTaggingCommand({ Bucket, Key: 'k', VersionId: marker.VersionId, Tagging: { TagSet: [] } })));
    assert.deepEqual([put.name, put.status, put.fields.Method, put.fields.ResourceType], ['MethodNotAllowed', 405, 'PUT', 'DeleteMarker']);
    const get = await failure(s3.send(new GetObjectCommand({ Bucket, Key: 'k', VersionId: marker.VersionId })));
    assert.deepEqual([get.name, get.fields.Method], ['MethodNotAllowed', 'GET']);
    const post = await rawRequest(kumo.url, { method: 'POST', path: `/${Bucket}/k`, headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } });
    assert.equal(post.status, 405);
    assert.deepEqual([xmlField(post.body.toString(), 'Method'), xmlField(post.body.toString(), 'ResourceType')], ['POST', 'OBJECT']);
  });
});

describe('keys that are only spaces', () => {
  test('DeleteObjects deletes " " and "a " (SDK), and reports them as they are', async () => {
    const Bucket = await newBucket();
    for (const Key of [' ', 'a ', 'a', '  b']) await s3.send(new PutObjectCommand({ Bucket, Key, Body: 'x' }));
    const r = await s3.send(new DeleteObjectsCommand({ Bucket, Delete: { Objects: [{ Key: ' ' }, { Key: 'a ' }, { Key: '  b' }] } }));
    assert.deepEqual(r.Deleted!.map((d) => d.Key).sort(), [' ', '  b', 'a ']);
    const left = await s3.send(new ListObjectsV2Command({ Bucket }));
    assert.deepEqual(left.Contents!.map((o) => o.Key), ['a']);
  });

  test('and through boto3', { skip: missing('boto3') }, async () => {
    const Bucket = await newBucket();
    const out = await boto3<{ deleted: string[]; left: string[] }>(
      kumo.url,
      `
import json, os, boto3
s3 = boto3.client('s3', endpoint_url=os.environ['KUMO_URL'])
b = ${JSON.stringify(Bucket)}
for k in [' ', 'a ', 'a']:
    s3.put_object(Bucket=b, Key=k, Body=b'x')
r = s3.delete_objects(Bucket=b, Delete={'Objects': [{'Key': ' '}, {'Key': 'a '}]})
left = [o['Key'] for o in s3.list_objects_v2(Bucket=b).get('Contents', [])]
print(json.dumps({'deleted': sorted(d['Key'] for d in r['Deleted']), 'left': left}))
`,
    );
    assert.deepEqual(out, { deleted: [' ', 'a '], left: ['a'] });
  });
});

describe('bodies without a length', () => {
  test('Transfer-Encoding: chunked is taken for PutObject and UploadPart; no length and no chunking is 411', async () => {
    const Bucket = await newBucket();
    const put = await rawRequest(kumo.url, {
      method: 'PUT',
      path: `/${Bucket}/chunky`,
      headers: { 'transfer-encoding': 'chunked', 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
      body: 'hello chunks',
    });
    assert.equal(put.status, 200, put.body.toString());
    const got = await s3.send(new GetObjectCommand({ Bucket, Key: 'chunky' }));
    assert.equal(await got.Body!.transformToString(), 'hello chunks');
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key: 'mpu' }));
    const part = await rawRequest(kumo.url, {
      method: 'PUT',
      path: `/${Bucket}/mpu`,
      query: { partNumber: '1', uploadId: UploadId! },
      headers: { 'transfer-encoding': 'chunked', 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
      body: 'part',
    });
    assert.equal(part.status, 200, part.body.toString());
    const path = `/${Bucket}/nolength`;
    const head = await signHeaders(kumo.url, { method: 'PUT', path, headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } });
    const none = await socketRequest(kumo.url, 'PUT', path, head);
    assert.equal(none.status, 411);
    assert.equal(xmlField(none.text, 'Code'), 'MissingContentLength');
    assert.equal((await failure(s3.send(new HeadObjectCommand({ Bucket, Key: 'nolength' })))).status, 404);
  });
});

describe('GetObjectAttributes', () => {
  test('answers the attributes asked for: ETag without quotes, checksum, size, class, parts by page', async () => {
    const Bucket = await newBucket();
    const put = await s3.send(new PutObjectCommand({ Bucket, Key: 'one', Body: 'hello', StorageClass: 'STANDARD_IA' }));
    const one = await s3.send(new GetObjectAttributesCommand({ Bucket, Key: 'one', ObjectAttributes: ['ETag', 'Checksum', 'ObjectSize', 'StorageClass', 'ObjectParts'] }));
    assert.equal(one.ETag, put.ETag!.replace(/"/g, ''));
    assert.equal(one.ObjectSize, 5);
    assert.equal(one.StorageClass, 'STANDARD_IA');
    assert.equal(one.Checksum?.ChecksumCRC64NVME, put.ChecksumCRC64NVME);
    assert.equal(one.ObjectParts, undefined);
    assert.ok(one.LastModified);

    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key: 'mpu' }));
    const big = Buffer.alloc(5 * 1024 * 1024, 1);
    const Parts = [];
    for (const [i, Body] of [big, big, Buffer.from('end')].entries()) {
      const r = await s3.send(new UploadPartCommand({ Bucket, Key: 'mpu', UploadId, PartNumber: i + 1, Body }));
      Parts.push({ PartNumber: i + 1, ETag: r.ETag });
    }
    await s3.send(new CompleteMultipartUploadCommand({ Bucket, Key: 'mpu', UploadId, MultipartUpload: { Parts } }));
    const page = await s3.send(new GetObjectAttributesCommand({ Bucket, Key: 'mpu', ObjectAttributes: ['ObjectParts'], MaxParts: 2 }));
    assert.equal(page.ETag, undefined);
    assert.deepEqual(
      [page.ObjectParts?.TotalPartsCount, page.ObjectParts?.IsTruncated, page.ObjectParts?.NextPartNumberMarker, page.ObjectParts?.Parts?.map((p) => p.Size)],
      [3, true, '2', [big.length, big.length]],
    );
    const rest = await s3.send(new GetObjectAttributesCommand({ Bucket, Key: 'mpu', ObjectAttributes: ['ObjectParts'], PartNumberMarker: '2' }));
    assert.deepEqual(rest.ObjectParts?.Parts?.map((p) => [p.PartNumber, p.Size]), [[3, 3]]);

    const bad = await failure(s3.send(new GetObjectAttributesCommand({ Bucket, Key: 'one', ObjectAttributes: ['Color' as 'ETag'] })));
    assert.deepEqual([bad.name, bad.status], ['InvalidArgument', 400]);
    const gone = await failure(s3.send(new GetObjectAttributesCommand({ Bucket, Key: 'nope', ObjectAttributes: ['ETag'] })));
    assert.deepEqual([gone.name, gone.status], ['NoSuchKey', 404]);
  });
});
