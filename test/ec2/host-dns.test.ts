/**
 * The host resolver for AWS names: kumo says where it listens (/_kumo/health's `dns`, `kumo
 * status`), and a real DNS client pointed at it gets EC2's public names as their (loopback)
 * addresses, no private name (those resolve only inside their VPC, as on AWS), and REFUSED for
 * names kumo does not own, so a host resolver that forwards `amazonaws.com` there falls back.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { Resolver } from 'node:dns/promises';
import { promisify } from 'node:util';
import { ROOT, spawnKumo, tempDir, type TestKumo } from '../helpers/kumo.js';
import { useEc2 } from '../helpers/ec2.js';
import { ensureDist } from '../cli/dist.js';
import { join } from 'node:path';
import { rmSync } from 'node:fs';

let kumo: TestKumo;
useEc2((f) => ({ kumo } = f));
before(() => ensureDist());

async function resolver(): Promise<Resolver> {
  const health = (await (await fetch(`${kumo.url}/_kumo/health`)).json()) as { dns: string | null };
  assert.match(health.dns ?? '', /^127\.0\.0\.1:\d+$/, '/_kumo/health says where the host resolver listens');
  const r = new Resolver({ timeout: 2_000, tries: 1 });
  r.setServers([health.dns!]);
  return r;
}

test('public EC2 names resolve to their address, in every region spelling', async () => {
  const r = await resolver();
  assert.deepEqual(await r.resolve4('ec2-127-100-0-5.ap-northeast-1.compute.amazonaws.com'), ['127.100.0.5']);
  assert.deepEqual(await r.resolve4('EC2-127-100-0-9.compute-1.amazonaws.com.'), ['127.100.0.9'], 'us-east-1 spelling, any case, trailing dot');
});

test('private names do not resolve outside their VPC; other names are refused', async () => {
  const r = await resolver();
  await assert.rejects(r.resolve4('ip-10-0-1-5.ap-northeast-1.compute.internal'), { code: 'ENOTFOUND' });
  await assert.rejects(r.resolve4('example.com'), { code: 'EREFUSED' });
});

test('kumo status shows the host resolver', async () => {
  const dataDir = tempDir('kumo-dns-status-');
  const child = await spawnKumo(dataDir, ['--quiet']);
  try {
    const { stdout } = await promisify(execFile)(process.execPath, [join(ROOT, 'bin', 'kumo.js'), 'status', '--data-dir', dataDir]);
    assert.match(stdout, /dns: +127\.0\.0\.1:\d+/);
  } finally {
    child.child.kill('SIGTERM');
    await child.exited;
    rmSync(dataDir, { recursive: true, force: true });
  }
});
