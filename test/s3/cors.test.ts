// Bucket CORS against a real kumo: the configuration through the SDK (validation included), and
// what a browser sees, sent with fetch(): preflight OPTIONS answers and refusals, and the
// Access-Control-* headers on actual responses.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  CreateBucketCommand,
  DeleteBucketCorsCommand,
  GetBucketCorsCommand,
  GetObjectCommand,
  PutBucketCorsCommand,
  PutObjectCommand,
  type CORSRule,
  type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { REGION, uniqueName, type TestKumo } from '../helpers/kumo.js';
import { awsJson } from '../helpers/python.js';
import { failure, xmlField, useS3 } from './support.js';

let kumo: TestKumo;
let s3: S3Client;

useS3((f) => ({ kumo, s3 } = f));

const RULES: CORSRule[] = [
  {
    ID: 'app',
    AllowedOrigins: ['https://app.example.com', 'https://*.example.org'],
    AllowedMethods: ['GET', 'PUT'],
    AllowedHeaders: ['content-type', 'x-amz-*'],
    ExposeHeaders: ['ETag', 'x-amz-request-id'],
    MaxAgeSeconds: 600,
  },
  { AllowedOrigins: ['*'], AllowedMethods: ['HEAD'] },
];

async function corsBucket(): Promise<string> {
  const Bucket = uniqueName('cors');
  await s3.send(new CreateBucketCommand({ Bucket, CreateBucketConfiguration: { LocationConstraint: REGION } }));
  await s3.send(new PutBucketCorsCommand({ Bucket, CORSConfiguration: { CORSRules: RULES } }));
  return Bucket;
}

const preflight = (path: string, headers: Record<string, string>) => fetch(`${kumo.url}/${path}`, { method: 'OPTIONS', headers });

describe('CORS configuration', () => {
  test('Put, Get and Delete round-trip; without one it is NoSuchCORSConfiguration', async () => {
    const Bucket = await corsBucket();
    const got = await s3.send(new GetBucketCorsCommand({ Bucket }));
    assert.deepEqual(got.CORSRules, RULES);
    await s3.send(new DeleteBucketCorsCommand({ Bucket }));
    const f = await failure(s3.send(new GetBucketCorsCommand({ Bucket })));
    assert.deepEqual([f.name, f.status], ['NoSuchCORSConfiguration', 404]);
  });

  test('invalid rules are refused and the stored configuration stays', async () => {
    const Bucket = await corsBucket();
    const bad: CORSRule[][] = [
      [{ AllowedOrigins: ['*'], AllowedMethods: ['PATCH'] }],
      [{ AllowedOrigins: ['https://*.*.example.com'], AllowedMethods: ['GET'] }],
      [{ AllowedOrigins: ['*'], AllowedMethods: ['GET'], ExposeHeaders: ['*'] }],
    ];
    for (const CORSRules of bad) {
      const f = await failure(s3.send(new PutBucketCorsCommand({ Bucket, CORSConfiguration: { CORSRules } })));
      assert.deepEqual([f.name, f.status], ['InvalidRequest', 400], JSON.stringify(CORSRules));
    }
    assert.deepEqual((await s3.send(new GetBucketCorsCommand({ Bucket }))).CORSRules, RULES);
  });
});

