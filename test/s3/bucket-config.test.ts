// Lifecycle, website, tagging and transfer acceleration configuration of a bucket against a real
// kumo: stored and returned as given, S3's "no such configuration" errors, validation that refuses what AWS
// refuses without touching what was stored, and the headline flows with the aws CLI and boto3.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteBucketLifecycleCommand,
  DeleteBucketTaggingCommand,
  DeleteBucketWebsiteCommand,
  GetBucketLifecycleConfigurationCommand,
  GetBucketTaggingCommand,
  GetBucketWebsiteCommand,
  PutBucketLifecycleConfigurationCommand,
  PutBucketTaggingCommand,
  PutBucketWebsiteCommand,
  type LifecycleRule,
  type S3Client,
  type WebsiteConfiguration,
} from '@aws-sdk/client-s3';
import { REGION, type TestKumo } from '../helpers/kumo.js';
import { awsJson, boto3 } from '../helpers/python.js';
import { createBucket, failure, useS3 } from './support.js';

let kumo: TestKumo;
let s3: S3Client;

useS3((f) => ({ kumo, s3 } = f));

const newBucket = () => createBucket(s3, 'cfg');

const RULES: LifecycleRule[] = [
  {
    ID: 'logs',
    Filter: { Prefix: 'logs/' },
    Status: 'Enabled',
    Transitions: [{ Days: 30, StorageClass: 'STANDARD_IA' }, { Days: 90, StorageClass: 'GLACIER' }],
    Expiration: { Days: 365 },
  },
  { ID: 'uploads', Filter: {}, Status: 'Disabled', AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 }, NoncurrentVersionExpiration: { NoncurrentDays: 30 } },
];

describe('lifecycle configuration', () => {
  test('round-trips; after delete it is NoSuchLifecycleConfiguration', async () => {
    const Bucket = await newBucket();
    const none = await failure(s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket })));
    assert.deepEqual([none.name, none.status], ['NoSuchLifecycleConfiguration', 404]);
    await s3.send(new PutBucketLifecycleConfigurationCommand({ Bucket, LifecycleConfiguration: { Rules: RULES } }));
    const got = await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket }));
    assert.deepEqual(got.Rules, RULES);
    assert.equal(got.TransitionDefaultMinimumObjectSize, 'all_storage_classes_128K');
    await s3.send(new DeleteBucketLifecycleCommand({ Bucket }));
    assert.equal((await failure(s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket })))).name, 'NoSuchLifecycleConfiguration');
  });

  test('rules AWS refuses are refused, and the stored rules stay', async () => {
    const Bucket = await newBucket();
    await s3.send(new PutBucketLifecycleConfigurationCommand({ Bucket, LifecycleConfiguration: { Rules: RULES } }));
    const bad: [LifecycleRule[], string][] = [
      [[{ ID: 'a', Filter: { Prefix: '' }, Status: 'Enabled', Expiration: { Days: 0 } }], 'InvalidArgument'],
      [[{ ID: 'a', Filter: { Prefix: '' }, Status: 'Enabled' }], 'InvalidRequest'],
      [[{ ID: 'a', Filter: { Prefix: '' }, Status: 'Enabled', Transitions: [{ Days: 10, StorageClass: 'STANDARD_IA' }] }], 'InvalidArgument'],
      [[{ ID: 'same', Filter: {}, Status: 'Enabled', Expiration: { Days: 1 } }, { ID: 'same', Filter: {}, Status: 'Enabled', Expiration: { Days: 2 } }], 'InvalidArgument'],
      [[{ ID: 'a', Filter: { Prefix: '' }, Status: 'Sometimes' as 'Enabled', Expiration: { Days: 1 } }], 'MalformedXML'],
      [[{ ID: 'a', Filter: { Tag: { Key: 'k', Value: 'v' } }, Status: 'Enabled', AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } }], 'InvalidRequest'],
      [[{ ID: 'a', Filter: { Prefix: '' }, Status: 'Enabled', Expiration: { Date: new Date('2030-01-01T12:00:00Z') } }], 'InvalidArgument'],
    ];
    for (const [Rules, code] of bad) {
      const f = await failure(s3.send(new PutBucketLifecycleConfigurationCommand({ Bucket, LifecycleConfiguration: { Rules } })));
      assert.deepEqual([f.name, f.status], [code, 400], JSON.stringify(Rules));
    }
    assert.deepEqual((await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket }))).Rules, RULES);
  });

  test('boto3 puts and reads a lifecycle rule', async () => {
    const Bucket = await newBucket();
    const rules = await boto3<{ ID: string; Expiration: { Days: number } }[]>(
      kumo.url,
      `import boto3, json, os
s3 = boto3.client('s3', endpoint_url=os.environ['KUMO_URL'])
s3.put_bucket_lifecycle_configuration(Bucket='${Bucket}', LifecycleConfiguration={'Rules': [
  {'ID': 'tmp', 'Filter': {'Prefix': 'tmp/'}, 'Status': 'Enabled', 'Expiration': {'Days': 1}}]})
print(json.dumps(s3.get_bucket_lifecycle_configuration(Bucket='${Bucket}')['Rules']))`,
    );
    assert.deepEqual(rules, [{ ID: 'tmp', Filter: { Prefix: 'tmp/' }, Status: 'Enabled', Expiration: { Days: 1 } }]);
  });
});

