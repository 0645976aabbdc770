// S3 through the aws CLI (v1) and boto3, as a user would drive them against a real kumo.
// Multipart transfers through the CLI and boto3 are in multipart-clients.test.ts.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { startKumoForTest, tempDir, uniqueName, type TestKumo } from '../helpers/kumo.js';
import { aws, awsArgs, awsEnv, awsJson, boto3 } from '../helpers/python.js';
import { missing } from '../helpers/tools.js';
import { failure, s3Client } from './support.js';

let kumo: TestKumo;
let s3: S3Client;
let work: string;

before(async () => {
  kumo = await startKumoForTest();
  s3 = s3Client(kumo.url);
  work = tempDir('kumo-s3-cli-');
});
after(async () => {
  s3.destroy();
  await kumo.stop();
  rmSync(work, { recursive: true, force: true });
});

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function ok(args: string[]): Promise<string> {
  const r = await aws(kumo.url, args);
  assert.equal(r.code, 0, `aws ${args.join(' ')} failed (${r.code}):\n${r.stderr}`);
  return r.stdout;
}

/** The aws CLI with bytes on its stdin (the shared helper does not pass input through). */
function awsWithInput(args: string[], input: Buffer): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('aws', awsArgs(kumo.url, args), { env: awsEnv(kumo.url), stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
    child.stdin!.end(input);
  });
}

describe('aws s3 (high-level commands)', () => {
  test('mb, cp up and down, ls, cp to stdout, rm, rb', async () => {
    const bucket = uniqueName('cli');
    assert.match(await ok(['s3', 'mb', `s3://${bucket}`]), new RegExp(`make_bucket: ${bucket}`));
    const where = await awsJson<{ LocationConstraint: string }>(kumo.url, ['s3api', 'get-bucket-location', '--bucket', bucket]);
    assert.equal(where.LocationConstraint, 'ap-northeast-1');

    const small = randomBytes(3 * 1024 * 1024 + 5);
    const src = join(work, 'small.bin');
    writeFileSync(src, small);
    await ok(['s3', 'cp', src, `s3://${bucket}/dir/small.bin`]);
    writeFileSync(join(work, 'note.txt'), 'hello from the cli\n');
    await ok(['s3', 'cp', join(work, 'note.txt'), `s3://${bucket}/note.txt`]);

    const top = await ok(['s3', 'ls', `s3://${bucket}/`]);
    assert.match(top, /PRE dir\//);
    assert.match(top, /\s19 note\.txt/);
    const recursive = await ok(['s3', 'ls', '--recursive', `s3://${bucket}/`]);
    assert.match(recursive, new RegExp(`${small.length} dir/small\\.bin`));
    assert.match(await ok(['s3', 'ls']), new RegExp(bucket));

    const dest = join(work, 'small.down');
    await ok(['s3', 'cp', `s3://${bucket}/dir/small.bin`, dest]);
    assert.equal(sha256(readFileSync(dest)), sha256(small));
    assert.equal(await ok(['s3', 'cp', `s3://${bucket}/note.txt`, '-']), 'hello from the cli\n');

    await ok(['s3', 'rm', `s3://${bucket}/note.txt`]);
    const notEmpty = await aws(kumo.url, ['s3', 'rb', `s3://${bucket}`]);
    assert.notEqual(notEmpty.code, 0);
    assert.match(notEmpty.stderr, /BucketNotEmpty/);
    await ok(['s3', 'rm', '--recursive', `s3://${bucket}/`]);
    assert.match(await ok(['s3', 'rb', `s3://${bucket}`]), new RegExp(`remove_bucket: ${bucket}`));
    const gone = await aws(kumo.url, ['s3', 'ls', `s3://${bucket}/`]);
    assert.notEqual(gone.code, 0);
    assert.match(gone.stderr, /NoSuchBucket/);
  });

  test('cp - uploads what arrives on stdin', async () => {
    const bucket = uniqueName('stdin');
    await ok(['s3', 'mb', `s3://${bucket}`]);
    const data = randomBytes(2 * 1024 * 1024 + 1);
    const r = await awsWithInput(['s3', 'cp', '-', `s3://${bucket}/from-stdin.bin`], data);
    assert.equal(r.code, 0, r.stderr);
    const dest = join(work, 'stdin.down');
    await ok(['s3', 'cp', `s3://${bucket}/from-stdin.bin`, dest]);
    assert.equal(sha256(readFileSync(dest)), sha256(data));
  });

  test('sync uploads a directory tree and a second sync sends nothing', async () => {
    const bucket = uniqueName('sync');
    await ok(['s3', 'mb', `s3://${bucket}`]);
    const tree = join(work, 'tree');
    mkdirSync(join(tree, 'sub dir'), { recursive: true });
    writeFileSync(join(tree, 'a.txt'), 'a');
    writeFileSync(join(tree, 'sub dir', 'b+c.txt'), 'bc');
    // sync compares mtimes with S3's whole-second LastModified; files written in the second of
    // the upload would look newer and be sent again, on AWS too.
    const anHourAgo = new Date(Date.now() - 3_600_000);
    for (const f of ['a.txt', 'sub dir/b+c.txt']) utimesSync(join(tree, f), anHourAgo, anHourAgo);
    const first = await ok(['s3', 'sync', tree, `s3://${bucket}/t`]);
    assert.equal(first.match(/upload:/g)?.length, 2);
    const listed = await awsJson<{ Contents: { Key: string }[] }>(kumo.url, ['s3api', 'list-objects-v2', '--bucket', bucket]);
    assert.deepEqual(listed.Contents.map((o) => o.Key).sort(), ['t/a.txt', 't/sub dir/b+c.txt']);
    assert.equal((await ok(['s3', 'sync', tree, `s3://${bucket}/t`])).trim(), '');
  });
});

describe('aws s3api', () => {
  test('create-bucket, put-object, head-object, get-object, list-objects-v2', async () => {
    const bucket = uniqueName('s3api');
    const noConfig = await aws(kumo.url, ['s3api', 'create-bucket', '--bucket', bucket]);
    assert.notEqual(noConfig.code, 0);
    assert.match(noConfig.stderr, /IllegalLocationConstraintException/);
    await awsJson(kumo.url, ['s3api', 'create-bucket', '--bucket', bucket, '--create-bucket-configuration', 'LocationConstraint=ap-northeast-1']);

    const body = join(work, 'api.json');
    writeFileSync(body, '{"n":1}');
    const put = await awsJson<{ ETag: string }>(kumo.url, [
      's3api', 'put-object', '--bucket', bucket, '--key', 'cfg/app.json', '--body', body,
      '--content-type', 'application/json', '--metadata', 'team=core',
    ]);
    assert.equal(put.ETag, `"${createHash('md5').update('{"n":1}').digest('hex')}"`);

    const head = await awsJson<{ ContentLength: number; ContentType: string; Metadata: Record<string, string>; ETag: string }>(kumo.url, [
      's3api', 'head-object', '--bucket', bucket, '--key', 'cfg/app.json',
    ]);
    assert.equal(head.ContentLength, 7);
    assert.equal(head.ContentType, 'application/json');
    assert.deepEqual(head.Metadata, { team: 'core' });
    assert.equal(head.ETag, put.ETag);

    const out = join(work, 'api.out');
    const got = await awsJson<{ ContentLength: number }>(kumo.url, ['s3api', 'get-object', '--bucket', bucket, '--key', 'cfg/app.json', out]);
    assert.equal(got.ContentLength, 7);
    assert.equal(readFileSync(out, 'utf8'), '{"n":1}');

    const listed = await awsJson<{ KeyCount: number; Contents: { Key: string; Size: number }[] }>(kumo.url, [
      's3api', 'list-objects-v2', '--bucket', bucket, '--prefix', 'cfg/', '--no-paginate',
    ]);
    assert.equal(listed.KeyCount, 1);
    assert.deepEqual(listed.Contents.map((o) => [o.Key, o.Size]), [['cfg/app.json', 7]]);

    const missing = await aws(kumo.url, ['s3api', 'head-object', '--bucket', bucket, '--key', 'nope']);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /\(404\).*Not Found/);
    const noKey = await aws(kumo.url, ['s3api', 'get-object', '--bucket', bucket, '--key', 'nope', join(work, 'nope')]);
    assert.match(noKey.stderr, /NoSuchKey/);
  });
});

