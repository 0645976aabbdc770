/**
 * `npm run bench [-- NAME ...]`: prints the machine, runs the benchmarks (all, or those named),
 * prints a table per benchmark and, last, one machine-readable JSON line. Progress goes to
 * stderr so stdout holds only the report. Benchmarks print figures; they never assert timings.
 * Every kumo started is stopped and every temp dir removed, also on failure or Ctrl-C.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { describeSubnets } from './describe-subnets.js';
import { elb } from './elb.js';
import { images } from './images.js';
import { instances } from './instances.js';
import { machine } from './lib/machine.js';
import { cleanupAll, ROOT } from './lib/spawn.js';
import type { Benchmark } from './lib/types.js';
import { memory } from './memory.js';
import { rds } from './rds.js';
import { s3 } from './s3.js';
import { scenario } from './scenario.js';
import { snapshots } from './snapshots.js';
import { startup } from './startup.js';

const BENCHMARKS: Benchmark[] = [startup, memory, describeSubnets, s3, snapshots, instances, images, rds, elb, scenario];
let interrupted = false;

function usage(): string {
  return `usage: npm run bench [-- NAME ...]\n\nbenchmarks:\n${BENCHMARKS.map((b) => `  ${b.name.padEnd(18)} ${b.description}`).join('\n')}`;
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  if (args.includes('-h') || args.includes('--help')) {
    console.log(usage());
    return 0;
  }
  const unknown = args.filter((a) => !BENCHMARKS.some((b) => b.name === a));
  if (unknown.length) {
    console.error(`unknown benchmark${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}\n\n${usage()}`);
    return 2;
  }
  const selected = args.length ? BENCHMARKS.filter((b) => args.includes(b.name)) : BENCHMARKS;
  if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) {
    console.error('dist/ is missing: run `npx tsc -p tsconfig.json` (or `npm run build`) first');
    return 1;
  }

  const m = machine();
  console.log(`# kumo benchmarks`);
  console.log(`machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}`);
  console.log(`node ${m.node}, kumo ${m.kumo}${m.kumoCommit ? ` (${m.kumoCommit}${m.srcDirty ? ' + uncommitted src changes' : ''})` : ''}, dist/ as built`);

  const results: Record<string, unknown> = {};
  const errors: Record<string, string> = {};
  const t0 = performance.now();
  for (const b of selected) {
    const tb = performance.now();
    const progress = (line: string) => process.stderr.write(`[${b.name}] ${line}\n`);
    try {
      const r = await b.run(progress);
      const seconds = Math.round((performance.now() - tb) / 100) / 10;
      console.log(r.text);
      console.log(`(${b.name}: ${seconds} s)`);
      results[b.name] = { ...r.data, seconds };
    } catch (e) {
      if (interrupted) break;
      const message = (e as Error)?.stack ?? String(e);
      console.log(`\n## ${b.name}: FAILED\n${message}`);
      errors[b.name] = (e as Error)?.message ?? String(e);
    } finally {
      await cleanupAll();
    }
  }
  const seconds = Math.round((performance.now() - t0) / 100) / 10;
  console.log(`\ntotal: ${seconds} s`);
  console.log(
    JSON.stringify({
      kumoBench: 1,
      date: new Date().toISOString(),
      machine: m,
      results,
      ...(Object.keys(errors).length ? { errors } : {}),
      seconds,
    }),
  );
  return Object.keys(errors).length ? 1 : 0;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    interrupted = true;
    process.stderr.write(`\n${signal}: stopping kumo processes\n`);
    void cleanupAll().finally(() => process.exit(130));
  });
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  async (e) => {
    console.error(e);
    await cleanupAll();
    process.exitCode = 1;
  },
);