describe('website configuration', () => {
  test('round-trips; after delete it is NoSuchWebsiteConfiguration', async () => {
    const Bucket = await newBucket();
    const none = await failure(s3.send(new GetBucketWebsiteCommand({ Bucket })));
    assert.deepEqual([none.name, none.status], ['NoSuchWebsiteConfiguration', 404]);
    const config: WebsiteConfiguration = {
      IndexDocument: { Suffix: 'index.html' },
      ErrorDocument: { Key: 'error.html' },
      RoutingRules: [{ Condition: { KeyPrefixEquals: 'docs/' }, Redirect: { ReplaceKeyPrefixWith: 'documents/', HttpRedirectCode: '301' } }],
    };
    await s3.send(new PutBucketWebsiteCommand({ Bucket, WebsiteConfiguration: config }));
    const got = await s3.send(new GetBucketWebsiteCommand({ Bucket }));
    assert.deepEqual({ IndexDocument: got.IndexDocument, ErrorDocument: got.ErrorDocument, RoutingRules: got.RoutingRules }, config);
    await s3.send(new PutBucketWebsiteCommand({ Bucket, WebsiteConfiguration: { RedirectAllRequestsTo: { HostName: 'example.com', Protocol: 'https' } } }));
    assert.deepEqual((await s3.send(new GetBucketWebsiteCommand({ Bucket }))).RedirectAllRequestsTo, { HostName: 'example.com', Protocol: 'https' });
    await s3.send(new DeleteBucketWebsiteCommand({ Bucket }));
    assert.equal((await failure(s3.send(new GetBucketWebsiteCommand({ Bucket })))).name, 'NoSuchWebsiteConfiguration');
  });

  test('configurations AWS refuses are refused', async () => {
    const Bucket = await newBucket();
    const bad: [WebsiteConfiguration, string][] = [
      [{ ErrorDocument: { Key: 'e.html' } }, 'InvalidArgument'],
      [{ IndexDocument: { Suffix: 'dir/index.html' } }, 'InvalidArgument'],
      [{ IndexDocument: { Suffix: 'index.html' }, RedirectAllRequestsTo: { HostName: 'example.com' } }, 'InvalidRequest'],
      [{ IndexDocument: { Suffix: 'index.html' }, RoutingRules: [{ Redirect: { ReplaceKeyWith: 'a', ReplaceKeyPrefixWith: 'b' } }] }, 'InvalidRequest'],
    ];
    for (const [WebsiteConfiguration, code] of bad) {
      const f = await failure(s3.send(new PutBucketWebsiteCommand({ Bucket, WebsiteConfiguration })));
      assert.deepEqual([f.name, f.status], [code, 400], JSON.stringify(WebsiteConfiguration));
    }
    assert.equal((await failure(s3.send(new GetBucketWebsiteCommand({ Bucket })))).name, 'NoSuchWebsiteConfiguration');
  });
});

