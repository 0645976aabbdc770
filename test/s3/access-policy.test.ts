// Bucket policies and Block Public Access against a real kumo: AWS's defaults for new buckets,
// policy validation, grants to another account (SDK and presigned URLs), anonymous access with
// plain fetch(), explicit Deny, conditions (s3:prefix, aws:SourceIp, aws:SecureTransport).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CreateBucketCommand,
  DeleteBucketPolicyCommand,
  DeleteObjectCommand,
  DeletePublicAccessBlockCommand,
  GetBucketOwnershipControlsCommand,
  GetBucketPolicyCommand,
  GetBucketPolicyStatusCommand,
  GetObjectCommand,
  GetPublicAccessBlockCommand,
  HeadBucketCommand,
  ListObjectsV2Command,
  PutBucketPolicyCommand,
  PutObjectCommand,
  PutPublicAccessBlockCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { DEFAULT_CREDENTIAL } from '../../src/config.js';
import { REGION, startKumoForTest, uniqueName, type TestKumo } from '../helpers/kumo.js';
import { aws, boto3 } from '../helpers/python.js';
import { failure, s3Client, xmlField } from './support.js';

const OTHER = { accessKeyId: 'other', secretAccessKey: 'othersecret', account: '111111111111' };

let kumo: TestKumo;
let s3: S3Client;
let other: S3Client;

before(async () => {
  kumo = await startKumoForTest({ credentials: [DEFAULT_CREDENTIAL, OTHER] });
  s3 = s3Client(kumo.url);
  other = s3Client(kumo.url, { credentials: { accessKeyId: OTHER.accessKeyId, secretAccessKey: OTHER.secretAccessKey } });
});
after(async () => {
  s3.destroy();
  other.destroy();
  await kumo.stop();
});

async function newBucket(objects: Record<string, string> = {}): Promise<string> {
  const Bucket = uniqueName('pol');
  await s3.send(new CreateBucketCommand({ Bucket, CreateBucketConfiguration: { LocationConstraint: REGION } }));
  for (const [Key, Body] of Object.entries(objects)) await s3.send(new PutObjectCommand({ Bucket, Key, Body }));
  return Bucket;
}

const policy = (...Statement: Record<string, unknown>[]) => JSON.stringify({ Version: '2012-10-17', Statement });
const put = (Bucket: string, p: string) => s3.send(new PutBucketPolicyCommand({ Bucket, Policy: p }));
const anonymous = (path: string, init?: RequestInit) => fetch(`${kumo.url}/${path}`, init);

