// Access and bucket configuration are durable: kumo as a child process keeps policies, Block
// Public Access, ownership, CORS, tags and object ACLs across kill -9, and a data dir made before
// access control existed gets AWS's defaults for its buckets when the migration runs.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import {
  CreateBucketCommand,
  DeletePublicAccessBlockCommand,
  GetBucketCorsCommand,
  GetBucketOwnershipControlsCommand,
  GetBucketPolicyCommand,
  GetBucketTaggingCommand,
  GetObjectAclCommand,
  GetPublicAccessBlockCommand,
  PutBucketCorsCommand,
  PutBucketOwnershipControlsCommand,
  PutBucketPolicyCommand,
  PutBucketTaggingCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { clientConfig, REGION, uniqueName } from '../helpers/kumo.js';
import { useKumoProcesses } from '../helpers/kumo-process.js';

const kumos = useKumoProcesses();

async function start(dataDir: string) {
  const k = await kumos.start(dataDir, ['--quiet']);
  return { k, s3: new S3Client(clientConfig(k.url, { forcePathStyle: true })) };
}

test('policies, Block Public Access, ownership, CORS, tags and object ACLs survive kill -9', async () => {
  const dir = kumos.dataDir();
  const Bucket = uniqueName('durable-acc');
  const Policy = JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${Bucket}/public/*` }],
  });
  const first = await start(dir);
  await first.s3.send(new CreateBucketCommand({ Bucket, CreateBucketConfiguration: { LocationConstraint: REGION } }));
  await first.s3.send(new DeletePublicAccessBlockCommand({ Bucket }));
  await first.s3.send(new PutBucketPolicyCommand({ Bucket, Policy }));
  await first.s3.send(new PutBucketOwnershipControlsCommand({ Bucket, OwnershipControls: { Rules: [{ ObjectOwnership: 'ObjectWriter' }] } }));
  await first.s3.send(new PutBucketCorsCommand({ Bucket, CORSConfiguration: { CORSRules: [{ AllowedOrigins: ['*'], AllowedMethods: ['GET'] }] } }));
  await first.s3.send(new PutBucketTaggingCommand({ Bucket, Tagging: { TagSet: [{ Key: 'k', Value: 'v' }] } }));
  await first.s3.send(new PutObjectCommand({ Bucket, Key: 'public/a.txt', Body: 'a', ACL: 'public-read' }));
  first.s3.destroy();
  await first.k.kill();

  const second = await start(dir);
  try {
    assert.equal((await second.s3.send(new GetBucketPolicyCommand({ Bucket }))).Policy, Policy);
    assert.equal((await second.s3.send(new GetBucketOwnershipControlsCommand({ Bucket }))).OwnershipControls?.Rules?.[0].ObjectOwnership, 'ObjectWriter');
    assert.deepEqual((await second.s3.send(new GetBucketCorsCommand({ Bucket }))).CORSRules, [{ AllowedOrigins: ['*'], AllowedMethods: ['GET'] }]);
    assert.deepEqual((await second.s3.send(new GetBucketTaggingCommand({ Bucket }))).TagSet, [{ Key: 'k', Value: 'v' }]);
    const acl = await second.s3.send(new GetObjectAclCommand({ Bucket, Key: 'public/a.txt' }));
    assert.ok(acl.Grants?.some((g) => g.Grantee?.URI?.endsWith('/AllUsers') && g.Permission === 'READ'));
    const pab = await second.s3.send(new GetPublicAccessBlockCommand({ Bucket })).catch((e: Error) => e.name);
    assert.equal(pab, 'NoSuchPublicAccessBlockConfiguration', 'a deleted Block Public Access stays deleted');
    const anon = await fetch(`${second.k.url}/${Bucket}/public/a.txt`);
    assert.equal(anon.status, 200);
    assert.equal(await anon.text(), 'a');
  } finally {
    second.s3.destroy();
  }
});

test('buckets from before access control get Block Public Access and BucketOwnerEnforced when the migration runs', async () => {
  const dir = kumos.dataDir();
  const Bucket = uniqueName('legacy');
  const first = await start(dir);
  await first.s3.send(new CreateBucketCommand({ Bucket, CreateBucketConfiguration: { LocationConstraint: REGION } }));
  first.s3.destroy();
  await first.k.kill();
  // Make the data dir look as an older kumo left it: no s3-access tables, migration not applied.
  const db = new Database(join(dir, 'state.db'));
  db.exec(`DROP TABLE s3_bucket_config; DROP TABLE s3_object_acl; DELETE FROM schema_migrations WHERE component = 's3-access';`);
  db.close();

  const second = await start(dir);
  try {
    const pab = await second.s3.send(new GetPublicAccessBlockCommand({ Bucket }));
    assert.deepEqual(pab.PublicAccessBlockConfiguration, { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true });
    const own = await second.s3.send(new GetBucketOwnershipControlsCommand({ Bucket }));
    assert.equal(own.OwnershipControls?.Rules?.[0].ObjectOwnership, 'BucketOwnerEnforced');
  } finally {
    second.s3.destroy();
  }
});
