/**
 * DescribeSubnets over 1,000 subnets: 4 VPCs (10.N.0.0/16) with 250 /24 subnets each, spread
 * round-robin over ap-northeast-1a/c/d, created through @aws-sdk/client-ec2 with 8 calls in
 * flight. Then, one call at a time:
 *
 *   full      DescribeSubnets with no arguments (all 1,000, no MaxResults)
 *   filtered  Filters vpc-id + availability-zone (about 83 subnets per answer)
 *
 * For each: SDK round-trip latency p50/p99/mean and requests/s; "wire" is request sent → last
 * response byte received, measured under the SDK (so SDK minus wire is client-side signing and
 * XML parsing); "kumo CPU" is kumo's user+system CPU time per request from /proc/<pid>/stat.
 * CreateSubnet latency is reported as seen while creating (8 in flight, so it includes queueing),
 * split by how many subnets already existed, plus 50 sequential creates once 1,000 exist.
 */
import { CreateSubnetCommand, CreateVpcCommand, DescribeSubnetsCommand, EC2Client, type DescribeSubnetsCommandInput, type Subnet } from '@aws-sdk/client-ec2';
import { performance } from 'node:perf_hooks';
import { clientConfig, probeWire, REGION } from './lib/clients.js';
import { fmt, mib, table } from './lib/report.js';
import { readCpuMs, readMemory, spawnKumo } from './lib/spawn.js';
import { mapLimit, round, roundSummary, summarize, type Summary } from './lib/stats.js';
import type { Benchmark } from './lib/types.js';
import { settledMemory } from './memory.js';

const VPCS = 4;
const SUBNETS_PER_VPC = 250;
const CONCURRENCY = 8;
const FULL_CALLS = 200;
const FILTERED_CALLS = 500;
const SEQUENTIAL_CREATES = 50;
const ZONES = ['a', 'c', 'd'].map((z) => `${REGION}${z}`);

interface Measured {
  sdk: Summary;
  wire: Summary;
  reqPerSec: number;
  kumoCpuMsPerReq?: number;
  responseKiB: number;
  items: number;
}

