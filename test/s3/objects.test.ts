// S3 objects through @aws-sdk/client-s3 v3 against a real kumo: what is stored comes back byte
// for byte with its metadata, keys are data (never paths), and the size limits answer AWS's codes.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
  PutObjectLegalHoldCommand,
  RestoreObjectCommand,
} from '@aws-sdk/client-s3';
import { uniqueName, type TestKumo } from '../helpers/kumo.js';
import { createBucket, failure, rawRequest, useS3 } from './support.js';

let kumo: TestKumo;
let s3: S3Client;

useS3((f) => ({ kumo, s3 } = f));

const newBucket = () => createBucket(s3, 'obj');

const md5 = (b: Buffer | string) => createHash('md5').update(b).digest('hex');
const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

async function bytesOf(Bucket: string, Key: string): Promise<Buffer> {
  const got = await s3.send(new GetObjectCommand({ Bucket, Key }));
  return Buffer.from(await got.Body!.transformToByteArray());
}

describe('put, get, head, delete', () => {
  test('an object keeps its bytes, content type and user metadata; ETag is the quoted MD5', async () => {
    const Bucket = await newBucket();
    const body = Buffer.from('{"hello":"world"}\n');
    const put = await s3.send(
      new PutObjectCommand({
        Bucket,
        Key: 'docs/hello.json',
        Body: body,
        ContentType: 'application/json',
        CacheControl: 'max-age=60',
        ContentDisposition: 'attachment; filename="hello.json"',
        Metadata: { owner: 'team-a', 'Mixed-Case': 'Value With Spaces' },
      }),
    );
    assert.equal(put.ETag, `"${md5(body)}"`);
    assert.equal(put.ServerSideEncryption, 'AES256', 'AWS encrypts every object at rest and says so');

    const got = await s3.send(new GetObjectCommand({ Bucket, Key: 'docs/hello.json' }));
    assert.equal(got.ETag, put.ETag);
    assert.equal(got.ContentType, 'application/json');
    assert.equal(got.ContentLength, body.length);
    assert.equal(got.CacheControl, 'max-age=60');
    assert.equal(got.ContentDisposition, 'attachment; filename="hello.json"');
    // S3 lower-cases metadata names (they travel as HTTP headers); values are kept as given.
    assert.deepEqual(got.Metadata, { owner: 'team-a', 'mixed-case': 'Value With Spaces' });
    assert.ok(got.LastModified instanceof Date && Math.abs(got.LastModified.getTime() - Date.now()) < 60_000);
    assert.equal(got.AcceptRanges, 'bytes');
    assert.equal(got.ServerSideEncryption, 'AES256');
    assert.deepEqual(Buffer.from(await got.Body!.transformToByteArray()), body);

    const head = await s3.send(new HeadObjectCommand({ Bucket, Key: 'docs/hello.json' }));
    assert.equal(head.ETag, put.ETag);
    assert.equal(head.ContentLength, body.length);
    assert.equal(head.ContentType, 'application/json');
    assert.deepEqual(head.Metadata, got.Metadata);
    assert.equal(head.LastModified?.getTime(), got.LastModified.getTime());

    const del = await s3.send(new DeleteObjectCommand({ Bucket, Key: 'docs/hello.json' }));
    assert.equal(del.$metadata.httpStatusCode, 204);
    const gone = await failure(s3.send(new GetObjectCommand({ Bucket, Key: 'docs/hello.json' })));
    assert.equal(gone.name, 'NoSuchKey');
    assert.equal(gone.status, 404);
    assert.equal(gone.fields.Key, 'docs/hello.json');
    const headGone = await failure(s3.send(new HeadObjectCommand({ Bucket, Key: 'docs/hello.json' })));
    assert.equal(headGone.name, 'NotFound');
    assert.equal(headGone.status, 404);
    // Deleting what is not there succeeds, as on AWS.
    assert.equal((await s3.send(new DeleteObjectCommand({ Bucket, Key: 'docs/hello.json' }))).$metadata.httpStatusCode, 204);
  });

  test('an object without a content type is binary/octet-stream; an overwrite replaces everything', async () => {
    const Bucket = await newBucket();
    // The SDK always sends a Content-Type, so send the PUT by hand.
    const put = await rawRequest(kumo.url, { method: 'PUT', path: `/${Bucket}/k`, body: Buffer.from([0, 1, 2, 255]), headers: { 'x-amz-meta-v': '1' } });
    assert.equal(put.status, 200);
    assert.equal(put.headers.etag, `"${md5(Buffer.from([0, 1, 2, 255]))}"`);
    const first = await s3.send(new HeadObjectCommand({ Bucket, Key: 'k' }));
    assert.equal(first.ContentType, 'binary/octet-stream');
    assert.deepEqual(first.Metadata, { v: '1' });
    await s3.send(new PutObjectCommand({ Bucket, Key: 'k', Body: 'second', ContentType: 'text/plain' }));
    const second = await s3.send(new HeadObjectCommand({ Bucket, Key: 'k' }));
    assert.equal(second.ContentType, 'text/plain');
    assert.deepEqual(second.Metadata, {});
    assert.equal(second.ETag, `"${md5('second')}"`);
    assert.equal((await bytesOf(Bucket, 'k')).toString(), 'second');
  });

  test('string, Buffer, empty and stream bodies are stored exactly', async () => {
    const Bucket = await newBucket();
    await s3.send(new PutObjectCommand({ Bucket, Key: 'string', Body: 'héllo wörld ☃' }));
    assert.equal((await bytesOf(Bucket, 'string')).toString('utf8'), 'héllo wörld ☃');

    const binary = randomBytes(70_000);
    await s3.send(new PutObjectCommand({ Bucket, Key: 'buffer', Body: binary }));
    assert.deepEqual(await bytesOf(Bucket, 'buffer'), binary);

    const empty = await s3.send(new PutObjectCommand({ Bucket, Key: 'empty', Body: '' }));
    assert.equal(empty.ETag, '"d41d8cd98f00b204e9800998ecf8427e"');
    const head = await s3.send(new HeadObjectCommand({ Bucket, Key: 'empty' }));
    assert.equal(head.ContentLength, 0);
    assert.equal((await bytesOf(Bucket, 'empty')).length, 0);

    // A stream (the SDK needs its length): sent aws-chunked with a CRC32 trailer.
    const parts = [randomBytes(100_000), randomBytes(3), randomBytes(65_536)];
    const whole = Buffer.concat(parts);
    const put = await s3.send(new PutObjectCommand({ Bucket, Key: 'stream', Body: Readable.from(parts), ContentLength: whole.length }));
    assert.equal(put.ETag, `"${md5(whole)}"`);
    assert.deepEqual(await bytesOf(Bucket, 'stream'), whole);
    assert.equal((await s3.send(new HeadObjectCommand({ Bucket, Key: 'stream' }))).ContentEncoding, undefined, 'aws-chunked is not part of the object');
  });

  test('a 6 MiB object comes back intact', async () => {
    const Bucket = await newBucket();
    const big = randomBytes(6 * 1024 * 1024 + 17);
    const put = await s3.send(new PutObjectCommand({ Bucket, Key: 'big.bin', Body: big }));
    assert.equal(put.ETag, `"${md5(big)}"`);
    const back = await bytesOf(Bucket, 'big.bin');
    assert.equal(back.length, big.length);
    assert.equal(sha256(back), sha256(big));
  });
});

