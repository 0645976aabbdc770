// The S3 condition keys of bucket policies, against a real kumo with the SDK v3 and boto3:
// encryption and storage-class headers, tags requested (s3:RequestObjectTag/*, s3:RequestObjectTagKeys)
// and existing (s3:ExistingObjectTag/*), object lock values, and policies naming keys S3 does not have.
// Deny statements bind even the bucket owner, so one account shows them.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  CopyObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  PutBucketPolicyCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { type TestKumo } from '../helpers/kumo.js';
import { boto3 } from '../helpers/python.js';
import { missing } from '../helpers/tools.js';
import { createBucket, failure, useS3 } from './support.js';

let kumo: TestKumo;
let s3: S3Client;

useS3((f) => ({ kumo, s3 } = f));

async function bucketWith(prefix: string, ...Statement: Record<string, unknown>[]): Promise<string> {
  const Bucket = await createBucket(s3, prefix);
  const withResource = Statement.map((st) => ({ Principal: '*', Resource: `arn:aws:s3:::${Bucket}/*`, ...st }));
  await s3.send(new PutBucketPolicyCommand({ Bucket, Policy: JSON.stringify({ Version: '2012-10-17', Statement: withResource }) }));
  return Bucket;
}

const denied = async (p: Promise<unknown>) => assert.equal((await failure(p)).name, 'AccessDenied');

describe('request headers', () => {
  test('s3:x-amz-server-side-encryption and s3:x-amz-storage-class', async () => {
    const Bucket = await bucketWith(
      'pk-sse',
      { Effect: 'Deny', Action: 's3:PutObject', Condition: { StringNotEquals: { 's3:x-amz-server-side-encryption': 'aws:kms' } } },
      { Effect: 'Deny', Action: 's3:PutObject', Condition: { StringEquals: { 's3:x-amz-storage-class': 'GLACIER' } } },
    );
    await denied(s3.send(new PutObjectCommand({ Bucket, Key: 'plain', Body: 'x' })));
    await s3.send(new PutObjectCommand({ Bucket, Key: 'kms', Body: 'x', ServerSideEncryption: 'aws:kms' }));
    await denied(s3.send(new PutObjectCommand({ Bucket, Key: 'cold', Body: 'x', ServerSideEncryption: 'aws:kms', StorageClass: 'GLACIER' })));
  });

  test('s3:x-amz-copy-source and s3:x-amz-metadata-directive', async () => {
    const Bucket = await bucketWith('pk-copy', { Effect: 'Deny', Action: 's3:PutObject', Condition: { StringLike: { 's3:x-amz-copy-source': '*/private/*' } } });
    await s3.send(new PutObjectCommand({ Bucket, Key: 'private/a', Body: 'x' }));
    await s3.send(new PutObjectCommand({ Bucket, Key: 'public/a', Body: 'x' }));
    await denied(s3.send(new CopyObjectCommand({ Bucket, Key: 'copy1', CopySource: `${Bucket}/private/a` })));
    await s3.send(new CopyObjectCommand({ Bucket, Key: 'copy2', CopySource: `${Bucket}/public/a` }));
  });
});

describe('conditional writes', () => {
  test('s3:if-none-match: a policy can insist that writes never overwrite', async () => {
    const Bucket = await bucketWith('pk-ifnone', { Effect: 'Deny', Action: 's3:PutObject', Condition: { Null: { 's3:if-none-match': 'true' } } });
    await denied(s3.send(new PutObjectCommand({ Bucket, Key: 'k', Body: 'x' })));
    await s3.send(new PutObjectCommand({ Bucket, Key: 'k', Body: 'x', IfNoneMatch: '*' }));
    assert.equal((await failure(s3.send(new PutObjectCommand({ Bucket, Key: 'k', Body: 'y', IfNoneMatch: '*' })))).name, 'PreconditionFailed');
  });
});

