// Multipart uploads through @aws-sdk/client-s3 v3 and @aws-sdk/lib-storage against a real kumo:
// parts in, one object out (AWS's "-N" ETag, ranges and partNumber across part boundaries), and
// AWS's errors for missing, misordered and undersized parts.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  PutObjectCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { REGION, type TestKumo } from '../helpers/kumo.js';
import { createBucket, failure, s3Client, useS3 } from './support.js';

let kumo: TestKumo;
let s3: S3Client;

useS3((f) => ({ kumo, s3 } = f));

const MiB = 1024 * 1024;
const md5 = (b: Buffer) => createHash('md5').update(b).digest();
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

const newBucket = () => createBucket(s3, 'mpu');

async function bytesOf(Bucket: string, Key: string, extra: { Range?: string; PartNumber?: number } = {}): Promise<Buffer> {
  const got = await s3.send(new GetObjectCommand({ Bucket, Key, ...extra }));
  return Buffer.from(await got.Body!.transformToByteArray());
}

describe('multipart upload', () => {
  test('parts become one object with the "-N" ETag; ranges and partNumber cross part boundaries', async () => {
    const Bucket = await newBucket();
    const Key = 'big/file.bin';
    const parts = [randomBytes(5 * MiB), randomBytes(5 * MiB + 17), randomBytes(1234)];
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key, ContentType: 'application/x-test', Metadata: { who: 'mpu' } }));
    assert.ok(UploadId);
    const etags: string[] = [];
    for (const [i, Body] of parts.entries()) {
      const r: { ETag?: string } = await s3.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: i + 1, Body }));
      assert.equal(r.ETag, `"${md5(Body).toString('hex')}"`);
      etags.push(r.ETag!);
    }
    const listed = await s3.send(new ListPartsCommand({ Bucket, Key, UploadId }));
    assert.deepEqual(listed.Parts!.map((p) => [p.PartNumber, p.Size, p.ETag]), parts.map((b, i) => [i + 1, b.length, etags[i]]));
    const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket }));
    assert.deepEqual(uploads.Uploads!.map((u) => [u.Key, u.UploadId]), [[Key, UploadId]]);

    const done = await s3.send(
      new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) } }),
    );
    const whole = Buffer.concat(parts);
    const expectedEtag = `"${createHash('md5').update(Buffer.concat(parts.map(md5))).digest('hex')}-3"`;
    assert.equal(done.ETag, expectedEtag);
    assert.equal(done.Key, Key);
    assert.equal((await s3.send(new ListMultipartUploadsCommand({ Bucket }))).Uploads, undefined);

    const head = await s3.send(new HeadObjectCommand({ Bucket, Key }));
    assert.deepEqual([head.ContentLength, head.ETag, head.ContentType, head.Metadata], [whole.length, expectedEtag, 'application/x-test', { who: 'mpu' }]);
    assert.equal(sha256(await bytesOf(Bucket, Key)), sha256(whole));
    const boundary = 5 * MiB;
    assert.ok((await bytesOf(Bucket, Key, { Range: `bytes=${boundary - 10}-${boundary + 9}` })).equals(whole.subarray(boundary - 10, boundary + 10)));
    assert.ok((await bytesOf(Bucket, Key, { PartNumber: 2 })).equals(parts[1]));
    const part3 = await s3.send(new HeadObjectCommand({ Bucket, Key, PartNumber: 3 }));
    assert.deepEqual([part3.ContentLength, part3.PartsCount, part3.$metadata.httpStatusCode], [1234, 3, 206]);
    const tooFar = await failure(s3.send(new GetObjectCommand({ Bucket, Key, PartNumber: 4 })));
    assert.deepEqual([tooFar.name, tooFar.status], ['InvalidPartNumber', 416]);
    // The upload is gone once completed.
    const again = await failure(s3.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: 1, Body: 'x' })));
    assert.deepEqual([again.name, again.status], ['NoSuchUpload', 404]);
  });

  test('InvalidPart, InvalidPartOrder and EntityTooSmall leave the upload as it was', async () => {
    const Bucket = await newBucket();
    const Key = 'k';
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key }));
    const small = await s3.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: 1, Body: Buffer.alloc(1024, 1) }));
    const last = await s3.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: 2, Body: Buffer.alloc(10, 2) }));
    const complete = (Parts: { ETag: string; PartNumber: number }[]) =>
      failure(s3.send(new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: { Parts } })));
    const missing = await complete([{ ETag: small.ETag!, PartNumber: 1 }, { ETag: last.ETag!, PartNumber: 3 }]);
    assert.deepEqual([missing.name, missing.status], ['InvalidPart', 400]);
    const wrongTag = await complete([{ ETag: '"0123456789abcdef0123456789abcdef"', PartNumber: 1 }]);
    assert.equal(wrongTag.name, 'InvalidPart');
    const order = await complete([{ ETag: last.ETag!, PartNumber: 2 }, { ETag: small.ETag!, PartNumber: 1 }]);
    assert.deepEqual([order.name, order.status], ['InvalidPartOrder', 400]);
    const tooSmall = await complete([{ ETag: small.ETag!, PartNumber: 1 }, { ETag: last.ETag!, PartNumber: 2 }]);
    assert.deepEqual([tooSmall.name, tooSmall.status], ['EntityTooSmall', 400]);
    assert.equal((await s3.send(new ListPartsCommand({ Bucket, Key, UploadId }))).Parts!.length, 2);
    assert.equal((await failure(s3.send(new HeadObjectCommand({ Bucket, Key })))).status, 404);
    // A single small part is a valid (last) part.
    const one = await s3.send(new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: { Parts: [{ ETag: last.ETag!, PartNumber: 2 }] } }));
    assert.match(one.ETag!, /-1"$/);
    assert.deepEqual(await bytesOf(Bucket, Key), Buffer.alloc(10, 2));
  });

  test('part numbers outside 1..10000 are InvalidArgument; a re-sent part replaces the earlier one', async () => {
    const Bucket = await newBucket();
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key: 'k' }));
    const bad = await failure(s3.send(new UploadPartCommand({ Bucket, Key: 'k', UploadId, PartNumber: 10001, Body: 'x' })));
    assert.deepEqual([bad.name, bad.status], ['InvalidArgument', 400]);
    await s3.send(new UploadPartCommand({ Bucket, Key: 'k', UploadId, PartNumber: 1, Body: 'first' }));
    const second = await s3.send(new UploadPartCommand({ Bucket, Key: 'k', UploadId, PartNumber: 1, Body: 'second' }));
    const parts = (await s3.send(new ListPartsCommand({ Bucket, Key: 'k', UploadId }))).Parts!;
    assert.deepEqual(parts.map((p) => [p.PartNumber, p.ETag, p.Size]), [[1, second.ETag, 6]]);
    const wrongKey = await failure(s3.send(new ListPartsCommand({ Bucket, Key: 'other', UploadId })));
    assert.equal(wrongKey.name, 'NoSuchUpload');
  });

  test('AbortMultipartUpload forgets the upload; a second abort is NoSuchUpload', async () => {
    const Bucket = await newBucket();
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key: 'gone' }));
    await s3.send(new UploadPartCommand({ Bucket, Key: 'gone', UploadId, PartNumber: 1, Body: 'bytes' }));
    const aborted = await s3.send(new AbortMultipartUploadCommand({ Bucket, Key: 'gone', UploadId }));
    assert.equal(aborted.$metadata.httpStatusCode, 204);
    const twice = await failure(s3.send(new AbortMultipartUploadCommand({ Bucket, Key: 'gone', UploadId })));
    assert.deepEqual([twice.name, twice.status], ['NoSuchUpload', 404]);
    assert.equal((await s3.send(new ListMultipartUploadsCommand({ Bucket }))).Uploads, undefined);
  });

  test('deleting a bucket aborts its incomplete uploads; a bucket of the same name starts with none', async () => {
    const Bucket = await newBucket();
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key: 'left' }));
    await s3.send(new UploadPartCommand({ Bucket, Key: 'left', UploadId, PartNumber: 1, Body: 'bytes' }));
    await s3.send(new DeleteBucketCommand({ Bucket }));
    await s3.send(new CreateBucketCommand({ Bucket, CreateBucketConfiguration: { LocationConstraint: REGION } }));
    assert.equal((await s3.send(new ListMultipartUploadsCommand({ Bucket }))).Uploads, undefined);
  });

  test('two Completes of one upload at once: one object, and both calls answer it (a retry is answered the same)', async () => {
    const Bucket = await newBucket();
    const parts = [randomBytes(5 * MiB), randomBytes(5 * MiB), randomBytes(10)];
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key: 'race' }));
    const Parts: { ETag?: string; PartNumber: number }[] = [];
    for (const [i, Body] of parts.entries()) {
      const r: { ETag?: string } = await s3.send(new UploadPartCommand({ Bucket, Key: 'race', UploadId, PartNumber: i + 1, Body }));
      Parts.push({ ETag: r.ETag, PartNumber: i + 1 });
    }
    const complete = () => s3.send(new CompleteMultipartUploadCommand({ Bucket, Key: 'race', UploadId, MultipartUpload: { Parts } }));
    const [a, b] = await Promise.all([complete(), complete()]);
    assert.equal(a.ETag, b.ETag);
    assert.equal(a.ETag?.endsWith('-3"'), true);
    assert.equal(sha256(await bytesOf(Bucket, 'race')), sha256(Buffer.concat(parts)));
  });

  test('ListMultipartUploads pages by key and upload id and folds prefixes', async () => {
    const Bucket = await newBucket();
    const ids: string[] = [];
    for (const Key of ['a/1', 'a/2', 'b', 'b', 'c']) ids.push((await s3.send(new CreateMultipartUploadCommand({ Bucket, Key }))).UploadId!);
    const first = await s3.send(new ListMultipartUploadsCommand({ Bucket, MaxUploads: 3 }));
    assert.deepEqual(first.Uploads!.map((u) => u.Key), ['a/1', 'a/2', 'b']);
    assert.equal(first.IsTruncated, true);
    const rest = await s3.send(new ListMultipartUploadsCommand({ Bucket, KeyMarker: first.NextKeyMarker, UploadIdMarker: first.NextUploadIdMarker }));
    assert.deepEqual(rest.Uploads!.map((u) => [u.Key, u.UploadId]), [['b', ids[3]], ['c', ids[4]]]);
    const folded = await s3.send(new ListMultipartUploadsCommand({ Bucket, Delimiter: '/' }));
    assert.deepEqual(folded.CommonPrefixes!.map((p) => p.Prefix), ['a/']);
    assert.deepEqual(folded.Uploads!.map((u) => u.Key), ['b', 'b', 'c']);
  });

  test('UploadPartCopy copies a byte range of an object into a part', async () => {
    const Bucket = await newBucket();
    const source = randomBytes(6 * MiB);
    await s3.send(new PutObjectCommand({ Bucket, Key: 'src', Body: source }));
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key: 'dst' }));
    const p1 = await s3.send(
      new UploadPartCopyCommand({ Bucket, Key: 'dst', UploadId, PartNumber: 1, CopySource: `${Bucket}/src`, CopySourceRange: `bytes=0-${5 * MiB - 1}` }),
    );
    assert.equal(p1.CopyPartResult!.ETag, `"${md5(source.subarray(0, 5 * MiB)).toString('hex')}"`);
    const p2 = await s3.send(new UploadPartCopyCommand({ Bucket, Key: 'dst', UploadId, PartNumber: 2, CopySource: `${Bucket}/src` }));
    const outside = await failure(
      s3.send(new UploadPartCopyCommand({ Bucket, Key: 'dst', UploadId, PartNumber: 3, CopySource: `${Bucket}/src`, CopySourceRange: `bytes=0-${6 * MiB}` })),
    );
    assert.deepEqual([outside.name, outside.status], ['InvalidArgument', 400]);
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket,
        Key: 'dst',
        UploadId,
        MultipartUpload: { Parts: [{ ETag: p1.CopyPartResult!.ETag, PartNumber: 1 }, { ETag: p2.CopyPartResult!.ETag, PartNumber: 2 }] },
      }),
    );
    assert.equal(sha256(await bytesOf(Bucket, 'dst')), sha256(Buffer.concat([source.subarray(0, 5 * MiB), source])));
  });

  test('checksums: a CRC32 upload gets a COMPOSITE checksum, a CRC64NVME one a FULL_OBJECT checksum', async () => {
    const Bucket = await newBucket();
    const parts = [randomBytes(5 * MiB), randomBytes(100)];
    for (const ChecksumAlgorithm of ['CRC32', 'CRC64NVME'] as const) {
      const Key = `sum-${ChecksumAlgorithm}`;
      const created = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key, ChecksumAlgorithm }));
      assert.equal(created.ChecksumType, ChecksumAlgorithm === 'CRC32' ? 'COMPOSITE' : 'FULL_OBJECT');
      const done = [];
      for (const [i, Body] of parts.entries()) {
        const r = await s3.send(new UploadPartCommand({ Bucket, Key, UploadId: created.UploadId, PartNumber: i + 1, Body, ChecksumAlgorithm }));
        const sum = r[`Checksum${ChecksumAlgorithm}`];
        assert.ok(sum);
        done.push({ ETag: r.ETag, PartNumber: i + 1, [`Checksum${ChecksumAlgorithm}`]: sum });
      }
      const completed = await s3.send(new CompleteMultipartUploadCommand({ Bucket, Key, UploadId: created.UploadId, MultipartUpload: { Parts: done } }));
      const value = completed[`Checksum${ChecksumAlgorithm}`]!;
      if (ChecksumAlgorithm === 'CRC32') assert.match(value, /-2$/);
      else assert.doesNotMatch(value, /-/);
      // The SDK validates a FULL_OBJECT checksum on GET, so a wrong one would fail here.
      const got = await s3.send(new GetObjectCommand({ Bucket, Key, ChecksumMode: 'ENABLED' }));
      assert.equal(sha256(Buffer.from(await got.Body!.transformToByteArray())), sha256(Buffer.concat(parts)));
      assert.equal(got[`Checksum${ChecksumAlgorithm}`], value);
    }
  });
});

