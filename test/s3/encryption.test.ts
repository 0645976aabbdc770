// Server-side encryption through @aws-sdk/client-s3 v3 and boto3: SSE-S3 reported on every object,
// bucket default encryption, SSE-KMS headers recorded and answered, and SSE-C for real (the bytes
// on disk are unreadable without the customer's key, kumo keeps only its MD5, and reads without
// the right key are refused with S3's codes), with copies between any two kinds.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteBucketEncryptionCommand,
  GetBucketEncryptionCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutBucketEncryptionCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { type TestKumo } from '../helpers/kumo.js';
import { boto3 } from '../helpers/python.js';
import { missing } from '../helpers/tools.js';
import { createBucket, failure, rawRequest, useS3, xmlField } from './support.js';

let kumo: TestKumo;
let s3: S3Client;

useS3((f) => ({ kumo, s3 } = f));

const MiB = 1024 * 1024;
const newBucket = () => createBucket(s3, 'sse');
const keyA = randomBytes(32);
const keyB = randomBytes(32);
const md5b64 = (b: Buffer) => createHash('md5').update(b).digest('base64');
const ssec = (key: Buffer) => ({ SSECustomerAlgorithm: 'AES256', SSECustomerKey: key as unknown as string, SSECustomerKeyMD5: md5b64(key) });
const copySsec = (key: Buffer) => ({
  CopySourceSSECustomerAlgorithm: 'AES256',
  CopySourceSSECustomerKey: key as unknown as string,
  CopySourceSSECustomerKeyMD5: md5b64(key),
});

async function bytes(p: Promise<{ Body?: { transformToByteArray(): Promise<Uint8Array> } }>): Promise<Buffer> {
  return Buffer.from(await (await p).Body!.transformToByteArray());
}

/** Every file under kumo's data dir, read whole (blobs and the database alike). */
function filesOnDisk(): Buffer[] {
  const out: Buffer[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(dir, e.name));
      else if (e.isFile()) out.push(readFileSync(join(dir, e.name)));
    }
  };
  walk(kumo.dataDir);
  return out;
}

describe('SSE-S3 and bucket default encryption', () => {
  test('every object reports AES256: PUT, HEAD, GET, copy and multipart', async () => {
    const Bucket = await newBucket();
    const put = await s3.send(new PutObjectCommand({ Bucket, Key: 'k', Body: 'x' }));
    assert.equal(put.ServerSideEncryption, 'AES256');
    assert.equal((await s3.send(new HeadObjectCommand({ Bucket, Key: 'k' }))).ServerSideEncryption, 'AES256');
    assert.equal((await s3.send(new CopyObjectCommand({ Bucket, Key: 'c', CopySource: `${Bucket}/k` }))).ServerSideEncryption, 'AES256');
    const { UploadId, ServerSideEncryption } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key: 'm' }));
    assert.equal(ServerSideEncryption, 'AES256');
    const part = await s3.send(new UploadPartCommand({ Bucket, Key: 'm', UploadId, PartNumber: 1, Body: 'p' }));
    assert.equal(part.ServerSideEncryption, 'AES256');
    const done = await s3.send(new CompleteMultipartUploadCommand({ Bucket, Key: 'm', UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] } }));
    assert.equal(done.ServerSideEncryption, 'AES256');
  });

  test('GetBucketEncryption answers AES256 until set; a KMS default applies to writes without headers; Delete restores AES256', async () => {
    const Bucket = await newBucket();
    const initial = await s3.send(new GetBucketEncryptionCommand({ Bucket }));
    assert.deepEqual(initial.ServerSideEncryptionConfiguration?.Rules, [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' }, BucketKeyEnabled: false }]);
    const keyId = '1234abcd-12ab-34cd-56ef-1234567890ab';
    await s3.send(new PutBucketEncryptionCommand({
      Bucket,
      ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: keyId }, BucketKeyEnabled: true }] },
    }));
    const got = await s3.send(new GetBucketEncryptionCommand({ Bucket }));
    assert.deepEqual(got.ServerSideEncryptionConfiguration?.Rules, [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: keyId }, BucketKeyEnabled: true }]);
    const put = await s3.send(new PutObjectCommand({ Bucket, Key: 'k', Body: 'x' }));
    assert.deepEqual([put.ServerSideEncryption, put.SSEKMSKeyId, put.BucketKeyEnabled], ['aws:kms', `arn:aws:kms:ap-northeast-1:000000000000:key/${keyId}`, true]);
    const head = await s3.send(new HeadObjectCommand({ Bucket, Key: 'k' }));
    assert.deepEqual([head.ServerSideEncryption, head.SSEKMSKeyId, head.BucketKeyEnabled], ['aws:kms', put.SSEKMSKeyId, true]);
    // A request's own headers win over the default.
    const own = await s3.send(new PutObjectCommand({ Bucket, Key: 'own', Body: 'x', ServerSideEncryption: 'AES256' }));
    assert.equal(own.ServerSideEncryption, 'AES256');
    await s3.send(new DeleteBucketEncryptionCommand({ Bucket }));
    assert.equal((await s3.send(new GetBucketEncryptionCommand({ Bucket }))).ServerSideEncryptionConfiguration?.Rules?.[0]?.ApplyServerSideEncryptionByDefault?.SSEAlgorithm, 'AES256');
    assert.equal((await s3.send(new PutObjectCommand({ Bucket, Key: 'after', Body: 'x' }))).ServerSideEncryption, 'AES256');
  });

  test('bad configurations are refused and change nothing', async () => {
    const Bucket = await newBucket();
    const keyWithAes = await failure(s3.send(new PutBucketEncryptionCommand({
      Bucket,
      ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256', KMSMasterKeyID: 'k' } }] },
    })));
    assert.deepEqual([keyWithAes.name, keyWithAes.status], ['InvalidArgument', 400]);
    const unknown = await failure(s3.send(new PutBucketEncryptionCommand({
      Bucket,
      ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'ROT13' as 'AES256' } }] },
    })));
    assert.deepEqual([unknown.name, unknown.status], ['MalformedXML', 400]);
    assert.equal((await s3.send(new GetBucketEncryptionCommand({ Bucket }))).ServerSideEncryptionConfiguration?.Rules?.[0]?.ApplyServerSideEncryptionByDefault?.SSEAlgorithm, 'AES256');
  });
});

