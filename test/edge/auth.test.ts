// SigV4 at the edge, as each official client sees it: who is refused, with which service's code.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DescribeVpcsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { DescribeTargetGroupsCommand, ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { DescribeDBSubnetGroupsCommand, RDSClient } from '@aws-sdk/client-rds';
import { ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { SignatureV4 } from '@smithy/signature-v4';
import { DEFAULT_CREDENTIAL } from '../../src/config.js';
import { clientConfig, startKumoForTest, type TestKumo } from '../helpers/kumo.js';
import { aws, boto3 } from '../helpers/python.js';
import { missing } from '../helpers/tools.js';
import { NodeSha256 } from './sign.js';

const OTHER = { accessKeyId: 'AKIAOTHEROTHEROTHER1', secretAccessKey: 'other/secret+key', account: '111122223333' };

let kumo: TestKumo;
before(async () => {
  kumo = await startKumoForTest({ credentials: [DEFAULT_CREDENTIAL, OTHER] });
});
after(() => kumo.stop());

type Svc = 'ec2' | 'sts' | 'rds' | 'elbv2' | 's3';
const SERVICES: Svc[] = ['ec2', 'sts', 'rds', 'elbv2', 's3'];

interface Sent {
  /** The X-Amz-Date the client put on the wire. */
  amzDate?: string;
}

/** One cheap read per service through a fresh client (fresh, so no clock correction carries over). */
async function call(svc: Svc, extra: Record<string, unknown> = {}, sent: Sent = {}): Promise<unknown> {
  const config = clientConfig(kumo.url, { maxAttempts: 1, ...extra });
  const clients = {
    ec2: () => [new EC2Client(config), new DescribeVpcsCommand({})],
    sts: () => [new STSClient(config), new GetCallerIdentityCommand({})],
    rds: () => [new RDSClient(config), new DescribeDBSubnetGroupsCommand({})],
    elbv2: () => [new ElasticLoadBalancingV2Client(config), new DescribeTargetGroupsCommand({})],
    s3: () => [new S3Client({ ...config, forcePathStyle: true }), new ListBucketsCommand({})],
  } as const;
  const [client, command] = clients[svc]() as unknown as [
    { send(c: unknown): Promise<unknown>; destroy(): void; middlewareStack: { add(m: unknown, o: object): void } },
    unknown,
  ];
  // The deserialize step sees the request exactly as signed, just before it is sent.
  client.middlewareStack.add(
    (next: (a: unknown) => Promise<unknown>) => async (args: { request: { headers: Record<string, string> } }) => {
      sent.amzDate = args.request.headers['x-amz-date'];
      return next(args);
    },
    { step: 'deserialize', priority: 'low' },
  );
  try {
    return await client.send(command);
  } finally {
    client.destroy();
  }
}

interface Failure {
  code: string;
  status: number;
  message: string;
}
async function failure(p: Promise<unknown>): Promise<Failure> {
  try {
    await p;
  } catch (e) {
    const err = e as Error & { $metadata?: { httpStatusCode?: number } };
    return { code: err.name, status: err.$metadata?.httpStatusCode ?? 0, message: err.message };
  }
  assert.fail('the request succeeded');
}

const amzToMs = (d: string) => Date.parse(d.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'));

describe('SigV4 verified by default', () => {
  test('the default key signs for every service', async () => {
    for (const svc of SERVICES) await call(svc);
  });

  test('a wrong secret is SignatureDoesNotMatch (403) everywhere', async () => {
    for (const svc of SERVICES) {
      const f = await failure(call(svc, { credentials: { accessKeyId: 'test', secretAccessKey: 'wrong' } }));
      assert.deepEqual([f.code, f.status], ['SignatureDoesNotMatch', 403], svc);
    }
  });

  test('an unknown access key gets each service its own code', async () => {
    const expected: Record<Svc, [string, number]> = {
      ec2: ['AuthFailure', 401],
      sts: ['InvalidClientTokenId', 403],
      rds: ['InvalidClientTokenId', 403],
      elbv2: ['InvalidClientTokenId', 403],
      s3: ['InvalidAccessKeyId', 403],
    };
    for (const svc of SERVICES) {
      const f = await failure(call(svc, { credentials: { accessKeyId: 'AKIANOBODY', secretAccessKey: 'x' } }));
      assert.deepEqual([f.code, f.status], expected[svc], svc);
    }
  });

  test('a request signed 20 minutes ago is refused, in each service’s words', async () => {
    const expected: Record<Svc, [string, number, RegExp]> = {
      ec2: ['RequestExpired', 400, /expired/i],
      sts: ['SignatureDoesNotMatch', 403, /^Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z \(\d{8}T\d{6}Z - 15 min\.\)$/],
      rds: ['SignatureDoesNotMatch', 403, /^Signature expired/],
      elbv2: ['SignatureDoesNotMatch', 403, /^Signature expired/],
      s3: ['RequestTimeTooSkewed', 403, /too large/],
    };
    for (const svc of SERVICES) {
      const sent: Sent = {};
      const f = await failure(call(svc, { systemClockOffset: -20 * 60 * 1000 }, sent));
      const age = Date.now() - amzToMs(sent.amzDate!);
      assert.ok(age > 19 * 60 * 1000 && age < 21 * 60 * 1000, `${svc}: X-Amz-Date on the wire was ${sent.amzDate}`);
      assert.deepEqual([f.code, f.status], expected[svc].slice(0, 2), `${svc}: ${f.message}`);
      assert.match(f.message, expected[svc][2], svc);
    }
  });

  test('S3’s RequestTimeTooSkewed carries the times the SDK uses to correct its clock', async () => {
    try {
      await call('s3', { systemClockOffset: -20 * 60 * 1000 });
      assert.fail('the request succeeded');
    } catch (e) {
      const err = e as { name: string; RequestTime?: string; ServerTime?: string; MaxAllowedSkewMilliseconds?: string };
      assert.equal(err.name, 'RequestTimeTooSkewed');
      assert.match(err.RequestTime!, /^\d{8}T\d{6}Z$/);
      assert.ok(Math.abs(Date.parse(err.ServerTime!) - Date.now()) < 60_000, err.ServerTime);
      assert.equal(err.MaxAllowedSkewMilliseconds, '900000');
    }
  });

  test('a request signed 20 minutes ahead is refused too', async () => {
    const ec2 = await failure(call('ec2', { systemClockOffset: 20 * 60 * 1000 }));
    assert.equal(ec2.code, 'RequestExpired');
    const sts = await failure(call('sts', { systemClockOffset: 20 * 60 * 1000 }));
    assert.equal(sts.code, 'SignatureDoesNotMatch');
    assert.match(sts.message, /^Signature not yet current: \d{8}T\d{6}Z is still later than \d{8}T\d{6}Z \(\d{8}T\d{6}Z \+ 15 min\.\)$/);
    assert.equal((await failure(call('s3', { systemClockOffset: 20 * 60 * 1000 }))).code, 'RequestTimeTooSkewed');
  });

  test('within the 15-minute window a skewed clock is fine', async () => {
    await call('sts', { systemClockOffset: -10 * 60 * 1000 });
    await call('ec2', { systemClockOffset: 10 * 60 * 1000 });
  });

  test('unsigned requests: EC2 and STS ask for a token, S3 treats the caller as anonymous', async () => {
    const form = (body: string) =>
      fetch(kumo.url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
    const ec2 = await form('Action=DescribeVpcs&Version=2016-11-15');
    assert.equal(ec2.status, 401);
    assert.match(await ec2.text(), /<Code>MissingAuthenticationToken<\/Code>/);
    const sts = await form('Action=GetCallerIdentity&Version=2011-06-15');
    assert.equal(sts.status, 403);
    assert.match(await sts.text(), /<Code>MissingAuthenticationToken<\/Code>/);
    const s3 = await fetch(`${kumo.url}/`);
    assert.equal(s3.status, 403);
    assert.match(await s3.text(), /<Code>AccessDenied<\/Code>/);
  });

  test('a configured extra key acts in its own account', async () => {
    const who = (await call('sts', { credentials: OTHER })) as { Account: string; Arn: string };
    assert.equal(who.Account, OTHER.account);
    assert.equal(who.Arn, `arn:aws:iam::${OTHER.account}:root`);
    const me = (await call('sts')) as { Account: string };
    assert.equal(me.Account, DEFAULT_CREDENTIAL.account);
  });

  test('a presigned GetCallerIdentity URL works; tampering with it does not', async () => {
    const u = new URL(kumo.url);
    const signer = new SignatureV4({ service: 'sts', region: 'us-east-1', credentials: OTHER, sha256: NodeSha256 });
    const presigned = await signer.presign(
      { method: 'GET', protocol: 'http:', hostname: u.hostname, port: Number(u.port), path: '/', headers: { host: u.host }, query: { Action: 'GetCallerIdentity', Version: '2011-06-15' } },
      { expiresIn: 60 },
    );
    const qs = new URLSearchParams(presigned.query as Record<string, string>).toString();
    const ok = await fetch(`${kumo.url}/?${qs}`);
    assert.equal(ok.status, 200);
    assert.match(await ok.text(), new RegExp(`<Account>${OTHER.account}</Account>`));
    const tampered = await fetch(`${kumo.url}/?${qs.replace('Version=2011-06-15', 'Version=2011-06-15&Extra=1')}`);
    assert.equal(tampered.status, 403);
    assert.match(await tampered.text(), /<Code>SignatureDoesNotMatch<\/Code>/);
  });
});

describe('official CLIs (botocore signs differently from SDK v3)', () => {
  test('aws sts get-caller-identity and aws ec2 describe-vpcs', async () => {
    const r = await aws(kumo.url, ['sts', 'get-caller-identity', '--output', 'json']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).Account, DEFAULT_CREDENTIAL.account);
    const other = await aws(kumo.url, ['sts', 'get-caller-identity', '--output', 'json'], {
      env: { AWS_ACCESS_KEY_ID: OTHER.accessKeyId, AWS_SECRET_ACCESS_KEY: OTHER.secretAccessKey },
    });
    assert.equal(JSON.parse(other.stdout).Account, OTHER.account, other.stderr);
    const filtered = await aws(kumo.url, ['ec2', 'describe-vpcs', '--filters', 'Name=tag:Name,Values=a b,c*', '--output', 'json']);
    assert.equal(filtered.code, 0, filtered.stderr);
    const bad = await aws(kumo.url, ['sts', 'get-caller-identity'], { env: { AWS_SECRET_ACCESS_KEY: 'wrong' } });
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /SignatureDoesNotMatch/);
  });

  test('boto3 get_caller_identity, and a GET query request', { skip: missing('boto3') }, async () => {
    const out = await boto3<{ account: string; vpcs: number }>(
      kumo.url,
      `import boto3, json, os
sts = boto3.client('sts', endpoint_url=os.environ['KUMO_URL'])
ec2 = boto3.client('ec2', endpoint_url=os.environ['KUMO_URL'])
print(json.dumps({'account': sts.get_caller_identity()['Account'], 'vpcs': len(ec2.describe_vpcs(Filters=[{'Name': 'tag:x', 'Values': ['~!*()\\'']}])['Vpcs'])}))`,
    );
    assert.deepEqual(out, { account: DEFAULT_CREDENTIAL.account, vpcs: 0 });
  });
});

describe('auth disabled', () => {
  let open: TestKumo;
  before(async () => {
    open = await startKumoForTest({ auth: false, credentials: [DEFAULT_CREDENTIAL, OTHER] });
  });
  after(() => open.stop());

  test('any key and any secret are accepted; a known key still picks its account', async () => {
    const sts = (creds: object) => new STSClient(clientConfig(open.url, { credentials: creds })).send(new GetCallerIdentityCommand({}));
    assert.equal((await sts({ accessKeyId: 'whoever', secretAccessKey: 'whatever' })).Account, DEFAULT_CREDENTIAL.account);
    assert.equal((await sts({ accessKeyId: OTHER.accessKeyId, secretAccessKey: 'not-its-secret' })).Account, OTHER.account);
    const ec2 = new EC2Client(clientConfig(open.url, { credentials: { accessKeyId: 'x', secretAccessKey: 'y' }, systemClockOffset: -60 * 60 * 1000 }));
    assert.deepEqual((await ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: 'is-default', Values: ['false'] }] }))).Vpcs, []);
    ec2.destroy();
  });

  test('an unsigned request is served', async () => {
    const r = await fetch(open.url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'Action=GetCallerIdentity&Version=2011-06-15',
    });
    assert.equal(r.status, 200);
    assert.match(await r.text(), /<Account>000000000000<\/Account>/);
  });
});
