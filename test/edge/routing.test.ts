// Which service a request reaches, and what a request for something kumo lacks gets back.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DescribeLaunchTemplatesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { DescribeTrustStoresCommand, ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { DescribeDBClustersCommand, RDSClient } from '@aws-sdk/client-rds';
import { CreateBucketCommand, GetBucketReplicationCommand, S3Client } from '@aws-sdk/client-s3';
import { clientConfig, startKumoForTest, uniqueName, type TestKumo } from '../helpers/kumo.js';
import { signedPost } from './sign.js';

let kumo: TestKumo;
before(async () => {
  kumo = await startKumoForTest();
});
after(() => kumo.stop());

const code = (xml: string) => /<Code>([^<]*)<\/Code>/.exec(xml)?.[1];

async function healthy(): Promise<void> {
  assert.equal((await fetch(`${kumo.url}/_kumo/health`)).status, 200);
}

describe('services kumo does not have', () => {
  test('a DynamoDB (JSON) request gets a JSON NotImplemented 501 it can parse, and kumo stays up', async () => {
    const r = await signedPost(kumo.url, {
      service: 'dynamodb',
      body: '{}',
      headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'DynamoDB_20120810.ListTables' },
    });
    assert.equal(r.status, 501);
    assert.equal(r.headers.get('x-amzn-errortype'), 'NotImplemented');
    const body = JSON.parse(r.text) as { __type: string; message: string };
    assert.equal(body.__type, 'NotImplemented');
    assert.match(body.message, /dynamodb/);
    await healthy();
  });

  test('an SQS query request gets an XML NotImplemented 501', async () => {
    const r = await signedPost(kumo.url, { service: 'sqs', body: 'Action=ListQueues&Version=2012-11-05' });
    assert.equal(r.status, 501);
    assert.equal(code(r.text), 'NotImplemented');
    assert.match(r.text, /sqs/);
    await healthy();
  });

  test('classic ELB and ELBv2 share a signing name: the API version picks which answers', async () => {
    const classic = await signedPost(kumo.url, { service: 'elasticloadbalancing', body: 'Action=DescribeLoadBalancers&Version=2012-06-01' });
    assert.equal(classic.status, 200);
    assert.match(classic.text, /<LoadBalancerDescriptions/);
    const v2 = await signedPost(kumo.url, { service: 'elasticloadbalancing', body: 'Action=DescribeLoadBalancers&Version=2015-12-01' });
    assert.equal(v2.status, 200);
    assert.match(v2.text, /<LoadBalancers/);
  });
});

describe('operations kumo has not implemented', () => {
  const cases: [string, () => Promise<unknown>][] = [
    ['EC2 DescribeLaunchTemplates', () => new EC2Client(clientConfig(kumo.url)).send(new DescribeLaunchTemplatesCommand({}))],
    ['RDS DescribeDBClusters', () => new RDSClient(clientConfig(kumo.url)).send(new DescribeDBClustersCommand({}))],
    ['ELBv2 DescribeTrustStores', () => new ElasticLoadBalancingV2Client(clientConfig(kumo.url)).send(new DescribeTrustStoresCommand({}))],
  ];
  for (const [name, send] of cases) {
    test(`${name} is an SDK error NotImplemented (501), not an empty success`, async () => {
      await assert.rejects(send(), (e: Error & { $metadata: { httpStatusCode: number }; $fault: string }) => {
        assert.equal(e.name, 'NotImplemented');
        assert.equal(e.$metadata.httpStatusCode, 501);
        assert.equal(e.$fault, 'server');
        assert.match(e.message, /not implemented/);
        return true;
      });
    });
  }

  test('S3 GetBucketReplication is NotImplemented (501) too', async () => {
    const s3 = new S3Client(clientConfig(kumo.url, { forcePathStyle: true }));
    const bucket = uniqueName('routing');
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await assert.rejects(s3.send(new GetBucketReplicationCommand({ Bucket: bucket })), (e: Error & { $metadata: { httpStatusCode: number } }) => {
      assert.equal(e.name, 'NotImplemented');
      assert.equal(e.$metadata.httpStatusCode, 501);
      return true;
    });
    s3.destroy();
  });
});

