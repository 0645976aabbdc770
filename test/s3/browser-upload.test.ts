// Browser uploads (POST Object): forms prepared by createPresignedPost (@aws-sdk/s3-presigned-post)
// and boto3's generate_presigned_post (SigV4, and SigV2 with signature_version='s3'), posted as a
// browser would (fetch's FormData) or byte by byte; the policy's conditions, S3's answers
// (204/200/201/303) and its refusals, large files streamed, and bodies that are not what they say.
import assert from 'node:assert/strict';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import {
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  PutBucketVersioningCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import { CREDENTIALS, REGION, type TestKumo } from '../helpers/kumo.js';
import { boto3 } from '../helpers/python.js';
import { missing } from '../helpers/tools.js';
import { createBucket, failure, rawRequest, s3Client, useS3, xmlField } from './support.js';

let kumo: TestKumo;
let s3: S3Client;
let Bucket: string;

useS3(async (f) => {
  ({ kumo, s3 } = f);
  Bucket = await createBucket(s3, 'post');
});

type Fields = Record<string, string>;

/** Posts the form as a browser does: FormData, the file last. */
async function post(url: string, fields: Fields, file: { name?: string; data: string | Buffer; type?: string }, extra: Fields = {}) {
  const form = new FormData();
  for (const [k, v] of Object.entries({ ...fields, ...extra })) form.append(k, v);
  form.append('file', new Blob([typeof file.data === 'string' ? file.data : new Uint8Array(file.data)], { type: file.type ?? 'application/octet-stream' }), file.name ?? 'upload.bin');
  const r = await fetch(url, { method: 'POST', body: form, redirect: 'manual' });
  return { status: r.status, headers: r.headers, text: await r.text() };
}

/** The error's Message, its XML entities read. */
function message(xml: string): string | undefined {
  return xmlField(xml, 'Message')?.replace(/&quot;/g, '"').replace(/&#34;/g, '"').replace(/&amp;/g, '&');
}

async function content(Key: string): Promise<string> {
  const got = await s3.send(new GetObjectCommand({ Bucket, Key }));
  return got.Body!.transformToString();
}

async function absent(Key: string): Promise<void> {
  assert.equal((await failure(s3.send(new HeadObjectCommand({ Bucket, Key })))).status, 404);
}

/** A multipart/form-data body written out by hand, for what FormData will not produce. */
function formBytes(boundary: string, parts: { name: string; value: string | Buffer; filename?: string }[], close = true): Buffer {
  const chunks: Buffer[] = [];
  for (const p of parts) {
    const disposition = `form-data; name="${p.name}"${p.filename !== undefined ? `; filename="${p.filename}"` : ''}`;
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: ${disposition}\r\n\r\n`), Buffer.from(p.value), Buffer.from('\r\n'));
  }
  if (close) chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(chunks);
}

describe('createPresignedPost (SDK v3, SigV4)', () => {
  test('a form with ${filename} and a size range uploads; the answer is 204 with ETag and Location', async () => {
    const { url, fields } = await createPresignedPost(s3, {
      Bucket,
      Key: 'uploads/${filename}',
      Conditions: [['content-length-range', 1, 1024], ['starts-with', '$Content-Type', 'text/']],
      Fields: { 'Content-Type': 'text/plain' },
      Expires: 300,
    });
    assert.match(url, new RegExp(`/${Bucket}$`));
    const r = await post(url, fields, { name: 'hello.txt', data: 'hello from a form' });
    assert.equal(r.status, 204, r.text);
    const md5 = createHash('md5').update('hello from a form').digest('hex');
    assert.equal(r.headers.get('etag'), `"${md5}"`);
    assert.equal(r.headers.get('location'), `${kumo.url}/${Bucket}/uploads/hello.txt`);
    assert.equal(await content('uploads/hello.txt'), 'hello from a form');
    const head = await s3.send(new HeadObjectCommand({ Bucket, Key: 'uploads/hello.txt' }));
    assert.equal(head.ContentType, 'text/plain');
    assert.equal(head.ServerSideEncryption, 'AES256');
  });

  test('success_action_status 201 answers a PostResponse; 200 an empty body; a redirect 303 with bucket, key and etag', async () => {
    const signed = (extra: Fields) => createPresignedPost(s3, { Bucket, Key: 'answers/one', Fields: extra, Expires: 300 });
    let p = await signed({ success_action_status: '201' });
    let r = await post(p.url, p.fields, { data: 'one' });
    assert.equal(r.status, 201);
    assert.equal(xmlField(r.text, 'Bucket'), Bucket);
    assert.equal(xmlField(r.text, 'Key'), 'answers/one');
    assert.equal(xmlField(r.text, 'Location'), `${kumo.url}/${Bucket}/answers/one`);
    assert.equal(xmlField(r.text, 'ETag'), `&#34;${createHash('md5').update('one').digest('hex')}&#34;`);

    p = await signed({ success_action_status: '200' });
    r = await post(p.url, p.fields, { data: 'one' });
    assert.deepEqual([r.status, r.text], [200, '']);

    p = await signed({ success_action_redirect: 'https://example.com/done?from=form' });
    r = await post(p.url, p.fields, { data: 'one' });
    assert.equal(r.status, 303);
    const to = new URL(r.headers.get('location')!);
    assert.equal(to.origin + to.pathname, 'https://example.com/done');
    assert.deepEqual(Object.fromEntries(to.searchParams), {
      from: 'form',
      bucket: Bucket,
      key: 'answers/one',
      etag: `"${createHash('md5').update('one').digest('hex')}"`,
    });
  });

  test('fields become the object: metadata, Content-Disposition, tagging, storage class; a versioned bucket names the version', async () => {
    const versioned = await createBucket(s3, 'post-v');
    await s3.send(new PutBucketVersioningCommand({ Bucket: versioned, VersioningConfiguration: { Status: 'Enabled' } }));
    const tagging = '<Tagging><TagSet><Tag><Key>team</Key><Value>web</Value></Tag></TagSet></Tagging>';
    const { url, fields } = await createPresignedPost(s3, {
      Bucket: versioned,
      Key: 'described',
      Fields: { 'x-amz-meta-origin': 'browser', 'Content-Disposition': 'attachment', tagging, 'x-amz-storage-class': 'STANDARD_IA' },
      Expires: 300,
    });
    const r = await post(url, fields, { data: 'described' });
    assert.equal(r.status, 204, r.text);
    const head = await s3.send(new HeadObjectCommand({ Bucket: versioned, Key: 'described' }));
    assert.deepEqual(head.Metadata, { origin: 'browser' });
    assert.equal(head.ContentDisposition, 'attachment');
    assert.equal(head.StorageClass, 'STANDARD_IA');
    assert.equal(r.headers.get('x-amz-version-id'), head.VersionId);
    const tags = await s3.send(new GetObjectTaggingCommand({ Bucket: versioned, Key: 'described' }));
    assert.deepEqual(tags.TagSet, [{ Key: 'team', Value: 'web' }]);
  });

  test('content-length-range: too large is EntityTooLarge, too small EntityTooSmall, and nothing is stored', async () => {
    const { url, fields } = await createPresignedPost(s3, { Bucket, Key: 'sized', Conditions: [['content-length-range', 10, 20]], Expires: 300 });
    let r = await post(url, fields, { data: 'x'.repeat(21) });
    assert.equal(r.status, 400);
    assert.equal(xmlField(r.text, 'Code'), 'EntityTooLarge');
    assert.equal(xmlField(r.text, 'MaxSizeAllowed'), '20');
    r = await post(url, fields, { data: 'short' });
    assert.equal(r.status, 400);
    assert.equal(xmlField(r.text, 'Code'), 'EntityTooSmall');
    assert.equal(xmlField(r.text, 'MinSizeAllowed'), '10');
    assert.equal(xmlField(r.text, 'ProposedSize'), '5');
    await absent('sized');
    r = await post(url, fields, { data: 'just right!' });
    assert.equal(r.status, 204);
  });

  test('conditions refuse with AccessDenied: a failed condition, extra fields (x-ignore- ones are fine), an expired policy', async () => {
    const { url, fields } = await createPresignedPost(s3, {
      Bucket,
      Key: 'user/eric/${filename}',
      Conditions: [{ acl: 'bucket-owner-full-control' }],
      Fields: { acl: 'bucket-owner-full-control' },
      Expires: 300,
    });
    let r = await post(url, { ...fields, key: 'user/other/x' }, { data: 'x' });
    assert.equal(r.status, 403);
    assert.equal(xmlField(r.text, 'Code'), 'AccessDenied');
    assert.equal(message(r.text), 'Invalid according to Policy: Policy Condition failed: ["starts-with", "$key", "user/eric/"]');
    r = await post(url, { ...fields, acl: 'public-read' }, { data: 'x' });
    assert.equal(message(r.text), 'Invalid according to Policy: Policy Condition failed: ["eq", "$acl", "bucket-owner-full-control"]');
    r = await post(url, fields, { data: 'x' }, { 'x-amz-meta-sneaky': '1' });
    assert.equal(r.status, 403);
    assert.equal(message(r.text), 'Invalid according to Policy: Extra input fields: x-amz-meta-sneaky');
    r = await post(url, fields, { name: 'ok.txt', data: 'x' }, { 'x-ignore-submit': 'Upload' });
    assert.equal(r.status, 204, r.text);
    assert.equal(await content('user/eric/ok.txt'), 'x');

    const expired = await createPresignedPost(s3, { Bucket, Key: 'late', Expires: -5 });
    r = await post(expired.url, expired.fields, { data: 'x' });
    assert.equal(r.status, 403);
    assert.equal(message(r.text), 'Invalid according to Policy: Policy expired.');
    await absent('late');
  });

  test('a wrong signature, an unknown key, a policy that is not JSON', async () => {
    const { url, fields } = await createPresignedPost(s3, { Bucket, Key: 'signed', Expires: 300 });
    let r = await post(url, { ...fields, 'X-Amz-Signature': '0'.repeat(64) }, { data: 'x' });
    assert.equal(r.status, 403);
    assert.equal(xmlField(r.text, 'Code'), 'SignatureDoesNotMatch');
    const other = s3Client(kumo.url, { credentials: { accessKeyId: 'nobody', secretAccessKey: 'nothing' } });
    const stranger = await createPresignedPost(other, { Bucket, Key: 'signed', Expires: 300 });
    other.destroy();
    r = await post(stranger.url, stranger.fields, { data: 'x' });
    assert.equal(r.status, 403);
    assert.equal(xmlField(r.text, 'Code'), 'InvalidAccessKeyId');
    // Signed correctly, but the document itself is not JSON.
    const policy = Buffer.from('{not json').toString('base64');
    const date = fields['X-Amz-Date'].slice(0, 8);
    const key = [date, REGION, 's3', 'aws4_request'].reduce<Buffer | string>((k, d) => createHmac('sha256', k).update(d).digest(), `AWS4${CREDENTIALS.secretAccessKey}`);
    const signature = createHmac('sha256', key).update(policy).digest('hex');
    r = await post(url, { ...fields, Policy: policy, 'X-Amz-Signature': signature }, { data: 'x' });
    assert.equal(r.status, 400);
    assert.equal(xmlField(r.text, 'Code'), 'InvalidPolicyDocument');
    await absent('signed');
  });

  test('a large file streams through (8 MiB, fields after the file ignored)', async () => {
    const { url, fields } = await createPresignedPost(s3, { Bucket, Key: 'big', Conditions: [['content-length-range', 0, 16 * 1024 * 1024]], Expires: 300 });
    const data = randomBytes(8 * 1024 * 1024);
    const form = new FormData();
    for (const [k, v] of Object.entries(fields)) form.append(k, v);
    form.append('file', new Blob([new Uint8Array(data)]), 'big.bin');
    form.append('after', 'ignored');
    const r = await fetch(url, { method: 'POST', body: form });
    assert.equal(r.status, 204, await r.text());
    const got = await s3.send(new GetObjectCommand({ Bucket, Key: 'big' }));
    const bytes = Buffer.from(await got.Body!.transformToByteArray());
    assert.equal(createHash('md5').update(bytes).digest('hex'), createHash('md5').update(data).digest('hex'));
  });
});

