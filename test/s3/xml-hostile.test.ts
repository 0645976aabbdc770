// Hostile XML bodies against a real kumo: a DOCTYPE (entity expansion, external entities) or
// nesting deeper than any S3 document is MalformedXML (400), never a 500, never an expansion, and
// changes nothing. The XML that S3 documents must keep working: the five predefined entities and
// numeric character references decode; CDATA stays literal.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import {
  CreateMultipartUploadCommand,
  GetBucketTaggingCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutBucketTaggingCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { type TestKumo } from '../helpers/kumo.js';
import { createBucket, rawRequest, useS3, xmlField } from './support.js';

let kumo: TestKumo;
let s3: S3Client;
useS3((f) => ({ kumo, s3 } = f));

const newBucket = () => createBucket(s3, 'xml');

const md5 = (s: string) => createHash('md5').update(s).digest('base64');

/** Sends `body` with a correct Content-MD5 (so only the XML itself can be at fault). */
async function send(method: string, path: string, query: Record<string, string>, body: string) {
  const r = await rawRequest(kumo.url, { method, path, query, body, headers: { 'content-md5': md5(body) } });
  return { status: r.status, code: xmlField(r.body.toString(), 'Code'), text: r.body.toString() };
}

const LAUGHS =
  '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">' +
  Array.from({ length: 8 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i || ''};`.repeat(10)}">`).join('') +
  ']>';
const XXE = '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>';
const INTERNAL = '<!DOCTYPE r [<!ENTITY who "nobody">]>';

/** Each hostile document, built around an otherwise valid body whose text holds `value`. */
function hostile(doc: (value: string) => string): Record<string, string> {
  return {
    'billion laughs': LAUGHS + doc('&lol8;'),
    'external entity': XXE + doc('&xxe;'),
    'internal entity': INTERNAL + doc('&who;'),
    'bare DOCTYPE': '<!DOCTYPE x>' + doc('plain'),
    'DOCTYPE after the root': doc('plain') + '<!DOCTYPE x>',
    'an undeclared entity': doc('&nope;'),
    'nesting 10,000 deep': doc(`${'<a>'.repeat(10_000)}${'</a>'.repeat(10_000)}`),
  };
}

async function stillServing(): Promise<void> {
  await s3.send(new ListBucketsCommand({}));
}

describe('hostile XML is MalformedXML and changes nothing', () => {
  test('PutBucketTagging', async () => {
    const Bucket = await newBucket();
    const TagSet = [{ Key: 'k', Value: 'before' }];
    await s3.send(new PutBucketTaggingCommand({ Bucket, Tagging: { TagSet } }));
    const doc = (v: string) => `<Tagging><TagSet><Tag><Key>k</Key><Value>${v}</Value></Tag></TagSet></Tagging>`;
    for (const [name, body] of Object.entries(hostile(doc))) {
      const r = await send('PUT', `/${Bucket}`, { tagging: '' }, body);
      assert.deepEqual([r.status, r.code], [400, 'MalformedXML'], `${name}: ${r.text}`);
      assert.doesNotMatch(r.text, /root:|lollol|nobody/, name);
    }
    assert.deepEqual((await s3.send(new GetBucketTaggingCommand({ Bucket }))).TagSet, TagSet);
    await stillServing();
  });

  test('DeleteObjects', async () => {
    const Bucket = await newBucket();
    await s3.send(new PutObjectCommand({ Bucket, Key: 'plain', Body: 'x' }));
    const doc = (v: string) => `<Delete><Object><Key>${v}</Key></Object></Delete>`;
    for (const [name, body] of Object.entries(hostile(doc))) {
      const r = await send('POST', `/${Bucket}`, { delete: '' }, body);
      assert.deepEqual([r.status, r.code], [400, 'MalformedXML'], `${name}: ${r.text}`);
    }
    const left = await s3.send(new ListObjectsV2Command({ Bucket }));
    assert.deepEqual(left.Contents?.map((o) => o.Key), ['plain']);
    await stillServing();
  });

  test('CompleteMultipartUpload', async () => {
    const Bucket = await newBucket();
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key: 'mpu' }));
    const { ETag } = await s3.send(new UploadPartCommand({ Bucket, Key: 'mpu', UploadId, PartNumber: 1, Body: 'part' }));
    const doc = (v: string) => `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>${v === 'plain' ? ETag : v}</ETag></Part></CompleteMultipartUpload>`;
    for (const [name, body] of Object.entries(hostile(doc))) {
      const r = await send('POST', `/${Bucket}/mpu`, { uploadId: UploadId! }, body);
      assert.deepEqual([r.status, r.code], [400, 'MalformedXML'], `${name}: ${r.text}`);
    }
    // The upload is still open, with its part.
    assert.equal((await s3.send(new ListPartsCommand({ Bucket, Key: 'mpu', UploadId }))).Parts?.length, 1);
    await stillServing();
  });

  test('PutBucketCors', async () => {
    const Bucket = await newBucket();
    const doc = (v: string) =>
      `<CORSConfiguration><CORSRule><AllowedMethod>GET</AllowedMethod><AllowedOrigin>${v}</AllowedOrigin></CORSRule></CORSConfiguration>`;
    for (const [name, body] of Object.entries(hostile(doc))) {
      const r = await send('PUT', `/${Bucket}`, { cors: '' }, body);
      assert.deepEqual([r.status, r.code], [400, 'MalformedXML'], `${name}: ${r.text}`);
    }
    const none = await rawRequest(kumo.url, { method: 'GET', path: `/${Bucket}`, query: { cors: '' } });
    assert.equal(xmlField(none.body.toString(), 'Code'), 'NoSuchCORSConfiguration');
    await stillServing();
  });
});

describe('ordinary XML still decodes', () => {
  test('predefined entities and character references in a key; CDATA is taken literally', async () => {
    const Bucket = await newBucket();
    const keys = ['a&b <c> "d" \'e\'', 'AB\u00e9\u{1F600}', 'x&amp;y'];
    for (const Key of keys) await s3.send(new PutObjectCommand({ Bucket, Key, Body: 'x' }));
    const body =
      '<?xml version="1.0" encoding="UTF-8"?><Delete>' +
      '<Object><Key>a&amp;b &lt;c&gt; &quot;d&quot; &apos;e&apos;</Key></Object>' +
      '<Object><Key>&#65;&#x42;&#233;&#x1F600;</Key></Object>' +
      '<Object><Key><![CDATA[x&amp;y]]></Key></Object>' +
      '</Delete>';
    const r = await send('POST', `/${Bucket}`, { delete: '' }, body);
    assert.equal(r.status, 200, r.text);
    const left = await s3.send(new ListObjectsV2Command({ Bucket }));
    assert.deepEqual(left.Contents ?? [], [], 'every key was decoded to the name it was stored under');
  });
});
