// kill -9 after the newer S3 features answered: an object posted by a browser form, Object Lock
// (a bucket made with it, COMPLIANCE retention, a legal hold), lifecycle rules with the ID kumo
// named, a restore under way, a logging configuration. After a restart all of it is as it was
// answered, and the lock still refuses to let the version go.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetBucketLifecycleConfigurationCommand,
  GetBucketLoggingCommand,
  GetObjectCommand,
  GetObjectLegalHoldCommand,
  GetObjectRetentionCommand,
  HeadObjectCommand,
  PutBucketLifecycleConfigurationCommand,
  PutBucketLoggingCommand,
  PutObjectCommand,
  PutObjectLegalHoldCommand,
  RestoreObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import { clientConfig, REGION, uniqueName } from '../helpers/kumo.js';
import { useKumoProcesses } from '../helpers/kumo-process.js';
import { failure } from './support.js';

const kumos = useKumoProcesses();

describe('kill -9 after the newer features answered', () => {
  test('posted objects, locks, lifecycle rules, restores and logging survive', async () => {
    const dataDir = kumos.dataDir('kumo-s3-crash-features-');
    const first = await kumos.start(dataDir, ['--quiet']);
    const s3 = new S3Client(clientConfig(first.url, { forcePathStyle: true }));
    const Bucket = uniqueName('crash-lock');
    const plain = uniqueName('crash-plain');
    await s3.send(new CreateBucketCommand({ Bucket, ObjectLockEnabledForBucket: true, CreateBucketConfiguration: { LocationConstraint: REGION } }));
    await s3.send(new CreateBucketCommand({ Bucket: plain, CreateBucketConfiguration: { LocationConstraint: REGION } }));

    const until = new Date(Date.now() + 3 * 86_400_000);
    const locked = await s3.send(new PutObjectCommand({ Bucket, Key: 'locked', Body: 'kept', ObjectLockMode: 'COMPLIANCE', ObjectLockRetainUntilDate: until }));
    await s3.send(new PutObjectLegalHoldCommand({ Bucket, Key: 'locked', LegalHold: { Status: 'ON' } }));
    const form = await createPresignedPost(s3, { Bucket: plain, Key: 'posted', Expires: 300 });
    const body = new FormData();
    for (const [k, v] of Object.entries(form.fields)) body.append(k, v);
    body.append('file', new Blob(['from a form']), 'f.txt');
    assert.equal((await fetch(form.url, { method: 'POST', body })).status, 204);
    await s3.send(new PutBucketLifecycleConfigurationCommand({ Bucket: plain, LifecycleConfiguration: { Rules: [{ Status: 'Enabled', Filter: { Prefix: 'tmp/' }, Expiration: { Days: 3 } }] } }));
    const ruleId = (await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: plain }))).Rules![0].ID;
    await s3.send(new PutObjectCommand({ Bucket: plain, Key: 'cold', Body: 'x', StorageClass: 'GLACIER' }));
    await s3.send(new RestoreObjectCommand({ Bucket: plain, Key: 'cold', RestoreRequest: { Days: 1 } }));
    await s3.send(new PutBucketLoggingCommand({ Bucket: plain, BucketLoggingStatus: { LoggingEnabled: { TargetBucket: plain, TargetPrefix: 'logs/' } } }));
    await first.kill('SIGKILL');
    s3.destroy();

    const second = await kumos.start(dataDir, ['--quiet']);
    const c = new S3Client(clientConfig(second.url, { forcePathStyle: true }));
    try {
      const retention = await c.send(new GetObjectRetentionCommand({ Bucket, Key: 'locked' }));
      assert.equal(retention.Retention?.Mode, 'COMPLIANCE');
      assert.equal((await c.send(new GetObjectLegalHoldCommand({ Bucket, Key: 'locked' }))).LegalHold?.Status, 'ON');
      assert.equal((await failure(c.send(new DeleteObjectCommand({ Bucket, Key: 'locked', VersionId: locked.VersionId })))).name, 'AccessDenied');
      assert.equal(await (await c.send(new GetObjectCommand({ Bucket: plain, Key: 'posted' }))).Body!.transformToString(), 'from a form');
      assert.equal((await c.send(new GetBucketLifecycleConfigurationCommand({ Bucket: plain }))).Rules![0].ID, ruleId);
      assert.equal((await c.send(new HeadObjectCommand({ Bucket: plain, Key: 'cold' }))).Restore, 'ongoing-request="true"');
      assert.equal((await c.send(new GetBucketLoggingCommand({ Bucket: plain }))).LoggingEnabled?.TargetPrefix, 'logs/');
    } finally {
      c.destroy();
      await second.kill('SIGTERM');
    }
  });
});
