// Multipart uploads as clients retry them, through @aws-sdk/client-s3 v3 and raw requests: a
// CompleteMultipartUpload sent again after it succeeded is answered the same, and a part re-sent
// while its first send is still streaming is the part, whichever send finishes last.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  ListPartsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { waitFor, type TestKumo } from '../helpers/kumo.js';
import { createBucket, failure, signHeaders, useS3 } from './support.js';

let kumo: TestKumo;
let s3: S3Client;

useS3((f) => ({ kumo, s3 } = f));

const md5hex = (b: Buffer | string) => createHash('md5').update(b).digest('hex');

async function onePartUpload(Bucket: string, Key: string, body: string) {
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key }));
  const part = await s3.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: 1, Body: body }));
  const complete = () =>
    s3.send(new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] } }));
  return { UploadId: UploadId!, complete };
}

describe('CompleteMultipartUpload sent again', () => {
  test('after success answers the same result, until the object it made is replaced', async () => {
    const Bucket = await createBucket(s3, 'retry');
    await s3.send(new PutBucketVersioningCommand({ Bucket, VersioningConfiguration: { Status: 'Enabled' } }));
    const { UploadId, complete } = await onePartUpload(Bucket, 'k', 'first');
    const first = await complete();
    const again = await complete();
    assert.equal(again.$metadata.httpStatusCode, 200);
    assert.deepEqual([again.ETag, again.VersionId, again.Location, again.Key], [first.ETag, first.VersionId, first.Location, first.Key]);
    assert.equal(again.ETag, `"${md5hex(Buffer.from(md5hex('first'), 'hex'))}-1"`);
    // Still one version: the repeat made nothing new.
    const got = await s3.send(new GetObjectCommand({ Bucket, Key: 'k' }));
    assert.equal(got.VersionId, first.VersionId);
    await s3.send(new PutObjectCommand({ Bucket, Key: 'k', Body: 'newer' }));
    const late = await failure(complete());
    assert.deepEqual([late.name, late.status, late.fields.UploadId], ['NoSuchUpload', 404, UploadId]);
    const other = await failure(s3.send(new CompleteMultipartUploadCommand({ Bucket, Key: 'other', UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: first.ETag }] } })));
    assert.equal(other.name, 'NoSuchUpload');
  });
  // Two at once (a retry while the first still joins the parts): multipart.test.ts.
});

describe('a part sent twice at once', () => {
  test('the send that began later is the part, though the earlier one finishes last', async () => {
    const Bucket = await createBucket(s3, 'resend');
    const Key = 'k';
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key }));
    // Half of it is over 64 KiB: a body that size streams into a temporary file (smaller ones are held in memory).
    const early = randomBytes(256 * 1024);
    const late = randomBytes(1000);
    const path = `/${Bucket}/${Key}`;
    const query = { partNumber: '1', uploadId: UploadId! };
    const headers = await signHeaders(kumo.url, {
      method: 'PUT',
      path,
      query,
      headers: { 'content-length': String(early.length), 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
    });
    const target = new URL(kumo.url);
    const tmp = join(kumo.dataDir, 's3', 'tmp');
    // The first send streams half its body, then holds the rest back.
    let answered!: (r: { status: number; body: string }) => void;
    const firstDone = new Promise<{ status: number; body: string }>((r) => (answered = r));
    const first = request(
      { host: target.hostname, port: Number(target.port), method: 'PUT', path: `${path}?${new URLSearchParams(query)}`, headers, setHost: false },
      (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => answered({ status: res.statusCode ?? 0, body }));
      },
    );
    first.write(early.subarray(0, early.length / 2));
    await waitFor('the first send to be streaming into kumo', () => readdirSync(tmp).length > 0);
    const second = await s3.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: 1, Body: late }));
    assert.equal(second.ETag, `"${md5hex(late)}"`);
    first.end(early.subarray(early.length / 2));
    const firstAnswer = await firstDone;
    assert.equal(firstAnswer.status, 200, firstAnswer.body);
    const parts = await s3.send(new ListPartsCommand({ Bucket, Key, UploadId }));
    assert.deepEqual(parts.Parts!.map((p) => [p.PartNumber, p.ETag, p.Size]), [[1, second.ETag, late.length]]);
    await s3.send(new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: second.ETag }] } }));
    const got = await s3.send(new GetObjectCommand({ Bucket, Key }));
    assert.ok(Buffer.from(await got.Body!.transformToByteArray()).equals(late));
    // The losing send's bytes are not left behind.
    await waitFor('no temporary files', () => readdirSync(tmp).length === 0);
  });

  test('sends one after the other: the last one is the part', async () => {
    const Bucket = await createBucket(s3, 'resend');
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key: 'k' }));
    await s3.send(new UploadPartCommand({ Bucket, Key: 'k', UploadId, PartNumber: 1, Body: 'one' }));
    const two = await s3.send(new UploadPartCommand({ Bucket, Key: 'k', UploadId, PartNumber: 1, Body: 'two' }));
    const parts = await s3.send(new ListPartsCommand({ Bucket, Key: 'k', UploadId }));
    assert.deepEqual(parts.Parts!.map((p) => p.ETag), [two.ETag]);
  });
});
