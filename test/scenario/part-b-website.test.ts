/**
 * SCENARIO.md Part B end to end, exactly as a user runs it: examples/scalable-website/part-b.sh
 * (the aws CLI, curl and ssh only) against a fresh kumo, with the documents' user data byte for
 * byte: WordPress installed through the load balancer with its data in RDS MySQL, an image and a
 * second server, Multi-AZ, a server stopped and a forced failover while the site is browsed, a
 * post that survives both, then everything deleted. The script checks each step itself and exits
 * non-zero at the first that does not hold; this test runs it, and then checks that kumo holds
 * nothing of it any more, through the APIs and on the host. Needs root (skips otherwise; fails
 * under KUMO_REQUIRE_NATIVE=1).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DescribeInstancesCommand, DescribeVpcsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { DescribeLoadBalancersCommand, ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { DescribeDBInstancesCommand, RDSClient } from '@aws-sdk/client-rds';
import { clientConfig } from '../helpers/kumo.js';
import { exampleKumo, runExample, summary } from '../helpers/examples.js';
import { loopsUnder } from '../../src/runtime/loop.js';

const { skip, kumo: fixture } = exampleKumo();

test('Part B: the scalable website, step by step with the aws CLI, and nothing left after', { skip, timeout: 40 * 60_000 }, async (t) => {
  const kumo = fixture();
  const { code, output } = await runExample('part-b.sh', kumo.url);
  t.diagnostic(summary(output));
  assert.equal(code, 0, output.slice(-4000));
  for (const seen of [
    /ok: browsing Test-ELB-\d+\.ap-northeast-1\.elb\.amazonaws\.com shows WordPress's setup/,
    /ok: wp-config\.php was written on Test-EC2#1, pointing at test-rds-1 by its endpoint name/,
    /ok: Test-EC2#2's root volume comes from the image's snapshot \(snap-[0-9a-f]{17}\)/,
    /ok: both share the traffic/,
    /ok: every request answers once Test-EC2#1 is out of service/,
    /ok: the zones swapped/,
    /ok: post \d+ is still there/,
    /ok: no instance, image, load balancer or database is left/,
  ]) {
    assert.match(output, seen);
  }

  // What the script says it deleted is gone, as the SDKs see it.
  const config = clientConfig(kumo.url);
  const ec2 = new EC2Client(config);
  const elb = new ElasticLoadBalancingV2Client(config);
  const rds = new RDSClient(config);
  try {
    const live = ((await ec2.send(new DescribeInstancesCommand({}))).Reservations ?? []).flatMap((r) => r.Instances ?? []).filter((i) => i.State?.Name !== 'terminated');
    assert.deepEqual(live, []);
    assert.deepEqual(((await ec2.send(new DescribeVpcsCommand({}))).Vpcs ?? []).filter((v) => !v.IsDefault), []);
    assert.deepEqual((await elb.send(new DescribeLoadBalancersCommand({}))).LoadBalancers ?? [], []);
    assert.deepEqual((await rds.send(new DescribeDBInstancesCommand({}))).DBInstances ?? [], []);
    // And on the host: no volume of theirs is still attached.
    assert.deepEqual(await loopsUnder(kumo.dataDir), []);
  } finally {
    ec2.destroy();
    elb.destroy();
    rds.destroy();
  }
});
