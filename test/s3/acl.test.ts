// ACLs and Object Ownership against a real kumo: ACLs are off by default (BucketOwnerEnforced),
// turning them on, canned ACLs, x-amz-grant-* headers and AccessControlPolicy documents on buckets
// and objects, who owns an object another account wrote, and IgnorePublicAcls.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CreateBucketCommand,
  DeletePublicAccessBlockCommand,
  GetBucketAclCommand,
  GetObjectAclCommand,
  GetObjectCommand,
  HeadBucketCommand,
  ListBucketsCommand,
  PutBucketAclCommand,
  PutBucketOwnershipControlsCommand,
  PutObjectAclCommand,
  PutObjectCommand,
  PutPublicAccessBlockCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { DEFAULT_CREDENTIAL } from '../../src/config.js';
import { REGION, startKumoForTest, uniqueName, type TestKumo } from '../helpers/kumo.js';
import { aws } from '../helpers/python.js';
import { failure, s3Client } from './support.js';

const OTHER = { accessKeyId: 'other', secretAccessKey: 'othersecret', account: '222222222222' };
const ALL_USERS = 'http://acs.amazonaws.com/groups/global/AllUsers';

let kumo: TestKumo;
let s3: S3Client;
let other: S3Client;
let ownerId: string;
let otherId: string;

before(async () => {
  kumo = await startKumoForTest({ credentials: [DEFAULT_CREDENTIAL, OTHER] });
  s3 = s3Client(kumo.url);
  other = s3Client(kumo.url, { credentials: { accessKeyId: OTHER.accessKeyId, secretAccessKey: OTHER.secretAccessKey } });
  ownerId = (await s3.send(new ListBucketsCommand({}))).Owner!.ID!;
  otherId = (await other.send(new ListBucketsCommand({}))).Owner!.ID!;
});
after(async () => {
  s3.destroy();
  other.destroy();
  await kumo.stop();
});

const located = { CreateBucketConfiguration: { LocationConstraint: REGION } } as const;

async function newBucket(): Promise<string> {
  const Bucket = uniqueName('acl');
  await s3.send(new CreateBucketCommand({ Bucket, ...located }));
  return Bucket;
}

/** A bucket with ACLs on and Block Public Access off, as a user would set one up for public ACLs. */
async function aclBucket(): Promise<string> {
  const Bucket = await newBucket();
  await s3.send(new PutBucketOwnershipControlsCommand({ Bucket, OwnershipControls: { Rules: [{ ObjectOwnership: 'ObjectWriter' }] } }));
  await s3.send(new DeletePublicAccessBlockCommand({ Bucket }));
  return Bucket;
}

const anonymous = (path: string) => fetch(`${kumo.url}/${path}`);

