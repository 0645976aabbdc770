/**
 * S3 data plane, next to what the disk underneath can do:
 *
 *   disk       node fs on the data dir's filesystem: 256 MiB written in 1 MiB writes + fsync, then
 *              read back (from the page cache, as kumo's GET right after a PUT would be)
 *   small      4 KiB PutObject and GetObject, 16 in flight, and DeleteObjects of 1,000 keys,
 *              next to a bare Node HTTP server and the disk's flush latency (./s3-small.ts)
 *   list       ListObjectsV2 over 10,000 keys, all pages (ms per full listing)
 *   large      one 256 MiB PutObject and GetObject (streamed from a generator / into a counting
 *              sink, never held), and a 256 MiB multipart upload in 8 MiB parts (lib-storage,
 *              4 parts in flight); MiB/s and kumo's peak RSS while each ran
 *   digests    in-process MiB/s of MD5 (always computed: the ETag) and of CRC64NVME / CRC32 /
 *              CRC32C, the cost of a default checksum on every upload
 *
 * The SDK is set to send checksums only when required, so "large" measures kumo's own path; the
 * SDK's default CRC32 trailer adds its client-side cost on top.
 */
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { newDigest, type ChecksumAlgorithm } from '../src/services/s3/checksums.js';
import { clientConfig, REGION } from './lib/clients.js';
import { mib, table } from './lib/report.js';
import { rawDisk } from './lib/disk.js';
import { settledMemory } from './memory.js';
import { smallCalls } from './s3-small.js';
import { readMemory, spawnKumo } from './lib/spawn.js';
import { mapLimit, round, summarize } from './lib/stats.js';
import type { Benchmark } from './lib/types.js';

const MiB = 1024 * 1024;
const LARGE = 256 * MiB;
const LIST_KEYS = 10_000;
const LIST_RUNS = 3;
const BLOCK = randomBytes(MiB);

function source(total: number): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= total) return void this.push(null);
      const n = Math.min(MiB, total - sent);
      sent += n;
      this.push(n === MiB ? BLOCK : BLOCK.subarray(0, n));
    },
  });
}

function sink(): Writable & { bytes: number } {
  const w = new Writable({
    write(chunk: Buffer, _e, done) {
      w.bytes += chunk.length;
      done();
    },
  }) as Writable & { bytes: number };
  w.bytes = 0;
  return w;
}

/** Runs `fn` while sampling `pid`'s RSS; returns its duration and the peak RSS seen (KiB). */
async function sampled(pid: number, fn: () => Promise<void>): Promise<{ ms: number; peakKiB: number }> {
  let peak = readMemory(pid).rssKiB;
  const timer = setInterval(() => (peak = Math.max(peak, readMemory(pid).rssKiB)), 20);
  const t = performance.now();
  try {
    await fn();
  } finally {
    clearInterval(timer);
  }
  const ms = performance.now() - t;
  return { ms, peakKiB: Math.max(peak, readMemory(pid).rssKiB) };
}

function digestSpeed(alg: ChecksumAlgorithm | 'MD5'): number {
  const d = alg === 'MD5' ? createHash('md5') : newDigest(alg);
  const total = 64 * MiB;
  const t = performance.now();
  for (let n = 0; n < total; n += MiB) d.update(BLOCK);
  if ('digest' in d) d.digest();
  else d.base64();
  return total / MiB / ((performance.now() - t) / 1000);
}

