/**
 * Idle memory: the resident set of the kumo process (VmRSS from /proc/<pid>/status, or
 * `ps -o rss=`), measured
 *
 *   at ready       right after the ready line
 *   idle           after a few requests touching every service (STS, EC2, ELBv2, RDS, S3),
 *                  once RSS has settled (no new low for 10 s; see settledMemory)
 *   after 200 more the same mix 20 more times, settled again: does it keep growing?
 *
 * A bare idling `node` is measured the same way as a baseline.
 */
import { CreateSubnetCommand, CreateVpcCommand, DescribeSubnetsCommand, DescribeVpcsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { DescribeTargetGroupsCommand, ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { DescribeDBSubnetGroupsCommand, RDSClient } from '@aws-sdk/client-rds';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { performance } from 'node:perf_hooks';
import { clientConfig } from './lib/clients.js';
import { mib, table } from './lib/report.js';
import { readMemory, sleep, spawnIdleNode, spawnKumo, type Memory } from './lib/spawn.js';
import type { Benchmark } from './lib/types.js';

/**
 * Polls RSS until it has made no new low for 10 s (or 30 s pass). A quiet plateau is not enough:
 * once requests stop, V8's memory reducer gives pages back in steps seconds apart (about 2.5, 5,
 * 8 and 10 s after the last activity here: it waits 8 s more whenever its first look finds the
 * process still busy), and the checkpoint worker retires after 5 s without writes.
 */
export async function settledMemory(pid: number): Promise<Memory & { settleMs: number }> {
  const t = performance.now();
  let m = readMemory(pid);
  let low = m;
  let lowAt = t;
  for (;;) {
    const now = performance.now();
    if (m.rssKiB < low.rssKiB) {
      low = m;
      lowAt = now;
    }
    if (now - lowAt >= 10_000 || now - t > 30_000) return { ...low, settleMs: lowAt - t };
    await sleep(250);
    m = readMemory(pid);
  }
}

export const memory: Benchmark = {
  name: 'memory',
  description: 'RSS of an idle kumo after start and a few requests to every service',
  async run(progress) {
    progress('baseline: idle node');
    const bare = spawnIdleNode();
    let bareMem;
    try {
      await sleep(300);
      bareMem = await settledMemory(bare.pid);
    } finally {
      await bare.stop();
    }

    progress('kumo: start, a few requests, settle');
    const kumo = await spawnKumo();
    try {
      const atReady = readMemory(kumo.pid);
      const cfg = clientConfig(kumo.url);
      const sts = new STSClient(cfg);
      const ec2 = new EC2Client(cfg);
      const elb = new ElasticLoadBalancingV2Client(cfg);
      const rds = new RDSClient(cfg);
      const s3 = new S3Client({ ...cfg, forcePathStyle: true });
      const payload = Buffer.alloc(64 * 1024, 'k');
      let round = 0;
      const mix = async () => {
        round++;
        await sts.send(new GetCallerIdentityCommand({}));
        const vpc = await ec2.send(new CreateVpcCommand({ CidrBlock: `10.${round % 256}.0.0/16` }));
        for (let i = 0; i < 3; i++) {
          await ec2.send(new CreateSubnetCommand({ VpcId: vpc.Vpc!.VpcId!, CidrBlock: `10.${round % 256}.${i}.0/24` }));
        }
        await ec2.send(new DescribeVpcsCommand({}));
        await ec2.send(new DescribeSubnetsCommand({}));
        await elb.send(new DescribeTargetGroupsCommand({}));
        await rds.send(new DescribeDBSubnetGroupsCommand({}));
        const Bucket = `bench-${round}`;
        await s3.send(new CreateBucketCommand({ Bucket, CreateBucketConfiguration: { LocationConstraint: 'ap-northeast-1' } }));
        await s3.send(new PutObjectCommand({ Bucket, Key: 'k', Body: payload }));
        const got = await s3.send(new GetObjectCommand({ Bucket, Key: 'k' }));
        const bytes = await got.Body!.transformToByteArray();
        if (bytes.length !== payload.length) throw new Error(`GetObject returned ${bytes.length} bytes, put ${payload.length}`);
        await s3.send(new ListObjectsV2Command({ Bucket }));
      };
      try {
        await mix();
        const idle = await settledMemory(kumo.pid);
        for (let i = 0; i < 20; i++) await mix();
        const after = await settledMemory(kumo.pid);
        const requestsPerMix = 13;
        const text = table(
          'idle memory (MiB)',
          ['process', 'RSS', 'peak (VmHWM)', 'settle ms'],
          [
            ['bare node (baseline)', mib(bareMem.rssKiB), mib(bareMem.hwmKiB), bareMem.settleMs],
            ['kumo at ready line', mib(atReady.rssKiB), mib(atReady.hwmKiB), undefined],
            [`kumo idle after ${requestsPerMix} requests`, mib(idle.rssKiB), mib(idle.hwmKiB), idle.settleMs],
            [`kumo after ${requestsPerMix * 21} requests`, mib(after.rssKiB), mib(after.hwmKiB), after.settleMs],
          ],
        );
        return {
          text: `${text}\n(source: ${idle.source === 'proc' ? '/proc/<pid>/status' : 'ps -o rss='})`,
          data: {
            source: idle.source,
            bareNodeRssMiB: mib(bareMem.rssKiB),
            atReadyRssMiB: mib(atReady.rssKiB),
            idleRssMiB: mib(idle.rssKiB),
            idlePeakMiB: mib(idle.hwmKiB),
            afterRequests: requestsPerMix * 21,
            afterRssMiB: mib(after.rssKiB),
            afterPeakMiB: mib(after.hwmKiB),
          },
        };
      } finally {
        for (const c of [sts, ec2, elb, rds, s3]) c.destroy();
      }
    } finally {
      await kumo.stop();
    }
  },
};
