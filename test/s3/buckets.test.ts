// S3 buckets through @aws-sdk/client-s3 v3 (path style, ap-northeast-1) against a real kumo:
// creation rules, region answers, ownership across accounts, anonymous access and deletion.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  GetBucketLocationCommand,
  GetObjectCommand,
  HeadBucketCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  paginateListBuckets,
  PutObjectCommand,
  type BucketLocationConstraint,
  type S3Client,
} from '@aws-sdk/client-s3';
import { DEFAULT_CREDENTIAL } from '../../src/config.js';
import { REGION, startKumoForTest, uniqueName, type TestKumo } from '../helpers/kumo.js';
import { failure, rawRequest, s3Client, signHeaders, xmlField } from './support.js';

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

const located = { CreateBucketConfiguration: { LocationConstraint: REGION } } as const;

async function newBucket(prefix = 'bkt'): Promise<string> {
  const Bucket = uniqueName(prefix);
  await s3.send(new CreateBucketCommand({ Bucket, ...located }));
  return Bucket;
}

describe('creating buckets', () => {
  test('a bucket in ap-northeast-1 reports its region everywhere', async () => {
    const Bucket = uniqueName('loc');
    const created = await s3.send(new CreateBucketCommand({ Bucket, ...located }));
    assert.equal(created.$metadata.httpStatusCode, 200);
    assert.equal(created.Location, `/${Bucket}`);

    const where = await s3.send(new GetBucketLocationCommand({ Bucket }));
    assert.equal(where.LocationConstraint, REGION);

    const head = await s3.send(new HeadBucketCommand({ Bucket }));
    assert.equal(head.$metadata.httpStatusCode, 200);
    assert.equal(head.BucketRegion, REGION);

    const list = await s3.send(new ListBucketsCommand({}));
    const mine = list.Buckets!.find((b) => b.Name === Bucket);
    assert.ok(mine, 'the new bucket is listed');
    assert.ok(mine.CreationDate instanceof Date && Math.abs(mine.CreationDate.getTime() - Date.now()) < 60_000);
    assert.equal(mine.BucketRegion, REGION);
    assert.match(list.Owner!.ID!, /^[0-9a-f]{64}$/);
  });

  test('names outside the naming rules are InvalidBucketName', async () => {
    for (const Bucket of ['UpperCase-bucket', 'ab', '192.168.5.4', 'my..bucket', 'a'.repeat(64), '-leading-dash', 'under_score']) {
      const f = await failure(s3.send(new CreateBucketCommand({ Bucket, ...located })));
      assert.equal(f.name, 'InvalidBucketName', Bucket);
      assert.equal(f.status, 400, Bucket);
      assert.equal(f.fields.BucketName, Bucket);
    }
  });

  test('a regional endpoint needs a LocationConstraint naming its region', async () => {
    // The SDK fills in its own region when the configuration is absent, so send the bare request.
    const Bucket = uniqueName('noloc');
    const missing = await rawRequest(kumo.url, { method: 'PUT', path: `/${Bucket}` });
    assert.equal(missing.status, 400);
    assert.equal(xmlField(missing.body.toString(), 'Code'), 'IllegalLocationConstraintException');
    assert.equal((await failure(s3.send(new HeadBucketCommand({ Bucket })))).status, 404);

    const fromUsEast1 = await rawRequest(kumo.url, { method: 'PUT', path: `/${uniqueName('useast')}`, region: 'us-east-1' });
    assert.equal(fromUsEast1.status, 200, 'us-east-1 needs no LocationConstraint');

    const elsewhere = await failure(
      s3.send(new CreateBucketCommand({ Bucket: uniqueName('elsewhere'), CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } })),
    );
    assert.equal(elsewhere.name, 'IllegalLocationConstraintException');

    const bogus = await failure(
      s3.send(new CreateBucketCommand({ Bucket: uniqueName('bogus'), CreateBucketConfiguration: { LocationConstraint: 'mars-north-1' as never } })),
    );
    assert.equal(bogus.name, 'InvalidLocationConstraint');
  });

  test('creating your own bucket again is BucketAlreadyOwnedByYou', async () => {
    const Bucket = await newBucket();
    const f = await failure(s3.send(new CreateBucketCommand({ Bucket, ...located })));
    assert.equal(f.name, 'BucketAlreadyOwnedByYou');
    assert.equal(f.status, 409);
    assert.equal(f.fields.BucketName, Bucket);
  });

  test("another account cannot take a name that is in use: BucketAlreadyExists", async () => {
    const Bucket = await newBucket();
    const f = await failure(other.send(new CreateBucketCommand({ Bucket, ...located })));
    assert.equal(f.name, 'BucketAlreadyExists');
    assert.equal(f.status, 409);
    const theirs = await other.send(new ListBucketsCommand({}));
    assert.ok(!theirs.Buckets?.some((b) => b.Name === Bucket), "the other account does not see the bucket");
    assert.notEqual(theirs.Owner?.ID, (await s3.send(new ListBucketsCommand({}))).Owner?.ID);
  });
});

