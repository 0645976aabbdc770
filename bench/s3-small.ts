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
 *   sdk        the same through the AWS SDK v3 (what an SDK user sees; on 2 cores the SDK's own
 *              CPU is most of it)
 *   batch      DeleteObjects of 1,000 keys a call (lean client; ms per call)
 */
import { DeleteObjectsCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { performance } from 'node:perf_hooks';
import { flushLatency } from './lib/disk.js';
import { LeanS3, ok } from './lib/lean-s3.js';
import { bareHttp, smallObjects, type SmallRates } from './lib/limits.js';
import { table } from './lib/report.js';
import { mapLimit, median, round, summarize, timedCalls } from './lib/stats.js';

const OPS = 1000;
const CONCURRENCY = 16;
const ROUNDS = 3;
const BATCH = 1000;
const BATCH_CALLS = 5;

export interface SmallSection {
  text: string;
  data: Record<string, unknown>;
}

/** The round whose PUT rate is the median one (its GET figures go with it). */
function medianRound(rounds: SmallRates[]): SmallRates {
  return [...rounds].sort((a, b) => a.putOps - b.putOps)[Math.floor(rounds.length / 2)];
}

export async function smallCalls(url: string, sdk: S3Client, bucket: string, dataDir: string, diskWriteMiBs: number, progress: (line: string) => void): Promise<SmallSection> {
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
    ];
    const bs = summarize(batchMs);
    const text = [
      table('the machine (same run)', ['limit', 'value'], [
        ['data dir disk: flush (4 KiB append + fdatasync) p50 / p99 ms', `${round(flush.p50Ms)} / ${round(flush.p99Ms)}`],
        ['data dir disk: sequential write + fsync MiB/s', round(diskWriteMiBs)],
      ]),
      table(`4 KiB objects, ${CONCURRENCY} in flight (lean client, median of ${ROUNDS} alternating rounds; SDK: one round)`, ['what', 'ops/s', 'p50 ms', 'p99 ms', 'of bare'], rows),
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
        deleteObjects1000: { medianMs: round(median(batchMs)), sdkMs: round(sdkBatchMs) },
      },
    };
  } finally {
    lean.close();
  }
}
