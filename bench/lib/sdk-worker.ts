/**
 * One AWS SDK v3 S3 client in a process of its own, driven by ./sdk-clients.ts over IPC: it makes
 * its client and warms it up (WARM_CALLS PUTs and GETs: the SDK's first calls load and compile much
 * of it, and its hot paths are optimised only after some hundreds), says `ready`,
 * then runs each batch of calls it is sent (PUT or GET of 4 KiB objects, `inflight` at a time)
 * and answers each call's milliseconds. Never started by hand.
 */
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { clientConfig } from './clients.js';
import { timedCalls } from './stats.js';

interface Job {
  op: 'put' | 'get';
  keys: string[];
}

const [url, bucket, inflightArg] = process.argv.slice(2);
const inflight = Number(inflightArg);
const body = Buffer.alloc(4096, 7);
const WARM_CALLS = 400;
// As bench/s3.ts configures its client: checksums only where required, so kumo's path is measured.
const s3 = new S3Client({ ...clientConfig(url!), forcePathStyle: true, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });

const put = (Key: string) => s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body: body }));
const get = async (Key: string) => {
  const bytes = await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key }))).Body!.transformToByteArray();
  if (bytes.length !== body.length) throw new Error(`GET ${Key}: ${bytes.length} bytes, put ${body.length}`);
};

async function main(): Promise<void> {
  // Long enough for V8 to have optimised the SDK's hot paths: a user's long-running program is warm.
  const warm = Array.from({ length: WARM_CALLS }, (_, i) => `warm/${process.pid}/${i}`);
  await timedCalls(warm, inflight, put);
  await timedCalls(warm, inflight, get);
  process.send!({ ready: true });
  process.on('message', (job: Job) => {
    timedCalls(job.keys, inflight, job.op === 'put' ? put : get).then(
      (r) => process.send!({ ms: r.ms }),
      (e: Error) => process.send!({ error: e.message }),
    );
  });
  process.on('disconnect', () => {
    s3.destroy();
    process.exit(0);
  });
}

main().catch((e: Error) => {
  process.send?.({ error: e.message });
  process.exit(1);
});