describe('versions and sub-resources', () => {
  test('the only version an object has is "null"; other version IDs are InvalidArgument', async () => {
    const Bucket = await newBucket();
    await s3.send(new PutObjectCommand({ Bucket, Key: 'v', Body: 'v' }));
    assert.equal((await bytesOf(Bucket, 'v')).toString(), 'v');
    const nullVersion = await s3.send(new GetObjectCommand({ Bucket, Key: 'v', VersionId: 'null' }));
    assert.equal(await nullVersion.Body!.transformToString(), 'v');
    for (const call of [
      () => s3.send(new GetObjectCommand({ Bucket, Key: 'v', VersionId: '3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY' })),
      () => s3.send(new DeleteObjectCommand({ Bucket, Key: 'v', VersionId: '3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY' })),
    ]) {
      const f = await failure(call());
      assert.deepEqual([f.name, f.status], ['InvalidArgument', 400]);
    }
    assert.equal((await bytesOf(Bucket, 'v')).toString(), 'v', 'a refused versioned delete deletes nothing');
  });

  test('object sub-resources refused change nothing', async () => {
    const Bucket = await newBucket();
    await s3.send(new PutObjectCommand({ Bucket, Key: 'src', Body: 'source' }));
    // Object Lock is served (object-lock.test.ts): on a bucket without it, a legal hold is S3's InvalidRequest.
    const hold = await failure(s3.send(new PutObjectLegalHoldCommand({ Bucket, Key: 'src', LegalHold: { Status: 'ON' } })));
    assert.deepEqual([hold.name, hold.status], ['InvalidRequest', 400]);
    // Restores are served (archive.test.ts): a STANDARD object has nothing to restore.
    const restore = await failure(s3.send(new RestoreObjectCommand({ Bucket, Key: 'src', RestoreRequest: { Days: 1 } })));
    assert.deepEqual([restore.name, restore.status], ['InvalidObjectState', 403]);
    assert.equal((await bytesOf(Bucket, 'src')).toString(), 'source');
  });
});