describe('forms that are not right', () => {
  test('no file, no key, not multipart, a truncated body, fields before the file too large', async () => {
    const { url, fields } = await createPresignedPost(s3, { Bucket, Key: 'broken', Expires: 300 });
    const path = new URL(url).pathname;
    const send = (body: Buffer, boundary = 'XyZ') =>
      rawRequest(kumo.url, { method: 'POST', path, credentials: null, headers: { 'content-type': `multipart/form-data; boundary=${boundary}` }, body });
    const parts = Object.entries(fields).map(([name, value]) => ({ name, value }));

    let r = await send(formBytes('XyZ', parts));
    assert.equal(r.status, 400);
    assert.equal(xmlField(r.body.toString(), 'Code'), 'InvalidArgument');
    assert.equal(xmlField(r.body.toString(), 'ArgumentName'), 'file');

    r = await send(formBytes('XyZ', [...parts.filter((p) => p.name !== 'key'), { name: 'file', filename: 'f', value: 'x' }]));
    assert.equal(xmlField(r.body.toString(), 'Code'), 'InvalidArgument');
    assert.equal(xmlField(r.body.toString(), 'ArgumentName'), 'key');

    r = await send(Buffer.from('this is not a form'));
    assert.equal(r.status, 400);
    assert.equal(xmlField(r.body.toString(), 'Code'), 'MalformedPOSTRequest');

    // The file's closing boundary never comes: nothing may be stored.
    const cut = formBytes('XyZ', [...parts, { name: 'file', filename: 'f', value: 'partial' }], false);
    r = await send(cut.subarray(0, cut.length - 2));
    assert.equal(r.status, 400);
    assert.equal(xmlField(r.body.toString(), 'Code'), 'MalformedPOSTRequest');
    await absent('broken');

    r = await send(formBytes('XyZ', [{ name: 'x-ignore-pad', value: 'p'.repeat(30 * 1024) }, ...parts, { name: 'file', filename: 'f', value: 'x' }]));
    assert.equal(xmlField(r.body.toString(), 'Code'), 'MaxPostPreDataLengthExceeded');

    // A `file` field without a filename (curl -F file=…) is the file all the same.
    r = await send(formBytes('XyZ', [...parts, { name: 'file', value: 'no filename' }]));
    assert.equal(r.status, 204, r.body.toString());
    assert.equal(await content('broken'), 'no filename');

    // The same form, well formed, with a boundary split across reads: stored.
    r = await send(formBytes('XyZ', [...parts, { name: 'file', filename: 'f', value: Buffer.from('\r\n--XyQ not the boundary\r\n--Xy') }]));
    assert.equal(r.status, 204, r.body.toString());
    assert.equal(await content('broken'), '\r\n--XyQ not the boundary\r\n--Xy');
  });

  test('an unsigned form is an anonymous PUT: refused on a private bucket', async () => {
    const r = await post(`${kumo.url}/${Bucket}`, { key: 'anon' }, { data: 'x' });
    assert.equal(r.status, 403);
    assert.equal(xmlField(r.text, 'Code'), 'AccessDenied');
    await absent('anon');
  });

  test('a virtual-host form (the bucket in Host) uploads, and a bucket that does not exist is NoSuchBucket', async () => {
    const { fields } = await createPresignedPost(s3, { Bucket, Key: 'vhost', Expires: 300 });
    const body = formBytes('b0und', [...Object.entries(fields).map(([name, value]) => ({ name, value })), { name: 'file', filename: 'v', value: 'by host' }]);
    const port = new URL(kumo.url).port;
    const headers = { 'content-type': 'multipart/form-data; boundary=b0und' };
    let r = await rawRequest(kumo.url, { method: 'POST', path: '/', host: `${Bucket}.s3.localhost:${port}`, credentials: null, headers, body });
    assert.equal(r.status, 204, r.body.toString());
    assert.equal(await content('vhost'), 'by host');
    r = await rawRequest(kumo.url, { method: 'POST', path: '/no-such-bucket-here', credentials: null, headers, body });
    assert.equal(r.status, 404);
    assert.equal(xmlField(r.body.toString(), 'Code'), 'NoSuchBucket');
  });
});