describe('listing buckets', () => {
  test('ListBuckets pages with MaxBuckets and filters by prefix and region', async () => {
    const prefix = uniqueName('page');
    const names = [`${prefix}-a`, `${prefix}-b`, `${prefix}-c`];
    for (const Bucket of names) await s3.send(new CreateBucketCommand({ Bucket, ...located }));
    const seen: string[] = [];
    for await (const page of paginateListBuckets({ client: s3, pageSize: 2 }, { Prefix: prefix })) {
      assert.ok(page.Buckets!.length <= 2);
      assert.equal(page.Prefix, prefix);
      seen.push(...page.Buckets!.map((b) => b.Name!));
    }
    assert.deepEqual(seen, names);
    const elsewhere = await s3.send(new ListBucketsCommand({ Prefix: prefix, BucketRegion: 'eu-west-1' }));
    assert.deepEqual(elsewhere.Buckets ?? [], []);
    const bad = await failure(s3.send(new ListBucketsCommand({ ContinuationToken: 'garbage' })));
    assert.equal(bad.name, 'InvalidArgument');
  });

  test('a us-east-1 bucket has an empty LocationConstraint', async () => {
    const east = s3Client(kumo.url, { region: 'us-east-1' });
    try {
      const Bucket = uniqueName('east');
      await east.send(new CreateBucketCommand({ Bucket }));
      const where = await east.send(new GetBucketLocationCommand({ Bucket }));
      assert.ok(!where.LocationConstraint, `got ${where.LocationConstraint}`);
      assert.equal((await east.send(new HeadBucketCommand({ Bucket }))).BucketRegion, 'us-east-1');
      // us-east-1 keeps its legacy answer: creating your own bucket again succeeds.
      await east.send(new CreateBucketCommand({ Bucket }));
    } finally {
      east.destroy();
    }
  });
});

describe('who may use a bucket', () => {
  test('a wrong secret is SignatureDoesNotMatch; an unknown key is InvalidAccessKeyId', async () => {
    const wrong = s3Client(kumo.url, { credentials: { accessKeyId: 'test', secretAccessKey: 'not-the-secret' } });
    const unknown = s3Client(kumo.url, { credentials: { accessKeyId: 'AKIDNOBODY', secretAccessKey: 'x' } });
    try {
      const sig = await failure(wrong.send(new ListBucketsCommand({})));
      assert.deepEqual([sig.name, sig.status], ['SignatureDoesNotMatch', 403]);
      const key = await failure(unknown.send(new ListBucketsCommand({})));
      assert.deepEqual([key.name, key.status], ['InvalidAccessKeyId', 403]);
    } finally {
      wrong.destroy();
      unknown.destroy();
    }
  });

  test('a request signed 20 minutes ago is RequestTimeTooSkewed', async () => {
    const headers = await signHeaders(kumo.url, { method: 'GET', path: '/' }, new Date(Date.now() - 20 * 60_000));
    const res = await rawRequest(kumo.url, { method: 'GET', path: '/', credentials: null, headers });
    assert.equal(res.status, 403);
    assert.equal(xmlField(res.body.toString(), 'Code'), 'RequestTimeTooSkewed');
  });

  test("another account's requests are AccessDenied", async () => {
    const Bucket = await newBucket();
    await s3.send(new PutObjectCommand({ Bucket, Key: 'secret.txt', Body: 'mine' }));
    for (const call of [
      () => other.send(new GetObjectCommand({ Bucket, Key: 'secret.txt' })),
      () => other.send(new GetObjectCommand({ Bucket, Key: 'absent.txt' })),
      () => other.send(new ListObjectsV2Command({ Bucket })),
      () => other.send(new PutObjectCommand({ Bucket, Key: 'intruder.txt', Body: 'x' })),
      () => other.send(new DeleteObjectCommand({ Bucket, Key: 'secret.txt' })),
      () => other.send(new DeleteBucketCommand({ Bucket })),
      () => other.send(new GetBucketLocationCommand({ Bucket })),
    ]) {
      const f = await failure(call());
      assert.equal(f.name, 'AccessDenied');
      assert.equal(f.status, 403);
    }
    const head = await failure(other.send(new HeadBucketCommand({ Bucket })));
    assert.equal(head.status, 403);
    const still = await s3.send(new GetObjectCommand({ Bucket, Key: 'secret.txt' }));
    assert.equal(await still.Body!.transformToString(), 'mine');
  });

  test('an unsigned request is anonymous and gets AccessDenied', async () => {
    const Bucket = await newBucket();
    await s3.send(new PutObjectCommand({ Bucket, Key: 'private.txt', Body: 'not for you' }));
    for (const path of [`/${Bucket}/private.txt`, `/${Bucket}/absent.txt`, `/${Bucket}?list-type=2`]) {
      const res = await fetch(`${kumo.url}${path}`);
      const body = await res.text();
      assert.equal(res.status, 403, path);
      assert.equal(xmlField(body, 'Code'), 'AccessDenied', path);
      assert.ok(res.headers.get('x-amz-request-id'));
    }
    const put = await fetch(`${kumo.url}/${Bucket}/dropped.txt`, { method: 'PUT', body: 'x' });
    assert.equal(put.status, 403);
    assert.equal(xmlField(await put.text(), 'Code'), 'AccessDenied');
    const listAll = await fetch(`${kumo.url}/`);
    assert.equal(listAll.status, 403);
    assert.equal(xmlField(await listAll.text(), 'Code'), 'AccessDenied');
  });

  test('an anonymous request for a bucket that does not exist is NoSuchBucket, as on AWS', async () => {
    const Bucket = uniqueName('nowhere');
    const res = await fetch(`${kumo.url}/${Bucket}/k`);
    const body = await res.text();
    assert.equal(res.status, 404);
    assert.equal(xmlField(body, 'Code'), 'NoSuchBucket');
    assert.equal(xmlField(body, 'BucketName'), Bucket);
  });
});

