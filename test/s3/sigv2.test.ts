// S3 Signature Version 2, as the aws CLI v1's `aws s3 presign`, boto3's presigned URLs and
// boto3 with signature_version='s3' produce it, and as hand-built signatures exercise it: S3's
// canonical string (sub-resources, x-amz-* headers, Date vs x-amz-date, the bucket of a virtual
// host), its error codes, the regions that still take it, and the setting that turns it off.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { CreateBucketCommand, GetObjectCommand, GetObjectTaggingCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { CREDENTIALS, startKumoForTest, uniqueName, type TestKumo } from '../helpers/kumo.js';
import { aws, boto3 } from '../helpers/python.js';
import { missing } from '../helpers/tools.js';
import { createBucket, rawRequest, s3Client, xmlField } from './support.js';

let kumo: TestKumo;
let s3: S3Client;
let Bucket: string;

before(async () => {
  kumo = await startKumoForTest();
  s3 = s3Client(kumo.url);
  Bucket = await createBucket(s3, 'sigv2');
  await s3.send(new PutObjectCommand({ Bucket, Key: 'dir/hello world.txt', Body: 'hello v2', Tagging: 't=1' }));
});
after(async () => {
  s3.destroy();
  await kumo.stop();
});

/** S3's StringToSign, written out here independently of kumo's. */
function sign(secret: string, lines: { method: string; md5?: string; type?: string; date: string; amz?: string[]; resource: string }): string {
  const amz = (lines.amz ?? []).map((l) => `${l}\n`).join('');
  const toSign = `${lines.method}\n${lines.md5 ?? ''}\n${lines.type ?? ''}\n${lines.date}\n${amz}${lines.resource}`;
  return createHmac('sha1', secret).update(toSign).digest('base64');
}

const v2 = (signature: string, key = CREDENTIALS.accessKeyId) => `AWS ${key}:${signature}`;

async function fetchText(url: string, init?: RequestInit): Promise<{ status: number; text: string }> {
  const r = await fetch(url, init);
  return { status: r.status, text: await r.text() };
}

describe('clients that sign with SigV2', () => {
  test('aws s3 presign (CLI v1) gives a URL that reads the object', { skip: missing('aws') }, async () => {
    const r = await aws(kumo.url, ['s3', 'presign', `s3://${Bucket}/dir/hello world.txt`, '--expires-in', '300']);
    assert.equal(r.code, 0, r.stderr);
    const url = r.stdout.trim();
    assert.match(url, /AWSAccessKeyId=test&Signature=.*&Expires=\d+/);
    assert.deepEqual(await fetchText(url), { status: 200, text: 'hello v2' });
  });

  test('boto3: presigned GET and PUT URLs (SigV2 by default) and signature_version="s3" calls', { skip: missing('boto3') }, async () => {
    const out = await boto3<{ get: string; put: string; listed: string[]; tags: string; deleted: string[]; acl: string }>(
      kumo.url,
      `
import json, os, boto3
from botocore.config import Config
s3 = boto3.client('s3', endpoint_url=os.environ['KUMO_URL'])
b = ${JSON.stringify(Bucket)}
print(json.dumps({
  'get': s3.generate_presigned_url('get_object', Params={'Bucket': b, 'Key': 'dir/hello world.txt'}, ExpiresIn=300),
  'put': s3.generate_presigned_url('put_object', Params={'Bucket': b, 'Key': 'from-boto-url'}, ExpiresIn=300),
}))
`,
    );
    assert.match(out.get, /AWSAccessKeyId=/);
    assert.deepEqual(await fetchText(out.get), { status: 200, text: 'hello v2' });
    // Bytes, not a string: fetch would add a Content-Type the URL was not signed for.
    assert.equal((await fetchText(out.put, { method: 'PUT', body: new TextEncoder().encode('put by url') })).status, 200);
    const got = await s3.send(new GetObjectCommand({ Bucket, Key: 'from-boto-url' }));
    assert.equal(await got.Body!.transformToString(), 'put by url');

    const calls = await boto3<{ body: string; listed: string[]; tags: string[]; deleted: string[]; owner: boolean }>(
      kumo.url,
      `
import json, os, boto3
from botocore.config import Config
s3 = boto3.client('s3', endpoint_url=os.environ['KUMO_URL'], config=Config(signature_version='s3', s3={'addressing_style': 'path'}))
b = ${JSON.stringify(Bucket)}
s3.put_object(Bucket=b, Key='v2/a b+c.txt', Body=b'signed v2', Metadata={'who': 'boto'}, ContentType='text/plain')
body = s3.get_object(Bucket=b, Key='v2/a b+c.txt', ResponseContentType='text/x-v2')['Body'].read().decode()
listed = [o['Key'] for o in s3.list_objects_v2(Bucket=b, Prefix='v2/')['Contents']]
s3.put_object_tagging(Bucket=b, Key='v2/a b+c.txt', Tagging={'TagSet': [{'Key': 'k', 'Value': 'v'}]})
tags = [t['Key'] for t in s3.get_object_tagging(Bucket=b, Key='v2/a b+c.txt')['TagSet']]
deleted = [d['Key'] for d in s3.delete_objects(Bucket=b, Delete={'Objects': [{'Key': 'v2/a b+c.txt'}]})['Deleted']]
owner = 'Owner' in s3.get_bucket_acl(Bucket=b)
print(json.dumps({'body': body, 'listed': listed, 'tags': tags, 'deleted': deleted, 'owner': owner}))
`,
    );
    assert.deepEqual(calls, { body: 'signed v2', listed: ['v2/a b+c.txt'], tags: ['k'], deleted: ['v2/a b+c.txt'], owner: true });
  });
});