describe('boto3 generate_presigned_post', { skip: missing('boto3') }, () => {
  test('SigV4 (the default) and SigV2 (signature_version="s3") forms both upload', async () => {
    const out = await boto3<{ v4: { url: string; fields: Fields }; v2: { url: string; fields: Fields } }>(
      kumo.url,
      `
import json, os, boto3
from botocore.config import Config
b = ${JSON.stringify(Bucket)}
v4 = boto3.client('s3', endpoint_url=os.environ['KUMO_URL'], config=Config(signature_version='s3v4', s3={'addressing_style': 'path'}))
v2 = boto3.client('s3', endpoint_url=os.environ['KUMO_URL'], config=Config(signature_version='s3', s3={'addressing_style': 'path'}))
print(json.dumps({
  'v4': v4.generate_presigned_post(b, 'boto/v4-\${filename}', Conditions=[['content-length-range', 1, 100]], ExpiresIn=300),
  'v2': v2.generate_presigned_post(b, 'boto/v2', Fields={'success_action_status': '201'}, Conditions=[{'success_action_status': '201'}], ExpiresIn=300),
}))
`,
    );
    assert.ok(out.v4.fields['x-amz-signature']);
    let r = await post(out.v4.url, out.v4.fields, { name: 'a.txt', data: 'boto v4' });
    assert.equal(r.status, 204, r.text);
    assert.equal(await content('boto/v4-a.txt'), 'boto v4');
    assert.ok(out.v2.fields.signature && out.v2.fields.AWSAccessKeyId);
    r = await post(out.v2.url, out.v2.fields, { data: 'boto v2' });
    assert.equal(r.status, 201, r.text);
    assert.equal(await content('boto/v2'), 'boto v2');
    r = await post(out.v2.url, { ...out.v2.fields, signature: 'AAAA' }, { data: 'boto v2' });
    assert.equal(xmlField(r.text, 'Code'), 'SignatureDoesNotMatch');
  });
});