describe('ACLs are off by default', () => {
  test('GetBucketAcl shows the owner’s full control; setting an ACL is AccessControlListNotSupported', async () => {
    const Bucket = await newBucket();
    const acl = await s3.send(new GetBucketAclCommand({ Bucket }));
    assert.equal(acl.Owner?.ID, ownerId);
    assert.deepEqual(acl.Grants?.map((g) => [g.Grantee?.Type, g.Grantee?.ID, g.Permission]), [['CanonicalUser', ownerId, 'FULL_CONTROL']]);
    for (const ACL of ['public-read', 'private'] as const) {
      const f = await failure(s3.send(new PutBucketAclCommand({ Bucket, ACL })));
      assert.deepEqual([f.name, f.status], ['AccessControlListNotSupported', 400], ACL);
    }
    // The owner-only document (what GetBucketAcl shows) is the one ACL a bucket without ACLs takes.
    await s3.send(new PutBucketAclCommand({ Bucket, AccessControlPolicy: { Owner: acl.Owner, Grants: acl.Grants } }));
    const put = await failure(s3.send(new PutObjectCommand({ Bucket, Key: 'p.txt', Body: 'x', ACL: 'public-read' })));
    assert.deepEqual([put.name, put.status], ['AccessControlListNotSupported', 400]);
    assert.equal((await failure(s3.send(new GetObjectCommand({ Bucket, Key: 'p.txt' })))).name, 'NoSuchKey', 'the refused PUT stored nothing');
    await s3.send(new PutObjectCommand({ Bucket, Key: 'ok.txt', Body: 'x', ACL: 'bucket-owner-full-control' }));
    const objAcl = await s3.send(new GetObjectAclCommand({ Bucket, Key: 'ok.txt' }));
    assert.deepEqual(objAcl.Grants?.map((g) => g.Permission), ['FULL_CONTROL']);
  });

  test('CreateBucket with a public ACL fails and makes no bucket', async () => {
    const enforced = uniqueName('acl-new');
    const f = await failure(s3.send(new CreateBucketCommand({ Bucket: enforced, ...located, ACL: 'public-read' })));
    assert.deepEqual([f.name, f.status], ['InvalidBucketAclWithObjectOwnership', 400]);
    const writer = uniqueName('acl-new');
    const g = await failure(s3.send(new CreateBucketCommand({ Bucket: writer, ...located, ACL: 'public-read', ObjectOwnership: 'ObjectWriter' })));
    assert.deepEqual([g.name, g.status], ['InvalidBucketAclWithBlockPublicAccessError', 400]);
    for (const Bucket of [enforced, writer]) assert.equal((await failure(s3.send(new HeadBucketCommand({ Bucket })))).status, 404);
  });

  test('ACLs cannot be turned off while the bucket ACL grants someone else', async () => {
    const Bucket = await aclBucket();
    await s3.send(new PutBucketAclCommand({ Bucket, GrantRead: `id="${otherId}"` }));
    const f = await failure(s3.send(new PutBucketOwnershipControlsCommand({ Bucket, OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] } })));
    assert.deepEqual([f.name, f.status], ['InvalidBucketAclWithObjectOwnership', 400]);
  });
});