describe('hand-built SigV2', () => {
  test('header form: Date, x-amz-* headers and sub-resources are signed; x-amz-date empties the Date line', async () => {
    const date = new Date().toUTCString();
    const path = `/${Bucket}/dir/hello%20world.txt`;
    const plain = await rawRequest(kumo.url, {
      method: 'GET',
      path,
      credentials: null,
      headers: { date, authorization: v2(sign('test', { method: 'GET', date, resource: path })) },
    });
    assert.equal(plain.status, 200, plain.body.toString());
    assert.equal(plain.body.toString(), 'hello v2');

    const amzDate = new Date().toUTCString();
    const tagging = await rawRequest(kumo.url, {
      method: 'GET',
      path: `${path}?tagging`,
      credentials: null,
      headers: {
        'x-amz-date': amzDate,
        'x-amz-meta-ignored': ' spaced ',
        authorization: v2(sign('test', { method: 'GET', date: '', amz: [`x-amz-date:${amzDate}`, 'x-amz-meta-ignored:spaced'], resource: `${path}?tagging` })),
      },
    });
    assert.equal(tagging.status, 200, tagging.body.toString());
    assert.match(tagging.body.toString(), /<Key>t<\/Key>/);
  });

  test('a PUT with Content-MD5 and Content-Type, and a virtual-host request signed with its bucket first', async () => {
    const date = new Date().toUTCString();
    const body = 'md5 body';
    const md5 = (await import('node:crypto')).createHash('md5').update(body).digest('base64');
    const put = await rawRequest(kumo.url, {
      method: 'PUT',
      path: `/${Bucket}/typed`,
      body,
      credentials: null,
      headers: {
        date,
        'content-md5': md5,
        'content-type': 'text/plain',
        authorization: v2(sign('test', { method: 'PUT', md5, type: 'text/plain', date, resource: `/${Bucket}/typed` })),
      },
    });
    assert.equal(put.status, 200, put.body.toString());
    const host = `${Bucket}.s3.localhost:${new URL(kumo.url).port}`;
    const vhost = await rawRequest(kumo.url, {
      method: 'GET',
      path: '/typed',
      host,
      credentials: null,
      headers: { date, authorization: v2(sign('test', { method: 'GET', date, resource: `/${Bucket}/typed` })) },
    });
    assert.equal(vhost.status, 200, vhost.body.toString());
    assert.equal(vhost.body.toString(), body);
    assert.equal(vhost.headers['content-type'], 'text/plain');
  });

  test("S3's errors: wrong secret, unknown key, expired URL, skewed or missing Date, malformed header", async () => {
    const date = new Date().toUTCString();
    const path = `/${Bucket}/dir/hello%20world.txt`;
    const wrong = await rawRequest(kumo.url, {
      method: 'GET', path, credentials: null,
      headers: { date, authorization: v2(sign('not-the-secret', { method: 'GET', date, resource: path })) },
    });
    assert.equal(wrong.status, 403);
    assert.equal(xmlField(wrong.body.toString(), 'Code'), 'SignatureDoesNotMatch');
    assert.equal(xmlField(wrong.body.toString(), 'StringToSign'), `GET\n\n\n${date}\n${path}`);
    assert.equal(xmlField(wrong.body.toString(), 'AWSAccessKeyId'), 'test');

    const unknown = await rawRequest(kumo.url, {
      method: 'GET', path, credentials: null,
      headers: { date, authorization: v2(sign('test', { method: 'GET', date, resource: path }), 'NOSUCHKEY') },
    });
    assert.deepEqual([unknown.status, xmlField(unknown.body.toString(), 'Code')], [403, 'InvalidAccessKeyId']);

    const past = Math.floor(Date.now() / 1000) - 10;
    const expired = await fetchText(`${kumo.url}${path}?AWSAccessKeyId=test&Expires=${past}&Signature=${encodeURIComponent(sign('test', { method: 'GET', date: String(past), resource: path }))}`);
    assert.equal(expired.status, 403);
    assert.equal(xmlField(expired.text, 'Code'), 'AccessDenied');
    assert.equal(xmlField(expired.text, 'Message'), 'Request has expired');

    const future = Math.floor(Date.now() / 1000) + 60;
    const tampered = await fetchText(`${kumo.url}${path}?AWSAccessKeyId=test&Expires=${future + 1}&Signature=${encodeURIComponent(sign('test', { method: 'GET', date: String(future), resource: path }))}`);
    assert.deepEqual([tampered.status, xmlField(tampered.text, 'Code')], [403, 'SignatureDoesNotMatch']);
    const good = await fetchText(`${kumo.url}${path}?AWSAccessKeyId=test&Expires=${future}&Signature=${encodeURIComponent(sign('test', { method: 'GET', date: String(future), resource: path }))}`);
    assert.deepEqual(good, { status: 200, text: 'hello v2' });
    const partial = await fetchText(`${kumo.url}${path}?AWSAccessKeyId=test&Signature=abc`);
    assert.deepEqual([partial.status, xmlField(partial.text, 'Code')], [403, 'AccessDenied']);

    const old = new Date(Date.now() - 20 * 60_000).toUTCString();
    const skewed = await rawRequest(kumo.url, {
      method: 'GET', path, credentials: null,
      headers: { date: old, authorization: v2(sign('test', { method: 'GET', date: old, resource: path })) },
    });
    assert.deepEqual([skewed.status, xmlField(skewed.body.toString(), 'Code')], [403, 'RequestTimeTooSkewed']);

    const malformed = await rawRequest(kumo.url, { method: 'GET', path, credentials: null, headers: { date, authorization: 'AWS test-without-colon' } });
    assert.deepEqual([malformed.status, xmlField(malformed.body.toString(), 'Code')], [400, 'InvalidArgument']);
  });

  test('an SSE-KMS object is served to SigV4 only, as on S3', async () => {
    await s3.send(new PutObjectCommand({ Bucket, Key: 'kms', Body: 'x', ServerSideEncryption: 'aws:kms' }));
    const date = new Date().toUTCString();
    const r = await rawRequest(kumo.url, {
      method: 'GET', path: `/${Bucket}/kms`, credentials: null,
      headers: { date, authorization: v2(sign('test', { method: 'GET', date, resource: `/${Bucket}/kms` })) },
    });
    assert.deepEqual([r.status, xmlField(r.body.toString(), 'Code')], [400, 'InvalidArgument']);
    assert.match(xmlField(r.body.toString(), 'Message') ?? '', /Signature Version 4/);
  });

  test('a bad signature changes nothing', async () => {
    const date = new Date().toUTCString();
    const r = await rawRequest(kumo.url, {
      method: 'PUT', path: `/${Bucket}/never`, body: 'x', credentials: null,
      headers: { date, authorization: v2(sign('wrong', { method: 'PUT', date, resource: `/${Bucket}/never` })) },
    });
    assert.equal(r.status, 403);
    const head = await rawRequest(kumo.url, { method: 'HEAD', path: `/${Bucket}/never` });
    assert.equal(head.status, 404);
  });
});

