// S3 integrity checks through @aws-sdk/client-s3 v3: every flexible checksum algorithm, sent as a
// header (buffers) or an aws-chunked trailer (streams), is verified and stored by kumo, returned
// with ChecksumMode ENABLED (which the SDK re-verifies against the bytes), and a wrong checksum or
// Content-MD5 is BadDigest with nothing written.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { crc32 } from 'node:zlib';
import {
  ChecksumAlgorithm,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { startKumoForTest, type TestKumo } from '../helpers/kumo.js';
import { createBucket, failure, rawRequest, s3Client, xmlField } from './support.js';

let kumo: TestKumo;
let s3: S3Client;
/** Headers of the requests the client sent, newest last. */
const sent: Record<string, string>[] = [];

before(async () => {
  kumo = await startKumoForTest();
  s3 = s3Client(kumo.url);
  s3.middlewareStack.add(
    (next) => async (args) => {
      sent.push({ ...((args.request as { headers: Record<string, string> }).headers ?? {}) });
      return next(args);
    },
    { step: 'finalizeRequest', priority: 'low', name: 'recordHeaders' },
  );
});
after(async () => {
  s3.destroy();
  await kumo.stop();
});

const newBucket = () => createBucket(s3, 'sum');

const b64 = (hex: string) => Buffer.from(hex, 'hex').toString('base64');
const crc32b64 = (data: Buffer) => b64(crc32(data).toString(16).padStart(8, '0'));

// Check values of the standard "123456789" test vector for each algorithm.
const VECTOR = Buffer.from('123456789');
const EXPECTED: Record<string, string> = {
  CRC32: b64('cbf43926'),
  CRC32C: b64('e3069283'),
  CRC64NVME: b64('ae8b14860a799888'),
  MD5: createHash('md5').update(VECTOR).digest('base64'),
  SHA1: createHash('sha1').update(VECTOR).digest('base64'),
  SHA256: createHash('sha256').update(VECTOR).digest('base64'),
  SHA512: createHash('sha512').update(VECTOR).digest('base64'),
};
// What this SDK computes by itself; SHA512 and the XXHASH family need a plug-in, so they are
// sent by hand below.
const ALGORITHMS = ['CRC32', 'CRC32C', 'CRC64NVME', 'MD5', 'SHA1', 'SHA256'] as const;

describe('flexible checksums', () => {
  test('the SDK knows no algorithm this file does not test', () => {
    const tested = [...Object.keys(EXPECTED), 'XXHASH3', 'XXHASH64', 'XXHASH128'].sort();
    assert.deepEqual(Object.values(ChecksumAlgorithm).sort(), tested);
  });

  test('a stream is sent aws-chunked with a CRC32 trailer, and GetObject returns that CRC32', async () => {
    const Bucket = await newBucket();
    const parts = [randomBytes(70_000), randomBytes(11)];
    const whole = Buffer.concat(parts);
    await s3.send(new PutObjectCommand({ Bucket, Key: 'streamed', Body: Readable.from(parts), ContentLength: whole.length }));
    const req = sent[sent.length - 1];
    assert.match(req['content-encoding'] ?? '', /aws-chunked/);
    assert.equal(req['x-amz-trailer'], 'x-amz-checksum-crc32');
    assert.equal(req['x-amz-decoded-content-length'], String(whole.length));

    const got = await s3.send(new GetObjectCommand({ Bucket, Key: 'streamed', ChecksumMode: 'ENABLED' }));
    assert.equal(got.ChecksumCRC32, crc32b64(whole));
    assert.equal(got.ChecksumType, 'FULL_OBJECT');
    assert.equal(got.ContentEncoding, undefined);
    assert.deepEqual(Buffer.from(await got.Body!.transformToByteArray()), whole);
  });

  for (const algorithm of ALGORITHMS) {
    test(`${algorithm}: header and trailer forms are checked, stored and returned`, async () => {
      const Bucket = await newBucket();
      const header = await s3.send(new PutObjectCommand({ Bucket, Key: 'vector', Body: VECTOR, ChecksumAlgorithm: algorithm }));
      assert.equal(header[`Checksum${algorithm}`], EXPECTED[algorithm]);

      const head = await s3.send(new HeadObjectCommand({ Bucket, Key: 'vector', ChecksumMode: 'ENABLED' }));
      assert.equal(head[`Checksum${algorithm}`], EXPECTED[algorithm]);
      const plainHead = await s3.send(new HeadObjectCommand({ Bucket, Key: 'vector' }));
      assert.equal(plainHead[`Checksum${algorithm}`], undefined, 'checksums only come back when asked for');

      const data = randomBytes(200_000);
      const trailer = await s3.send(
        new PutObjectCommand({ Bucket, Key: 'stream', Body: Readable.from([data]), ContentLength: data.length, ChecksumAlgorithm: algorithm }),
      );
      // This SDK sends MD5 under its legacy name, Content-MD5.
      assert.equal(sent[sent.length - 1]['x-amz-trailer'], algorithm === 'MD5' ? 'content-md5' : `x-amz-checksum-${algorithm.toLowerCase()}`);
      // The SDK validates a returned checksum against the bytes it reads and throws if they differ.
      const got = await s3.send(new GetObjectCommand({ Bucket, Key: 'stream', ChecksumMode: 'ENABLED' }));
      assert.equal(got[`Checksum${algorithm}`], trailer[`Checksum${algorithm}`]);
      assert.ok(got[`Checksum${algorithm}`]);
      assert.deepEqual(Buffer.from(await got.Body!.transformToByteArray()), data);
    });
  }

  test('SHA512 sent by hand is checked, stored and returned', async () => {
    const Bucket = await newBucket();
    const put = await rawRequest(kumo.url, { method: 'PUT', path: `/${Bucket}/sha512`, body: VECTOR, headers: { 'x-amz-checksum-sha512': EXPECTED.SHA512 } });
    assert.equal(put.status, 200, put.body.toString());
    assert.equal(put.headers['x-amz-checksum-sha512'], EXPECTED.SHA512);
    const get = await rawRequest(kumo.url, { method: 'GET', path: `/${Bucket}/sha512`, headers: { 'x-amz-checksum-mode': 'ENABLED' } });
    assert.equal(get.headers['x-amz-checksum-sha512'], EXPECTED.SHA512);
    assert.equal(get.headers['x-amz-checksum-type'], 'FULL_OBJECT');

    const wrong = createHash('sha512').update('nope').digest('base64');
    const bad = await rawRequest(kumo.url, { method: 'PUT', path: `/${Bucket}/sha512`, body: 'changed', headers: { 'x-amz-checksum-sha512': wrong } });
    assert.equal(bad.status, 400);
    assert.equal(xmlField(bad.body.toString(), 'Code'), 'BadDigest');
  });

  test('XXHASH checksums are NotImplemented, never accepted unchecked', async () => {
    const Bucket = await newBucket();
    const asHeader = await rawRequest(kumo.url, { method: 'PUT', path: `/${Bucket}/xx`, body: VECTOR, headers: { 'x-amz-checksum-xxhash64': 'AAAAAAAAAAA=' } });
    assert.equal(asHeader.status, 501);
    assert.equal(xmlField(asHeader.body.toString(), 'Code'), 'NotImplemented');
    const asTrailer = await rawRequest(kumo.url, {
      method: 'PUT',
      path: `/${Bucket}/xx`,
      body: '9\r\n123456789\r\n0\r\nx-amz-checksum-xxhash3:AAAAAAAAAAA=\r\n\r\n',
      headers: {
        'content-encoding': 'aws-chunked',
        'x-amz-content-sha256': 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
        'x-amz-decoded-content-length': '9',
        'x-amz-trailer': 'x-amz-checksum-xxhash3',
      },
    });
    assert.equal(asTrailer.status, 501);
    assert.equal((await failure(s3.send(new HeadObjectCommand({ Bucket, Key: 'xx' })))).status, 404);
  });

  test('a ranged GET does not claim the whole-object checksum', async () => {
    const Bucket = await newBucket();
    await s3.send(new PutObjectCommand({ Bucket, Key: 'k', Body: VECTOR, ChecksumAlgorithm: 'CRC32' }));
    const part = await s3.send(new GetObjectCommand({ Bucket, Key: 'k', Range: 'bytes=0-2', ChecksumMode: 'ENABLED' }));
    assert.equal(part.ChecksumCRC32, undefined);
    assert.equal(await part.Body!.transformToString(), '123');
  });
});

describe('integrity failures', () => {
  test('a wrong x-amz-checksum-crc32 is BadDigest and writes nothing', async () => {
    const Bucket = await newBucket();
    const f = await failure(s3.send(new PutObjectCommand({ Bucket, Key: 'bad', Body: VECTOR, ChecksumCRC32: 'AAAAAA==' })));
    assert.equal(f.name, 'BadDigest');
    assert.equal(f.status, 400);
    assert.equal((await failure(s3.send(new HeadObjectCommand({ Bucket, Key: 'bad' })))).status, 404);
  });

  test('a wrong checksum does not replace the existing object', async () => {
    const Bucket = await newBucket();
    await s3.send(new PutObjectCommand({ Bucket, Key: 'keep', Body: 'original' }));
    for (const field of ['ChecksumSHA256', 'ChecksumCRC32C'] as const) {
      const wrong = field === 'ChecksumSHA256' ? createHash('sha256').update('other').digest('base64') : 'AAAAAA==';
      const f = await failure(s3.send(new PutObjectCommand({ Bucket, Key: 'keep', Body: 'replacement', [field]: wrong })));
      assert.equal(f.name, 'BadDigest', field);
    }
    const got = await s3.send(new GetObjectCommand({ Bucket, Key: 'keep' }));
    assert.equal(await got.Body!.transformToString(), 'original');
  });

  test('a Content-MD5 that does not match is BadDigest; one that is not an MD5 is InvalidDigest', async () => {
    const Bucket = await newBucket();
    const wrong = createHash('md5').update('something else').digest('base64');
    const f = await failure(s3.send(new PutObjectCommand({ Bucket, Key: 'md5', Body: 'payload', ContentMD5: wrong })));
    assert.equal(f.name, 'BadDigest');
    assert.equal(f.status, 400);
    assert.equal((await failure(s3.send(new HeadObjectCommand({ Bucket, Key: 'md5' })))).status, 404);

    const invalid = await failure(s3.send(new PutObjectCommand({ Bucket, Key: 'md5', Body: 'payload', ContentMD5: 'bm90LW1kNQ==' })));
    assert.equal(invalid.name, 'InvalidDigest');
    assert.equal(invalid.status, 400);

    const right = createHash('md5').update('payload').digest('base64');
    const ok = await s3.send(new PutObjectCommand({ Bucket, Key: 'md5', Body: 'payload', ContentMD5: right }));
    assert.equal(ok.ETag, `"${Buffer.from(right, 'base64').toString('hex')}"`);
  });

  test('two different checksum headers are refused', async () => {
    const Bucket = await newBucket();
    const f = await failure(
      s3.send(new PutObjectCommand({ Bucket, Key: 'two', Body: VECTOR, ChecksumCRC32: EXPECTED.CRC32, ChecksumSHA1: EXPECTED.SHA1 })),
    );
    assert.equal(f.name, 'InvalidRequest');
    assert.equal(f.status, 400);
  });
});
