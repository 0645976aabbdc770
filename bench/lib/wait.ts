/** Polls `probe` until it answers something other than undefined; throws after `ms`. */
import { performance } from 'node:perf_hooks';
import { sleep } from './spawn.js';

export async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 600_000, everyMs = 50): Promise<T> {
  const end = performance.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (performance.now() > end) throw new Error(`${what}: not after ${ms / 1000} s`);
    await sleep(everyMs);
  }
}
