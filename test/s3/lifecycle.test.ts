// Lifecycle that runs on kumo's clock: days are made to pass with POST /_kumo/clock?advance=…,
// which answers once the rules have been carried out. Expiration by days and by date,
// x-amz-expiration on PUT/GET/HEAD, delete markers in versioned buckets, noncurrent-version
// expiration and lone delete markers, aborted multipart uploads, transitions, rule IDs S3 names;
// the rules as the SDK v3, boto3 and the aws CLI send them.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetBucketLifecycleConfigurationCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectVersionsCommand,
  PutBucketLifecycleConfigurationCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  UploadPartCommand,
  type LifecycleRule,
  type S3Client,
} from '@aws-sdk/client-s3';
import { type TestKumo } from '../helpers/kumo.js';
import { aws, boto3 } from '../helpers/python.js';
import { missing } from '../helpers/tools.js';
import { createBucket, failure, advanceClock, kumoNow, useS3 } from './support.js';

let kumo: TestKumo;
let s3: S3Client;

useS3((f) => ({ kumo, s3 } = f));

/** Makes time pass on kumo's clock; kumo answers once lifecycle has caught up. */
const advance = (by: string) => advanceClock(kumo.url, by);
const now = () => kumoNow(kumo.url);

async function exists(Bucket: string, Key: string): Promise<boolean> {
  try {
    await s3.send(new HeadObjectCommand({ Bucket, Key }));
    return true;
  } catch (e) {
    if ((e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return false;
    throw e;
  }
}

async function withRules(prefix: string, Rules: LifecycleRule[]): Promise<string> {
  const Bucket = await createBucket(s3, prefix);
  await s3.send(new PutBucketLifecycleConfigurationCommand({ Bucket, LifecycleConfiguration: { Rules } }));
  return Bucket;
}

/** S3's rounding: creation time plus the days, up to the next midnight UTC. */
function midnightAfter(d: Date, days: number): Date {
  const t = d.getTime() + days * 86_400_000;
  return new Date(Math.ceil(t / 86_400_000) * 86_400_000);
}

describe('the clock', () => {
  test('GET says where it is; POST advances it; nonsense is refused', async () => {
    const before = await now();
    const r = await fetch(`${kumo.url}/_kumo/clock?advance=90m`, { method: 'POST' });
    const moved = (await r.json()) as { now: string; advancedSeconds: number };
    assert.ok(new Date(moved.now).getTime() - before.getTime() >= 90 * 60_000);
    assert.ok(moved.advancedSeconds >= 5400);
    const bad = await fetch(`${kumo.url}/_kumo/clock?advance=soon`, { method: 'POST' });
    assert.equal(bad.status, 400);
  });
});

describe('expiration', () => {
  test('objects a rule covers expire after their days; x-amz-expiration says when, on PUT, HEAD and GET', async () => {
    const Bucket = await withRules('lc-days', [{ ID: 'logs-go', Status: 'Enabled', Filter: { Prefix: 'logs/' }, Expiration: { Days: 2 } }]);
    const put = await s3.send(new PutObjectCommand({ Bucket, Key: 'logs/a', Body: 'a' }));
    await s3.send(new PutObjectCommand({ Bucket, Key: 'keep/b', Body: 'b' }));
    const head = await s3.send(new HeadObjectCommand({ Bucket, Key: 'logs/a' }));
    const expected = `expiry-date="${midnightAfter(head.LastModified!, 2).toUTCString()}", rule-id="logs-go"`;
    assert.equal(put.Expiration, expected);
    assert.equal(head.Expiration, expected);
    const got = await s3.send(new GetObjectCommand({ Bucket, Key: 'logs/a' }));
    assert.equal(got.Expiration, expected);
    await got.Body!.transformToString();
    assert.equal((await s3.send(new HeadObjectCommand({ Bucket, Key: 'keep/b' }))).Expiration, undefined);

    await advance('1d');
    assert.equal(await exists(Bucket, 'logs/a'), true, 'one day is not two');
    await advance('2d');
    assert.equal(await exists(Bucket, 'logs/a'), false);
    assert.equal(await exists(Bucket, 'keep/b'), true);
  });

  test('a date in the past expires what the rule covers at the next look; tag and size filters count', async () => {
    const Bucket = await createBucket(s3, 'lc-date');
    await s3.send(new PutObjectCommand({ Bucket, Key: 'tagged', Body: 'x', Tagging: 'tier=temp' }));
    await s3.send(new PutObjectCommand({ Bucket, Key: 'untagged', Body: 'x' }));
    await s3.send(new PutObjectCommand({ Bucket, Key: 'big', Body: 'x'.repeat(2000) }));
    const today = new Date(Math.floor((await now()).getTime() / 86_400_000) * 86_400_000);
    await s3.send(
      new PutBucketLifecycleConfigurationCommand({
        Bucket,
        LifecycleConfiguration: {
          Rules: [
            { ID: 'temp', Status: 'Enabled', Filter: { Tag: { Key: 'tier', Value: 'temp' } }, Expiration: { Date: today } },
            { ID: 'large', Status: 'Enabled', Filter: { ObjectSizeGreaterThan: 1000 }, Expiration: { Date: today } },
            { ID: 'off', Status: 'Disabled', Filter: { Prefix: '' }, Expiration: { Date: today } },
          ],
        },
      }),
    );
    await advance('1s');
    assert.deepEqual(
      [await exists(Bucket, 'tagged'), await exists(Bucket, 'untagged'), await exists(Bucket, 'big')],
      [false, true, false],
    );
  });

  test('versioned: the current version gets a delete marker; noncurrent versions and then the lone marker go', async () => {
    const Bucket = await createBucket(s3, 'lc-ver');
    await s3.send(new PutBucketVersioningCommand({ Bucket, VersioningConfiguration: { Status: 'Enabled' } }));
    await s3.send(
      new PutBucketLifecycleConfigurationCommand({
        Bucket,
        LifecycleConfiguration: {
          Rules: [
            { ID: 'current', Status: 'Enabled', Filter: { Prefix: '' }, Expiration: { Days: 1 } },
            { ID: 'old', Status: 'Enabled', Filter: { Prefix: '' }, NoncurrentVersionExpiration: { NoncurrentDays: 3 } },
          ],
        },
      }),
    );
    await s3.send(new PutObjectCommand({ Bucket, Key: 'doc', Body: 'v1' }));
    await s3.send(new PutObjectCommand({ Bucket, Key: 'doc', Body: 'v2' }));
    await advance('2d');
    let listed = await s3.send(new ListObjectVersionsCommand({ Bucket }));
    assert.equal(listed.Versions?.length, 2, 'both versions kept, now noncurrent');
    assert.equal(listed.DeleteMarkers?.length, 1);
    assert.equal(listed.DeleteMarkers![0].IsLatest, true);
    await advance('4d');
    listed = await s3.send(new ListObjectVersionsCommand({ Bucket }));
    assert.equal(listed.Versions, undefined, 'noncurrent versions expired');
    // The marker was left alone with nothing behind it: S3 removes it too.
    assert.equal(listed.DeleteMarkers, undefined);
  });

  test('incomplete multipart uploads are aborted after their days', async () => {
    const Bucket = await withRules('lc-mpu', [{ ID: 'abort', Status: 'Enabled', Filter: { Prefix: 'up/' }, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 } }]);
    const stale = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key: 'up/stale' }));
    await s3.send(new UploadPartCommand({ Bucket, Key: 'up/stale', UploadId: stale.UploadId, PartNumber: 1, Body: 'part' }));
    const other = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key: 'elsewhere' }));
    await advance('6d');
    assert.equal((await s3.send(new ListMultipartUploadsCommand({ Bucket }))).Uploads?.length, 2);
    await advance('2d');
    const left = await s3.send(new ListMultipartUploadsCommand({ Bucket }));
    assert.deepEqual(left.Uploads?.map((u) => u.Key), ['elsewhere']);
    const refused = await failure(s3.send(new UploadPartCommand({ Bucket, Key: 'up/stale', UploadId: stale.UploadId, PartNumber: 2, Body: 'late' })));
    assert.equal(refused.name, 'NoSuchUpload');
    const part = await s3.send(new UploadPartCommand({ Bucket, Key: 'elsewhere', UploadId: other.UploadId, PartNumber: 1, Body: 'fine' }));
    await s3.send(
      new CompleteMultipartUploadCommand({ Bucket, Key: 'elsewhere', UploadId: other.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] } }),
    );
  });
});

