// Bucket versioning through @aws-sdk/client-s3 v3: version IDs on every write, reads and deletes
// by version, delete markers (404 with x-amz-delete-marker, 405 by their version ID), the "null"
// version of suspended buckets, and ListObjectVersions paging.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  ListObjectsV2Command,
  PutBucketVersioningCommand,
  PutObjectCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
  ListPartsCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { REGION, uniqueName, type TestKumo } from '../helpers/kumo.js';
import { failure, rawRequest, useS3 } from './support.js';

let kumo: TestKumo;
let s3: S3Client;

useS3((f) => ({ kumo, s3 } = f));

async function versionedBucket(Status: 'Enabled' | 'Suspended' = 'Enabled'): Promise<string> {
  const Bucket = uniqueName('ver');
  await s3.send(new CreateBucketCommand({ Bucket, CreateBucketConfiguration: { LocationConstraint: REGION } }));
  assert.equal((await s3.send(new GetBucketVersioningCommand({ Bucket }))).Status, undefined);
  await s3.send(new PutBucketVersioningCommand({ Bucket, VersioningConfiguration: { Status } }));
  assert.equal((await s3.send(new GetBucketVersioningCommand({ Bucket }))).Status, Status);
  return Bucket;
}

const read = async (Bucket: string, Key: string, VersionId?: string) =>
  (await s3.send(new GetObjectCommand({ Bucket, Key, VersionId }))).Body!.transformToString();

describe('versioning enabled', () => {
  test('every PUT is a new version; GET by version ID; a DELETE adds a marker that hides the key', async () => {
    const Bucket = await versionedBucket();
    const v1 = await s3.send(new PutObjectCommand({ Bucket, Key: 'k', Body: 'one' }));
    const v2 = await s3.send(new PutObjectCommand({ Bucket, Key: 'k', Body: 'two' }));
    assert.ok(v1.VersionId && v2.VersionId && v1.VersionId !== v2.VersionId);
    assert.equal(await read(Bucket, 'k'), 'two');
    assert.equal(await read(Bucket, 'k', v1.VersionId), 'one');
    assert.equal((await s3.send(new HeadObjectCommand({ Bucket, Key: 'k' }))).VersionId, v2.VersionId);

    const del = await s3.send(new DeleteObjectCommand({ Bucket, Key: 'k' }));
    assert.equal(del.DeleteMarker, true);
    assert.ok(del.VersionId);
    const gone = await rawRequest(kumo.url, { method: 'GET', path: `/${Bucket}/k` });
    assert.equal(gone.status, 404);
    assert.equal(gone.headers['x-amz-delete-marker'], 'true');
    assert.equal(gone.headers['x-amz-version-id'], del.VersionId);
    const byMarker = await failure(s3.send(new GetObjectCommand({ Bucket, Key: 'k', VersionId: del.VersionId })));
    assert.deepEqual([byMarker.name, byMarker.status], ['MethodNotAllowed', 405]);
    assert.deepEqual((await s3.send(new ListObjectsV2Command({ Bucket }))).Contents, undefined);
    assert.equal(await read(Bucket, 'k', v2.VersionId), 'two');

    const listed = await s3.send(new ListObjectVersionsCommand({ Bucket }));
    assert.deepEqual(listed.DeleteMarkers!.map((m) => [m.Key, m.VersionId, m.IsLatest]), [['k', del.VersionId, true]]);
    assert.deepEqual(listed.Versions!.map((v) => [v.VersionId, v.IsLatest]), [[v2.VersionId, false], [v1.VersionId, false]]);

    // Deleting the marker by its version ID brings the previous version back.
    const unmark = await s3.send(new DeleteObjectCommand({ Bucket, Key: 'k', VersionId: del.VersionId }));
    assert.deepEqual([unmark.DeleteMarker, unmark.VersionId], [true, del.VersionId]);
    assert.equal(await read(Bucket, 'k'), 'two');
    // Deleting the current version by ID makes the one before it current.
    await s3.send(new DeleteObjectCommand({ Bucket, Key: 'k', VersionId: v2.VersionId }));
    assert.equal(await read(Bucket, 'k'), 'one');
    const missing = await failure(s3.send(new GetObjectCommand({ Bucket, Key: 'k', VersionId: v2.VersionId })));
    assert.deepEqual([missing.name, missing.status], ['NoSuchVersion', 404]);
    const notEmpty = await failure(s3.send(new DeleteBucketCommand({ Bucket })));
    assert.equal(notEmpty.name, 'BucketNotEmpty');
  });

  test('CopyObject and CompleteMultipartUpload make versions; a copy can name its source version', async () => {
    const Bucket = await versionedBucket();
    const v1 = await s3.send(new PutObjectCommand({ Bucket, Key: 'src', Body: 'old' }));
    await s3.send(new PutObjectCommand({ Bucket, Key: 'src', Body: 'new' }));
    const copy = await s3.send(new CopyObjectCommand({ Bucket, Key: 'dst', CopySource: `${Bucket}/src?versionId=${v1.VersionId}` }));
    assert.equal(copy.CopySourceVersionId, v1.VersionId);
    assert.ok(copy.VersionId);
    assert.equal(await read(Bucket, 'dst'), 'old');
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key: 'dst' }));
    const copied = await s3.send(new UploadPartCopyCommand({ Bucket, Key: 'dst', UploadId, PartNumber: 1, CopySource: `${Bucket}/src?versionId=${v1.VersionId}` }));
    assert.equal(copied.CopySourceVersionId, v1.VersionId);
    const copiedParts = await s3.send(new ListPartsCommand({ Bucket, Key: 'dst', UploadId }));
    assert.deepEqual(copiedParts.Parts!.map((p) => p.ETag), [v1.ETag], 'the part holds the old version\'s bytes');
    const part = await s3.send(new UploadPartCommand({ Bucket, Key: 'dst', UploadId, PartNumber: 1, Body: 'mpu' }));
    const done = await s3.send(new CompleteMultipartUploadCommand({ Bucket, Key: 'dst', UploadId, MultipartUpload: { Parts: [{ ETag: part.ETag, PartNumber: 1 }] } }));
    assert.ok(done.VersionId && done.VersionId !== copy.VersionId);
    assert.equal(await read(Bucket, 'dst', copy.VersionId), 'old');
    const versions = await s3.send(new ListObjectVersionsCommand({ Bucket, Prefix: 'dst' }));
    assert.deepEqual(versions.Versions!.map((v) => v.VersionId), [done.VersionId, copy.VersionId]);
  });

  test('DeleteObjects adds markers or removes named versions', async () => {
    const Bucket = await versionedBucket();
    const a = await s3.send(new PutObjectCommand({ Bucket, Key: 'a', Body: 'a' }));
    await s3.send(new PutObjectCommand({ Bucket, Key: 'b', Body: 'b' }));
    const r = await s3.send(new DeleteObjectsCommand({ Bucket, Delete: { Objects: [{ Key: 'a', VersionId: a.VersionId }, { Key: 'b' }] } }));
    const byKey = Object.fromEntries(r.Deleted!.map((d) => [d.Key, d]));
    assert.equal(byKey.a.VersionId, a.VersionId);
    assert.equal(byKey.a.DeleteMarker, undefined);
    assert.equal(byKey.b.DeleteMarker, true);
    assert.ok(byKey.b.DeleteMarkerVersionId);
    const listed = await s3.send(new ListObjectVersionsCommand({ Bucket }));
    assert.deepEqual(listed.Versions!.map((v) => v.Key), ['b']);
    assert.deepEqual(listed.DeleteMarkers!.map((m) => m.Key), ['b']);
  });

  test('ListObjectVersions pages with KeyMarker and VersionIdMarker', async () => {
    const Bucket = await versionedBucket();
    const ids: string[] = [];
    for (const Key of ['a', 'a', 'a', 'b']) ids.push((await s3.send(new PutObjectCommand({ Bucket, Key, Body: Key }))).VersionId!);
    const seen: string[] = [];
    let KeyMarker: string | undefined;
    let VersionIdMarker: string | undefined;
    for (;;) {
      const page = await s3.send(new ListObjectVersionsCommand({ Bucket, MaxKeys: 2, KeyMarker, VersionIdMarker }));
      seen.push(...page.Versions!.map((v) => `${v.Key}:${v.VersionId}:${v.IsLatest}`));
      if (!page.IsTruncated) break;
      KeyMarker = page.NextKeyMarker;
      VersionIdMarker = page.NextVersionIdMarker;
    }
    assert.deepEqual(seen, [`a:${ids[2]}:true`, `a:${ids[1]}:false`, `a:${ids[0]}:false`, `b:${ids[3]}:true`]);
  });
});

