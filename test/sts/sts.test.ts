// STS GetCallerIdentity through the SDK v3, the aws CLI and boto3: the first call a user makes.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { clientConfig, startKumoForTest, type TestKumo } from '../helpers/kumo.js';
import { aws, awsJson, boto3 } from '../helpers/python.js';
import { missing } from '../helpers/tools.js';

let kumo: TestKumo;

before(async () => {
  kumo = await startKumoForTest({
    credentials: [
      { accessKeyId: 'test', secretAccessKey: 'test', account: '000000000000' },
      { accessKeyId: 'AKIAOTHERACCOUNT0001', secretAccessKey: 'other-secret', account: '123456789012' },
    ],
  });
});
after(async () => {
  await kumo.stop();
});

const ROOT = { UserId: '000000000000', Account: '000000000000', Arn: 'arn:aws:iam::000000000000:root' };

describe('GetCallerIdentity', () => {
  test('SDK v3: the default key is account 000000000000, another key its own account', async () => {
    const sts = new STSClient(clientConfig(kumo.url));
    const other = new STSClient(
      clientConfig(kumo.url, { credentials: { accessKeyId: 'AKIAOTHERACCOUNT0001', secretAccessKey: 'other-secret' } }),
    );
    const wrong = new STSClient(clientConfig(kumo.url, { credentials: { accessKeyId: 'test', secretAccessKey: 'wrong' } }));
    const unknown = new STSClient(clientConfig(kumo.url, { credentials: { accessKeyId: 'AKIANOBODY', secretAccessKey: 'x' } }));
    try {
      const me = await sts.send(new GetCallerIdentityCommand({}));
      assert.deepEqual({ UserId: me.UserId, Account: me.Account, Arn: me.Arn }, ROOT);
      assert.match(me.$metadata.requestId!, /^[0-9a-f-]{36}$/);
      const them = await other.send(new GetCallerIdentityCommand({}));
      assert.equal(them.Account, '123456789012');
      assert.equal(them.Arn, 'arn:aws:iam::123456789012:root');
      await assert.rejects(wrong.send(new GetCallerIdentityCommand({})), { name: 'SignatureDoesNotMatch' });
      await assert.rejects(unknown.send(new GetCallerIdentityCommand({})), { name: 'InvalidClientTokenId' });
    } finally {
      for (const c of [sts, other, wrong, unknown]) c.destroy();
    }
  });

  test('aws CLI: sts get-caller-identity', async () => {
    assert.deepEqual(await awsJson(kumo.url, ['sts', 'get-caller-identity']), ROOT);
    const text = await aws(kumo.url, ['sts', 'get-caller-identity', '--query', 'Account', '--output', 'text']);
    assert.equal(text.code, 0, text.stderr);
    assert.equal(text.stdout.trim(), '000000000000');
    const bad = await aws(kumo.url, ['sts', 'get-caller-identity'], { env: { AWS_SECRET_ACCESS_KEY: 'wrong' } });
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /SignatureDoesNotMatch/);
  });

  test('boto3: sts.get_caller_identity()', { skip: missing('boto3') }, async () => {
    const out = await boto3<Record<string, string>>(
      kumo.url,
      `
import boto3, json, os
sts = boto3.client('sts', endpoint_url=os.environ['KUMO_URL'])
r = sts.get_caller_identity()
print(json.dumps({k: r[k] for k in ('UserId', 'Account', 'Arn')}))
`,
    );
    assert.deepEqual(out, ROOT);
  });
});