describe('bucket tagging', () => {
  test('round-trips; after delete it is NoSuchTagSet', async () => {
    const Bucket = await newBucket();
    assert.deepEqual((await failure(s3.send(new GetBucketTaggingCommand({ Bucket })))).name, 'NoSuchTagSet');
    const TagSet = [{ Key: 'team', Value: 'storage' }, { Key: 'cost-center', Value: '' }];
    await s3.send(new PutBucketTaggingCommand({ Bucket, Tagging: { TagSet } }));
    // Answered in key order, as S3 does.
    assert.deepEqual((await s3.send(new GetBucketTaggingCommand({ Bucket }))).TagSet, [TagSet[1], TagSet[0]]);
    await s3.send(new DeleteBucketTaggingCommand({ Bucket }));
    const f = await failure(s3.send(new GetBucketTaggingCommand({ Bucket })));
    assert.deepEqual([f.name, f.status], ['NoSuchTagSet', 404]);
  });

  test('bad tag sets are InvalidTag and replace nothing', async () => {
    const Bucket = await newBucket();
    const kept = [{ Key: 'keep', Value: 'me' }];
    await s3.send(new PutBucketTaggingCommand({ Bucket, Tagging: { TagSet: kept } }));
    const bad = [
      Array.from({ length: 51 }, (_, i) => ({ Key: `k${i}`, Value: 'v' })),
      [{ Key: 'dup', Value: '1' }, { Key: 'dup', Value: '2' }],
      [{ Key: 'k'.repeat(129), Value: 'v' }],
      [{ Key: 'k', Value: 'v'.repeat(257) }],
      [{ Key: 'aws:reserved', Value: 'v' }],
    ];
    for (const TagSet of bad) {
      const f = await failure(s3.send(new PutBucketTaggingCommand({ Bucket, Tagging: { TagSet } })));
      assert.deepEqual([f.name, f.status], ['InvalidTag', 400], JSON.stringify(TagSet).slice(0, 80));
    }
    assert.deepEqual((await s3.send(new GetBucketTaggingCommand({ Bucket }))).TagSet, kept);
    // 50 is allowed.
    await s3.send(new PutBucketTaggingCommand({ Bucket, Tagging: { TagSet: Array.from({ length: 50 }, (_, i) => ({ Key: `k${i}`, Value: 'v' })) } }));
  });

  test('the aws CLI tags a bucket; configuration goes with the bucket when it is deleted', async () => {
    const Bucket = await newBucket();
    await awsJson(kumo.url, ['s3api', 'put-bucket-tagging', '--bucket', Bucket, '--tagging', 'TagSet=[{Key=env,Value=test}]']);
    const got = await awsJson<{ TagSet: { Key: string; Value: string }[] }>(kumo.url, ['s3api', 'get-bucket-tagging', '--bucket', Bucket]);
    assert.deepEqual(got.TagSet, [{ Key: 'env', Value: 'test' }]);
    await s3.send(new DeleteBucketCommand({ Bucket }));
    await s3.send(new CreateBucketCommand({ Bucket, CreateBucketConfiguration: { LocationConstraint: REGION } }));
    assert.equal((await failure(s3.send(new GetBucketTaggingCommand({ Bucket })))).name, 'NoSuchTagSet', 'a new bucket of the same name starts bare');
  });
});

describe('transfer acceleration', () => {
  test('Enabled and Suspended round-trip; a bucket with periods in its name is refused; the aws CLI reads it', async () => {
    const { GetBucketAccelerateConfigurationCommand, PutBucketAccelerateConfigurationCommand } = await import('@aws-sdk/client-s3');
    const Bucket = await newBucket();
    assert.equal((await s3.send(new GetBucketAccelerateConfigurationCommand({ Bucket }))).Status, undefined);
    await s3.send(new PutBucketAccelerateConfigurationCommand({ Bucket, AccelerateConfiguration: { Status: 'Enabled' } }));
    assert.equal((await s3.send(new GetBucketAccelerateConfigurationCommand({ Bucket }))).Status, 'Enabled');
    await s3.send(new PutBucketAccelerateConfigurationCommand({ Bucket, AccelerateConfiguration: { Status: 'Suspended' } }));
    const cli = await awsJson<{ Status: string }>(kumo.url, ['s3api', 'get-bucket-accelerate-configuration', '--bucket', Bucket]);
    assert.equal(cli.Status, 'Suspended');
    const bad = await failure(s3.send(new PutBucketAccelerateConfigurationCommand({ Bucket, AccelerateConfiguration: { Status: 'On' as 'Enabled' } })));
    assert.equal(bad.name, 'MalformedXML');
    const dotted = `cfg.dotted.${Date.now()}`;
    await s3.send(new CreateBucketCommand({ Bucket: dotted, CreateBucketConfiguration: { LocationConstraint: REGION } }));
    const f = await failure(s3.send(new PutBucketAccelerateConfigurationCommand({ Bucket: dotted, AccelerateConfiguration: { Status: 'Enabled' } })));
    assert.deepEqual([f.name, f.status], ['InvalidRequest', 400]);
  });
});
