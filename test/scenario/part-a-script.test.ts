/**
 * SCENARIO.md Part A as a user runs it: examples/scalable-website/part-a.sh (the aws CLI, curl
 * and ssh only) against a fresh kumo: cms01 serving a page from its user data, its image (with
 * the reboot), cms02 from the image in the other zone serving the same page, a data volume carried
 * by a snapshot into the other zone, a backup to S3 from inside cms01 with `aws s3 sync` and no
 * endpoint setting, then everything deleted. The script checks each step and exits non-zero at
 * the first that does not hold; this test runs it and then checks, through the SDK and on the
 * host, that nothing of it is left. Needs root (skips otherwise; fails under
 * KUMO_REQUIRE_NATIVE=1).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DescribeInstancesCommand, DescribeVolumesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import { clientConfig } from '../helpers/kumo.js';
import { exampleKumo, runExample, summary } from '../helpers/examples.js';
import { loopsUnder } from '../../src/runtime/loop.js';

const { skip, kumo: fixture } = exampleKumo();

test('Part A: one server, its image, its disk carried across zones, a backup to S3; nothing left after', { skip, timeout: 20 * 60_000 }, async (t) => {
  const kumo = fixture();
  const { code, output } = await runExample('part-a.sh', kumo.url);
  t.diagnostic(summary(output));
  assert.equal(code, 0, output.slice(-4000));
  for (const seen of [
    /ok: cms01 \(127\.[\d.]+\) serves its page/,
    /ok: its block device mapping names the snapshot snap-[0-9a-f]{17}/,
    /ok: cms02 \(127\.[\d.]+\) serves cms01's page/,
    /ok: cms02 reads the file cms01 wrote \("written on cms01"\)/,
    /ok: the bucket holds cms01's site/,
    /ok: deleting the snapshot of a registered image is refused \(InvalidSnapshot\.InUse\)/,
  ]) {
    assert.match(output, seen);
  }

  const config = clientConfig(kumo.url);
  const ec2 = new EC2Client(config);
  const s3 = new S3Client({ ...config, forcePathStyle: true });
  try {
    const live = ((await ec2.send(new DescribeInstancesCommand({}))).Reservations ?? []).flatMap((r) => r.Instances ?? []).filter((i) => i.State?.Name !== 'terminated');
    assert.deepEqual(live, []);
    assert.deepEqual((await ec2.send(new DescribeVolumesCommand({}))).Volumes ?? [], []);
    assert.deepEqual((await s3.send(new ListBucketsCommand({}))).Buckets ?? [], []);
    assert.deepEqual(await loopsUnder(kumo.dataDir), []);
  } finally {
    ec2.destroy();
    s3.destroy();
  }
});
