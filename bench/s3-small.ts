/**
 * The small calls of bench/s3.ts, next to the machine's own limits measured in the same run:
 *
 *   limits     a bare Node HTTP server (./lib/limits.ts) taking the same 4 KiB PUTs and GETs from
 *              the same client; the data dir's disk: flush latency (fdatasync of a 4 KiB append)
 *              and sequential write speed
 *   lean       4 KiB PutObject then GetObject on kumo, 16 in flight, from the lean client
 *              (./lib/lean-s3.ts), alternating rounds with the bare server so both see the same
 *              machine; the median round is reported, as ops/s and as a fraction of the bare
 *              server's
 *   sdk        the same through the AWS SDK v3, what an SDK user sees: in the bench's own process
 *              (one client, 16 in flight: one event loop's worth of SDK, which on 2 cores is most
 *              of the CPU), and in SDK_PROCESSES client processes of their own (./lib/sdk-clients.ts,
 *              16 in flight in all, median of ROUNDS), so the SDK's work spreads over the cores as
 *              a user's programs would; both next to issue 16's starting point through the SDK
 *   batch      DeleteObjects of 1,000 keys a call (lean client; ms per call)
 */
import { DeleteObjectsCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { performance } from 'node:perf_hooks';
import { flushLatency } from './lib/disk.js';
import { readCpuMs } from './lib/spawn.js';
import { LeanS3, ok } from './lib/lean-s3.js';
import { bareHttp, smallObjects, type SmallRates } from './lib/limits.js';
import { openSdkClients } from './lib/sdk-clients.js';
import { table } from './lib/report.js';
import { mapLimit, median, round, summarize, timedCalls } from './lib/stats.js';

const OPS = 1000;
const CONCURRENCY = 16;
const ROUNDS = 3;
const BATCH = 1000;
const BATCH_CALLS = 5;
const SDK_PROCESSES = 2;
/** Issue 16's starting point, AWS SDK v3 client, same 4 KiB objects and 16 in flight (ops/s). */
const SDK_BEFORE = { put: 115, get: 176 };

export interface SmallSection {
  text: string;
  data: Record<string, unknown>;
}

/** The round whose PUT rate is the median one (its GET figures go with it). */
function medianRound<R extends SmallRates>(rounds: R[]): R {
  return [...rounds].sort((a, b) => a.putOps - b.putOps)[Math.floor(rounds.length / 2)];
}

/** CPU milliseconds per call that `pids` spent while `fn` ran `calls` calls. */
async function cpuPerCall<T>(pids: number[], calls: number, fn: () => Promise<T>): Promise<{ out: T; cpu: number[] }> {
  const cpu = () => pids.map((p) => readCpuMs(p) ?? NaN);
  const before = cpu();
  const out = await fn();
  return { out, cpu: cpu().map((ms, i) => (ms - before[i]) / calls) };
}

export async function smallCalls(url: string, sdk: S3Client, bucket: string, dataDir: string, diskWriteMiBs: number, kumoPid: number, progress: (line: string) => void): Promise<SmallSection> {
  const body = Buffer.alloc(4096, 7);
  const lean = new LeanS3(url, CONCURRENCY);
  try {
    progress('flush latency of the data dir');
    const flush = flushLatency(dataDir);
    const bare: SmallRates[] = [];
    const kumo: SmallRates[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const keys = Array.from({ length: OPS }, (_, i) => `small/${r}/${i}`);
      progress(`round ${r + 1}/${ROUNDS}: bare node server, then kumo, ${OPS} x 4 KiB PUT and GET, ${CONCURRENCY} in flight`);
      bare.push(await bareHttp(keys, body, CONCURRENCY));
      kumo.push(await smallObjects(lean, bucket, keys, body, CONCURRENCY));
    }
    const b = medianRound(bare);
    const k = medianRound(kumo);

    progress(`${OPS} x 4 KiB PUT and GET through the AWS SDK`);
    const sdkKeys = Array.from({ length: OPS }, (_, i) => `sdk/${i}`);
    const timed = (fn: (key: string) => Promise<unknown>) => timedCalls(sdkKeys, CONCURRENCY, fn);
    const sdkPut = await timed((Key) => sdk.send(new PutObjectCommand({ Bucket: bucket, Key, Body: body })));
    const sdkGet = await timed(async (Key) => (await sdk.send(new GetObjectCommand({ Bucket: bucket, Key }))).Body!.transformToByteArray());

    progress(`${OPS} x 4 KiB PUT and GET through the AWS SDK in ${SDK_PROCESSES} client processes, ${ROUNDS} rounds`);
    const clients = await openSdkClients(url, bucket, SDK_PROCESSES, CONCURRENCY / SDK_PROCESSES);
    const spread: (SmallRates & { cpu: { put: number[]; get: number[] } })[] = [];
    try {
      const pids = [kumoPid, ...clients.pids];
      for (let r = 0; r < ROUNDS; r++) {
        const keys = Array.from({ length: OPS }, (_, i) => `sdkp/${r}/${i}`);
        const p = await cpuPerCall(pids, OPS, () => clients.run('put', keys));
        const g = await cpuPerCall(pids, OPS, () => clients.run('get', keys));
        spread.push({ putOps: p.out.ops, getOps: g.out.ops, putMs: p.out.ms, getMs: g.out.ms, cpu: { put: p.cpu, get: g.cpu } });
      }
    } finally {
      await clients.close();
    }
    const sp = medianRound(spread);
    // CPU ms per call: kumo's, and the client processes' together.
    const cpuOf = (c: number[]) => ({ kumo: c[0], clients: c.slice(1).reduce((a, b) => a + b, 0) });
    const spCpu = { put: cpuOf(sp.cpu.put), get: cpuOf(sp.cpu.get) };

    progress(`DeleteObjects of ${BATCH} keys, ${BATCH_CALLS} calls`);
    const batchMs: number[] = [];
    for (let c = 0; c < BATCH_CALLS; c++) {
      const keys = Array.from({ length: BATCH }, (_, i) => `batch/${c}/${i}`);
      await mapLimit(keys, CONCURRENCY, async (key) => ok(await lean.put(bucket, key, body), `PUT ${key}`));
      const t = performance.now();
      const r = ok(await lean.deleteObjects(bucket, keys), 'DeleteObjects');
      batchMs.push(performance.now() - t);
      if (r.body.includes('<Error>')) throw new Error(`DeleteObjects answered errors: ${r.body.toString('utf8').slice(0, 300)}`);
    }
    const sdkBatch = Array.from({ length: BATCH }, (_, i) => ({ Key: `sdk/${i}` }));
    const t = performance.now();
    await sdk.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: sdkBatch, Quiet: true } }));
    const sdkBatchMs = performance.now() - t;

    const frac = (v: number, of: number) => `${Math.round((v / of) * 100)}%`;
    const s = (ms: number[]) => summarize(ms);
    const rows = [
      ['bare Node HTTP server: PUT (body read, dropped)', round(b.putOps), round(s(b.putMs).p50), round(s(b.putMs).p99), '100%'],
      ['bare Node HTTP server: GET (4 KiB from memory)', round(b.getOps), round(s(b.getMs).p50), round(s(b.getMs).p99), '100%'],
      ['kumo PutObject (fsynced before 200)', round(k.putOps), round(s(k.putMs).p50), round(s(k.putMs).p99), frac(k.putOps, b.putOps)],
      ['kumo GetObject', round(k.getOps), round(s(k.getMs).p50), round(s(k.getMs).p99), frac(k.getOps, b.getOps)],
      ['kumo PutObject, AWS SDK v3 client', round(sdkPut.ops), round(s(sdkPut.ms).p50), round(s(sdkPut.ms).p99), frac(sdkPut.ops, b.putOps)],
      ['kumo GetObject, AWS SDK v3 client', round(sdkGet.ops), round(s(sdkGet.ms).p50), round(s(sdkGet.ms).p99), frac(sdkGet.ops, b.getOps)],
      [`kumo PutObject, SDK v3 in ${SDK_PROCESSES} client processes`, round(sp.putOps), round(s(sp.putMs).p50), round(s(sp.putMs).p99), frac(sp.putOps, b.putOps)],
      [`kumo GetObject, SDK v3 in ${SDK_PROCESSES} client processes`, round(sp.getOps), round(s(sp.getMs).p50), round(s(sp.getMs).p99), frac(sp.getOps, b.getOps)],
    ];
    const times = (v: number, of: number) => `${round(v / of)}x`;
    const bs = summarize(batchMs);
    const text = [
      table('the machine (same run)', ['limit', 'value'], [
        ['data dir disk: flush (4 KiB append + fdatasync) p50 / p99 ms', `${round(flush.p50Ms)} / ${round(flush.p99Ms)}`],
        ['data dir disk: sequential write + fsync MiB/s', round(diskWriteMiBs)],
      ]),
      table(`4 KiB objects, ${CONCURRENCY} in flight (lean client, median of ${ROUNDS} alternating rounds; SDK: one round)`, ['what', 'ops/s', 'p50 ms', 'p99 ms', 'of bare'], rows),
      table(`through the AWS SDK v3, next to issue 16's starting point (${SDK_BEFORE.put} PUT/s, ${SDK_BEFORE.get} GET/s)`, ['client', 'PUT', 'GET'], [
        ['one client in the bench process, 16 in flight', times(sdkPut.ops, SDK_BEFORE.put), times(sdkGet.ops, SDK_BEFORE.get)],
        [`${SDK_PROCESSES} client processes, 16 in flight in all (median round)`, times(sp.putOps, SDK_BEFORE.put), times(sp.getOps, SDK_BEFORE.get)],
        ['lean client, 16 in flight (median round)', times(k.putOps, SDK_BEFORE.put), times(k.getOps, SDK_BEFORE.get)],
      ]),
      `\nCPU ms per call in the ${SDK_PROCESSES}-process SDK round: PutObject kumo ${round(spCpu.put.kumo)}, SDK clients ${round(spCpu.put.clients)}; GetObject kumo ${round(spCpu.get.kumo)}, SDK clients ${round(spCpu.get.clients)}\n`,
      table(`DeleteObjects, ${BATCH.toLocaleString('en-US')} keys a call (Quiet)`, ['client', 'calls', 'median ms', 'min ms', 'max ms'], [
        ['lean', BATCH_CALLS, round(bs.p50), round(bs.min), round(bs.max)],
        ['AWS SDK v3 (client work included)', 1, round(sdkBatchMs), undefined, undefined],
      ]),
    ].join('');
    return {
      text,
      data: {
        machine: { flushP50Ms: round(flush.p50Ms), flushP99Ms: round(flush.p99Ms), diskWriteMiBs: round(diskWriteMiBs), bareHttpPutOps: round(b.putOps), bareHttpGetOps: round(b.getOps) },
        putOps: round(k.putOps),
        getOps: round(k.getOps),
        putP50: round(s(k.putMs).p50),
        getP50: round(s(k.getMs).p50),
        putOfBare: round(k.putOps / b.putOps),
        getOfBare: round(k.getOps / b.getOps),
        rounds: { kumoPut: kumo.map((r) => round(r.putOps)), kumoGet: kumo.map((r) => round(r.getOps)), barePut: bare.map((r) => round(r.putOps)), bareGet: bare.map((r) => round(r.getOps)) },
        sdk: { putOps: round(sdkPut.ops), getOps: round(sdkGet.ops), putP50: round(s(sdkPut.ms).p50), getP50: round(s(sdkGet.ms).p50) },
        sdkProcesses: {
          processes: SDK_PROCESSES,
          putOps: round(sp.putOps),
          getOps: round(sp.getOps),
          putP50: round(s(sp.putMs).p50),
          getP50: round(s(sp.getMs).p50),
          rounds: { put: spread.map((r) => round(r.putOps)), get: spread.map((r) => round(r.getOps)) },
          cpuMsPerCall: { putKumo: round(spCpu.put.kumo), putClients: round(spCpu.put.clients), getKumo: round(spCpu.get.kumo), getClients: round(spCpu.get.clients) },
        },
        versusIssueStart: { sdkPut: round(sdkPut.ops / SDK_BEFORE.put), sdkGet: round(sdkGet.ops / SDK_BEFORE.get), sdkProcessesPut: round(sp.putOps / SDK_BEFORE.put), sdkProcessesGet: round(sp.getOps / SDK_BEFORE.get) },
        deleteObjects1000: { medianMs: round(median(batchMs)), sdkMs: round(sdkBatchMs) },
      },
    };
  } finally {
    lean.close();
  }
}