describe('keys', () => {
  const odd = [
    'unicode/日本語/ファイル.txt',
    'snow ☃ man',
    'with space.txt',
    'a+b=c&d',
    '100% real',
    'percent%2Fslash',
    'dir/../up',
    '..',
    '../../etc/passwd',
    '/leading-slash',
    'trailing/',
    'double//slash',
    'question?mark',
    'hash#tag',
    "quote'and\"double",
    'tilde~and*star',
    'emoji/🙂',
    'ctl\ttab',
  ];

  test('odd keys round-trip exactly and never become paths', async () => {
    const Bucket = await newBucket();
    const filesBefore = walk(join(kumo.dataDir, 's3'));
    // Over 64 KiB, so each is a file (smaller bodies are kept in state.db, where no key is a path).
    const content = (Key: string) => `content of ${Key}\n${'x'.repeat(70 * 1024)}`;
    for (const Key of odd) {
      await s3.send(new PutObjectCommand({ Bucket, Key, Body: content(Key) }));
    }
    for (const Key of odd) {
      assert.equal((await bytesOf(Bucket, Key)).toString(), content(Key), Key);
      assert.equal((await s3.send(new HeadObjectCommand({ Bucket, Key }))).ContentLength, Buffer.byteLength(content(Key)), Key);
    }
    const listed = await s3.send(new ListObjectsV2Command({ Bucket }));
    const expected = [...odd].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    assert.deepEqual(listed.Contents!.map((o) => o.Key), expected);

    // The data dir holds the database, the pid file, blobs named by random IDs and the other
    // services' own folders (README, "Data directory"), nothing named after a key.
    const top = readdirSync(kumo.dataDir).sort();
    assert.ok(top.every((f) => /^(state\.db(-wal|-shm)?|kumo\.pid|s3|snapshots|volumes|instances|instance-store|databases|db-volumes|db-snapshots|ca|elbv2)$/.test(f)), `unexpected entries: ${top.join(', ')}`);
    const files = walk(join(kumo.dataDir, 's3'));
    assert.equal(files.length, filesBefore.length + odd.length);
    for (const f of files) assert.match(f, /^(tmp|blobs\/[0-9a-f]{2})\/[0-9a-f]{32}$/, f);
    assert.ok(!readdirSync(join(kumo.dataDir, '..')).includes('passwd'));

    for (const Key of odd) await s3.send(new DeleteObjectCommand({ Bucket, Key }));
    assert.equal((await s3.send(new ListObjectsV2Command({ Bucket }))).KeyCount, 0);
    assert.deepEqual(walk(join(kumo.dataDir, 's3')), filesBefore, 'deleted objects leave no files');
  });

  test('a key longer than 1024 bytes is KeyTooLongError; 1024 bytes is fine', async () => {
    const Bucket = await newBucket();
    const ok = 'é'.repeat(512); // 1024 UTF-8 bytes
    await s3.send(new PutObjectCommand({ Bucket, Key: ok, Body: 'x' }));
    assert.equal((await bytesOf(Bucket, ok)).toString(), 'x');
    const f = await failure(s3.send(new PutObjectCommand({ Bucket, Key: `${ok}a`, Body: 'x' })));
    assert.equal(f.name, 'KeyTooLongError');
    assert.equal(f.status, 400);
  });

  test('user metadata over 2 KB is MetadataTooLarge and nothing is stored', async () => {
    const Bucket = await newBucket();
    const f = await failure(s3.send(new PutObjectCommand({ Bucket, Key: 'meta', Body: 'x', Metadata: { big: 'v'.repeat(2100) } })));
    assert.equal(f.name, 'MetadataTooLarge');
    assert.equal(f.status, 400);
    assert.equal((await failure(s3.send(new HeadObjectCommand({ Bucket, Key: 'meta' })))).status, 404);
    await s3.send(new PutObjectCommand({ Bucket, Key: 'meta', Body: 'x', Metadata: { big: 'v'.repeat(1900) } }));
  });

  test('a missing key is NoSuchKey naming the key; a missing bucket is NoSuchBucket', async () => {
    const Bucket = await newBucket();
    const f = await failure(s3.send(new GetObjectCommand({ Bucket, Key: 'no/such key' })));
    assert.equal(f.name, 'NoSuchKey');
    assert.equal(f.status, 404);
    assert.equal(f.fields.Key, 'no/such key');
    const nb = await failure(s3.send(new PutObjectCommand({ Bucket: uniqueName('absent'), Key: 'k', Body: 'x' })));
    assert.equal(nb.name, 'NoSuchBucket');
    assert.equal(nb.status, 404);
  });
});

function walk(dir: string, base = dir): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p, base) : [p.slice(base.length + 1)];
  });
}