export const describeSubnets: Benchmark = {
  name: 'describe-subnets',
  description: `DescribeSubnets latency over ${VPCS * SUBNETS_PER_VPC} subnets (full and filtered), CreateSubnet latency`,
  async run(progress) {
    const kumo = await spawnKumo();
    const ec2 = new EC2Client(clientConfig(kumo.url));
    const wire = probeWire(ec2);
    try {
      // --- create ---
      progress(`creating ${VPCS} VPCs and ${VPCS * SUBNETS_PER_VPC} subnets (${CONCURRENCY} in flight)`);
      const vpcIds: string[] = [];
      for (let n = 1; n <= VPCS; n++) {
        const out = await ec2.send(new CreateVpcCommand({ CidrBlock: `10.${n}.0.0/16` }));
        vpcIds.push(out.Vpc!.VpcId!);
      }
      const tasks = vpcIds.flatMap((VpcId, v) =>
        Array.from({ length: SUBNETS_PER_VPC }, (_, j) => ({
          VpcId,
          CidrBlock: `10.${v + 1}.${j}.0/24`,
          AvailabilityZone: ZONES[j % ZONES.length],
        })),
      );
      const cpuBeforeCreate = readCpuMs(kumo.pid);
      const tCreate = performance.now();
      let done = 0;
      const created = await mapLimit(tasks, CONCURRENCY, async (input) => {
        const existing = done;
        const t = performance.now();
        const out = await ec2.send(new CreateSubnetCommand(input));
        const ms = performance.now() - t;
        if (++done % 250 === 0) progress(`  ${done} subnets`);
        return { ms, existing, subnet: out.Subnet! };
      });
      const createWallMs = performance.now() - tCreate;
      const cpuAfterCreate = readCpuMs(kumo.pid);
      const createMs = created.map((c) => c.ms);
      const byPhase = (lo: number, hi: number) => summarize(created.filter((c) => c.existing >= lo && c.existing < hi).map((c) => c.ms));
      const expected = new Map<string, number>();
      for (const { subnet } of created) {
        const key = `${subnet.VpcId} ${subnet.AvailabilityZone}`;
        expected.set(key, (expected.get(key) ?? 0) + 1);
      }
      const memLoaded = readMemory(kumo.pid);

      // --- describe ---
      const measure = async (label: string, calls: number, input: (i: number) => DescribeSubnetsCommandInput, check: (i: number, subnets: Subnet[]) => void): Promise<Measured> => {
        progress(`${label}: ${calls} sequential calls`);
        for (let i = 0; i < Math.min(20, calls); i++) check(i, (await ec2.send(new DescribeSubnetsCommand(input(i)))).Subnets ?? []);
        const sdkMs: number[] = [];
        const wireMs: number[] = [];
        let bytes = 0;
        let items = 0;
        const cpu0 = readCpuMs(kumo.pid);
        const t0 = performance.now();
        for (let i = 0; i < calls; i++) {
          const t = performance.now();
          const out = await ec2.send(new DescribeSubnetsCommand(input(i)));
          sdkMs.push(performance.now() - t);
          const w = wire.last()!;
          wireMs.push(w.ms);
          bytes += w.bytes;
          items += out.Subnets?.length ?? 0;
          check(i, out.Subnets ?? []);
        }
        const wall = performance.now() - t0;
        const cpu1 = readCpuMs(kumo.pid);
        return {
          sdk: summarize(sdkMs),
          wire: summarize(wireMs),
          reqPerSec: calls / (wall / 1000),
          kumoCpuMsPerReq: cpu0 !== undefined && cpu1 !== undefined ? (cpu1 - cpu0) / calls : undefined,
          responseKiB: bytes / calls / 1024,
          items: items / calls,
        };
      };
      const total = VPCS * SUBNETS_PER_VPC;
      const full = await measure('DescribeSubnets (all)', FULL_CALLS, () => ({}), (_, subnets) => {
        // The region's default VPC adds its own default subnets to the full listing.
        const ours = subnets.filter((s) => vpcIds.includes(s.VpcId!)).length;
        if (ours !== total) throw new Error(`DescribeSubnets returned ${ours} of the bench's subnets, expected ${total}`);
      });
      const combos = vpcIds.flatMap((vpc) => ZONES.map((az) => [vpc, az] as const));
      const comboOf = (i: number) => combos[i % combos.length];
      const filtered = await measure(
        'DescribeSubnets (vpc-id + availability-zone)',
        FILTERED_CALLS,
        (i) => {
          const [vpc, az] = comboOf(i);
          return { Filters: [{ Name: 'vpc-id', Values: [vpc] }, { Name: 'availability-zone', Values: [az] }] };
        },
        (i, subnets) => {
          const [vpc, az] = comboOf(i);
          const want = expected.get(`${vpc} ${az}`) ?? 0;
          if (subnets.length !== want || subnets.some((s) => s.VpcId !== vpc || s.AvailabilityZone !== az)) {
            throw new Error(`filtered DescribeSubnets (${vpc}, ${az}) returned ${subnets.length} subnets, expected ${want} matching`);
          }
        },
      );
      const memAfter = await settledMemory(kumo.pid);

      // --- sequential creates with 1,000 subnets present ---
      progress(`CreateSubnet: ${SEQUENTIAL_CREATES} sequential calls with ${total} subnets present`);
      const extraVpc = (await ec2.send(new CreateVpcCommand({ CidrBlock: `10.${VPCS + 1}.0.0/16` }))).Vpc!.VpcId!;
      const seqMs: number[] = [];
      for (let j = 0; j < SEQUENTIAL_CREATES; j++) {
        const t = performance.now();
        await ec2.send(new CreateSubnetCommand({ VpcId: extraVpc, CidrBlock: `10.${VPCS + 1}.${j}.0/24` }));
        seqMs.push(performance.now() - t);
      }
      const seq = summarize(seqMs);

      const create = summarize(createMs);
      const createCpu = cpuBeforeCreate !== undefined && cpuAfterCreate !== undefined ? (cpuAfterCreate - cpuBeforeCreate) / tasks.length : undefined;
      const q = SUBNETS_PER_VPC;
      const text =
        table(
          `DescribeSubnets over ${total} subnets (ms; sequential; kumo CPU = kumo's CPU time per request)`,
          ['call', 'n', 'p50', 'p99', 'mean', 'req/s', 'wire p50', 'kumo CPU', 'subnets', 'KiB/resp'],
          [
            ['DescribeSubnets, all', full.sdk.n, full.sdk.p50, full.sdk.p99, full.sdk.mean, full.reqPerSec, full.wire.p50, full.kumoCpuMsPerReq, full.items, full.responseKiB],
            ['DescribeSubnets, vpc-id + az', filtered.sdk.n, filtered.sdk.p50, filtered.sdk.p99, filtered.sdk.mean, filtered.reqPerSec, filtered.wire.p50, filtered.kumoCpuMsPerReq, filtered.items, filtered.responseKiB],
          ],
        ) +
        table(
          `CreateSubnet (ms)`,
          ['phase', 'n', 'p50', 'p99', 'mean', 'max'],
          [
            [`all, ${CONCURRENCY} in flight`, create.n, create.p50, create.p99, create.mean, create.max],
            ...[0, 1, 2, 3].map((k): (string | number)[] => {
              const s = byPhase(k * q, (k + 1) * q);
              return [`  ${k * q}-${(k + 1) * q - 1} existing`, s.n, s.p50, s.p99, s.mean, s.max];
            }),
            [`1 in flight, ${total}+ existing`, seq.n, seq.p50, seq.p99, seq.mean, seq.max],
          ],
        ) +
        `\ncreate: ${tasks.length} subnets in ${fmt(createWallMs / 1000)} s = ${fmt(tasks.length / (createWallMs / 1000))} creates/s; kumo CPU ${fmt(createCpu)} ms per create` +
        `\nkumo RSS with ${total} subnets: ${fmt(mib(memLoaded.rssKiB))} MiB after creating, ${fmt(mib(memAfter.rssKiB))} MiB after the describes (peak ${fmt(mib(memAfter.hwmKiB))} MiB)`;
      const m = (x: Measured) => ({
        ...roundSummary(x.sdk),
        reqPerSec: round(x.reqPerSec),
        wire: roundSummary(x.wire),
        kumoCpuMsPerReq: x.kumoCpuMsPerReq === undefined ? undefined : round(x.kumoCpuMsPerReq),
        subnetsPerResponse: round(x.items),
        responseKiB: round(x.responseKiB),
      });
      return {
        text,
        data: {
          subnets: total,
          describeAll: m(full),
          describeFiltered: m(filtered),
          createSubnet: {
            concurrency: CONCURRENCY,
            ...roundSummary(create),
            byExisting: [0, 1, 2, 3].map((k) => ({ from: k * q, to: (k + 1) * q - 1, ...roundSummary(byPhase(k * q, (k + 1) * q)) })),
            perSec: round(tasks.length / (createWallMs / 1000)),
            kumoCpuMsPerCreate: createCpu === undefined ? undefined : round(createCpu),
            sequential: roundSummary(seq),
          },
          rssMiB: { loaded: mib(memLoaded.rssKiB), afterDescribes: mib(memAfter.rssKiB), peak: mib(memAfter.hwmKiB) },
        },
      };
    } finally {
      ec2.destroy();
      await kumo.stop();
    }
  },
};
