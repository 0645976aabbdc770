// Archived storage classes and RestoreObject: GLACIER and DEEP_ARCHIVE objects answer HEAD but not
// GET, copies or Select until a restore completes (its tier's time on kumo's clock, advanced with
// POST /_kumo/clock), x-amz-restore on HEAD and GET, the restored copy expiring after its days,
// lifecycle transitions archiving objects; SDK v3, boto3 and the aws CLI.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  CopyObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutBucketLifecycleConfigurationCommand,
  PutObjectCommand,
  RestoreObjectCommand,
  SelectObjectContentCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { type TestKumo } from '../helpers/kumo.js';
import { aws, boto3 } from '../helpers/python.js';
import { missing } from '../helpers/tools.js';
import { createBucket, failure, advanceClock, useS3 } from './support.js';

let kumo: TestKumo;
let s3: S3Client;
let Bucket: string;

useS3(async (f) => {
  ({ kumo, s3 } = f);
  Bucket = await createBucket(s3, 'archive');
});

const advance = (by: string) => advanceClock(kumo.url, by);

async function read(Key: string): Promise<string> {
  const got = await s3.send(new GetObjectCommand({ Bucket, Key }));
  return got.Body!.transformToString();
}

describe('GLACIER', () => {
  test('HEAD works, GET/copy/Select are InvalidObjectState; a Standard restore takes its hours, then the copy reads until it expires', async () => {
    await s3.send(new PutObjectCommand({ Bucket, Key: 'cold', Body: 'frozen', StorageClass: 'GLACIER' }));
    const head = await s3.send(new HeadObjectCommand({ Bucket, Key: 'cold' }));
    assert.equal(head.StorageClass, 'GLACIER');
    assert.equal(head.Restore, undefined);
    const refusals = [
      () => s3.send(new GetObjectCommand({ Bucket, Key: 'cold' })),
      () => s3.send(new CopyObjectCommand({ Bucket, Key: 'warm', CopySource: `${Bucket}/cold` })),
      () => s3.send(new SelectObjectContentCommand({ Bucket, Key: 'cold', Expression: 'SELECT * FROM S3Object', ExpressionType: 'SQL', InputSerialization: { CSV: {} }, OutputSerialization: { CSV: {} } })),
    ];
    for (const call of refusals) {
      const f = await failure(call());
      assert.deepEqual([f.name, f.status, f.fields.StorageClass], ['InvalidObjectState', 403, 'GLACIER']);
    }

    const started = await s3.send(new RestoreObjectCommand({ Bucket, Key: 'cold', RestoreRequest: { Days: 2, GlacierJobParameters: { Tier: 'Standard' } } }));
    assert.equal(started.$metadata.httpStatusCode, 202);
    assert.equal((await s3.send(new HeadObjectCommand({ Bucket, Key: 'cold' }))).Restore, 'ongoing-request="true"');
    const again = await failure(s3.send(new RestoreObjectCommand({ Bucket, Key: 'cold', RestoreRequest: { Days: 2 } })));
    assert.deepEqual([again.name, again.status], ['RestoreAlreadyInProgress', 409]);
    assert.equal((await failure(s3.send(new GetObjectCommand({ Bucket, Key: 'cold' })))).name, 'InvalidObjectState');

    await advance('3h');
    const restored = await s3.send(new HeadObjectCommand({ Bucket, Key: 'cold' }));
    assert.match(restored.Restore!, /^ongoing-request="false", expiry-date="\w{3}, \d{2} \w{3} \d{4} 00:00:00 GMT"$/);
    assert.equal(await read('cold'), 'frozen');
    await s3.send(new CopyObjectCommand({ Bucket, Key: 'warm', CopySource: `${Bucket}/cold`, StorageClass: 'STANDARD' }));
    assert.equal(await read('warm'), 'frozen');
    // Asked again once restored: 200, and the days count from now.
    const renewed = await s3.send(new RestoreObjectCommand({ Bucket, Key: 'cold', RestoreRequest: { Days: 1 } }));
    assert.equal(renewed.$metadata.httpStatusCode, 200);

    await advance('3d');
    const expired = await s3.send(new HeadObjectCommand({ Bucket, Key: 'cold' }));
    assert.equal(expired.Restore, undefined);
    assert.equal((await failure(s3.send(new GetObjectCommand({ Bucket, Key: 'cold' })))).name, 'InvalidObjectState');
  });

  test('refusals: a STANDARD object, no Days, Expedited for DEEP_ARCHIVE', async () => {
    await s3.send(new PutObjectCommand({ Bucket, Key: 'plain', Body: 'x' }));
    let f = await failure(s3.send(new RestoreObjectCommand({ Bucket, Key: 'plain', RestoreRequest: { Days: 1 } })));
    assert.deepEqual([f.name, f.status], ['InvalidObjectState', 403]);
    await s3.send(new PutObjectCommand({ Bucket, Key: 'deep', Body: 'x', StorageClass: 'DEEP_ARCHIVE' }));
    f = await failure(s3.send(new RestoreObjectCommand({ Bucket, Key: 'deep', RestoreRequest: { GlacierJobParameters: { Tier: 'Bulk' } } })));
    assert.equal(f.name, 'MalformedXML');
    f = await failure(s3.send(new RestoreObjectCommand({ Bucket, Key: 'deep', RestoreRequest: { Days: 1, GlacierJobParameters: { Tier: 'Expedited' } } })));
    assert.equal(f.name, 'InvalidArgument');
  });

  test('GLACIER_IR reads at once; a lifecycle transition to GLACIER archives an object', async () => {
    await s3.send(new PutObjectCommand({ Bucket, Key: 'ir', Body: 'instant', StorageClass: 'GLACIER_IR' }));
    assert.equal(await read('ir'), 'instant');
    const lc = await createBucket(s3, 'archive-lc');
    await s3.send(new PutBucketLifecycleConfigurationCommand({
      Bucket: lc,
      LifecycleConfiguration: { Rules: [{ ID: 'freeze', Status: 'Enabled', Filter: { Prefix: '' }, Transitions: [{ Days: 1, StorageClass: 'GLACIER' }] }] },
    }));
    await s3.send(new PutObjectCommand({ Bucket: lc, Key: 'aging', Body: 'x' }));
    await advance('2d');
    assert.equal((await s3.send(new HeadObjectCommand({ Bucket: lc, Key: 'aging' }))).StorageClass, 'GLACIER');
    assert.equal((await failure(s3.send(new GetObjectCommand({ Bucket: lc, Key: 'aging' })))).name, 'InvalidObjectState');
  });
});

describe('other clients', () => {
  test('aws CLI restore-object and boto3 head_object see the restore', { skip: missing('aws', 'boto3') }, async () => {
    await s3.send(new PutObjectCommand({ Bucket, Key: 'cli', Body: 'x', StorageClass: 'GLACIER' }));
    const r = await aws(kumo.url, ['s3api', 'restore-object', '--bucket', Bucket, '--key', 'cli', '--restore-request', 'Days=1,GlacierJobParameters={Tier=Expedited}']);
    assert.equal(r.code, 0, r.stderr);
    await advance('2m');
    const out = await boto3<{ restore: string; body: string }>(
      kumo.url,
      `
import json, os, boto3
s3 = boto3.client('s3', endpoint_url=os.environ['KUMO_URL'])
h = s3.head_object(Bucket=${JSON.stringify(Bucket)}, Key='cli')
body = s3.get_object(Bucket=${JSON.stringify(Bucket)}, Key='cli')['Body'].read().decode()
print(json.dumps({'restore': h.get('Restore', ''), 'body': body}))
`,
    );
    assert.match(out.restore, /^ongoing-request="false", expiry-date=/);
    assert.equal(out.body, 'x');
  });
});