describe('default checksum', () => {
  test('objects sent without a checksum get a full-object CRC64NVME, single PUT and multipart alike', async () => {
    const Bucket = await newBucket();
    // A client that sends no checksum of its own, so kumo's default is what gets stored.
    const plain = s3Client(kumo.url, { requestChecksumCalculation: 'WHEN_REQUIRED' });
    try {
      const body = randomBytes(5 * MiB + 1);
      const put = await plain.send(new PutObjectCommand({ Bucket, Key: 'single', Body: body }));
      assert.equal(put.ChecksumType, 'FULL_OBJECT');
      assert.ok(put.ChecksumCRC64NVME);
      const { UploadId } = await plain.send(new CreateMultipartUploadCommand({ Bucket, Key: 'multi' }));
      const p1 = await plain.send(new UploadPartCommand({ Bucket, Key: 'multi', UploadId, PartNumber: 1, Body: body.subarray(0, 5 * MiB) }));
      const p2 = await plain.send(new UploadPartCommand({ Bucket, Key: 'multi', UploadId, PartNumber: 2, Body: body.subarray(5 * MiB) }));
      const done = await plain.send(
        new CompleteMultipartUploadCommand({ Bucket, Key: 'multi', UploadId, MultipartUpload: { Parts: [{ ETag: p1.ETag, PartNumber: 1 }, { ETag: p2.ETag, PartNumber: 2 }] } }),
      );
      // The same bytes, so the same full-object CRC64NVME however they arrived.
      assert.equal(done.ChecksumCRC64NVME, put.ChecksumCRC64NVME);
      for (const Key of ['single', 'multi']) {
        const got = await s3.send(new GetObjectCommand({ Bucket, Key, ChecksumMode: 'ENABLED' }));
        assert.deepEqual([got.ChecksumCRC64NVME, got.ChecksumType], [put.ChecksumCRC64NVME, 'FULL_OBJECT']);
        assert.equal(sha256(Buffer.from(await got.Body!.transformToByteArray())), sha256(body));
      }
    } finally {
      plain.destroy();
    }
  });
});

describe('@aws-sdk/lib-storage Upload', () => {
  test('a 20 MiB stream uploads in parts, concurrently, and reads back identical', async () => {
    const Bucket = await newBucket();
    const data = randomBytes(20 * MiB + 3);
    const upload = new Upload({
      client: s3,
      params: { Bucket, Key: 'lib/storage.bin', Body: Readable.from([data.subarray(0, 7 * MiB), data.subarray(7 * MiB)]) },
      partSize: 5 * MiB,
      queueSize: 4,
    });
    const out = await upload.done();
    assert.match(String(out.ETag), /-5"$/);
    assert.equal(sha256(await bytesOf(Bucket, 'lib/storage.bin')), sha256(data));
  });
});
