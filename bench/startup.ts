/**
 * Startup: how long from `spawn(node bin/kumo.js start …)` until kumo answers. kumo listens before
 * all of its services are up (the AWS models and most of its modules load behind the answering
 * endpoint), so a client that tries from the moment of the spawn sees:
 *
 *   health        GET /_kumo/health answered (a connect tried every 2 ms from the spawn, then
 *                 the request)
 *   first signed  then STS GetCallerIdentity, SigV4-signed by @aws-sdk/client-sts, answered
 *   first EC2     then EC2 DescribeVpcs answered (it waits for EC2 to be up)
 *   ready line    kumo printed "ready on http://…": every service is up
 *
 * One uncounted warm-up run comes first (disk cache, this process's JIT); its figures are
 * reported as the cold run. Baselines: bare `node -e 0`, and `kumo --version` (which imports what
 * kumo loads before it listens, then exits) to separate module loading from start-up work.
 */
import { DescribeVpcsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { connect } from 'node:net';
import { performance } from 'node:perf_hooks';
import { clientConfig } from './lib/clients.js';
import { fmt, table } from './lib/report.js';
import { freePort, KUMO_BIN, sleep, spawnKumo, timeProcess } from './lib/spawn.js';
import { median, round, summarize } from './lib/stats.js';
import type { Benchmark } from './lib/types.js';

const RUNS = 5;

interface Run {
  healthMs: number;
  stsMs: number;
  ec2Ms: number;
  readyMs: number;
  exitMs: number;
}

/** Whether something listens on the port yet (a refused connect costs next to nothing to try). */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Tries to connect every 2 ms, then GET /_kumo/health; resolves with the spawn-relative time. */
async function firstAnswer(url: string, port: number, since: () => number): Promise<number> {
  while (!(await listening(port))) await sleep(2);
  const res = await fetch(`${url}/_kumo/health`);
  const body = (await res.json()) as { status?: string };
  if (!res.ok || (body.status !== 'starting' && body.status !== 'running')) throw new Error(`/_kumo/health answered ${res.status} ${JSON.stringify(body)}`);
  return since();
}

async function run(): Promise<Run> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const spawnedAt = performance.now();
  const since = () => performance.now() - spawnedAt;
  const started = spawnKumo({ port });
  const answered = (async () => {
    const healthMs = await firstAnswer(url, port, since);
    const sts = new STSClient(clientConfig(url));
    const ec2 = new EC2Client(clientConfig(url));
    try {
      const who = await sts.send(new GetCallerIdentityCommand({}));
      const stsMs = since();
      if (!who.Account) throw new Error('GetCallerIdentity answered without an Account');
      const vpcs = await ec2.send(new DescribeVpcsCommand({}));
      const ec2Ms = since();
      if (!Array.isArray(vpcs.Vpcs)) throw new Error('DescribeVpcs answered without Vpcs');
      return { healthMs, stsMs, ec2Ms };
    } finally {
      sts.destroy();
      ec2.destroy();
    }
  })();
  const kumo = await started;
  let times;
  try {
    times = await answered;
  } catch (e) {
    await kumo.stop();
    throw e;
  }
  const { exitMs } = await kumo.stop();
  return { ...times, readyMs: kumo.readyMs, exitMs };
}

export const startup: Benchmark = {
  name: 'startup',
  description: `time from spawn to first answer, first signed answer, first EC2 answer and ready line (${RUNS} runs)`,
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
    const cold = await run();
    const runs: Run[] = [];
    for (let i = 0; i < RUNS; i++) {
      progress(`run ${i + 1}/${RUNS}`);
      runs.push(await run());
    }
    const pick = (k: keyof Run) => runs.map((r) => r[k]);
    const rows: [string, number[], number | undefined][] = [
      ['node -e 0 (baseline)', nodeBare, undefined],
      ['kumo --version (module load before listening)', kumoVersion, undefined],
      ['spawn → /_kumo/health answered (first answer)', pick('healthMs'), cold.healthMs],
      ['spawn → then STS GetCallerIdentity answered', pick('stsMs'), cold.stsMs],
      ['spawn → then EC2 DescribeVpcs answered', pick('ec2Ms'), cold.ec2Ms],
      ['spawn → ready line (every service up)', pick('readyMs'), cold.readyMs],
      ['SIGTERM → exit', pick('exitMs'), undefined],
    ];
    const text = table(
      `startup (ms; ${RUNS} runs, fresh data dir each; cold = first, uncounted run)`,
      ['measure', 'min', 'median', 'max', 'n', 'cold'],
      rows.map(([label, v, c]) => {
        const s = summarize(v);
        return [label, s.min, s.p50, s.max, s.n, c === undefined ? '' : fmt(c)];
      }),
    );
    const mm = (v: number[]) => ({ min: round(Math.min(...v)), median: round(median(v)), max: round(Math.max(...v)) });
    return {
      text,
      data: {
        runs: RUNS,
        nodeBareMs: mm(nodeBare),
        kumoVersionMs: mm(kumoVersion),
        firstAnswerMs: mm(pick('healthMs')),
        firstSignedAnswerMs: mm(pick('stsMs')),
        firstEc2AnswerMs: mm(pick('ec2Ms')),
        readyLineMs: mm(pick('readyMs')),
        shutdownMs: mm(pick('exitMs')),
        cold: { firstAnswerMs: round(cold.healthMs), firstSignedAnswerMs: round(cold.stsMs), firstEc2AnswerMs: round(cold.ec2Ms), readyLineMs: round(cold.readyMs) },
      },
    };
  },
};