describe('query envelope', () => {
  test('an unknown Action is InvalidAction, in each family’s error shape', async () => {
    const ec2 = await signedPost(kumo.url, { service: 'ec2', body: 'Action=DescribeUnicorns&Version=2016-11-15' });
    assert.equal(ec2.status, 400);
    assert.match(ec2.text, /^<\?xml[^>]*>\s*<Response><Errors><Error><Code>InvalidAction<\/Code>/);
    const sts = await signedPost(kumo.url, { service: 'sts', body: 'Action=AssumeUnicorn&Version=2011-06-15' });
    assert.equal(sts.status, 400);
    assert.match(sts.text, /<ErrorResponse[^>]*><Error><Type>Sender<\/Type><Code>InvalidAction<\/Code>/);
  });

  test('a missing Action is MissingAction', async () => {
    const r = await signedPost(kumo.url, { service: 'rds', body: 'Version=2014-10-31' });
    assert.equal(r.status, 400);
    assert.equal(code(r.text), 'MissingAction');
  });

  test('a Version no kumo API has is NoSuchVersion', async () => {
    const r = await signedPost(kumo.url, { service: 'ec2', body: 'Action=DescribeVpcs&Version=2099-01-01' });
    assert.equal(r.status, 400);
    assert.equal(code(r.text), 'NoSuchVersion');
    assert.match(r.text, /2099-01-01/);
  });

  test('a signed request without Version is served by the only API under its signing name', async () => {
    const r = await signedPost(kumo.url, { service: 'sts', body: 'Action=GetCallerIdentity' });
    assert.equal(r.status, 200, r.text);
    assert.match(r.text, /<Account>000000000000<\/Account>/);
  });

  test('an unsigned form is routed by Version, so each service answers in its own terms', async () => {
    const post = (body: string) =>
      fetch(kumo.url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body }).then(async (r) => ({ status: r.status, text: await r.text() }));
    const ec2 = await post('Action=DescribeVpcs&Version=2016-11-15');
    assert.deepEqual([ec2.status, code(ec2.text)], [401, 'MissingAuthenticationToken']);
    assert.match(ec2.text, /^<\?xml[^>]*>\s*<Response><Errors>/);
    const rds = await post('Action=DescribeDBSubnetGroups&Version=2014-10-31');
    assert.deepEqual([rds.status, code(rds.text)], [403, 'MissingAuthenticationToken']);
    assert.match(rds.text, /xmlns="http:\/\/rds\.amazonaws\.com\/doc\/2014-10-31\/"/);
    const none = await post('Action=DescribeVpcs');
    assert.deepEqual([none.status, code(none.text)], [400, 'MissingParameter']);
    const unknown = await post('Action=DescribeVpcs&Version=1999-01-01');
    assert.deepEqual([unknown.status, code(unknown.text)], [400, 'NoSuchVersion']);
  });

  test('request ids: the x-amzn-requestid header is the id in the body, success or error', async () => {
    const sts = await signedPost(kumo.url, { service: 'sts', body: 'Action=GetCallerIdentity&Version=2011-06-15' });
    assert.equal(/<RequestId>([^<]+)<\/RequestId>/.exec(sts.text)?.[1], sts.headers.get('x-amzn-requestid'));
    const ec2 = await signedPost(kumo.url, { service: 'ec2', body: 'Action=DescribeVpcs&Version=2016-11-15' });
    assert.equal(/<requestId>([^<]+)<\/requestId>/.exec(ec2.text)?.[1], ec2.headers.get('x-amzn-requestid'));
    const err = await signedPost(kumo.url, { service: 'ec2', body: 'Action=DescribeVpcs&Version=2016-11-15&Bogus=1' });
    assert.equal(/<RequestID>([^<]+)<\/RequestID>/.exec(err.text)?.[1], err.headers.get('x-amzn-requestid'));
    assert.notEqual(sts.headers.get('x-amzn-requestid'), ec2.headers.get('x-amzn-requestid'));
  });
});
