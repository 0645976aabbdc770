// Object Lock: buckets created with it (versioning on for good) or given it later, default
// retention, per-version GOVERNANCE and COMPLIANCE retention, the bypass header, legal holds;
// deletes of protected versions refused as S3 refuses them, until kumo's clock passes the date
// (POST /_kumo/clock). SDK v3, boto3 and the aws CLI.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetBucketVersioningCommand,
  GetObjectLegalHoldCommand,
  GetObjectLockConfigurationCommand,
  GetObjectRetentionCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  PutBucketLifecycleConfigurationCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  PutObjectLegalHoldCommand,
  PutObjectLockConfigurationCommand,
  PutObjectRetentionCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { REGION, uniqueName, type TestKumo } from '../helpers/kumo.js';
import { awsJson, boto3 } from '../helpers/python.js';
import { missing } from '../helpers/tools.js';
import { createBucket, failure, advanceClock, kumoNow, useS3 } from './support.js';

let kumo: TestKumo;
let s3: S3Client;

useS3((f) => ({ kumo, s3 } = f));

const DAY = 86_400_000;

async function lockedBucket(prefix: string): Promise<string> {
  const Bucket = uniqueName(prefix);
  await s3.send(new CreateBucketCommand({ Bucket, ObjectLockEnabledForBucket: true, CreateBucketConfiguration: { LocationConstraint: REGION } }));
  return Bucket;
}

const now = () => kumoNow(kumo.url);
const advance = (by: string) => advanceClock(kumo.url, by);