describe('where SigV2 is taken', () => {
  test('a bucket in a region launched since 2014 refuses SigV2: Please use AWS4-HMAC-SHA256', async () => {
    const newer = uniqueName('sigv2-fra');
    const fra = s3Client(kumo.url, { region: 'eu-central-1' });
    try {
      await fra.send(new CreateBucketCommand({ Bucket: newer, CreateBucketConfiguration: { LocationConstraint: 'eu-central-1' } }));
      const date = new Date().toUTCString();
      const r = await rawRequest(kumo.url, {
        method: 'PUT', path: `/${newer}/k`, body: 'x', credentials: null,
        headers: { date, authorization: v2(sign('test', { method: 'PUT', date, resource: `/${newer}/k` })) },
      });
      assert.equal(r.status, 400);
      assert.equal(xmlField(r.body.toString(), 'Code'), 'InvalidRequest');
      assert.match(xmlField(r.body.toString(), 'Message') ?? '', /Please use AWS4-HMAC-SHA256/);
    } finally {
      fra.destroy();
    }
  });

  test('KUMO_S3_SIGV2=off (s3SigV2: false) refuses it everywhere; SigV4 still works', async () => {
    const strict = await startKumoForTest({ s3SigV2: false });
    const client = s3Client(strict.url);
    try {
      const b = await createBucket(client, 'strict');
      await client.send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: 'x' }));
      const date = new Date().toUTCString();
      const r = await rawRequest(strict.url, {
        method: 'GET', path: `/${b}/k`, credentials: null,
        headers: { date, authorization: v2(sign('test', { method: 'GET', date, resource: `/${b}/k` })) },
      });
      assert.deepEqual([r.status, xmlField(r.body.toString(), 'Code')], [400, 'InvalidRequest']);
      assert.equal((await client.send(new GetObjectTaggingCommand({ Bucket: b, Key: 'k' }))).TagSet?.length, 0);
    } finally {
      client.destroy();
      await strict.stop();
    }
  });
});
