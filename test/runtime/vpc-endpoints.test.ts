/**
 * AWS's endpoints by their real names from inside an instance (SCENARIO.md Part A, step 6, the
 * backup of seed 004): user data configures access keys and runs `aws s3 mb` and
 * `aws s3 sync /data s3://…` with no --endpoint-url; the host then reads the objects back with
 * the SDK. Inside, the names resolve to kumo and its certificate is trusted (kumo's CA, the one
 * /_kumo/ca.pem serves); names of services kumo does not run do not resolve. Needs root (skips
 * otherwise; fails under KUMO_REQUIRE_NATIVE=1).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { RunInstancesCommand, TerminateInstancesCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { clientConfig, waitFor } from '../helpers/kumo.js';
import { consoleText, debianImageId, ec2Fixture, waitForState, type Ec2Fixture } from '../helpers/ec2.js';
import { inside } from './instance-access.js';
import { nativeSkipReason } from './support.js';

const skip = nativeSkipReason();
const BUCKET = 'kumo-backup-from-inside';
let f: Ec2Fixture;
let ec2: EC2Client;
let s3: S3Client;
let instance = '';

const USER_DATA = `#!/bin/bash
set -e
mkdir -p /data/photos
echo 'first file' > /data/notes.txt
head -c 300000 /dev/urandom | base64 > /data/photos/big.txt
aws configure set aws_access_key_id test
aws configure set aws_secret_access_key test
aws configure set region ap-northeast-1
aws s3 mb s3://${BUCKET}
aws s3 sync /data s3://${BUCKET}/
aws ec2 describe-regions --query 'Regions[?RegionName==\`ap-northeast-1\`].RegionName' --output text
echo kumo-backup-done
`;

before(async () => {
  if (skip) return;
  f = await ec2Fixture();
  ec2 = f.ec2;
  s3 = new S3Client({ ...clientConfig(f.kumo.url), forcePathStyle: true });
});

after(async () => {
  if (skip) return;
  if (instance) {
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [instance] }));
    await waitForState(ec2, instance, 'terminated', 120_000);
  }
  s3.destroy();
  await f.stop();
});

test('aws s3 sync inside an instance reaches S3 by its real name over HTTPS', { skip, timeout: 15 * 60_000 }, async () => {
  const imageId = await debianImageId(ec2);
  const run = await ec2.send(new RunInstancesCommand({ ImageId: imageId, InstanceType: 't3.micro', MinCount: 1, MaxCount: 1, UserData: Buffer.from(USER_DATA).toString('base64') }));
  instance = run.Instances![0]!.InstanceId!;
  await waitForState(ec2, instance, 'running');
  const console = await waitFor('the backup done', async () => {
    const text = await consoleText(ec2, instance);
    if (/user data exited with status [1-9]|Traceback/.test(text) && !text.includes('kumo-backup-done')) throw new Error(`user data failed:\n${text.slice(-3000)}`);
    return text.includes('kumo-backup-done') ? text : undefined;
  }, 10 * 60_000);
  assert.match(console!, /make_bucket: kumo-backup-from-inside/);
  assert.match(console!, /ap-northeast-1/, 'EC2 answers by its real name too');

  const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET }));
  assert.deepEqual(listed.Contents?.map((o) => o.Key).sort(), ['notes.txt', 'photos/big.txt']);
  const notes = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'notes.txt' }));
  assert.equal(await notes.Body!.transformToString(), 'first file\n');
  const big = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'photos/big.txt' }));
  assert.equal((await big.Body!.transformToString()).trim(), (await inside(instance, 'cat /data/photos/big.txt')).trim());
});

test('inside, the names resolve to kumo, its CA is trusted, and other AWS names do not resolve', { skip, timeout: 5 * 60_000 }, async () => {
  const ca = await (await fetch(`${f.kumo.url}/_kumo/ca.pem`)).text();
  const trusted = await inside(instance, 'cat /usr/local/share/ca-certificates/kumo-0.crt');
  assert.equal(trusted.trim(), ca.trim(), 'the instance trusts the CA kumo serves');
  const code = await inside(instance, "curl -s -o /dev/null -w '%{http_code}' https://s3.ap-northeast-1.amazonaws.com/");
  assert.equal(code, '403', 'an unsigned request reaches S3 and is refused as S3 refuses it');
  const unknown = await inside(instance, 'getent hosts dynamodb.ap-northeast-1.amazonaws.com || echo none');
  assert.equal(unknown.trim(), 'none', 'a service kumo does not run has no address');
});
