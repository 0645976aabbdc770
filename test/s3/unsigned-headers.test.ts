// S3 refuses a signed request carrying x-amz-* headers its signature does not cover: someone who
// captured a signed PUT must not be able to add metadata, an ACL or tags to it. 403 AccessDenied
// naming the headers in <HeadersNotSigned>, for header signatures and presigned URLs alike, and
// nothing is written.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { type TestKumo } from '../helpers/kumo.js';
import { createBucket, failure, rawRequest, useS3, xmlField } from './support.js';

let kumo: TestKumo;
let s3: S3Client;
useS3((f) => ({ kumo, s3 } = f));

const newBucket = () => createBucket(s3, 'unsigned');

const NOT_SIGNED = 'There were headers present in the request which were not signed';

async function absent(Bucket: string, Key: string): Promise<void> {
  const f = await failure(s3.send(new HeadObjectCommand({ Bucket, Key })));
  assert.equal(f.status, 404, `${Key} was written`);
}

describe('header signatures', () => {
  test('an x-amz-meta-* header added after signing: 403 HeadersNotSigned, nothing written', async () => {
    const Bucket = await newBucket();
    const r = await rawRequest(kumo.url, {
      method: 'PUT',
      path: `/${Bucket}/doc.txt`,
      body: 'data',
      headers: { 'x-amz-meta-signed': 'yes' },
      unsigned: { 'X-Amz-Meta-Extra': 'sneaky' },
    });
    const text = r.body.toString();
    assert.equal(r.status, 403, text);
    assert.equal(xmlField(text, 'Code'), 'AccessDenied');
    assert.equal(xmlField(text, 'Message'), NOT_SIGNED);
    assert.equal(xmlField(text, 'HeadersNotSigned'), 'x-amz-meta-extra');
    await absent(Bucket, 'doc.txt');
  });

  test('x-amz-acl and x-amz-tagging added after signing are both named', async () => {
    const Bucket = await newBucket();
    const r = await rawRequest(kumo.url, {
      method: 'PUT',
      path: `/${Bucket}/doc.txt`,
      body: 'data',
      unsigned: { 'x-amz-acl': 'public-read', 'x-amz-tagging': 'owner=mallory' },
    });
    const text = r.body.toString();
    assert.deepEqual([r.status, xmlField(text, 'Code')], [403, 'AccessDenied'], text);
    assert.equal(xmlField(text, 'HeadersNotSigned'), 'x-amz-acl, x-amz-tagging');
    await absent(Bucket, 'doc.txt');
  });

  test('the same request with those headers signed is stored with them', async () => {
    const Bucket = await newBucket();
    const r = await rawRequest(kumo.url, {
      method: 'PUT',
      path: `/${Bucket}/doc.txt`,
      body: 'data',
      headers: { 'x-amz-meta-extra': 'fine', 'x-amz-tagging': 'owner=me' },
    });
    assert.equal(r.status, 200, r.body.toString());
    const head = await s3.send(new HeadObjectCommand({ Bucket, Key: 'doc.txt' }));
    assert.deepEqual(head.Metadata, { extra: 'fine' });
  });

  test('unsigned headers that are not x-amz-* are not S3’s concern', async () => {
    const Bucket = await newBucket();
    const r = await rawRequest(kumo.url, { method: 'PUT', path: `/${Bucket}/doc.txt`, body: 'data', unsigned: { 'content-type': 'text/plain', 'x-custom': '1' } });
    assert.equal(r.status, 200, r.body.toString());
  });
});

describe('presigned URLs', () => {
  test('a presigned PUT sent with an extra x-amz-meta-* header is refused and writes nothing', async () => {
    const Bucket = await newBucket();
    const url = await getSignedUrl(s3, new PutObjectCommand({ Bucket, Key: 'up.bin' }), { expiresIn: 300 });
    const res = await fetch(url, { method: 'PUT', body: 'data', headers: { 'x-amz-meta-owner': 'mallory' } });
    const text = await res.text();
    assert.equal(res.status, 403, text);
    assert.equal(xmlField(text, 'Code'), 'AccessDenied');
    assert.equal(xmlField(text, 'HeadersNotSigned'), 'x-amz-meta-owner');
    await absent(Bucket, 'up.bin');
  });

  test('metadata the URL was signed for is accepted', async () => {
    const Bucket = await newBucket();
    const url = await getSignedUrl(s3, new PutObjectCommand({ Bucket, Key: 'up.bin', Metadata: { owner: 'me' } }), {
      expiresIn: 300,
      // Sent as headers, so they are signed rather than hoisted into the query string.
      unhoistableHeaders: new Set(['x-amz-meta-owner']),
    });
    const res = await fetch(url, { method: 'PUT', body: 'data', headers: { 'x-amz-meta-owner': 'me' } });
    assert.equal(res.status, 200, await res.text());
    const got = await s3.send(new GetObjectCommand({ Bucket, Key: 'up.bin' }));
    assert.deepEqual(got.Metadata, { owner: 'me' });
    await got.Body!.transformToString();
  });
});
