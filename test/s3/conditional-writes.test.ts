// Conditional writes on CompleteMultipartUpload (If-None-Match: *, If-Match), writes racing for
// one key, and the same through boto3. Conditional PutObject alone is in reads.test.ts.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListMultipartUploadsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { type TestKumo } from '../helpers/kumo.js';
import { boto3 } from '../helpers/python.js';
import { missing } from '../helpers/tools.js';
import { createBucket, failure, useS3 } from './support.js';

let kumo: TestKumo;
let s3: S3Client;

useS3((f) => ({ kumo, s3 } = f));

const text = async (Bucket: string, Key: string) => (await s3.send(new GetObjectCommand({ Bucket, Key }))).Body!.transformToString();

async function upload(Bucket: string, Key: string, body: string) {
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key }));
  const part = await s3.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: 1, Body: body }));
  return (cond: { IfNoneMatch?: string; IfMatch?: string }) =>
    s3.send(new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] }, ...cond }));
}

describe('CompleteMultipartUpload with conditions', () => {
  test('If-None-Match: * completes only where no object is; else 412, the object and the upload are kept', async () => {
    const Bucket = await createBucket(s3, 'cond');
    const created = await (await upload(Bucket, 'new', 'made'))({ IfNoneMatch: '*' });
    assert.ok(created.ETag);
    assert.equal(await text(Bucket, 'new'), 'made');

    await s3.send(new PutObjectCommand({ Bucket, Key: 'taken', Body: 'already' }));
    const complete = await upload(Bucket, 'taken', 'late');
    const f = await failure(complete({ IfNoneMatch: '*' }));
    assert.deepEqual([f.name, f.status], ['PreconditionFailed', 412]);
    assert.equal(await text(Bucket, 'taken'), 'already');
    // The upload is still there to complete without the condition.
    assert.equal((await s3.send(new ListMultipartUploadsCommand({ Bucket, Prefix: 'taken' }))).Uploads?.length, 1);
    await complete({});
    assert.equal(await text(Bucket, 'taken'), 'late');
  });

  test('If-Match completes only over the object with that ETag; no object is NoSuchKey', async () => {
    const Bucket = await createBucket(s3, 'cond');
    const v1 = await s3.send(new PutObjectCommand({ Bucket, Key: 'k', Body: 'v1' }));
    const stale = await upload(Bucket, 'k', 'from-upload');
    await s3.send(new PutObjectCommand({ Bucket, Key: 'k', Body: 'v2' }));
    const f = await failure(stale({ IfMatch: v1.ETag }));
    assert.deepEqual([f.name, f.status], ['PreconditionFailed', 412]);
    assert.equal(await text(Bucket, 'k'), 'v2');
    const current = await s3.send(new GetObjectCommand({ Bucket, Key: 'k' }));
    await stale({ IfMatch: current.ETag });
    assert.equal(await text(Bucket, 'k'), 'from-upload');

    const none = await failure((await upload(Bucket, 'absent', 'x'))({ IfMatch: v1.ETag }));
    assert.deepEqual([none.name, none.status], ['NoSuchKey', 404]);
  });

  test('in a versioned bucket, a delete marker is no object: If-None-Match: * succeeds', async () => {
    const Bucket = await createBucket(s3, 'cond');
    await s3.send(new PutBucketVersioningCommand({ Bucket, VersioningConfiguration: { Status: 'Enabled' } }));
    await s3.send(new PutObjectCommand({ Bucket, Key: 'k', Body: 'old' }));
    await s3.send(new DeleteObjectCommand({ Bucket, Key: 'k' }));
    await (await upload(Bucket, 'k', 'again'))({ IfNoneMatch: '*' });
    assert.equal(await text(Bucket, 'k'), 'again');
  });
});

describe('writes racing for one key', () => {
  test('of many If-None-Match: * PUTs at once exactly one wins; the others are 412', async () => {
    const Bucket = await createBucket(s3, 'race');
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) => s3.send(new PutObjectCommand({ Bucket, Key: 'lock', Body: `writer-${i}`, IfNoneMatch: '*' }))),
    );
    const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
    assert.equal(won.length, 1);
    for (const r of results) if (r.status === 'rejected') assert.equal((r.reason as Error).name, 'PreconditionFailed');
    assert.equal(await text(Bucket, 'lock'), `writer-${won[0]}`);
  });
});

describe('boto3', { skip: missing('boto3') }, () => {
  test('put_object IfNoneMatch and complete_multipart_upload IfMatch', async () => {
    const Bucket = await createBucket(s3, 'cond');
    const out = await boto3<{ first: number; second: [string, number]; cas: [string, number]; body: string }>(
      kumo.url,
      `
import json, os, boto3, botocore
s3 = boto3.client('s3', endpoint_url=os.environ['KUMO_URL'])
b = ${JSON.stringify(Bucket)}
def err(f):
    try:
        f()
        return None
    except botocore.exceptions.ClientError as e:
        return [e.response['Error']['Code'], e.response['ResponseMetadata']['HTTPStatusCode']]
first = s3.put_object(Bucket=b, Key='k', Body=b'one', IfNoneMatch='*')['ResponseMetadata']['HTTPStatusCode']
second = err(lambda: s3.put_object(Bucket=b, Key='k', Body=b'two', IfNoneMatch='*'))
up = s3.create_multipart_upload(Bucket=b, Key='k')['UploadId']
etag = s3.upload_part(Bucket=b, Key='k', UploadId=up, PartNumber=1, Body=b'three')['ETag']
parts = {'Parts': [{'PartNumber': 1, 'ETag': etag}]}
cas = err(lambda: s3.complete_multipart_upload(Bucket=b, Key='k', UploadId=up, MultipartUpload=parts, IfMatch='"0123"'))
current = s3.head_object(Bucket=b, Key='k')['ETag']
s3.complete_multipart_upload(Bucket=b, Key='k', UploadId=up, MultipartUpload=parts, IfMatch=current)
print(json.dumps({'first': first, 'second': second, 'cas': cas, 'body': s3.get_object(Bucket=b, Key='k')['Body'].read().decode()}))
`,
    );
    assert.deepEqual(out, { first: 200, second: ['PreconditionFailed', 412], cas: ['PreconditionFailed', 412], body: 'three' });
  });
});
