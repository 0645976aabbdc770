// ListObjectsV2 through @aws-sdk/client-s3 v3 against a real kumo: prefixes and delimiters,
// paging that visits every key exactly once, StartAfter, encoding-type=url and empty buckets.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { CreateBucketCommand, ListObjectsV2Command, paginateListObjectsV2, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { REGION, uniqueName, type TestKumo } from '../helpers/kumo.js';
import { failure, rawRequest, xmlField, useS3 } from './support.js';

let kumo: TestKumo;
let s3: S3Client;

useS3((f) => ({ kumo, s3 } = f));

async function bucketWith(keys: string[]): Promise<string> {
  const Bucket = uniqueName('list');
  await s3.send(new CreateBucketCommand({ Bucket, CreateBucketConfiguration: { LocationConstraint: REGION } }));
  for (const Key of keys) await s3.send(new PutObjectCommand({ Bucket, Key, Body: Key }));
  return Bucket;
}

const byteOrder = (keys: string[]) => [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));

const TREE = ['photos/2023/jan/a.jpg', 'photos/2023/feb/b.jpg', 'photos/2024/c.jpg', 'photos/index.html', 'docs/readme.md', 'root.txt', 'zeta'];

describe('prefix and delimiter', () => {
  test('a delimiter folds keys into CommonPrefixes, level by level', async () => {
    const Bucket = await bucketWith(TREE);
    const top = await s3.send(new ListObjectsV2Command({ Bucket, Delimiter: '/' }));
    assert.deepEqual(top.Contents?.map((o) => o.Key), ['root.txt', 'zeta']);
    assert.deepEqual(top.CommonPrefixes?.map((p) => p.Prefix), ['docs/', 'photos/']);
    assert.equal(top.KeyCount, 4);
    assert.equal(top.Delimiter, '/');
    assert.equal(top.IsTruncated, false);

    const photos = await s3.send(new ListObjectsV2Command({ Bucket, Prefix: 'photos/', Delimiter: '/' }));
    assert.deepEqual(photos.Contents?.map((o) => o.Key), ['photos/index.html']);
    assert.deepEqual(photos.CommonPrefixes?.map((p) => p.Prefix), ['photos/2023/', 'photos/2024/']);
    assert.equal(photos.Prefix, 'photos/');

    const deeper = await s3.send(new ListObjectsV2Command({ Bucket, Prefix: 'photos/2023/', Delimiter: '/' }));
    assert.equal(deeper.Contents, undefined);
    assert.deepEqual(deeper.CommonPrefixes?.map((p) => p.Prefix), ['photos/2023/feb/', 'photos/2023/jan/']);
  });

  test('a prefix alone lists everything under it, with sizes, ETags and dates', async () => {
    const Bucket = await bucketWith(TREE);
    const res = await s3.send(new ListObjectsV2Command({ Bucket, Prefix: 'photos/2023' }));
    assert.deepEqual(res.Contents?.map((o) => o.Key), ['photos/2023/feb/b.jpg', 'photos/2023/jan/a.jpg']);
    for (const o of res.Contents!) {
      assert.equal(o.Size, Buffer.byteLength(o.Key!));
      assert.match(o.ETag!, /^"[0-9a-f]{32}"$/);
      assert.ok(o.LastModified instanceof Date);
      assert.equal(o.StorageClass, 'STANDARD');
      assert.equal(o.Owner, undefined, 'Owner only with FetchOwner');
    }
    const owned = await s3.send(new ListObjectsV2Command({ Bucket, Prefix: 'zeta', FetchOwner: true }));
    assert.match(owned.Contents![0].Owner!.ID!, /^[0-9a-f]{64}$/);
    const none = await s3.send(new ListObjectsV2Command({ Bucket, Prefix: 'nothing/' }));
    assert.equal(none.KeyCount, 0);
    assert.equal(none.Contents, undefined);
  });

  test('a multi-character delimiter works like a single one', async () => {
    const Bucket = await bucketWith(['a--b--c', 'a--d', 'e']);
    const res = await s3.send(new ListObjectsV2Command({ Bucket, Delimiter: '--' }));
    assert.deepEqual(res.CommonPrefixes?.map((p) => p.Prefix), ['a--']);
    assert.deepEqual(res.Contents?.map((o) => o.Key), ['e']);
  });
});

