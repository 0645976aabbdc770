// Configuration PUTs whose body S3 requires, sent with none: each is MissingRequestBodyError (400)
// and leaves what was stored as it was. The rule comes from the model (a required payload), so it
// holds for every such operation, not only the ones tried here.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  GetBucketCorsCommand,
  GetBucketLifecycleConfigurationCommand,
  GetBucketPolicyCommand,
  GetBucketTaggingCommand,
  GetBucketVersioningCommand,
  GetObjectTaggingCommand,
  GetPublicAccessBlockCommand,
  PutBucketCorsCommand,
  PutBucketLifecycleConfigurationCommand,
  PutBucketPolicyCommand,
  PutBucketTaggingCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  PutPublicAccessBlockCommand,
  HeadObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { type TestKumo } from '../helpers/kumo.js';
import { createBucket, rawRequest, useS3, xmlField } from './support.js';

let kumo: TestKumo;
let s3: S3Client;
useS3((f) => ({ kumo, s3 } = f));

const newBucket = () => createBucket(s3, 'empty');

/** A signed request with no body (or only whitespace), as a hand-rolled client might send it. */
async function emptyPut(path: string, sub: string, body = '', method = 'PUT') {
  const r = await rawRequest(kumo.url, { method, path, query: { [sub]: '' }, body });
  const text = r.body.toString();
  return { status: r.status, code: xmlField(text, 'Code'), message: xmlField(text, 'Message') };
}

const MISSING = { status: 400, code: 'MissingRequestBodyError', message: 'Request Body is empty' };

describe('an empty body where S3 requires one', () => {
  test('PUT ?publicAccessBlock does not turn Block Public Access off', async () => {
    const Bucket = await newBucket();
    const flags = { BlockPublicAcls: true, IgnorePublicAcls: false, BlockPublicPolicy: true, RestrictPublicBuckets: false };
    await s3.send(new PutPublicAccessBlockCommand({ Bucket, PublicAccessBlockConfiguration: flags }));
    assert.deepEqual(await emptyPut(`/${Bucket}`, 'publicAccessBlock'), MISSING);
    assert.deepEqual(await emptyPut(`/${Bucket}`, 'publicAccessBlock', ' \r\n\t'), MISSING, 'whitespace is no body either');
    const got = await s3.send(new GetPublicAccessBlockCommand({ Bucket }));
    assert.deepEqual(got.PublicAccessBlockConfiguration, flags);
  });

  test('PUT ?tagging on a bucket and on an object keeps the tags', async () => {
    const Bucket = await newBucket();
    const TagSet = [{ Key: 'team', Value: 'web' }];
    await s3.send(new PutBucketTaggingCommand({ Bucket, Tagging: { TagSet } }));
    assert.deepEqual(await emptyPut(`/${Bucket}`, 'tagging'), MISSING);
    assert.deepEqual((await s3.send(new GetBucketTaggingCommand({ Bucket }))).TagSet, TagSet);

    await s3.send(new PutObjectCommand({ Bucket, Key: 'k', Body: 'x' }));
    await s3.send(new PutObjectTaggingCommand({ Bucket, Key: 'k', Tagging: { TagSet } }));
    assert.deepEqual(await emptyPut(`/${Bucket}/k`, 'tagging'), MISSING);
    assert.deepEqual((await s3.send(new GetObjectTaggingCommand({ Bucket, Key: 'k' }))).TagSet, TagSet);
  });

  test('PUT ?cors, ?lifecycle, ?policy and ?versioning keep their configuration', async () => {
    const Bucket = await newBucket();
    const CORSRules = [{ AllowedMethods: ['GET'], AllowedOrigins: ['https://example.com'] }];
    await s3.send(new PutBucketCorsCommand({ Bucket, CORSConfiguration: { CORSRules } }));
    const Rules = [{ ID: 'r', Filter: { Prefix: 'logs/' }, Status: 'Enabled' as const, Expiration: { Days: 7 } }];
    await s3.send(new PutBucketLifecycleConfigurationCommand({ Bucket, LifecycleConfiguration: { Rules } }));
    const Policy = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Deny', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${Bucket}/secret/*` }],
    });
    await s3.send(new PutBucketPolicyCommand({ Bucket, Policy }));
    await s3.send(new PutBucketVersioningCommand({ Bucket, VersioningConfiguration: { Status: 'Enabled' } }));

    for (const sub of ['cors', 'lifecycle', 'policy', 'versioning']) {
      assert.deepEqual(await emptyPut(`/${Bucket}`, sub), MISSING, sub);
    }
    assert.deepEqual((await s3.send(new GetBucketCorsCommand({ Bucket }))).CORSRules?.map((r) => r.AllowedOrigins), [['https://example.com']]);
    assert.deepEqual((await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket }))).Rules?.map((r) => r.ID), ['r']);
    assert.equal((await s3.send(new GetBucketPolicyCommand({ Bucket }))).Policy, Policy);
    assert.equal((await s3.send(new GetBucketVersioningCommand({ Bucket }))).Status, 'Enabled');
  });

  test('POST ?delete with no body deletes nothing', async () => {
    const Bucket = await newBucket();
    await s3.send(new PutObjectCommand({ Bucket, Key: 'keep', Body: 'x' }));
    assert.deepEqual(await emptyPut(`/${Bucket}`, 'delete', '', 'POST'), MISSING);
    await s3.send(new HeadObjectCommand({ Bucket, Key: 'keep' }));
  });

  test('an ACL PUT may still come without a body: its headers carry the ACL', async () => {
    const Bucket = await newBucket();
    // Not a required payload in the model; with neither body nor header S3 asks for the header.
    const r = await emptyPut(`/${Bucket}`, 'acl');
    assert.deepEqual([r.status, r.code], [400, 'MissingSecurityHeader']);
  });
});