export const s3: Benchmark = {
  name: 's3',
  description: 'S3 small-object ops/s, 10,000-key listing, 256 MiB PUT/GET/multipart MiB/s and RSS, next to raw disk speed',
  async run(progress) {
    const kumo = await spawnKumo();
    const client = new S3Client({ ...clientConfig(kumo.url), forcePathStyle: true, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
    const Bucket = 'bench-s3';
    try {
      await client.send(new CreateBucketCommand({ Bucket, CreateBucketConfiguration: { LocationConstraint: REGION } }));
      progress('raw disk');
      const raw = rawDisk(kumo.dataDir, BLOCK);

      const small = await smallCalls(kumo.url, client, Bucket, kumo.dataDir, raw.writeMiBs, kumo.pid, progress);

      progress(`${LIST_KEYS} keys for listing`);
      await mapLimit(
        Array.from({ length: LIST_KEYS }, (_, i) => `list/${String(i).padStart(5, '0')}`),
        64,
        (Key) => client.send(new PutObjectCommand({ Bucket, Key, Body: 'x' })),
      );
      const listMs: number[] = [];
      for (let r = 0; r < LIST_RUNS; r++) {
        const s = performance.now();
        let token: string | undefined;
        let n = 0;
        do {
          const page = await client.send(new ListObjectsV2Command({ Bucket, Prefix: 'list/', ContinuationToken: token }));
          n += page.KeyCount ?? 0;
          token = page.NextContinuationToken;
        } while (token);
        if (n !== LIST_KEYS) throw new Error(`listing returned ${n} keys, expected ${LIST_KEYS}`);
        listMs.push(performance.now() - s);
      }

      // What the small-object and listing work left kumo holding: right away, and once settled.
      const afterSmall = readMemory(kumo.pid).rssKiB;
      progress('RSS settling');
      const settled = await settledMemory(kumo.pid);
      const before = readMemory(kumo.pid).rssKiB;
      progress('256 MiB PUT');
      const put = await sampled(kumo.pid, async () => {
        await client.send(new PutObjectCommand({ Bucket, Key: 'large', Body: source(LARGE), ContentLength: LARGE }));
      });
      progress('256 MiB GET');
      const get = await sampled(kumo.pid, async () => {
        const got = await client.send(new GetObjectCommand({ Bucket, Key: 'large' }));
        const out = sink();
        await pipeline(got.Body as Readable, out);
        if (out.bytes !== LARGE) throw new Error(`GET returned ${out.bytes} bytes`);
      });
      progress('256 MiB multipart upload, 8 MiB parts');
      const multipart = await sampled(kumo.pid, async () => {
        await new Upload({ client, params: { Bucket, Key: 'multipart', Body: source(LARGE) }, partSize: 8 * MiB, queueSize: 4 }).done();
      });
      const hwm = readMemory(kumo.pid).hwmKiB;

      progress('digest speeds');
      const digests = Object.fromEntries((['MD5', 'CRC64NVME', 'CRC32', 'CRC32C'] as const).map((a) => [a, round(digestSpeed(a))]));

      const rate = (ms: number) => round(LARGE / MiB / (ms / 1000));
      const ls = summarize(listMs);
      const text = [
        table('S3 next to the raw disk (256 MiB, node fs, same filesystem)', ['what', 'MiB/s', 'kumo peak RSS MiB'], [
          ['disk write + fsync', round(raw.writeMiBs), undefined],
          ['disk read (page cache)', round(raw.readMiBs), undefined],
          ['PutObject 256 MiB', rate(put.ms), mib(put.peakKiB)],
          ['GetObject 256 MiB', rate(get.ms), mib(get.peakKiB)],
          ['multipart 256 MiB (8 MiB parts, 4 in flight)', rate(multipart.ms), mib(multipart.peakKiB)],
        ]),
        small.text,
        table(`ListObjectsV2 over ${LIST_KEYS.toLocaleString('en-US')} keys (${LIST_KEYS / 1000} pages)`, ['runs', 'median ms', 'min ms'], [
          [LIST_RUNS, round(ls.p50), round(ls.min)],
        ]),
        table('digests over 64 MiB in process (MD5 is always computed: it is the ETag)', ['algorithm', 'MiB/s'], Object.entries(digests)),
        `\nkumo RSS after the small-object runs and the ${LIST_KEYS.toLocaleString('en-US')}-key listing: ${mib(afterSmall)} MiB at once, ${mib(settled.rssKiB)} MiB settled (${Math.round(settled.settleMs)} ms)`,
        `\nkumo RSS before the 256 MiB transfers: ${mib(before)} MiB; VmHWM after them: ${mib(hwm)} MiB`,
      ].join('');
      return {
        text,
        data: {
          disk: { writeMiBs: round(raw.writeMiBs), readMiBs: round(raw.readMiBs) },
          large: {
            putMiBs: rate(put.ms),
            getMiBs: rate(get.ms),
            multipartMiBs: rate(multipart.ms),
            peakRssMiB: { put: mib(put.peakKiB), get: mib(get.peakKiB), multipart: mib(multipart.peakKiB) },
            rssBeforeMiB: mib(before),
            rssAfterSmallMiB: mib(afterSmall),
            rssAfterSmallSettledMiB: mib(settled.rssKiB),
            hwmMiB: mib(hwm),
          },
          small: small.data,
          list10k: { medianMs: round(ls.p50) },
          digestsMiBs: digests,
        },
      };
    } finally {
      client.destroy();
      await kumo.stop();
    }
  },
};