describe('SSE-KMS', () => {
  test('the key, context and bucket key are recorded and answered; no key means the account aws/s3 key', async () => {
    const Bucket = await newBucket();
    const context = Buffer.from(JSON.stringify({ app: 'kumo' })).toString('base64');
    const put = await s3.send(new PutObjectCommand({
      Bucket, Key: 'named', Body: 'x', ServerSideEncryption: 'aws:kms', SSEKMSKeyId: 'alias/my-key', SSEKMSEncryptionContext: context, BucketKeyEnabled: true,
    }));
    assert.deepEqual([put.ServerSideEncryption, put.SSEKMSKeyId, put.SSEKMSEncryptionContext, put.BucketKeyEnabled], [
      'aws:kms', 'arn:aws:kms:ap-northeast-1:000000000000:alias/my-key', context, true,
    ]);
    const get = await s3.send(new GetObjectCommand({ Bucket, Key: 'named' }));
    assert.deepEqual([get.ServerSideEncryption, get.SSEKMSKeyId, get.BucketKeyEnabled], ['aws:kms', put.SSEKMSKeyId, true]);
    assert.equal(await get.Body!.transformToString(), 'x');
    const managed = await s3.send(new PutObjectCommand({ Bucket, Key: 'managed', Body: 'x', ServerSideEncryption: 'aws:kms' }));
    assert.match(managed.SSEKMSKeyId ?? '', /^arn:aws:kms:ap-northeast-1:000000000000:key\/[0-9a-f-]{36}$/);
    const again = await s3.send(new PutObjectCommand({ Bucket, Key: 'managed2', Body: 'x', ServerSideEncryption: 'aws:kms' }));
    assert.equal(again.SSEKMSKeyId, managed.SSEKMSKeyId);
    const dsse = await s3.send(new PutObjectCommand({ Bucket, Key: 'dsse', Body: 'x', ServerSideEncryption: 'aws:kms:dsse' }));
    assert.equal(dsse.ServerSideEncryption, 'aws:kms:dsse');
  });

  test('a key id without aws:kms, or a bad context, is InvalidArgument and stores nothing', async () => {
    const Bucket = await newBucket();
    const noKms = await failure(s3.send(new PutObjectCommand({ Bucket, Key: 'k', Body: 'x', SSEKMSKeyId: 'some-key' })));
    assert.deepEqual([noKms.name, noKms.status], ['InvalidArgument', 400]);
    const badContext = await failure(s3.send(new PutObjectCommand({ Bucket, Key: 'k', Body: 'x', ServerSideEncryption: 'aws:kms', SSEKMSEncryptionContext: 'bm90IGpzb24=' })));
    assert.deepEqual([badContext.name, badContext.status], ['InvalidArgument', 400]);
    assert.equal((await failure(s3.send(new HeadObjectCommand({ Bucket, Key: 'k' })))).status, 404);
  });
});

