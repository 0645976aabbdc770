/**
 * Summary statistics for latency samples (milliseconds). Percentiles use the nearest-rank
 * method on the sorted samples, so p99 of 200 samples is the 198th value.
 */
import { performance } from 'node:perf_hooks';

export interface Summary {
  n: number;
  min: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

export function summarize(samples: number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  const sum = sorted.reduce((a, b) => a + b, 0);
  return {
    n: sorted.length,
    min: sorted[0] ?? NaN,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1] ?? NaN,
    mean: sorted.length ? sum / sorted.length : NaN,
  };
}

export function median(samples: number[]): number {
  return percentile([...samples].sort((a, b) => a - b), 50);
}

/** Rounds for printing and for the JSON line: 2 decimals below 10, 1 below 1000, else whole. */
export function round(v: number): number {
  if (!Number.isFinite(v)) return v;
  const a = Math.abs(v);
  if (a < 10) return Math.round(v * 100) / 100;
  if (a < 1000) return Math.round(v * 10) / 10;
  return Math.round(v);
}

export function roundSummary(s: Summary): Summary {
  return {
    n: s.n,
    min: round(s.min),
    p50: round(s.p50),
    p90: round(s.p90),
    p99: round(s.p99),
    max: round(s.max),
    mean: round(s.mean),
  };
}

/** Runs `fn` over `items` with at most `limit` calls in flight; results keep the input order. */
export async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failed: unknown;
  const worker = async () => {
    while (failed === undefined && next < items.length) {
      const i = next++;
      try {
        results[i] = await fn(items[i], i);
      } catch (e) {
        failed ??= e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failed !== undefined) throw failed;
  return results;
}

/** `fn` over every key, `concurrency` in flight: calls per second and each call's milliseconds. */
export async function timedCalls(keys: string[], concurrency: number, fn: (key: string) => Promise<unknown>): Promise<{ ops: number; ms: number[] }> {
  const t = performance.now();
  const ms = await mapLimit(keys, concurrency, async (key) => {
    const s = performance.now();
    await fn(key);
    return performance.now() - s;
  });
  return { ops: keys.length / ((performance.now() - t) / 1000), ms };
}
