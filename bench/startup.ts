/**
 * Startup: how long from `spawn(node bin/kumo.js start …)` until kumo answers.
 *
 *   ready line    kumo printed "ready on http://…" (it is listening)
 *   health        GET /_kumo/health answered (fired the moment the ready line is seen)
 *   first signed  STS GetCallerIdentity, SigV4-signed by @aws-sdk/client-sts, answered
 *   first EC2     then EC2 DescribeVpcs answered (first use of the EC2 query codec)
 *
 * Health and STS are measured in separate, alternating processes so neither waits for the
 * other. One uncounted warm-up run comes first (disk cache, this process's JIT); its figures are
 * reported as the cold run. Baselines: bare `node -e 0`, and `kumo --version` (which imports
 * every module kumo has, then exits) to separate module loading from start-up work.
 */
import { DescribeVpcsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { performance } from 'node:perf_hooks';
import { clientConfig } from './lib/clients.js';
import { fmt, table } from './lib/report.js';
import { KUMO_BIN, spawnKumo, timeProcess } from './lib/spawn.js';
import { median, round, summarize } from './lib/stats.js';
import type { Benchmark } from './lib/types.js';

const RUNS = 5;

interface StsRun {
  readyMs: number;
  stsMs: number;
  ec2Ms: number;
  exitMs: number;
}
interface HealthRun {
  readyMs: number;
  healthMs: number;
  exitMs: number;
}

async function stsRun(): Promise<StsRun> {
  let answered: Promise<{ stsMs: number; ec2Ms: number }> | undefined;
  const kumo = await spawnKumo({
    onReady: (url, spawnedAt) => {
      answered = (async () => {
        const sts = new STSClient(clientConfig(url));
        const ec2 = new EC2Client(clientConfig(url));
        try {
          const who = await sts.send(new GetCallerIdentityCommand({}));
          const stsMs = performance.now() - spawnedAt;
          if (!who.Account) throw new Error('GetCallerIdentity answered without an Account');
          const vpcs = await ec2.send(new DescribeVpcsCommand({}));
          const ec2Ms = performance.now() - spawnedAt;
          if (!Array.isArray(vpcs.Vpcs)) throw new Error('DescribeVpcs answered without Vpcs');
          return { stsMs, ec2Ms };
        } finally {
          sts.destroy();
          ec2.destroy();
        }
      })();
    },
  });
  let times;
  try {
    times = await answered!;
  } catch (e) {
    await kumo.stop();
    throw e;
  }
  const { exitMs } = await kumo.stop();
  return { readyMs: kumo.readyMs, ...times, exitMs };
}

async function healthRun(): Promise<HealthRun> {
  let answered: Promise<number> | undefined;
  const kumo = await spawnKumo({
    onReady: (url, spawnedAt) => {
      answered = (async () => {
        const res = await fetch(`${url}/_kumo/health`);
        const body = (await res.json()) as { status?: string };
        const healthMs = performance.now() - spawnedAt;
        if (!res.ok || body.status !== 'running') throw new Error(`/_kumo/health answered ${res.status} ${JSON.stringify(body)}`);
        return healthMs;
      })();
    },
  });
  let healthMs;
  try {
    healthMs = await answered!;
  } catch (e) {
    await kumo.stop();
    throw e;
  }
  const { exitMs } = await kumo.stop();
  return { readyMs: kumo.readyMs, healthMs, exitMs };
}

export const startup: Benchmark = {
  name: 'startup',
  description: `time from spawn to ready line, /_kumo/health and first signed answer (${RUNS} runs each)`,
  async run(progress) {
    progress('baselines: node -e 0, kumo --version');
    const nodeBare: number[] = [];
    const kumoVersion: number[] = [];
    await timeProcess(['-e', '0']);
    await timeProcess([KUMO_BIN, '--version']);
    for (let i = 0; i < RUNS; i++) {
      nodeBare.push(await timeProcess(['-e', '0']));
      kumoVersion.push(await timeProcess([KUMO_BIN, '--version']));
    }
    progress('warm-up run');
    const cold = await stsRun();
    await healthRun();
    const sts: StsRun[] = [];
    const health: HealthRun[] = [];
    for (let i = 0; i < RUNS; i++) {
      progress(`run ${i + 1}/${RUNS}`);
      sts.push(await stsRun());
      health.push(await healthRun());
    }
    const ready = [...sts.map((r) => r.readyMs), ...health.map((r) => r.readyMs)];
    const rows: [string, number[]][] = [
      ['node -e 0 (baseline)', nodeBare],
      ['kumo --version (module load)', kumoVersion],
      ['spawn → ready line', ready],
      ['spawn → /_kumo/health answered', health.map((r) => r.healthMs)],
      ['spawn → STS GetCallerIdentity answered', sts.map((r) => r.stsMs)],
      ['  first signed request after ready line', sts.map((r) => r.stsMs - r.readyMs)],
      ['spawn → then EC2 DescribeVpcs answered', sts.map((r) => r.ec2Ms)],
      ['SIGTERM → exit', [...sts.map((r) => r.exitMs), ...health.map((r) => r.exitMs)]],
    ];
    const text = table(
      `startup (ms; ${RUNS} runs, fresh data dir each; cold = first, uncounted run)`,
      ['measure', 'min', 'median', 'max', 'n', 'cold'],
      rows.map(([label, v]) => {
        const s = summarize(v);
        const coldValue =
          label === 'spawn → ready line'
            ? cold.readyMs
            : label.includes('GetCallerIdentity')
              ? cold.stsMs
              : label.includes('DescribeVpcs')
                ? cold.ec2Ms
                : label.includes('after ready')
                  ? cold.stsMs - cold.readyMs
                  : undefined;
        return [label, s.min, s.p50, s.max, s.n, coldValue === undefined ? '' : fmt(coldValue)];
      }),
    );
    const mm = (v: number[]) => ({ min: round(Math.min(...v)), median: round(median(v)), max: round(Math.max(...v)) });
    return {
      text,
      data: {
        runs: RUNS,
        nodeBareMs: mm(nodeBare),
        kumoVersionMs: mm(kumoVersion),
        readyLineMs: mm(ready),
        healthMs: mm(health.map((r) => r.healthMs)),
        firstSignedAnswerMs: mm(sts.map((r) => r.stsMs)),
        firstEc2AnswerMs: mm(sts.map((r) => r.ec2Ms)),
        shutdownMs: mm([...sts.map((r) => r.exitMs), ...health.map((r) => r.exitMs)]),
        cold: { readyLineMs: round(cold.readyMs), firstSignedAnswerMs: round(cold.stsMs), firstEc2AnswerMs: round(cold.ec2Ms) },
      },
    };
  },
};