describe('transitions and rule IDs', () => {
  test('a transition changes the storage class when its day comes', async () => {
    const Bucket = await withRules('lc-tr', [{ ID: 'cool', Status: 'Enabled', Filter: { Prefix: '' }, Transitions: [{ Days: 30, StorageClass: 'STANDARD_IA' }] }]);
    await s3.send(new PutObjectCommand({ Bucket, Key: 'cooling', Body: 'x' }));
    assert.equal((await s3.send(new HeadObjectCommand({ Bucket, Key: 'cooling' }))).StorageClass, undefined);
    await advance('31d');
    const head = await s3.send(new HeadObjectCommand({ Bucket, Key: 'cooling' }));
    assert.equal(head.StorageClass, 'STANDARD_IA');
    const got = await s3.send(new GetObjectCommand({ Bucket, Key: 'cooling' }));
    assert.equal(await got.Body!.transformToString(), 'x');
  });

  test('rules sent without an ID get one (SDK v3, and the aws CLI)', { skip: missing('aws') }, async () => {
    const Bucket = await withRules('lc-id', [{ Status: 'Enabled', Filter: { Prefix: 'a/' }, Expiration: { Days: 5 } }]);
    const got = await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket }));
    assert.match(got.Rules![0].ID!, /^[A-Za-z0-9]{48}$/);
    const cli = await aws(kumo.url, [
      's3api', 'put-bucket-lifecycle-configuration', '--bucket', Bucket,
      '--lifecycle-configuration', JSON.stringify({ Rules: [{ Status: 'Enabled', Filter: { Prefix: 'b/' }, Expiration: { Days: 1 } }] }),
    ]);
    assert.equal(cli.code, 0, cli.stderr);
    const again = await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket }));
    assert.match(again.Rules![0].ID!, /^[A-Za-z0-9]{48}$/);
  });

  test('boto3: rules put by boto3 expire what they cover', { skip: missing('boto3') }, async () => {
    const Bucket = await createBucket(s3, 'lc-boto');
    const out = await boto3<{ expiration: string }>(
      kumo.url,
      `
import json, os, boto3
s3 = boto3.client('s3', endpoint_url=os.environ['KUMO_URL'])
b = ${JSON.stringify(Bucket)}
s3.put_bucket_lifecycle_configuration(Bucket=b, LifecycleConfiguration={'Rules': [
  {'ID': 'tmp', 'Status': 'Enabled', 'Filter': {'Prefix': 'tmp/'}, 'Expiration': {'Days': 1}}]})
r = s3.put_object(Bucket=b, Key='tmp/x', Body=b'x')
print(json.dumps({'expiration': r.get('Expiration', '')}))
`,
    );
    assert.match(out.expiration, /^expiry-date=".+ 00:00:00 GMT", rule-id="tmp"$/);
    await advance('2d');
    assert.equal(await exists(Bucket, 'tmp/x'), false);
  });
});