describe('buckets with Object Lock', () => {
  test('created with it: versioning is on and stays on; the configuration says Enabled', async () => {
    const Bucket = await lockedBucket('lock-new');
    assert.equal((await s3.send(new GetBucketVersioningCommand({ Bucket }))).Status, 'Enabled');
    const config = await s3.send(new GetObjectLockConfigurationCommand({ Bucket }));
    assert.deepEqual(config.ObjectLockConfiguration, { ObjectLockEnabled: 'Enabled' });
    const refused = await failure(s3.send(new PutBucketVersioningCommand({ Bucket, VersioningConfiguration: { Status: 'Suspended' } })));
    assert.deepEqual([refused.name, refused.status], ['InvalidBucketState', 409]);
  });

  test('a bucket without it: lock headers, retention calls and the configuration are refused as S3 refuses them', async () => {
    const Bucket = await createBucket(s3, 'lock-none');
    let f = await failure(s3.send(new PutObjectCommand({ Bucket, Key: 'k', Body: 'x', ObjectLockLegalHoldStatus: 'ON' })));
    assert.deepEqual([f.name, f.status], ['InvalidRequest', 400]);
    f = await failure(s3.send(new GetObjectLockConfigurationCommand({ Bucket })));
    assert.deepEqual([f.name, f.status], ['ObjectLockConfigurationNotFoundError', 404]);
    f = await failure(s3.send(new PutObjectLockConfigurationCommand({ Bucket, ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled' } })));
    assert.deepEqual([f.name, f.status], ['InvalidBucketState', 409]);
    // Once versioned, an existing bucket may take Object Lock.
    await s3.send(new PutBucketVersioningCommand({ Bucket, VersioningConfiguration: { Status: 'Enabled' } }));
    await s3.send(new PutObjectLockConfigurationCommand({ Bucket, ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled' } }));
    await s3.send(new PutObjectCommand({ Bucket, Key: 'k', Body: 'x', ObjectLockLegalHoldStatus: 'ON' }));
    assert.equal((await s3.send(new HeadObjectCommand({ Bucket, Key: 'k' }))).ObjectLockLegalHoldStatus, 'ON');
  });
});

describe('retention', () => {
  test('GOVERNANCE: a version cannot be deleted, except with the bypass header; a plain delete adds a marker', async () => {
    const Bucket = await lockedBucket('lock-gov');
    const until = new Date((await now()).getTime() + 2 * DAY);
    const put = await s3.send(new PutObjectCommand({ Bucket, Key: 'gov', Body: 'kept', ObjectLockMode: 'GOVERNANCE', ObjectLockRetainUntilDate: until }));
    const head = await s3.send(new HeadObjectCommand({ Bucket, Key: 'gov' }));
    assert.equal(head.ObjectLockMode, 'GOVERNANCE');
    assert.equal(head.ObjectLockRetainUntilDate?.getTime(), until.getTime());
    const retention = await s3.send(new GetObjectRetentionCommand({ Bucket, Key: 'gov' }));
    assert.equal(retention.Retention?.Mode, 'GOVERNANCE');

    const f = await failure(s3.send(new DeleteObjectCommand({ Bucket, Key: 'gov', VersionId: put.VersionId })));
    assert.deepEqual([f.name, f.status], ['AccessDenied', 403]);
    const marker = await s3.send(new DeleteObjectCommand({ Bucket, Key: 'gov' }));
    assert.equal(marker.DeleteMarker, true);
    // Shortening GOVERNANCE needs the bypass too.
    const shorter = new Date(until.getTime() - DAY);
    assert.equal((await failure(s3.send(new PutObjectRetentionCommand({ Bucket, Key: 'gov', VersionId: put.VersionId, Retention: { Mode: 'GOVERNANCE', RetainUntilDate: shorter } })))).name, 'AccessDenied');
    await s3.send(new PutObjectRetentionCommand({ Bucket, Key: 'gov', VersionId: put.VersionId, BypassGovernanceRetention: true, Retention: { Mode: 'GOVERNANCE', RetainUntilDate: shorter } }));
    await s3.send(new DeleteObjectCommand({ Bucket, Key: 'gov', VersionId: put.VersionId, BypassGovernanceRetention: true }));
    const left = await s3.send(new ListObjectVersionsCommand({ Bucket }));
    assert.equal(left.Versions, undefined);
  });

  test('COMPLIANCE: nothing deletes or weakens it until kumo\'s clock passes the date', async () => {
    const Bucket = await lockedBucket('lock-comp');
    const until = new Date((await now()).getTime() + 3 * DAY);
    const put = await s3.send(new PutObjectCommand({ Bucket, Key: 'comp', Body: 'kept', ObjectLockMode: 'COMPLIANCE', ObjectLockRetainUntilDate: until }));
    const VersionId = put.VersionId;
    assert.equal((await failure(s3.send(new DeleteObjectCommand({ Bucket, Key: 'comp', VersionId, BypassGovernanceRetention: true })))).name, 'AccessDenied');
    const weaker = [
      { Mode: 'COMPLIANCE' as const, RetainUntilDate: new Date(until.getTime() - DAY) },
      { Mode: 'GOVERNANCE' as const, RetainUntilDate: new Date(until.getTime() + DAY) },
    ];
    for (const Retention of weaker) {
      const f = await failure(s3.send(new PutObjectRetentionCommand({ Bucket, Key: 'comp', VersionId, BypassGovernanceRetention: true, Retention })));
      assert.equal(f.name, 'AccessDenied');
    }
    const later = new Date(until.getTime() + DAY);
    await s3.send(new PutObjectRetentionCommand({ Bucket, Key: 'comp', VersionId, Retention: { Mode: 'COMPLIANCE', RetainUntilDate: later } }));
    await advance('3d');
    assert.equal((await failure(s3.send(new DeleteObjectCommand({ Bucket, Key: 'comp', VersionId })))).name, 'AccessDenied');
    await advance('2d');
    await s3.send(new DeleteObjectCommand({ Bucket, Key: 'comp', VersionId }));
  });

  test('a date in the past, a version with no retention, a mode without a date', async () => {
    const Bucket = await lockedBucket('lock-bad');
    const past = new Date((await now()).getTime() - DAY);
    let f = await failure(s3.send(new PutObjectCommand({ Bucket, Key: 'p', Body: 'x', ObjectLockMode: 'GOVERNANCE', ObjectLockRetainUntilDate: past })));
    assert.deepEqual([f.name, f.status], ['InvalidArgument', 400]);
    await s3.send(new PutObjectCommand({ Bucket, Key: 'plain', Body: 'x' }));
    f = await failure(s3.send(new GetObjectRetentionCommand({ Bucket, Key: 'plain' })));
    assert.deepEqual([f.name, f.status], ['NoSuchObjectLockConfiguration', 404]);
    f = await failure(s3.send(new GetObjectLegalHoldCommand({ Bucket, Key: 'plain' })));
    assert.equal(f.name, 'NoSuchObjectLockConfiguration');
    f = await failure(s3.send(new PutObjectCommand({ Bucket, Key: 'p', Body: 'x', ObjectLockMode: 'GOVERNANCE' })));
    assert.equal(f.name, 'InvalidArgument');
  });

  test('default retention applies to new versions; DeleteObjects answers per key; lifecycle leaves locked versions', async () => {
    const Bucket = await lockedBucket('lock-default');
    await s3.send(
      new PutObjectLockConfigurationCommand({ Bucket, ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 5 } } } }),
    );
    const bad = await failure(
      s3.send(new PutObjectLockConfigurationCommand({ Bucket, ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 0 } } } })),
    );
    assert.equal(bad.name, 'InvalidArgument');
    const before = await now();
    const v1 = await s3.send(new PutObjectCommand({ Bucket, Key: 'd', Body: 'one' }));
    await s3.send(new PutObjectCommand({ Bucket, Key: 'd', Body: 'two' }));
    const head = await s3.send(new HeadObjectCommand({ Bucket, Key: 'd', VersionId: v1.VersionId }));
    assert.equal(head.ObjectLockMode, 'GOVERNANCE');
    const drift = head.ObjectLockRetainUntilDate!.getTime() - (before.getTime() + 5 * DAY);
    assert.ok(Math.abs(drift) < 60_000, `retain-until ${head.ObjectLockRetainUntilDate!.toISOString()}`);

    const out = await s3.send(new DeleteObjectsCommand({ Bucket, Delete: { Objects: [{ Key: 'd', VersionId: v1.VersionId }] } }));
    assert.deepEqual(out.Errors?.map((e) => [e.Key, e.Code]), [['d', 'AccessDenied']]);

    await s3.send(new PutBucketLifecycleConfigurationCommand({
      Bucket,
      LifecycleConfiguration: { Rules: [{ ID: 'old', Status: 'Enabled', Filter: { Prefix: '' }, NoncurrentVersionExpiration: { NoncurrentDays: 1 } }] },
    }));
    await advance('2d');
    let versions = await s3.send(new ListObjectVersionsCommand({ Bucket }));
    assert.equal(versions.Versions?.length, 2, 'the locked noncurrent version is kept');
    await advance('4d');
    versions = await s3.send(new ListObjectVersionsCommand({ Bucket }));
    assert.equal(versions.Versions?.length, 1, 'once its retention ended, lifecycle removed it');
  });
});

describe('legal hold', () => {
  test('ON keeps a version whatever its retention and the bypass say; OFF lets it go', async () => {
    const Bucket = await lockedBucket('lock-hold');
    const put = await s3.send(new PutObjectCommand({ Bucket, Key: 'held', Body: 'x' }));
    await s3.send(new PutObjectLegalHoldCommand({ Bucket, Key: 'held', LegalHold: { Status: 'ON' } }));
    assert.equal((await s3.send(new GetObjectLegalHoldCommand({ Bucket, Key: 'held' }))).LegalHold?.Status, 'ON');
    const f = await failure(s3.send(new DeleteObjectCommand({ Bucket, Key: 'held', VersionId: put.VersionId, BypassGovernanceRetention: true })));
    assert.equal(f.name, 'AccessDenied');
    await s3.send(new PutObjectLegalHoldCommand({ Bucket, Key: 'held', VersionId: put.VersionId, LegalHold: { Status: 'OFF' } }));
    await s3.send(new DeleteObjectCommand({ Bucket, Key: 'held', VersionId: put.VersionId }));
  });
});

describe('other clients', () => {
  test('aws CLI: create-bucket --object-lock-enabled-for-bucket, put-object-legal-hold', { skip: missing('aws') }, async () => {
    const Bucket = uniqueName('lock-cli');
    await awsJson(kumo.url, ['s3api', 'create-bucket', '--bucket', Bucket, '--object-lock-enabled-for-bucket', '--create-bucket-configuration', `LocationConstraint=${REGION}`]);
    const config = await awsJson<{ ObjectLockConfiguration: { ObjectLockEnabled: string } }>(kumo.url, ['s3api', 'get-object-lock-configuration', '--bucket', Bucket]);
    assert.equal(config.ObjectLockConfiguration.ObjectLockEnabled, 'Enabled');
    await s3.send(new PutObjectCommand({ Bucket, Key: 'c', Body: 'x' }));
    await awsJson(kumo.url, ['s3api', 'put-object-legal-hold', '--bucket', Bucket, '--key', 'c', '--legal-hold', 'Status=ON']);
    const hold = await awsJson<{ LegalHold: { Status: string } }>(kumo.url, ['s3api', 'get-object-legal-hold', '--bucket', Bucket, '--key', 'c']);
    assert.equal(hold.LegalHold.Status, 'ON');
  });

  test('boto3: retention set, a refused delete, the bypass', { skip: missing('boto3') }, async () => {
    const Bucket = await lockedBucket('lock-boto');
    // A day on kumo's clock, which this file has moved ahead of the machine's.
    const until = new Date((await now()).getTime() + DAY).toISOString();
    const out = await boto3<{ refused: string; mode: string; deleted: boolean }>(
      kumo.url,
      `
import json, os, boto3, datetime
from botocore.exceptions import ClientError
s3 = boto3.client('s3', endpoint_url=os.environ['KUMO_URL'])
b = ${JSON.stringify(Bucket)}
until = datetime.datetime.fromisoformat(${JSON.stringify(until.replace('Z', '+00:00'))})
v = s3.put_object(Bucket=b, Key='k', Body=b'x', ObjectLockMode='GOVERNANCE', ObjectLockRetainUntilDate=until)['VersionId']
mode = s3.get_object_retention(Bucket=b, Key='k')['Retention']['Mode']
try:
    s3.delete_object(Bucket=b, Key='k', VersionId=v)
    refused = ''
except ClientError as e:
    refused = e.response['Error']['Code']
s3.delete_object(Bucket=b, Key='k', VersionId=v, BypassGovernanceRetention=True)
left = s3.list_object_versions(Bucket=b).get('Versions', [])
print(json.dumps({'refused': refused, 'mode': mode, 'deleted': len(left) == 0}))
`,
    );
    assert.deepEqual(out, { refused: 'AccessDenied', mode: 'GOVERNANCE', deleted: true });
  });
});
