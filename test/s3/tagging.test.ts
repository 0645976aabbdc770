// Object tags and storage classes through @aws-sdk/client-s3 v3: tags from x-amz-tagging and the
// ?tagging sub-resource, per version, with AWS's limits; storage classes stored and answered.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  DeleteObjectTaggingCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutBucketVersioningCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { type TestKumo } from '../helpers/kumo.js';
import { createBucket, failure, useS3 } from './support.js';

let kumo: TestKumo;
let s3: S3Client;

useS3((f) => ({ kumo, s3 } = f));

const newBucket = () => createBucket(s3, 'tag');

const tagsOf = async (Bucket: string, Key: string, VersionId?: string) =>
  (await s3.send(new GetObjectTaggingCommand({ Bucket, Key, VersionId }))).TagSet!.map((t) => `${t.Key}=${t.Value}`);

describe('object tagging', () => {
  test('x-amz-tagging on PUT, TagCount on GET, Put/Get/DeleteObjectTagging', async () => {
    const Bucket = await newBucket();
    await s3.send(new PutObjectCommand({ Bucket, Key: 'k', Body: 'x', Tagging: 'team=core&note=a%20b%26c' }));
    assert.deepEqual(await tagsOf(Bucket, 'k'), ['note=a b&c', 'team=core']);
    assert.equal((await s3.send(new GetObjectCommand({ Bucket, Key: 'k' }))).TagCount, 2);
    await s3.send(new PutObjectTaggingCommand({ Bucket, Key: 'k', Tagging: { TagSet: [{ Key: 'only', Value: 'one' }] } }));
    assert.deepEqual(await tagsOf(Bucket, 'k'), ['only=one']);
    const del = await s3.send(new DeleteObjectTaggingCommand({ Bucket, Key: 'k' }));
    assert.equal(del.$metadata.httpStatusCode, 204);
    assert.deepEqual(await tagsOf(Bucket, 'k'), []);
    assert.equal((await s3.send(new GetObjectCommand({ Bucket, Key: 'k' }))).TagCount, undefined);
    const missing = await failure(s3.send(new GetObjectTaggingCommand({ Bucket, Key: 'nope' })));
    assert.deepEqual([missing.name, missing.status], ['NoSuchKey', 404]);
  });

  test('AWS limits: more than 10 tags, aws: keys and over-long values are InvalidTag and change nothing', async () => {
    const Bucket = await newBucket();
    await s3.send(new PutObjectCommand({ Bucket, Key: 'k', Body: 'x', Tagging: 'a=1' }));
    const eleven = Array.from({ length: 11 }, (_, i) => ({ Key: `k${i}`, Value: 'v' }));
    for (const TagSet of [eleven, [{ Key: 'aws:x', Value: 'v' }], [{ Key: 'k', Value: 'v'.repeat(257) }]]) {
      const f = await failure(s3.send(new PutObjectTaggingCommand({ Bucket, Key: 'k', Tagging: { TagSet } })));
      assert.deepEqual([f.name, f.status], ['InvalidTag', 400]);
    }
    const dup = await failure(s3.send(new PutObjectCommand({ Bucket, Key: 'k2', Body: 'x', Tagging: 'a=1&a=2' })));
    assert.deepEqual([dup.name, dup.status], ['InvalidArgument', 400]);
    assert.deepEqual(await tagsOf(Bucket, 'k'), ['a=1']);
    assert.equal((await failure(s3.send(new HeadObjectCommand({ Bucket, Key: 'k2' })))).status, 404);
  });

  test('tags follow copies (COPY) or are replaced (REPLACE), come with multipart uploads, and belong to a version', async () => {
    const Bucket = await newBucket();
    await s3.send(new PutObjectCommand({ Bucket, Key: 'src', Body: 'x', Tagging: 'from=src' }));
    await s3.send(new CopyObjectCommand({ Bucket, Key: 'same', CopySource: `${Bucket}/src` }));
    assert.deepEqual(await tagsOf(Bucket, 'same'), ['from=src']);
    await s3.send(new CopyObjectCommand({ Bucket, Key: 'new', CopySource: `${Bucket}/src`, TaggingDirective: 'REPLACE', Tagging: 'to=new' }));
    assert.deepEqual(await tagsOf(Bucket, 'new'), ['to=new']);
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key: 'mpu', Tagging: 'via=mpu' }));
    const p = await s3.send(new UploadPartCommand({ Bucket, Key: 'mpu', UploadId, PartNumber: 1, Body: 'x' }));
    await s3.send(new CompleteMultipartUploadCommand({ Bucket, Key: 'mpu', UploadId, MultipartUpload: { Parts: [{ ETag: p.ETag, PartNumber: 1 }] } }));
    assert.deepEqual(await tagsOf(Bucket, 'mpu'), ['via=mpu']);

    await s3.send(new PutBucketVersioningCommand({ Bucket, VersioningConfiguration: { Status: 'Enabled' } }));
    const v1 = await s3.send(new PutObjectCommand({ Bucket, Key: 'v', Body: '1', Tagging: 'n=1' }));
    await s3.send(new PutObjectCommand({ Bucket, Key: 'v', Body: '2', Tagging: 'n=2' }));
    await s3.send(new PutObjectTaggingCommand({ Bucket, Key: 'v', VersionId: v1.VersionId, Tagging: { TagSet: [{ Key: 'n', Value: 'old' }] } }));
    assert.deepEqual(await tagsOf(Bucket, 'v', v1.VersionId), ['n=old']);
    assert.deepEqual(await tagsOf(Bucket, 'v'), ['n=2']);
  });
});

describe('storage classes', () => {
  test('are stored and answered on HEAD and in listings; an unknown class is InvalidStorageClass', async () => {
    const Bucket = await newBucket();
    for (const StorageClass of ['STANDARD_IA', 'ONEZONE_IA', 'INTELLIGENT_TIERING', 'GLACIER_IR', 'REDUCED_REDUNDANCY'] as const) {
      await s3.send(new PutObjectCommand({ Bucket, Key: StorageClass, Body: 'x', StorageClass }));
      assert.equal((await s3.send(new HeadObjectCommand({ Bucket, Key: StorageClass }))).StorageClass, StorageClass);
    }
    const listed = await s3.send(new ListObjectsV2Command({ Bucket }));
    assert.deepEqual(listed.Contents!.map((o) => o.StorageClass), listed.Contents!.map((o) => o.Key));
    const bad = await failure(s3.send(new PutObjectCommand({ Bucket, Key: 'bad', Body: 'x', StorageClass: 'COLD' as 'STANDARD' })));
    assert.deepEqual([bad.name, bad.status], ['InvalidStorageClass', 400]);
    // Archived classes are taken too (archive.test.ts); OUTPOSTS is not.
    const outposts = await failure(s3.send(new PutObjectCommand({ Bucket, Key: 'outposts', Body: 'x', StorageClass: 'OUTPOSTS' })));
    assert.deepEqual([outposts.name, outposts.status], ['NotImplemented', 501]);
  });
});
