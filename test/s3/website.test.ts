// Static website hosting against a real kumo: anonymous requests to <bucket>.s3-website.localhost
// (Host header, connection to kumo's loopback port) get index and error documents when the
// bucket's policy makes them public, redirects from the configuration, and S3's HTML error pages.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  CreateBucketCommand,
  DeletePublicAccessBlockCommand,
  PutBucketPolicyCommand,
  PutBucketWebsiteCommand,
  PutObjectCommand,
  type S3Client,
  type WebsiteConfiguration,
} from '@aws-sdk/client-s3';
import { REGION, uniqueName, type TestKumo } from '../helpers/kumo.js';
import { aws, awsJson } from '../helpers/python.js';
import { rawRequest, useS3 } from './support.js';

let kumo: TestKumo;
let s3: S3Client;

useS3((f) => ({ kumo, s3 } = f));

const SITE: WebsiteConfiguration = {
  IndexDocument: { Suffix: 'index.html' },
  ErrorDocument: { Key: 'error.html' },
  RoutingRules: [{ Condition: { KeyPrefixEquals: 'old/' }, Redirect: { ReplaceKeyPrefixWith: 'new/' } }],
};

async function site(opts: { publicRead?: boolean; config?: WebsiteConfiguration } = {}): Promise<string> {
  const Bucket = uniqueName('www');
  await s3.send(new CreateBucketCommand({ Bucket, CreateBucketConfiguration: { LocationConstraint: REGION } }));
  const files: Record<string, string> = { 'index.html': '<h1>home</h1>', 'error.html': '<h1>oops</h1>', 'docs/index.html': '<h1>docs</h1>', 'about.html': 'about' };
  for (const [Key, Body] of Object.entries(files)) await s3.send(new PutObjectCommand({ Bucket, Key, Body, ContentType: 'text/html' }));
  if (opts.publicRead !== false) {
    await s3.send(new DeletePublicAccessBlockCommand({ Bucket }));
    const Policy = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${Bucket}/*` }] });
    await s3.send(new PutBucketPolicyCommand({ Bucket, Policy }));
  }
  await s3.send(new PutBucketWebsiteCommand({ Bucket, WebsiteConfiguration: opts.config ?? SITE }));
  return Bucket;
}

const port = () => new URL(kumo.url).port;
const get = (bucket: string, path: string, method = 'GET') =>
  rawRequest(kumo.url, { method, path, host: `${bucket}.s3-website.localhost:${port()}`, credentials: null });

describe('website endpoint', () => {
  test('serves index documents for the root and for "directories", and plain documents by key', async () => {
    const Bucket = await site();
    const home = await get(Bucket, '/');
    assert.equal(home.status, 200);
    assert.equal(home.headers['content-type'], 'text/html');
    assert.equal(home.body.toString(), '<h1>home</h1>');
    assert.equal((await get(Bucket, '/docs/')).body.toString(), '<h1>docs</h1>');
    assert.equal((await get(Bucket, '/about.html')).body.toString(), 'about');
    const bare = await get(Bucket, '/docs');
    assert.equal(bare.status, 302);
    assert.equal(bare.headers.location, '/docs/');
    const head = await get(Bucket, '/', 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.body.length, 0);
  });

  test('a missing key gets the error document: 403 without public s3:ListBucket, 404 with it; routing rules redirect', async () => {
    const Bucket = await site();
    const hidden = await get(Bucket, '/nope.html');
    assert.equal(hidden.status, 403);
    assert.equal(hidden.body.toString(), '<h1>oops</h1>');
    const Policy = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${Bucket}/*` },
        { Effect: 'Allow', Principal: '*', Action: 's3:ListBucket', Resource: `arn:aws:s3:::${Bucket}` },
      ],
    });
    await s3.send(new PutBucketPolicyCommand({ Bucket, Policy }));
    const missing = await get(Bucket, '/nope.html');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.toString(), '<h1>oops</h1>');
    const moved = await get(Bucket, '/old/page.html');
    assert.equal(moved.status, 301);
    assert.equal(moved.headers.location, `http://${Bucket}.s3-website.localhost:${port()}/new/page.html`);
  });

  test('without public read the site is 403, in S3’s HTML error page when there is no readable error document', async () => {
    const Bucket = await site({ publicRead: false });
    const res = await get(Bucket, '/');
    assert.equal(res.status, 403);
    assert.match(res.headers['content-type'] as string, /^text\/html/);
    assert.match(res.body.toString(), /<li>Code: AccessDenied<\/li>/);
  });

  test('RedirectAllRequestsTo, unknown buckets, buckets without a website, and methods other than GET/HEAD', async () => {
    const Bucket = await site({ config: { RedirectAllRequestsTo: { HostName: 'example.com', Protocol: 'https' } } });
    const r = await get(Bucket, '/a/b.html');
    assert.equal(r.status, 301);
    assert.equal(r.headers.location, 'https://example.com/a/b.html');
    const nobucket = await get(uniqueName('absent'), '/');
    assert.equal(nobucket.status, 404);
    assert.match(nobucket.body.toString(), /Code: NoSuchBucket/);
    const plain = uniqueName('plain');
    await s3.send(new CreateBucketCommand({ Bucket: plain, CreateBucketConfiguration: { LocationConstraint: REGION } }));
    const nosite = await get(plain, '/');
    assert.equal(nosite.status, 404);
    assert.match(nosite.body.toString(), /Code: NoSuchWebsiteConfiguration/);
    const post = await get(Bucket, '/', 'POST');
    assert.equal(post.status, 405);
  });
});

describe('the aws CLI', () => {
  test('aws s3 website configures a bucket the endpoint then serves', async () => {
    const Bucket = await site({ config: { IndexDocument: { Suffix: 'about.html' } } });
    const r = await aws(kumo.url, ['s3', 'website', `s3://${Bucket}`, '--index-document', 'index.html', '--error-document', 'error.html']);
    assert.equal(r.code, 0, r.stderr);
    const got = await awsJson<{ IndexDocument: { Suffix: string }; ErrorDocument: { Key: string } }>(kumo.url, ['s3api', 'get-bucket-website', '--bucket', Bucket]);
    assert.deepEqual([got.IndexDocument.Suffix, got.ErrorDocument.Key], ['index.html', 'error.html']);
    assert.equal((await get(Bucket, '/')).body.toString(), '<h1>home</h1>');
  });
});

describe('x-amz-website-redirect-location', () => {
  test('an object that names a redirect sends website readers there; the REST endpoint answers the header', async () => {
    const Bucket = await site();
    await s3.send(new PutObjectCommand({ Bucket, Key: 'moved.html', Body: 'old', WebsiteRedirectLocation: '/about.html' }));
    await s3.send(new PutObjectCommand({ Bucket, Key: 'away.html', Body: 'old', WebsiteRedirectLocation: 'https://example.com/elsewhere' }));
    const moved = await get(Bucket, '/moved.html');
    assert.deepEqual([moved.status, moved.headers.location], [301, '/about.html']);
    assert.equal((await get(Bucket, '/away.html')).headers.location, 'https://example.com/elsewhere');
    const { HeadObjectCommand, CopyObjectCommand } = await import('@aws-sdk/client-s3');
    assert.equal((await s3.send(new HeadObjectCommand({ Bucket, Key: 'moved.html' }))).WebsiteRedirectLocation, '/about.html');
    // A copy never takes its source's redirect, only the one its request names.
    await s3.send(new CopyObjectCommand({ Bucket, Key: 'copy.html', CopySource: `${Bucket}/moved.html` }));
    assert.equal((await s3.send(new HeadObjectCommand({ Bucket, Key: 'copy.html' }))).WebsiteRedirectLocation, undefined);
    await s3.send(new CopyObjectCommand({ Bucket, Key: 'copy.html', CopySource: `${Bucket}/moved.html`, WebsiteRedirectLocation: '/index.html' }));
    assert.equal((await s3.send(new HeadObjectCommand({ Bucket, Key: 'copy.html' }))).WebsiteRedirectLocation, '/index.html');
  });

  test('a location without /, http:// or https:// is InvalidArgument (aws CLI)', async () => {
    const Bucket = await site();
    const r = await aws(kumo.url, ['s3api', 'put-object', '--bucket', Bucket, '--key', 'bad.html', '--website-redirect-location', 'elsewhere']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /InvalidArgument/);
    const ok = await awsJson<{ ETag: string }>(kumo.url, ['s3api', 'put-object', '--bucket', Bucket, '--key', 'good.html', '--website-redirect-location', '/index.html']);
    assert.ok(ok.ETag);
  });
});