describe('tags', () => {
  test('s3:ExistingObjectTag/<key> guards reads of tagged objects', async () => {
    const Bucket = await bucketWith('pk-existing', { Effect: 'Deny', Action: 's3:GetObject', Condition: { StringEquals: { 's3:ExistingObjectTag/secret': 'true' } } });
    await s3.send(new PutObjectCommand({ Bucket, Key: 'open', Body: 'x' }));
    await s3.send(new PutObjectCommand({ Bucket, Key: 'closed', Body: 'x', Tagging: 'secret=true' }));
    await (await s3.send(new GetObjectCommand({ Bucket, Key: 'open' }))).Body!.transformToString();
    await denied(s3.send(new GetObjectCommand({ Bucket, Key: 'closed' })));
    // Untag it and it reads again.
    await s3.send(new PutObjectTaggingCommand({ Bucket, Key: 'closed', Tagging: { TagSet: [] } }));
    await (await s3.send(new GetObjectCommand({ Bucket, Key: 'closed' }))).Body!.transformToString();
  });

  test('s3:RequestObjectTag/<key> and s3:RequestObjectTagKeys guard the tags a write sets', async () => {
    const Bucket = await bucketWith(
      'pk-request',
      { Effect: 'Deny', Action: ['s3:PutObject', 's3:PutObjectTagging'], Condition: { StringEquals: { 's3:RequestObjectTag/env': 'prod' } } },
      { Effect: 'Deny', Action: 's3:PutObject', Condition: { 'ForAnyValue:StringEquals': { 's3:RequestObjectTagKeys': 'forbidden' } } },
    );
    await denied(s3.send(new PutObjectCommand({ Bucket, Key: 'a', Body: 'x', Tagging: 'env=prod' })));
    await s3.send(new PutObjectCommand({ Bucket, Key: 'a', Body: 'x', Tagging: 'env=dev' }));
    await denied(s3.send(new PutObjectTaggingCommand({ Bucket, Key: 'a', Tagging: { TagSet: [{ Key: 'env', Value: 'prod' }] } })));
    await denied(s3.send(new PutObjectCommand({ Bucket, Key: 'b', Body: 'x', Tagging: 'forbidden=1&ok=2' })));
  });
});

describe('DeleteObjects', () => {
  test('each key is decided on its own: the denied ones are AccessDenied entries, the others go', async () => {
    const Bucket = await createBucket(s3, 'pk-batch');
    await s3.send(new PutBucketPolicyCommand({
      Bucket,
      Policy: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Deny', Principal: '*', Action: 's3:DeleteObject', Resource: `arn:aws:s3:::${Bucket}/keep/*` }] }),
    }));
    for (const Key of ['keep/a', 'tmp/b']) await s3.send(new PutObjectCommand({ Bucket, Key, Body: 'x' }));
    const out = await s3.send(new DeleteObjectsCommand({ Bucket, Delete: { Objects: [{ Key: 'keep/a' }, { Key: 'tmp/b' }] } }));
    assert.deepEqual(out.Deleted?.map((d) => d.Key), ['tmp/b']);
    assert.deepEqual(out.Errors?.map((e) => [e.Key, e.Code]), [['keep/a', 'AccessDenied']]);
    await (await s3.send(new GetObjectCommand({ Bucket, Key: 'keep/a' }))).Body!.transformToString();
  });
});

describe('policies', () => {
  test('a key S3 does not have is MalformedPolicy; the per-tag keys need a tag name', async () => {
    const Bucket = await createBucket(s3, 'pk-bad');
    const put = (key: string) =>
      s3.send(new PutBucketPolicyCommand({
        Bucket,
        Policy: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Deny', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${Bucket}/*`, Condition: { StringEquals: { [key]: 'x' } } }] }),
      }));
    assert.equal((await failure(put('s3:NoSuchKey'))).name, 'MalformedPolicy');
    assert.equal((await failure(put('s3:ExistingObjectTag/'))).name, 'MalformedPolicy');
    await put('s3:object-lock-mode');
  });

  test('boto3: a Deny on s3:x-amz-server-side-encryption-customer-algorithm', { skip: missing('boto3') }, async () => {
    const Bucket = await bucketWith('pk-boto', { Effect: 'Deny', Action: 's3:PutObject', Condition: { Null: { 's3:x-amz-server-side-encryption-customer-algorithm': 'false' } } });
    const out = await boto3<{ plain: string; ssec: string }>(
      kumo.url,
      `
import json, os, boto3
from botocore.exceptions import ClientError
s3 = boto3.client('s3', endpoint_url=os.environ['KUMO_URL'])
def code(f):
    try:
        f()
        return 'ok'
    except ClientError as e:
        return e.response['Error']['Code']
b = ${JSON.stringify(Bucket)}
print(json.dumps({
  'plain': code(lambda: s3.put_object(Bucket=b, Key='p', Body=b'x')),
  'ssec': code(lambda: s3.put_object(Bucket=b, Key='c', Body=b'x', SSECustomerAlgorithm='AES256', SSECustomerKey='k' * 32)),
}))
`,
    );
    assert.deepEqual(out, { plain: 'ok', ssec: 'AccessDenied' });
  });
});
