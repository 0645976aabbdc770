// Server access logging: PutBucketLogging/GetBucketLogging and their refusals, and log objects
// delivered to the target bucket in S3's format (one line per request, failures included),
// with simple and partitioned keys. Delivery is forced by advancing kumo's clock
// (POST /_kumo/clock), which waits for it. SDK v3 and the aws CLI.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  CreateBucketCommand,
  GetBucketLoggingCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutBucketLoggingCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { uniqueName, type TestKumo } from '../helpers/kumo.js';
import { awsJson } from '../helpers/python.js';
import { missing } from '../helpers/tools.js';
import { createBucket, failure, s3Client, advanceClock, useS3 } from './support.js';

let kumo: TestKumo;
let s3: S3Client;

useS3((f) => ({ kumo, s3 } = f));

/** Advancing kumo's clock delivers the logs, and waits for it. */
const deliver = () => advanceClock(kumo.url, '1s');

async function logLines(Bucket: string, Prefix: string): Promise<{ keys: string[]; lines: string[] }> {
  const listed = await s3.send(new ListObjectsV2Command({ Bucket, Prefix }));
  const keys = (listed.Contents ?? []).map((o) => o.Key!);
  const lines: string[] = [];
  for (const Key of keys) {
    const got = await s3.send(new GetObjectCommand({ Bucket, Key }));
    lines.push(...(await got.Body!.transformToString()).trim().split('\n'));
  }
  return { keys, lines };
}

/** Splits a log line into fields: bracketed time and quoted strings are single fields. */
function fields(line: string): string[] {
  return line.match(/\[[^\]]*\]|"(?:[^"\\]|\\.)*"|\S+/g) ?? [];
}

describe('configuration', () => {
  test('put, get, turn off; a target that does not exist or is elsewhere is refused', async () => {
    const source = await createBucket(s3, 'log-src');
    const target = await createBucket(s3, 'log-dst');
    assert.equal((await s3.send(new GetBucketLoggingCommand({ Bucket: source }))).LoggingEnabled, undefined);
    await s3.send(new PutBucketLoggingCommand({ Bucket: source, BucketLoggingStatus: { LoggingEnabled: { TargetBucket: target, TargetPrefix: 'logs/' } } }));
    assert.deepEqual((await s3.send(new GetBucketLoggingCommand({ Bucket: source }))).LoggingEnabled, { TargetBucket: target, TargetPrefix: 'logs/' });
    let f = await failure(s3.send(new PutBucketLoggingCommand({ Bucket: source, BucketLoggingStatus: { LoggingEnabled: { TargetBucket: 'no-such-target-bucket', TargetPrefix: '' } } })));
    assert.deepEqual([f.name, f.status], ['InvalidTargetBucketForLogging', 400]);
    const far = uniqueName('log-far');
    const ireland = s3Client(kumo.url, { region: 'eu-west-1' });
    await ireland.send(new CreateBucketCommand({ Bucket: far, CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } }));
    ireland.destroy();
    f = await failure(s3.send(new PutBucketLoggingCommand({ Bucket: source, BucketLoggingStatus: { LoggingEnabled: { TargetBucket: far, TargetPrefix: '' } } })));
    assert.deepEqual([f.name, f.status], ['CrossLocationLoggingProhibited', 403]);
    await s3.send(new PutBucketLoggingCommand({ Bucket: source, BucketLoggingStatus: {} }));
    assert.equal((await s3.send(new GetBucketLoggingCommand({ Bucket: source }))).LoggingEnabled, undefined);
  });
});

describe('delivery', () => {
  test("each request is a line in S3's format, failures included, in an object under the prefix", async () => {
    const source = await createBucket(s3, 'log-src');
    const target = await createBucket(s3, 'log-dst');
    await s3.send(new PutBucketLoggingCommand({ Bucket: source, BucketLoggingStatus: { LoggingEnabled: { TargetBucket: target, TargetPrefix: 'logs/' } } }));
    await s3.send(new PutObjectCommand({ Bucket: source, Key: 'dir/a b.txt', Body: 'hello' }));
    await (await s3.send(new GetObjectCommand({ Bucket: source, Key: 'dir/a b.txt' }))).Body!.transformToString();
    await failure(s3.send(new GetObjectCommand({ Bucket: source, Key: 'missing' })));
    await s3.send(new ListObjectsV2Command({ Bucket: source }));
    await deliver();
    const { keys, lines } = await logLines(target, 'logs/');
    assert.equal(keys.length, 1);
    assert.match(keys[0], /^logs\/\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}-[0-9A-F]{16}$/);
    assert.equal(lines.length, 5, lines.join('\n'));
    // The PutBucketLogging that turned logging on is the first line.
    const [logging, put, get, miss, list] = lines.map(fields);
    assert.equal(logging[6], 'REST.PUT.LOGGING_STATUS');
    assert.equal(put.length, 26);
    assert.equal(put[1], source);
    assert.match(put[2], /^\[\d{2}\/\w{3}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000\]$/);
    assert.deepEqual([put[6], put[7], put[9]], ['REST.PUT.OBJECT', 'dir/a%20b.txt', '200']);
    assert.match(put[8], /^"PUT \/[^ ]+\/dir\/a%20b.txt[^"]* HTTP\/1\.1"$/);
    assert.equal(put[12], '5', 'object size');
    assert.equal(put[19], 'SigV4');
    assert.equal(put[21], 'AuthHeader');
    assert.deepEqual([get[6], get[9], get[11]], ['REST.GET.OBJECT', '200', '5']);
    assert.deepEqual([miss[6], miss[9], miss[10]], ['REST.GET.OBJECT', '404', 'NoSuchKey']);
    assert.deepEqual([list[6], list[7]], ['REST.GET.BUCKET', '-']);
    // The delivery itself is not a request: the target's own log stays empty, and nothing is left to deliver.
    await deliver();
    assert.equal((await logLines(target, 'logs/')).keys.length, 1);
  });

  test('partitioned keys: <prefix><account>/<region>/<bucket>/YYYY/MM/DD/…', async () => {
    const source = await createBucket(s3, 'log-src');
    const target = await createBucket(s3, 'log-dst');
    await s3.send(
      new PutBucketLoggingCommand({
        Bucket: source,
        BucketLoggingStatus: { LoggingEnabled: { TargetBucket: target, TargetPrefix: 'p/', TargetObjectKeyFormat: { PartitionedPrefix: { PartitionDateSource: 'EventTime' } } } },
      }),
    );
    await s3.send(new PutObjectCommand({ Bucket: source, Key: 'k', Body: 'x' }));
    await deliver();
    const { keys } = await logLines(target, 'p/');
    assert.match(keys[0], new RegExp(`^p/\\d{12}/ap-northeast-1/${source}/\\d{4}/\\d{2}/\\d{2}/\\d{4}-\\d{2}-\\d{2}-\\d{2}-\\d{2}-\\d{2}-[0-9A-F]{16}$`));
  });

  test('aws CLI: put-bucket-logging and get-bucket-logging', { skip: missing('aws') }, async () => {
    const source = await createBucket(s3, 'log-src');
    const target = await createBucket(s3, 'log-dst');
    await awsJson(kumo.url, ['s3api', 'put-bucket-logging', '--bucket', source, '--bucket-logging-status', JSON.stringify({ LoggingEnabled: { TargetBucket: target, TargetPrefix: 'cli/' } })]);
    const got = await awsJson<{ LoggingEnabled: { TargetBucket: string } }>(kumo.url, ['s3api', 'get-bucket-logging', '--bucket', source]);
    assert.equal(got.LoggingEnabled.TargetBucket, target);
  });
});
