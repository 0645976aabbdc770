// Multipart transfers as users run them: `aws s3 cp` of a 20 MiB file (the CLI splits at 8 MiB),
// boto3's threaded transfer manager (upload_file/download_file with small parts and several
// threads) and boto3's resource listing (bucket.objects.all(), which uses ListObjects v1).
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { HeadObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { startKumoForTest, tempDir, uniqueName, type TestKumo } from '../helpers/kumo.js';
import { aws, boto3 } from '../helpers/python.js';
import { missing } from '../helpers/tools.js';
import { s3Client } from './support.js';

let kumo: TestKumo;
let s3: S3Client;
let work: string;

before(async () => {
  kumo = await startKumoForTest();
  s3 = s3Client(kumo.url);
  work = tempDir('kumo-s3-mpu-');
});
after(async () => {
  s3.destroy();
  await kumo.stop();
  rmSync(work, { recursive: true, force: true });
});

const MiB = 1024 * 1024;
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function ok(args: string[]): Promise<string> {
  const r = await aws(kumo.url, args);
  assert.equal(r.code, 0, `aws ${args.join(' ')} failed (${r.code}):\n${r.stderr}`);
  return r.stdout;
}

describe('aws s3 cp (multipart)', () => {
  test('a 20 MiB file goes up in parts and comes back identical', async () => {
    const bucket = uniqueName('climpu');
    await ok(['s3', 'mb', `s3://${bucket}`]);
    const data = randomBytes(20 * MiB + 11);
    const src = join(work, 'cli-big.bin');
    writeFileSync(src, data);
    await ok(['s3', 'cp', src, `s3://${bucket}/big.bin`]);
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'big.bin' }));
    assert.equal(head.ContentLength, data.length);
    assert.match(head.ETag!, /-\d+"$/, 'the CLI used multipart upload');
    const back = join(work, 'cli-big.back');
    await ok(['s3', 'cp', `s3://${bucket}/big.bin`, back]);
    assert.equal(sha256(readFileSync(back)), sha256(data));
    assert.equal((await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads, undefined);

    // A server-side copy of that size goes through UploadPartCopy; `rm --recursive` through DeleteObjects.
    await ok(['s3', 'cp', `s3://${bucket}/big.bin`, `s3://${bucket}/copy/big.bin`]);
    const copyBack = join(work, 'cli-copy.back');
    await ok(['s3', 'cp', `s3://${bucket}/copy/big.bin`, copyBack]);
    assert.equal(sha256(readFileSync(copyBack)), sha256(data));
    const removed = await ok(['s3', 'rm', `s3://${bucket}`, '--recursive']);
    assert.equal(removed.match(/delete:/g)?.length, 2);
    assert.equal((await s3.send(new ListObjectsV2Command({ Bucket: bucket }))).KeyCount, 0);
  });
});

describe('aws s3api (versions)', () => {
  test('put-bucket-versioning, put-object twice, delete-object, list-object-versions', async () => {
    const bucket = uniqueName('cliver');
    await ok(['s3', 'mb', `s3://${bucket}`]);
    await ok(['s3api', 'put-bucket-versioning', '--bucket', bucket, '--versioning-configuration', 'Status=Enabled']);
    const body = join(work, 'v.txt');
    writeFileSync(body, 'v');
    const ids = [];
    for (let i = 0; i < 2; i++) ids.push(JSON.parse(await ok(['s3api', 'put-object', '--bucket', bucket, '--key', 'k', '--body', body, '--output', 'json'])).VersionId);
    const del = JSON.parse(await ok(['s3api', 'delete-object', '--bucket', bucket, '--key', 'k', '--output', 'json']));
    assert.equal(del.DeleteMarker, true);
    const listed = JSON.parse(await ok(['s3api', 'list-object-versions', '--bucket', bucket, '--output', 'json']));
    assert.deepEqual(listed.Versions.map((v: { VersionId: string }) => v.VersionId), [ids[1], ids[0]]);
    assert.deepEqual(listed.DeleteMarkers.map((m: { VersionId: string; IsLatest: boolean }) => [m.VersionId, m.IsLatest]), [[del.VersionId, true]]);
  });
});

describe('boto3 transfer manager', { skip: missing('boto3') }, () => {
  test('upload_file and download_file of 20 MiB with 5 MiB parts on 8 threads', async () => {
    const bucket = uniqueName('b3mpu');
    const data = randomBytes(20 * MiB + 5);
    const src = join(work, 'boto-big.bin');
    const dst = join(work, 'boto-big.back');
    writeFileSync(src, data);
    const result = await boto3<{ etag: string; keys: string[] }>(
      kumo.url,
      `
import boto3, json, os
from boto3.s3.transfer import TransferConfig
s3 = boto3.client('s3', endpoint_url=os.environ['KUMO_URL'])
s3.create_bucket(Bucket='${bucket}', CreateBucketConfiguration={'LocationConstraint': 'ap-northeast-1'})
cfg = TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024, max_concurrency=8)
s3.upload_file('${src}', '${bucket}', 'data/big.bin', Config=cfg)
s3.download_file('${bucket}', 'data/big.bin', '${dst}', Config=cfg)
res = boto3.resource('s3', endpoint_url=os.environ['KUMO_URL'])
for i in range(3):
    res.Object('${bucket}', f'data/small-{i}').put(Body=b'x')
keys = [o.key for o in res.Bucket('${bucket}').objects.page_size(2)]
print(json.dumps({'etag': s3.head_object(Bucket='${bucket}', Key='data/big.bin')['ETag'], 'keys': keys}))
`,
    );
    assert.match(result.etag, /-5"$/);
    assert.equal(sha256(readFileSync(dst)), sha256(data));
    assert.deepEqual(result.keys, ['data/big.bin', 'data/small-0', 'data/small-1', 'data/small-2']);
  });
});