describe('a new bucket has AWS’s defaults', () => {
  test('Block Public Access all on, ACLs off (BucketOwnerEnforced), no policy', async () => {
    const Bucket = await newBucket();
    const pab = await s3.send(new GetPublicAccessBlockCommand({ Bucket }));
    assert.deepEqual(pab.PublicAccessBlockConfiguration, { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true });
    const own = await s3.send(new GetBucketOwnershipControlsCommand({ Bucket }));
    assert.deepEqual(own.OwnershipControls?.Rules, [{ ObjectOwnership: 'BucketOwnerEnforced' }]);
    for (const f of [await failure(s3.send(new GetBucketPolicyCommand({ Bucket }))), await failure(s3.send(new GetBucketPolicyStatusCommand({ Bucket })))]) {
      assert.deepEqual([f.name, f.status], ['NoSuchBucketPolicy', 404]);
    }
    await s3.send(new DeletePublicAccessBlockCommand({ Bucket }));
    const gone = await failure(s3.send(new GetPublicAccessBlockCommand({ Bucket })));
    assert.deepEqual([gone.name, gone.status], ['NoSuchPublicAccessBlockConfiguration', 404]);
  });

  test('a public policy is refused with AccessDenied while BlockPublicPolicy is on, and nothing is stored', async () => {
    const Bucket = await newBucket();
    const open = policy({ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${Bucket}/*` });
    const f = await failure(put(Bucket, open));
    assert.deepEqual([f.name, f.status], ['AccessDenied', 403]);
    assert.equal((await failure(s3.send(new GetBucketPolicyCommand({ Bucket })))).name, 'NoSuchBucketPolicy');
  });
});

describe('policy validation', () => {
  test('malformed documents are MalformedPolicy and change nothing', async () => {
    const Bucket = await newBucket();
    const kept = policy({ Effect: 'Allow', Principal: { AWS: OTHER.account }, Action: 's3:ListBucket', Resource: `arn:aws:s3:::${Bucket}` });
    await put(Bucket, kept);
    const bad = [
      '{not json',
      JSON.stringify({ Version: '2012-10-17' }),
      policy({ Effect: 'Maybe', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${Bucket}/*` }),
      policy({ Effect: 'Allow', Action: 's3:GetObject', Resource: `arn:aws:s3:::${Bucket}/*` }),
      policy({ Effect: 'Allow', Principal: { AWS: 'nobody' }, Action: 's3:GetObject', Resource: `arn:aws:s3:::${Bucket}/*` }),
      policy({ Effect: 'Allow', Principal: { AWS: OTHER.account }, Action: 'ec2:RunInstances', Resource: `arn:aws:s3:::${Bucket}/*` }),
      policy({ Effect: 'Allow', Principal: { AWS: OTHER.account }, Action: 's3:GetObject', Resource: 'arn:aws:s3:::some-other-bucket/*' }),
      policy({ Effect: 'Allow', Principal: { AWS: OTHER.account }, Action: 's3:GetObject', Resource: `arn:aws:s3:::${Bucket}` }),
      policy({ Effect: 'Allow', Principal: { AWS: OTHER.account }, Action: 's3:GetObject', Resource: `arn:aws:s3:::${Bucket}/*`, Condition: { StringSortOf: { 's3:prefix': 'a' } } }),
      policy({ Effect: 'Allow', Principal: { AWS: OTHER.account }, Action: 's3:GetObject', Resource: `arn:aws:s3:::${Bucket}/*`, Condition: { StringEquals: { 'kumo:made-up': 'a' } } }),
    ];
    for (const p of bad) {
      const f = await failure(put(Bucket, p));
      assert.deepEqual([f.name, f.status], ['MalformedPolicy', 400], p);
    }
    assert.equal((await s3.send(new GetBucketPolicyCommand({ Bucket }))).Policy, kept);
  });
});

describe('another account', () => {
  test('is allowed exactly what the policy grants, and a missing key is AccessDenied without s3:ListBucket', async () => {
    const Bucket = await newBucket({ 'shared/a.txt': 'for you', 'private.txt': 'not for you' });
    const before = await failure(other.send(new GetObjectCommand({ Bucket, Key: 'shared/a.txt' })));
    assert.deepEqual([before.name, before.status], ['AccessDenied', 403]);
    const stored = await put(Bucket, policy({ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${OTHER.account}:root` }, Action: 's3:GetObject', Resource: `arn:aws:s3:::${Bucket}/shared/*` }));
    assert.equal(stored.$metadata.httpStatusCode, 204);
    const got = await other.send(new GetObjectCommand({ Bucket, Key: 'shared/a.txt' }));
    assert.equal(await got.Body!.transformToString(), 'for you');
    for (const call of [
      () => other.send(new GetObjectCommand({ Bucket, Key: 'private.txt' })),
      () => other.send(new GetObjectCommand({ Bucket, Key: 'shared/missing.txt' })),
      () => other.send(new ListObjectsV2Command({ Bucket })),
      () => other.send(new PutObjectCommand({ Bucket, Key: 'shared/new.txt', Body: 'x' })),
      () => other.send(new GetBucketPolicyCommand({ Bucket })),
    ]) {
      const f = await failure(call());
      assert.deepEqual([f.name, f.status], ['AccessDenied', 403]);
    }
  });

  test('a presigned URL made by the other account is judged by the policy too', async () => {
    const Bucket = await newBucket({ 'doc.txt': 'presigned' });
    const url = await getSignedUrl(other, new GetObjectCommand({ Bucket, Key: 'doc.txt' }), { expiresIn: 300 });
    const denied = await fetch(url);
    assert.equal(denied.status, 403);
    assert.equal(xmlField(await denied.text(), 'Code'), 'AccessDenied');
    await put(Bucket, policy({ Effect: 'Allow', Principal: { AWS: [OTHER.account] }, Action: 's3:Get*', Resource: `arn:aws:s3:::${Bucket}/*` }));
    const allowed = await fetch(url);
    assert.equal(allowed.status, 200);
    assert.equal(await allowed.text(), 'presigned');
  });

  test('s3:prefix conditions narrow ListObjectsV2', async () => {
    const Bucket = await newBucket({ 'home/other/1': '1', 'home/owner/2': '2' });
    await put(
      Bucket,
      policy({
        Effect: 'Allow',
        Principal: { AWS: OTHER.account },
        Action: 's3:ListBucket',
        Resource: `arn:aws:s3:::${Bucket}`,
        Condition: { StringLike: { 's3:prefix': ['home/other/*'] } },
      }),
    );
    const mine = await other.send(new ListObjectsV2Command({ Bucket, Prefix: 'home/other/' }));
    assert.deepEqual(mine.Contents?.map((c) => c.Key), ['home/other/1']);
    for (const Prefix of [undefined, 'home/']) {
      assert.equal((await failure(other.send(new ListObjectsV2Command({ Bucket, Prefix })))).name, 'AccessDenied', String(Prefix));
    }
  });

  test('policy operations are the owner’s alone: allowed by policy, another account gets 405', async () => {
    const Bucket = await newBucket();
    await put(Bucket, policy({ Effect: 'Allow', Principal: { AWS: OTHER.account }, Action: 's3:GetBucketPolicy', Resource: `arn:aws:s3:::${Bucket}` }));
    const f = await failure(other.send(new GetBucketPolicyCommand({ Bucket })));
    assert.deepEqual([f.name, f.status], ['MethodNotAllowed', 405]);
    const wrongOwner = await failure(s3.send(new HeadBucketCommand({ Bucket, ExpectedBucketOwner: OTHER.account })));
    assert.equal(wrongOwner.status, 403);
  });
});

describe('explicit Deny and conditions', () => {
  test('Deny wins over ownership; the owner can still remove the policy', async () => {
    const Bucket = await newBucket({ 'keep.txt': 'kept' });
    await put(Bucket, policy({ Effect: 'Deny', Principal: '*', Action: ['s3:DeleteObject', 's3:PutBucketPolicy'], Resource: [`arn:aws:s3:::${Bucket}/*`, `arn:aws:s3:::${Bucket}`] }));
    const f = await failure(s3.send(new DeleteObjectCommand({ Bucket, Key: 'keep.txt' })));
    assert.deepEqual([f.name, f.status], ['AccessDenied', 403]);
    await s3.send(new DeleteBucketPolicyCommand({ Bucket }));
    await s3.send(new DeleteObjectCommand({ Bucket, Key: 'keep.txt' }));
  });

  test('aws:SecureTransport is false over kumo’s http: a "deny insecure transport" policy locks out even the owner', async () => {
    const Bucket = await newBucket({ 'a.txt': 'a' });
    await put(
      Bucket,
      policy({ Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: [`arn:aws:s3:::${Bucket}`, `arn:aws:s3:::${Bucket}/*`], Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    );
    assert.equal((await failure(s3.send(new GetObjectCommand({ Bucket, Key: 'a.txt' })))).name, 'AccessDenied');
    assert.equal((await failure(s3.send(new ListObjectsV2Command({ Bucket })))).name, 'AccessDenied');
    await s3.send(new DeleteBucketPolicyCommand({ Bucket }));
    assert.equal(await (await s3.send(new GetObjectCommand({ Bucket, Key: 'a.txt' }))).Body!.transformToString(), 'a');
  });

  test('aws:SourceIp: an allow for loopback is not public, so Block Public Access lets it in', async () => {
    const Bucket = await newBucket({ 'site/index.html': '<h1>hi</h1>' });
    const byIp = (cidr: string) =>
      policy({ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${Bucket}/site/*`, Condition: { IpAddress: { 'aws:SourceIp': [cidr] } } });
    await put(Bucket, byIp('127.0.0.0/8'));
    assert.equal((await s3.send(new GetBucketPolicyStatusCommand({ Bucket }))).PolicyStatus?.IsPublic, false);
    const ok = await anonymous(`${Bucket}/site/index.html`);
    assert.equal(ok.status, 200);
    assert.equal(await ok.text(), '<h1>hi</h1>');
    await put(Bucket, byIp('10.0.0.0/8'));
    assert.equal((await anonymous(`${Bucket}/site/index.html`)).status, 403);
  });
});

describe('anonymous access', () => {
  test('a public policy works once Block Public Access allows it, and RestrictPublicBuckets closes it again', async () => {
    const Bucket = await newBucket({ 'pub/logo.txt': 'logo', 'secret.txt': 'secret' });
    assert.equal((await anonymous(`${Bucket}/pub/logo.txt`)).status, 403);
    await s3.send(new DeletePublicAccessBlockCommand({ Bucket }));
    await put(Bucket, policy({ Sid: 'PublicRead', Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${Bucket}/pub/*` }));
    assert.equal((await s3.send(new GetBucketPolicyStatusCommand({ Bucket }))).PolicyStatus?.IsPublic, true);
    const res = await anonymous(`${Bucket}/pub/logo.txt`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'logo');
    assert.equal((await anonymous(`${Bucket}/secret.txt`)).status, 403);
    assert.equal((await anonymous(`${Bucket}/pub/absent.txt`)).status, 403, 'without s3:ListBucket a missing key is AccessDenied');
    const put403 = await anonymous(`${Bucket}/pub/new.txt`, { method: 'PUT', body: 'x' });
    assert.equal(put403.status, 403);

    await s3.send(new PutPublicAccessBlockCommand({ Bucket, PublicAccessBlockConfiguration: { RestrictPublicBuckets: true } }));
    const pab = await s3.send(new GetPublicAccessBlockCommand({ Bucket }));
    assert.deepEqual(pab.PublicAccessBlockConfiguration, { BlockPublicAcls: false, IgnorePublicAcls: false, BlockPublicPolicy: false, RestrictPublicBuckets: true });
    assert.equal((await anonymous(`${Bucket}/pub/logo.txt`)).status, 403);
    assert.equal(await (await s3.send(new GetObjectCommand({ Bucket, Key: 'pub/logo.txt' }))).Body!.transformToString(), 'logo');
  });
});

describe('the aws CLI and boto3', () => {
  test('put-bucket-policy / get-bucket-policy-status with the CLI; public access block with boto3', async () => {
    const Bucket = await newBucket();
    const doc = policy({ Effect: 'Allow', Principal: { AWS: OTHER.account }, Action: 's3:ListBucket', Resource: `arn:aws:s3:::${Bucket}` });
    const r = await aws(kumo.url, ['s3api', 'put-bucket-policy', '--bucket', Bucket, '--policy', doc]);
    assert.equal(r.code, 0, r.stderr);
    const status = await aws(kumo.url, ['s3api', 'get-bucket-policy-status', '--bucket', Bucket, '--output', 'json']);
    assert.deepEqual(JSON.parse(status.stdout), { PolicyStatus: { IsPublic: false } });
    const bad = await aws(kumo.url, ['s3api', 'put-bucket-policy', '--bucket', Bucket, '--policy', '{"Statement": 1']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /MalformedPolicy/);
    const out = await boto3<Record<string, boolean>>(
      kumo.url,
      `import boto3, json, os
s3 = boto3.client('s3', endpoint_url=os.environ['KUMO_URL'])
s3.put_public_access_block(Bucket='${Bucket}', PublicAccessBlockConfiguration={'BlockPublicAcls': True, 'IgnorePublicAcls': False, 'BlockPublicPolicy': True, 'RestrictPublicBuckets': False})
print(json.dumps(s3.get_public_access_block(Bucket='${Bucket}')['PublicAccessBlockConfiguration']))`,
    );
    assert.deepEqual(out, { BlockPublicAcls: true, IgnorePublicAcls: false, BlockPublicPolicy: true, RestrictPublicBuckets: false });
  });
});