describe('versioning suspended', () => {
  test('writes take the "null" version and replace the previous "null" one; older versions stay', async () => {
    const Bucket = await versionedBucket('Enabled');
    const kept = await s3.send(new PutObjectCommand({ Bucket, Key: 'k', Body: 'versioned' }));
    await s3.send(new PutBucketVersioningCommand({ Bucket, VersioningConfiguration: { Status: 'Suspended' } }));
    const n1 = await s3.send(new PutObjectCommand({ Bucket, Key: 'k', Body: 'null-1' }));
    assert.equal(n1.VersionId, 'null');
    await s3.send(new PutObjectCommand({ Bucket, Key: 'k', Body: 'null-2' }));
    assert.equal(await read(Bucket, 'k', 'null'), 'null-2');
    const listed = await s3.send(new ListObjectVersionsCommand({ Bucket }));
    assert.deepEqual(listed.Versions!.map((v) => v.VersionId), ['null', kept.VersionId]);
    const del = await s3.send(new DeleteObjectCommand({ Bucket, Key: 'k' }));
    assert.deepEqual([del.DeleteMarker, del.VersionId], [true, 'null']);
    const after = await s3.send(new ListObjectVersionsCommand({ Bucket }));
    assert.deepEqual(after.Versions!.map((v) => v.VersionId), [kept.VersionId]);
    assert.deepEqual(after.DeleteMarkers!.map((m) => m.VersionId), ['null']);
  });

  test('an invalid status is MalformedXML and changes nothing', async () => {
    const Bucket = await versionedBucket('Enabled');
    const f = await failure(s3.send(new PutBucketVersioningCommand({ Bucket, VersioningConfiguration: { Status: 'Off' as 'Enabled' } })));
    assert.deepEqual([f.name, f.status], ['MalformedXML', 400]);
    assert.equal((await s3.send(new GetBucketVersioningCommand({ Bucket }))).Status, 'Enabled');
  });
});