describe('deleting buckets', () => {
  test('a bucket with objects is BucketNotEmpty; an empty one goes, then NoSuchBucket', async () => {
    const Bucket = await newBucket();
    await s3.send(new PutObjectCommand({ Bucket, Key: 'a', Body: 'a' }));
    const full = await failure(s3.send(new DeleteBucketCommand({ Bucket })));
    assert.equal(full.name, 'BucketNotEmpty');
    assert.equal(full.status, 409);
    assert.equal(full.fields.BucketName, Bucket);

    await s3.send(new DeleteObjectCommand({ Bucket, Key: 'a' }));
    const deleted = await s3.send(new DeleteBucketCommand({ Bucket }));
    assert.equal(deleted.$metadata.httpStatusCode, 204);

    const head = await failure(s3.send(new HeadBucketCommand({ Bucket })));
    assert.equal(head.name, 'NotFound');
    assert.equal(head.status, 404);
    for (const call of [
      () => s3.send(new DeleteBucketCommand({ Bucket })),
      () => s3.send(new ListObjectsV2Command({ Bucket })),
      () => s3.send(new GetBucketLocationCommand({ Bucket })),
    ]) {
      const f = await failure(call());
      assert.equal(f.name, 'NoSuchBucket');
      assert.equal(f.status, 404);
      assert.equal(f.fields.BucketName, Bucket);
    }
    assert.ok(!(await s3.send(new ListBucketsCommand({}))).Buckets?.some((b) => b.Name === Bucket));

    // The name is free again, for anyone.
    await other.send(new CreateBucketCommand({ Bucket, ...located }));
    assert.equal((await other.send(new HeadBucketCommand({ Bucket }))).BucketRegion, REGION);
  });
});

describe('operations kumo does not serve yet', () => {
  test('bucket features kumo lacks are NotImplemented, and no bucket is made', async () => {
    // Object Lock is served now (object-lock.test.ts); directory buckets are not.
    const directory = { CreateBucketConfiguration: { LocationConstraint: REGION as BucketLocationConstraint, Bucket: { Type: 'Directory' as const, DataRedundancy: 'SingleAvailabilityZone' as const } } };
    for (const extra of [directory]) {
      const Bucket = uniqueName('feature');
      const f = await failure(s3.send(new CreateBucketCommand({ Bucket, ...located, ...extra })));
      assert.deepEqual([f.name, f.status], ['NotImplemented', 501], JSON.stringify(extra));
      assert.equal((await failure(s3.send(new HeadBucketCommand({ Bucket })))).status, 404);
    }
    const Bucket = uniqueName('owner-enforced');
    await s3.send(new CreateBucketCommand({ Bucket, ...located, ObjectOwnership: 'BucketOwnerEnforced', ACL: 'private' }));
  });

  test('the NotImplemented body is an S3 error document', async () => {
    const Bucket = await newBucket();
    // GetBucketReplication, signed with the SDK so only the missing handler can refuse it.
    const { GetBucketReplicationCommand } = await import('@aws-sdk/client-s3');
    const f = await failure(s3.send(new GetBucketReplicationCommand({ Bucket })));
    assert.equal(f.name, 'NotImplemented');
    assert.equal(f.status, 501);
    assert.match(String(f.fields.message), /GetBucketReplication/);
  });
});