describe('boto3', { skip: missing('boto3') }, () => {
  test('create_bucket, put/get/list, upload_file/download_file, head_object errors', async () => {
    const bucket = uniqueName('boto');
    const src = join(work, 'boto-src.bin');
    const dst = join(work, 'boto-dst.bin');
    const data = randomBytes(5 * 1024 * 1024 + 3);
    writeFileSync(src, data);
    const result = await boto3<Record<string, unknown>>(
      kumo.url,
      `
import json, os, boto3, botocore
s3 = boto3.client('s3', endpoint_url=os.environ['KUMO_URL'])
bucket = ${JSON.stringify(bucket)}
s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={'LocationConstraint': 'ap-northeast-1'})
location = s3.get_bucket_location(Bucket=bucket)['LocationConstraint']
put = s3.put_object(Bucket=bucket, Key='greeting.txt', Body=b'hello boto', Metadata={'lang': 'en'})
got = s3.get_object(Bucket=bucket, Key='greeting.txt')
body = got['Body'].read().decode()
s3.put_object(Bucket=bucket, Key='odd key+plus%.txt', Body=b'x')
listed = s3.list_objects_v2(Bucket=bucket)
s3.upload_file(${JSON.stringify(src)}, bucket, 'files/upload.bin')
s3.download_file(bucket, 'files/upload.bin', ${JSON.stringify(dst)})
try:
    s3.head_object(Bucket=bucket, Key='missing')
    head_error = None
except botocore.exceptions.ClientError as e:
    head_error = [e.response['Error']['Code'], e.response['ResponseMetadata']['HTTPStatusCode']]
try:
    s3.get_object(Bucket=bucket, Key='missing')
    get_error = None
except s3.exceptions.NoSuchKey as e:
    get_error = [e.response['Error']['Code'], e.response['Error'].get('Key')]
print(json.dumps({
    'location': location, 'etag': put['ETag'], 'body': body, 'metadata': got['Metadata'],
    'keys': [o['Key'] for o in listed['Contents']], 'count': listed['KeyCount'],
    'head_error': head_error, 'get_error': get_error,
}))
`,
    );
    assert.equal(result.location, 'ap-northeast-1');
    assert.equal(result.etag, `"${createHash('md5').update('hello boto').digest('hex')}"`);
    assert.equal(result.body, 'hello boto');
    assert.deepEqual(result.metadata, { lang: 'en' });
    // boto3 asks for encoding-type=url and decodes the keys itself: they must come back intact.
    assert.deepEqual(result.keys, ['greeting.txt', 'odd key+plus%.txt']);
    assert.equal(result.count, 2);
    assert.deepEqual(result.head_error, ['404', 404]);
    assert.deepEqual(result.get_error, ['NoSuchKey', 'missing']);
    assert.equal(sha256(readFileSync(dst)), sha256(data));
  });
});