describe('with ACLs on', () => {
  test('a public-read bucket lists to anyone; a public-read object reads to anyone; private ones do not', async () => {
    const Bucket = await aclBucket();
    await s3.send(new PutObjectCommand({ Bucket, Key: 'open.txt', Body: 'open', ACL: 'public-read' }));
    await s3.send(new PutObjectCommand({ Bucket, Key: 'closed.txt', Body: 'closed' }));
    assert.equal((await anonymous(`${Bucket}?list-type=2`)).status, 403);
    await s3.send(new PutBucketAclCommand({ Bucket, ACL: 'public-read' }));
    const list = await anonymous(`${Bucket}?list-type=2`);
    assert.equal(list.status, 200);
    assert.match(await list.text(), /<Key>open.txt<\/Key>/);
    const open = await anonymous(`${Bucket}/open.txt`);
    assert.equal(open.status, 200);
    assert.equal(await open.text(), 'open');
    assert.equal((await anonymous(`${Bucket}/closed.txt`)).status, 403);
    const acl = await s3.send(new GetObjectAclCommand({ Bucket, Key: 'open.txt' }));
    assert.ok(acl.Grants?.some((g) => g.Grantee?.Type === 'Group' && g.Grantee.URI === ALL_USERS && g.Permission === 'READ'));

    // IgnorePublicAcls makes the same ACLs count for nothing, without changing them.
    await s3.send(new PutPublicAccessBlockCommand({ Bucket, PublicAccessBlockConfiguration: { IgnorePublicAcls: true } }));
    assert.equal((await anonymous(`${Bucket}/open.txt`)).status, 403);
    assert.equal((await anonymous(`${Bucket}?list-type=2`)).status, 403);
  });

  test('BlockPublicAcls refuses public ACLs with AccessDenied', async () => {
    const Bucket = await aclBucket();
    await s3.send(new PutPublicAccessBlockCommand({ Bucket, PublicAccessBlockConfiguration: { BlockPublicAcls: true } }));
    for (const call of [
      () => s3.send(new PutBucketAclCommand({ Bucket, ACL: 'public-read-write' })),
      () => s3.send(new PutObjectCommand({ Bucket, Key: 'x', Body: 'x', ACL: 'authenticated-read' })),
    ]) {
      const f = await failure(call());
      assert.deepEqual([f.name, f.status], ['AccessDenied', 403]);
    }
  });

  test('grant headers give another account read of one object', async () => {
    const Bucket = await aclBucket();
    await s3.send(new PutObjectCommand({ Bucket, Key: 'for-other.txt', Body: 'hello other' }));
    assert.equal((await failure(other.send(new GetObjectCommand({ Bucket, Key: 'for-other.txt' })))).name, 'AccessDenied');
    await s3.send(new PutObjectAclCommand({ Bucket, Key: 'for-other.txt', GrantRead: `id="${otherId}"`, GrantFullControl: `id="${ownerId}"` }));
    const got = await other.send(new GetObjectCommand({ Bucket, Key: 'for-other.txt' }));
    assert.equal(await got.Body!.transformToString(), 'hello other');
    const acl = await s3.send(new GetObjectAclCommand({ Bucket, Key: 'for-other.txt' }));
    assert.deepEqual(acl.Grants?.map((g) => [g.Grantee?.ID, g.Permission]).sort(), [[otherId, 'READ'], [ownerId, 'FULL_CONTROL']].sort());
  });

  test('an AccessControlPolicy document lets another account write; what it writes is its own', async () => {
    const Bucket = await aclBucket();
    await s3.send(
      new PutBucketAclCommand({
        Bucket,
        AccessControlPolicy: {
          Owner: { ID: ownerId },
          Grants: [
            { Grantee: { Type: 'CanonicalUser', ID: ownerId }, Permission: 'FULL_CONTROL' },
            { Grantee: { Type: 'CanonicalUser', ID: otherId }, Permission: 'WRITE' },
          ],
        },
      }),
    );
    await other.send(new PutObjectCommand({ Bucket, Key: 'theirs.txt', Body: 'theirs' }));
    // ObjectWriter: the writer owns it, and the bucket owner may not read it unless granted.
    const acl = await other.send(new GetObjectAclCommand({ Bucket, Key: 'theirs.txt' }));
    assert.equal(acl.Owner?.ID, otherId);
    assert.equal((await failure(s3.send(new GetObjectCommand({ Bucket, Key: 'theirs.txt' })))).name, 'AccessDenied');
    await other.send(new PutObjectCommand({ Bucket, Key: 'shared.txt', Body: 'shared', ACL: 'bucket-owner-full-control' }));
    assert.equal(await (await s3.send(new GetObjectCommand({ Bucket, Key: 'shared.txt' }))).Body!.transformToString(), 'shared');
  });

  test('bad ACL input is refused and changes nothing', async () => {
    const Bucket = await aclBucket();
    const cases: [() => Promise<unknown>, string][] = [
      [() => s3.send(new PutBucketAclCommand({ Bucket, ACL: 'everyone-welcome' as 'private' })), 'InvalidArgument'],
      [() => s3.send(new PutBucketAclCommand({ Bucket, ACL: 'public-read', GrantRead: `id="${otherId}"` })), 'InvalidRequest'],
      [() => s3.send(new PutBucketAclCommand({ Bucket, GrantRead: 'uri="http://example.com/not-a-group"' })), 'InvalidArgument'],
      [
        () =>
          s3.send(
            new PutBucketAclCommand({
              Bucket,
              AccessControlPolicy: { Owner: { ID: ownerId }, Grants: [{ Grantee: { Type: 'CanonicalUser', ID: otherId }, Permission: 'EVERYTHING' as 'READ' }] },
            }),
          ),
        'MalformedACLError',
      ],
    ];
    for (const [call, code] of cases) {
      const f = await failure(call());
      assert.deepEqual([f.name, f.status], [code, 400]);
    }
    const acl = await s3.send(new GetBucketAclCommand({ Bucket }));
    assert.equal(acl.Grants?.length, 1);
  });

  test('the aws CLI reads and sets ACLs', async () => {
    const Bucket = await aclBucket();
    const r = await aws(kumo.url, ['s3api', 'put-bucket-acl', '--bucket', Bucket, '--acl', 'public-read']);
    assert.equal(r.code, 0, r.stderr);
    const got = await aws(kumo.url, ['s3api', 'get-bucket-acl', '--bucket', Bucket, '--output', 'json']);
    const grants = (JSON.parse(got.stdout) as { Grants: { Grantee: { URI?: string }; Permission: string }[] }).Grants;
    assert.ok(grants.some((g) => g.Grantee.URI === ALL_USERS && g.Permission === 'READ'));
  });
});