describe('preflight (OPTIONS)', () => {
  test('a matching request gets the rule’s Access-Control-* headers', async () => {
    const Bucket = await corsBucket();
    const res = await preflight(`${Bucket}/photos/cat.jpg`, {
      Origin: 'https://app.example.com',
      'Access-Control-Request-Method': 'PUT',
      'Access-Control-Request-Headers': 'Content-Type, X-Amz-Date',
    });
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal(res.headers.get('access-control-allow-origin'), 'https://app.example.com');
    assert.equal(res.headers.get('access-control-allow-methods'), 'GET, PUT');
    assert.equal(res.headers.get('access-control-allow-headers'), 'content-type, x-amz-date');
    assert.equal(res.headers.get('access-control-expose-headers'), 'ETag, x-amz-request-id');
    assert.equal(res.headers.get('access-control-max-age'), '600');
    assert.equal(res.headers.get('access-control-allow-credentials'), 'true');

    const wildcard = await preflight(`${Bucket}/x`, { Origin: 'https://cdn.example.org', 'Access-Control-Request-Method': 'GET' });
    assert.equal(wildcard.status, 200);
    const any = await preflight(`${Bucket}/x`, { Origin: 'http://anywhere.test', 'Access-Control-Request-Method': 'HEAD' });
    assert.equal(any.status, 200);
    assert.equal(any.headers.get('access-control-allow-origin'), '*');
  });

  test('an origin, method or header no rule allows is 403 CORSResponse', async () => {
    const Bucket = await corsBucket();
    const cases: Record<string, string>[] = [
      { Origin: 'https://evil.example.net', 'Access-Control-Request-Method': 'GET' },
      { Origin: 'https://app.example.com', 'Access-Control-Request-Method': 'DELETE' },
      { Origin: 'https://app.example.com', 'Access-Control-Request-Method': 'PUT', 'Access-Control-Request-Headers': 'authorization' },
    ];
    for (const headers of cases) {
      const res = await preflight(`${Bucket}/k`, headers);
      assert.equal(res.status, 403, JSON.stringify(headers));
      const body = await res.text();
      assert.equal(xmlField(body, 'Code'), 'AccessForbidden');
      assert.match(xmlField(body, 'Message') ?? '', /^CORSResponse: This CORS request is not allowed/);
      assert.equal(res.headers.get('access-control-allow-origin'), null);
    }
  });

  test('no Origin is 400; a bucket without CORS is 403', async () => {
    const Bucket = await corsBucket();
    const noOrigin = await preflight(`${Bucket}/k`, { 'Access-Control-Request-Method': 'GET' });
    assert.equal(noOrigin.status, 400);
    assert.equal(xmlField(await noOrigin.text(), 'Code'), 'BadRequest');
    await s3.send(new DeleteBucketCorsCommand({ Bucket }));
    const off = await preflight(`${Bucket}/k`, { Origin: 'https://app.example.com', 'Access-Control-Request-Method': 'GET' });
    assert.equal(off.status, 403);
    assert.equal(xmlField(await off.text(), 'Message'), 'CORSResponse: CORS is not enabled for this bucket.');
  });
});

describe('actual requests', () => {
  test('a response to an allowed Origin carries Access-Control-Allow-Origin; others do not', async () => {
    const Bucket = await corsBucket();
    await s3.send(new PutObjectCommand({ Bucket, Key: 'data.json', Body: '{"ok":true}' }));
    const url = await getSignedUrl(s3, new GetObjectCommand({ Bucket, Key: 'data.json' }), { expiresIn: 300 });
    const res = await fetch(url, { headers: { Origin: 'https://app.example.com' } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('access-control-allow-origin'), 'https://app.example.com');
    assert.equal(res.headers.get('access-control-expose-headers'), 'ETag, x-amz-request-id');
    assert.equal(await res.text(), '{"ok":true}');
    const foreign = await fetch(url, { headers: { Origin: 'https://evil.example.net' } });
    assert.equal(foreign.status, 200);
    assert.equal(foreign.headers.get('access-control-allow-origin'), null);
  });
});

describe('the aws CLI', () => {
  test('put-bucket-cors and get-bucket-cors', async () => {
    const Bucket = uniqueName('cors-cli');
    await s3.send(new CreateBucketCommand({ Bucket, CreateBucketConfiguration: { LocationConstraint: REGION } }));
    const config = { CORSRules: [{ AllowedOrigins: ['https://cli.example.com'], AllowedMethods: ['GET'], MaxAgeSeconds: 60 }] };
    await awsJson(kumo.url, ['s3api', 'put-bucket-cors', '--bucket', Bucket, '--cors-configuration', JSON.stringify(config)]);
    assert.deepEqual(await awsJson(kumo.url, ['s3api', 'get-bucket-cors', '--bucket', Bucket]), config);
    const res = await preflight(`${Bucket}/x`, { Origin: 'https://cli.example.com', 'Access-Control-Request-Method': 'GET' });
    assert.equal(res.headers.get('access-control-max-age'), '60');
  });
});
