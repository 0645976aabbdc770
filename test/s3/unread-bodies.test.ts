// Signed S3 requests whose bodies do not match what was signed, sent where kumo answers before (or
// without) reading the body: a missing bucket, an unknown upload, a key too long, a missing copy
// source, a header kumo refuses, a request that succeeds without a body. Each gets the error S3
// decides from the request line and headers (SDKs send S3 uploads with `Expect: 100-continue`, so
// S3 answers those before a byte of body arrives and never compares the body's hash), and kumo
// keeps serving. kumo runs as a child process here, so a crash shows as its exit, not the runner's.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { CreateBucketCommand, ListBucketsCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { REGION, uniqueName } from '../helpers/kumo.js';
import { useKumoProcesses, type SpawnedKumo } from '../helpers/kumo-process.js';
import { rawRequest, s3Client, xmlField, type RawRequest } from './support.js';

const kumos = useKumoProcesses();
let kumo: SpawnedKumo;
let s3: S3Client;
const Bucket = uniqueName('unread');

before(async () => {
  kumo = await kumos.start(kumos.dataDir('kumo-unread-'), ['--quiet']);
  s3 = s3Client(kumo.url);
  await s3.send(new CreateBucketCommand({ Bucket, CreateBucketConfiguration: { LocationConstraint: REGION } }));
  await s3.send(new PutObjectCommand({ Bucket, Key: 'present', Body: 'here' }));
});
after(() => s3?.destroy());

const sha256 = (b: string | Buffer) => createHash('sha256').update(b).digest('hex');
const ZEROS = '0'.repeat(64);

/** A body of `size` bytes signed as if it were the five bytes 'hello'. */
function mismatched(r: Omit<RawRequest, 'body'>, size = 5): RawRequest {
  // Content-Length said outright: node's client frames a DELETE's body only when told its length.
  const headers = { ...r.headers, 'x-amz-content-sha256': sha256('hello'), 'content-length': String(size) };
  return { ...r, body: Buffer.alloc(size, 'H'), headers };
}

/** An aws-chunked body whose chunk signatures are wrong. */
function badChunks(r: Omit<RawRequest, 'body'>): RawRequest {
  const body = `5;chunk-signature=${ZEROS}\r\nHELLO\r\n0;chunk-signature=${ZEROS}\r\n\r\n`;
  return {
    ...r,
    body,
    headers: {
      ...r.headers,
      'content-encoding': 'aws-chunked',
      'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
      'x-amz-decoded-content-length': '5',
    },
  };
}

async function expectAnswer(r: RawRequest, status: number, code?: string): Promise<void> {
  const res = await rawRequest(kumo.url, r);
  const text = res.body.toString();
  assert.equal(res.status, status, text);
  if (code) assert.equal(xmlField(text, 'Code'), code, text);
  await stillServing();
}

/** The next request is served, and the process is alive and has logged no escaped error. */
async function stillServing(): Promise<void> {
  const listed = await s3.send(new ListBucketsCommand({}));
  assert.ok(listed.Buckets?.some((b) => b.Name === Bucket));
  assert.equal(kumo.child.exitCode, null, kumo.output());
  assert.doesNotMatch(kumo.output(), /uncaught|unhandled|internal error/i);
}

describe('a body that does not match its signature, refused before it is read', () => {
  test('a missing bucket is NoSuchBucket', async () => {
    await expectAnswer(mismatched({ method: 'PUT', path: '/no-such-bucket-here/k' }), 404, 'NoSuchBucket');
    await expectAnswer(mismatched({ method: 'PUT', path: '/no-such-bucket-here/k' }, 3 * 1024 * 1024), 404, 'NoSuchBucket');
  });

  test('UploadPart to an unknown upload is NoSuchUpload', async () => {
    await expectAnswer(mismatched({ method: 'PUT', path: `/${Bucket}/k`, query: { partNumber: '1', uploadId: 'no-such-upload' } }), 404, 'NoSuchUpload');
  });

  test('a key over 1024 bytes is KeyTooLongError', async () => {
    await expectAnswer(mismatched({ method: 'PUT', path: `/${Bucket}/${'k'.repeat(1025)}` }), 400, 'KeyTooLongError');
  });

  test('CopyObject from a missing source is NoSuchKey', async () => {
    await expectAnswer(mismatched({ method: 'PUT', path: `/${Bucket}/copy`, headers: { 'x-amz-copy-source': `/${Bucket}/absent` } }), 404, 'NoSuchKey');
  });

  test('a customer-key encryption header without its key is InvalidArgument', async () => {
    const headers = { 'x-amz-server-side-encryption-customer-algorithm': 'AES256' };
    await expectAnswer(mismatched({ method: 'PUT', path: `/${Bucket}/sse-c`, headers }), 400, 'InvalidArgument');
  });

  test('aws-chunked with bad chunk signatures to a missing bucket is NoSuchBucket', async () => {
    await expectAnswer(badChunks({ method: 'PUT', path: '/no-such-bucket-here/k' }), 404, 'NoSuchBucket');
  });
});

describe('a body that does not match its signature, never read by a request that succeeds', () => {
  test('DeleteObject answers 204', async () => {
    await expectAnswer(mismatched({ method: 'DELETE', path: `/${Bucket}/gone` }), 204);
    await expectAnswer(mismatched({ method: 'DELETE', path: `/${Bucket}/gone` }, 3 * 1024 * 1024), 204);
  });

  test('CopyObject answers 200 and copies', async () => {
    await expectAnswer(mismatched({ method: 'PUT', path: `/${Bucket}/copied`, headers: { 'x-amz-copy-source': `/${Bucket}/present` } }), 200);
  });
});