describe('SSE-C', () => {
  test('stored encrypted: neither the bytes nor the key are anywhere on disk; reads need the right key', async () => {
    const Bucket = await newBucket();
    const secret = Buffer.from(`top secret ${randomBytes(16).toString('hex')} `.repeat(200));
    const put = await s3.send(new PutObjectCommand({ Bucket, Key: 'k', Body: secret, ...ssec(keyA) }));
    assert.deepEqual([put.SSECustomerAlgorithm, put.SSECustomerKeyMD5, put.ServerSideEncryption], ['AES256', md5b64(keyA), undefined]);
    assert.notEqual(put.ETag, `"${createHash('md5').update(secret).digest('hex')}"`);
    const marker = secret.subarray(0, 40);
    for (const file of filesOnDisk()) {
      assert.equal(file.includes(marker), false, 'the plaintext is on disk');
      assert.equal(file.includes(keyA), false, 'the key is on disk');
      assert.equal(file.includes(keyA.toString('base64')), false, 'the key is on disk (base64)');
    }
    assert.ok((await bytes(s3.send(new GetObjectCommand({ Bucket, Key: 'k', ...ssec(keyA) })))).equals(secret));
    const range = await bytes(s3.send(new GetObjectCommand({ Bucket, Key: 'k', Range: 'bytes=1001-3000', ...ssec(keyA) })));
    assert.ok(range.equals(secret.subarray(1001, 3001)));
    const head = await s3.send(new HeadObjectCommand({ Bucket, Key: 'k', ...ssec(keyA) }));
    assert.deepEqual([head.ContentLength, head.SSECustomerKeyMD5], [secret.length, md5b64(keyA)]);

    const noKey = await failure(s3.send(new GetObjectCommand({ Bucket, Key: 'k' })));
    assert.deepEqual([noKey.name, noKey.status], ['InvalidRequest', 400]);
    const headNoKey = await failure(s3.send(new HeadObjectCommand({ Bucket, Key: 'k' })));
    assert.equal(headNoKey.status, 400);
    const wrong = await failure(s3.send(new GetObjectCommand({ Bucket, Key: 'k', ...ssec(keyB) })));
    assert.deepEqual([wrong.name, wrong.status], ['AccessDenied', 403]);
    // The SDK computes the key's MD5 itself; a client that gets it wrong is refused.
    const badMd5 = await rawRequest(kumo.url, {
      method: 'GET',
      path: `/${Bucket}/k`,
      headers: {
        'x-amz-server-side-encryption-customer-algorithm': 'AES256',
        'x-amz-server-side-encryption-customer-key': keyA.toString('base64'),
        'x-amz-server-side-encryption-customer-key-md5': md5b64(keyB),
      },
    });
    assert.deepEqual([badMd5.status, xmlField(badMd5.body.toString(), 'Code')], [400, 'InvalidArgument']);

    await s3.send(new PutObjectCommand({ Bucket, Key: 'plain', Body: 'x' }));
    const notApplicable = await failure(s3.send(new GetObjectCommand({ Bucket, Key: 'plain', ...ssec(keyA) })));
    assert.deepEqual([notApplicable.name, notApplicable.status], ['InvalidRequest', 400]);
    const shortKey = await failure(s3.send(new PutObjectCommand({ Bucket, Key: 'short', Body: 'x', ...ssec(randomBytes(16)) })));
    assert.deepEqual([shortKey.name, shortKey.status], ['InvalidArgument', 400]);
    const mixed = await failure(s3.send(new PutObjectCommand({ Bucket, Key: 'mixed', Body: 'x', ServerSideEncryption: 'AES256', ...ssec(keyA) })));
    assert.deepEqual([mixed.name, mixed.status], ['InvalidArgument', 400]);
  });

  test('multipart: every part needs the upload key; the object reads back whole and by ranges across parts', async () => {
    const Bucket = await newBucket();
    const Key = 'mpu';
    const parts = [randomBytes(5 * MiB), randomBytes(5 * MiB + 7), randomBytes(333)];
    const created = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key, ...ssec(keyA) }));
    assert.equal(created.SSECustomerKeyMD5, md5b64(keyA));
    const UploadId = created.UploadId;
    const missingKey = await failure(s3.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: 1, Body: parts[0] })));
    assert.deepEqual([missingKey.name, missingKey.status], ['InvalidRequest', 400]);
    const otherKey = await failure(s3.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: 1, Body: parts[0], ...ssec(keyB) })));
    assert.deepEqual([otherKey.name, otherKey.status], ['InvalidRequest', 400]);
    const Parts = [];
    for (const [i, Body] of parts.entries()) {
      const r = await s3.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: i + 1, Body, ...ssec(keyA) }));
      assert.equal(r.SSECustomerKeyMD5, md5b64(keyA));
      Parts.push({ PartNumber: i + 1, ETag: r.ETag });
    }
    await s3.send(new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: { Parts } }));
    const whole = Buffer.concat(parts);
    assert.ok((await bytes(s3.send(new GetObjectCommand({ Bucket, Key, ...ssec(keyA) })))).equals(whole));
    const from = 5 * MiB - 10;
    const across = await bytes(s3.send(new GetObjectCommand({ Bucket, Key, Range: `bytes=${from}-${10 * MiB + 20}`, ...ssec(keyA) })));
    assert.ok(across.equals(whole.subarray(from, 10 * MiB + 21)));
    const second = await bytes(s3.send(new GetObjectCommand({ Bucket, Key, PartNumber: 2, ...ssec(keyA) })));
    assert.ok(second.equals(parts[1]));
    assert.equal((await failure(s3.send(new GetObjectCommand({ Bucket, Key })))).status, 400);
  });

  test('copies between any two kinds: SSE-C to plain, plain to SSE-C, a new key in place, SSE-C to KMS', async () => {
    const Bucket = await newBucket();
    const body = Buffer.from('copied across kinds '.repeat(50));
    await s3.send(new PutObjectCommand({ Bucket, Key: 'c', Body: body, ...ssec(keyA) }));
    const noSourceKey = await failure(s3.send(new CopyObjectCommand({ Bucket, Key: 'p', CopySource: `${Bucket}/c` })));
    assert.deepEqual([noSourceKey.name, noSourceKey.status], ['InvalidRequest', 400]);

    const toPlain = await s3.send(new CopyObjectCommand({ Bucket, Key: 'p', CopySource: `${Bucket}/c`, ...copySsec(keyA) }));
    assert.equal(toPlain.ServerSideEncryption, 'AES256');
    assert.ok((await bytes(s3.send(new GetObjectCommand({ Bucket, Key: 'p' })))).equals(body));

    const toC = await s3.send(new CopyObjectCommand({ Bucket, Key: 'c2', CopySource: `${Bucket}/p`, ...ssec(keyB) }));
    assert.equal(toC.SSECustomerKeyMD5, md5b64(keyB));
    assert.ok((await bytes(s3.send(new GetObjectCommand({ Bucket, Key: 'c2', ...ssec(keyB) })))).equals(body));

    // Key rotation: the object copied onto itself under a new key.
    await s3.send(new CopyObjectCommand({ Bucket, Key: 'c', CopySource: `${Bucket}/c`, ...copySsec(keyA), ...ssec(keyB) }));
    assert.ok((await bytes(s3.send(new GetObjectCommand({ Bucket, Key: 'c', ...ssec(keyB) })))).equals(body));
    assert.equal((await failure(s3.send(new GetObjectCommand({ Bucket, Key: 'c', ...ssec(keyA) })))).status, 403);

    const toKms = await s3.send(new CopyObjectCommand({ Bucket, Key: 'k', CopySource: `${Bucket}/c`, ...copySsec(keyB), ServerSideEncryption: 'aws:kms' }));
    assert.equal(toKms.ServerSideEncryption, 'aws:kms');
    assert.ok((await bytes(s3.send(new GetObjectCommand({ Bucket, Key: 'k' })))).equals(body));
  });

  test('boto3 writes and reads an SSE-C object', { skip: missing('boto3') }, async () => {
    const Bucket = await newBucket();
    const out = await boto3<{ body: string; md5: string; refused: string }>(
      kumo.url,
      `
import json, os, boto3, botocore
s3 = boto3.client('s3', endpoint_url=os.environ['KUMO_URL'])
key = bytes(range(32))
b = ${JSON.stringify(Bucket)}
s3.put_object(Bucket=b, Key='k', Body=b'from boto3', SSECustomerAlgorithm='AES256', SSECustomerKey=key)
got = s3.get_object(Bucket=b, Key='k', SSECustomerAlgorithm='AES256', SSECustomerKey=key)
try:
    s3.get_object(Bucket=b, Key='k')
    refused = None
except botocore.exceptions.ClientError as e:
    refused = e.response['Error']['Code']
print(json.dumps({'body': got['Body'].read().decode(), 'md5': got['SSECustomerKeyMD5'], 'refused': refused}))
`,
    );
    assert.deepEqual(out, { body: 'from boto3', md5: md5b64(Buffer.from(Array.from({ length: 32 }, (_, i) => i))), refused: 'InvalidRequest' });
  });
});