describe('paging', () => {
  const many = Array.from({ length: 23 }, (_, i) => `item-${String(i).padStart(3, '0')}`);

  test('MaxKeys pages with ContinuationToken visit each key exactly once, in order', async () => {
    const Bucket = await bucketWith(many);
    const seen: string[] = [];
    let pages = 0;
    for await (const page of paginateListObjectsV2({ client: s3, pageSize: 5 }, { Bucket })) {
      pages++;
      assert.ok(page.KeyCount! <= 5);
      assert.equal(page.MaxKeys, 5);
      assert.equal(page.IsTruncated, page.NextContinuationToken !== undefined);
      seen.push(...(page.Contents ?? []).map((o) => o.Key!));
    }
    assert.equal(pages, 5);
    assert.deepEqual(seen, many);
  });

  test('paging with a delimiter counts prefixes and never repeats one', async () => {
    const keys = ['a/1', 'a/2', 'a/3', 'b', 'c/1', 'c/2', 'd', 'e/x/y', 'f'];
    const Bucket = await bucketWith(keys);
    const entries: string[] = [];
    for await (const page of paginateListObjectsV2({ client: s3, pageSize: 2 }, { Bucket, Delimiter: '/' })) {
      assert.ok(page.KeyCount! <= 2);
      entries.push(...(page.Contents ?? []).map((o) => o.Key!), ...(page.CommonPrefixes ?? []).map((p) => p.Prefix!));
    }
    assert.deepEqual(entries.sort(), ['a/', 'b', 'c/', 'd', 'e/', 'f']);
  });

  test('StartAfter begins after the given key, and combines with paging', async () => {
    const Bucket = await bucketWith(many);
    const res = await s3.send(new ListObjectsV2Command({ Bucket, StartAfter: 'item-019' }));
    assert.deepEqual(res.Contents?.map((o) => o.Key), ['item-020', 'item-021', 'item-022']);
    assert.equal(res.StartAfter, 'item-019');
    const between = await s3.send(new ListObjectsV2Command({ Bucket, StartAfter: 'item-0105' }));
    assert.equal(between.Contents?.[0].Key, 'item-011');
    const seen: string[] = [];
    for await (const page of paginateListObjectsV2({ client: s3, pageSize: 4 }, { Bucket, StartAfter: 'item-010' })) {
      seen.push(...(page.Contents ?? []).map((o) => o.Key!));
    }
    assert.deepEqual(seen, many.slice(11));
  });

  test('MaxKeys 0 lists nothing and is not truncated; a bad token is InvalidArgument', async () => {
    const Bucket = await bucketWith(['x', 'y']);
    const zero = await s3.send(new ListObjectsV2Command({ Bucket, MaxKeys: 0 }));
    assert.equal(zero.KeyCount, 0);
    assert.equal(zero.IsTruncated, false);
    const bad = await failure(s3.send(new ListObjectsV2Command({ Bucket, ContinuationToken: 'not-a-token' })));
    assert.equal(bad.name, 'InvalidArgument');
    assert.equal(bad.status, 400);
    const negative = await failure(s3.send(new ListObjectsV2Command({ Bucket, MaxKeys: -1 })));
    assert.equal(negative.name, 'InvalidArgument');
  });

  test('MaxKeys above 1000 is capped at 1000 per page', async () => {
    const Bucket = await bucketWith(['only']);
    const res = await s3.send(new ListObjectsV2Command({ Bucket, MaxKeys: 5000 }));
    assert.equal(res.KeyCount, 1);
  });
});

describe('encoding and edge cases', () => {
  const ODD = ['a b', 'a+b', '100%', 'ü/x', 'tab\there', 'bell\u0007', 'q?x=1&y', '日本/語'];

  test('encoding-type=url encodes keys, prefixes and delimiters the way S3 does', async () => {
    const Bucket = await bucketWith(ODD);
    const res = await s3.send(new ListObjectsV2Command({ Bucket, EncodingType: 'url' }));
    assert.equal(res.EncodingType, 'url');
    const expected: Record<string, string> = {
      'a b': 'a+b',
      'a+b': 'a%2Bb',
      '100%': '100%25',
      'ü/x': '%C3%BC/x',
      'tab\there': 'tab%09here',
      'bell\u0007': 'bell%07',
      'q?x=1&y': 'q%3Fx%3D1%26y',
      '日本/語': '%E6%97%A5%E6%9C%AC/%E8%AA%9E',
    };
    assert.deepEqual(res.Contents?.map((o) => o.Key), byteOrder(ODD).map((k) => expected[k]));
    // What a client gets by decoding (botocore uses unquote_plus) is the key that was stored.
    assert.deepEqual(res.Contents?.map((o) => decodeURIComponent(o.Key!.replace(/\+/g, ' '))), byteOrder(ODD));

    const grouped = await s3.send(new ListObjectsV2Command({ Bucket, EncodingType: 'url', Delimiter: '/', Prefix: '日本/' }));
    assert.equal(grouped.Prefix, '%E6%97%A5%E6%9C%AC/');
    assert.equal(grouped.Delimiter, '/');
    const top = await s3.send(new ListObjectsV2Command({ Bucket, EncodingType: 'url', Delimiter: '/' }));
    assert.deepEqual(top.CommonPrefixes?.map((p) => p.Prefix), ['%C3%BC/', '%E6%97%A5%E6%9C%AC/']);
  });

  test('keys come back unencoded without encoding-type', async () => {
    const Bucket = await bucketWith(ODD.filter((k) => !/[\u0000-\u001f]/.test(k)));
    const res = await s3.send(new ListObjectsV2Command({ Bucket }));
    assert.deepEqual(res.Contents?.map((o) => o.Key), byteOrder(ODD.filter((k) => !/[\u0000-\u001f]/.test(k))));
  });

  test('an unknown encoding-type is InvalidArgument', async () => {
    const Bucket = await bucketWith([]);
    const res = await rawRequest(kumo.url, { method: 'GET', path: `/${Bucket}`, query: { 'list-type': '2', 'encoding-type': 'base64' } });
    assert.equal(res.status, 400);
    assert.equal(xmlField(res.body.toString(), 'Code'), 'InvalidArgument');
  });

  test('an empty bucket lists nothing: KeyCount 0, not truncated', async () => {
    const Bucket = await bucketWith([]);
    const res = await s3.send(new ListObjectsV2Command({ Bucket }));
    assert.equal(res.KeyCount, 0);
    assert.equal(res.IsTruncated, false);
    assert.equal(res.Contents, undefined);
    assert.equal(res.Name, Bucket);
    assert.equal(res.MaxKeys, 1000);
  });
});
