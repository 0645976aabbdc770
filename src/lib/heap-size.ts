/**
 * How big V8 lets kumo's heap grow. Left to itself, V8 sizes a heap for throughput, not for a
 * server that should stay small beside the instances and databases it runs:
 *
 *   young generation  grown up to 16 MiB a semi-space (two of them) when a program allocates
 *                     fast, and never given back: a third of an idle kumo's memory after a burst
 *                     of requests. Kept at its starting size, scavenges come more often and cost
 *                     what they did (requests allocate little that survives).
 *   old generation    the next full collection is due when the heap has grown by a factor V8
 *                     picks from its speeds (up to 4x what survived the last one): about 60 MiB
 *                     of mostly garbage around 18 MiB live after the S3 benchmark's small
 *                     objects. At 1.2x it is collected sooner (mostly concurrently, off the
 *                     loop; kumo's CPU per request did not measurably change), and once kumo
 *                     goes quiet V8's memory reducer takes its first look after 2 s, not 8 (if
 *                     the allocation rate still looks high then, it looks again 8 s later: RSS
 *                     comes down in steps over about 10 s after a burst; `npm run bench` waits).
 *
 * `npm run bench` shows what both cost. They can only be set as flags V8 reads at each growth or
 * collection, since the process already runs, and making an isolate (a Worker) resets the first
 * (V8 flags are process-wide): whoever starts a worker calls `afterNewIsolate` once it is up.
 */
import v8 from 'node:v8';

let small = false;

const apply = () => v8.setFlagsFromString('--semi-space-growth-factor=1 --heap-growing-percent=20 --gc-memory-reducer-start-delay-ms=2000');

/** From now on (the kumo process, not a test embedding kumo). */
export function keepHeapSmall(): void {
  small = true;
  apply();
}

/** A Worker's isolate was just made: its making reset the flags. */
export function afterNewIsolate(): void {
  if (small) apply();
}
