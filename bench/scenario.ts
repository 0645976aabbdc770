/**
 * The documents' Part B end to end (SCENARIO.md; needs root, systemd-nspawn, haproxy, the aws
 * CLI, curl and ssh; otherwise it says why and reports nothing): examples/scalable-website/part-b.sh
 * against a fresh kumo, from an empty data dir to the teardown, with the documents' user data.
 * Run twice, each time on a new kumo and data dir:
 *
 *   cold   an empty package cache: the instance's `yum` installs and WordPress's download come
 *          from the Debian mirror through kumo's proxy, and the WordPress archive is prepared
 *   warm   the same cache again: nothing is downloaded
 *
 * Both share the base image cache (KUMO_TEST_IMAGE_CACHE, as the tests), so neither builds it.
 * The wall time of each step and of the whole, as the script's --timed mode prints them, and how
 * much of it the aws CLI itself took: every call goes through a wrapper that counts it, and the
 * CLI's own cost per call (start-up, parsing, signing) is the median time of a call kumo answers
 * in about a millisecond (sts get-caller-identity), so calls × that is time no server can save.
 */
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { detectRuntime, which } from '../src/runtime/detect.js';
import { table } from './lib/report.js';
import { removeDir, ROOT, spawnKumo, tempDir } from './lib/spawn.js';
import type { Benchmark } from './lib/types.js';

const IMAGE_CACHE = process.env.KUMO_TEST_IMAGE_CACHE || '/var/tmp/kumo-test-images';
const SCRIPT = join(ROOT, 'examples', 'scalable-website', 'part-b.sh');
// Not the tests' pools: a bench may run beside a test file.
const EIP_POOL = '127.99.0.0/24';

type Timings = { steps: Array<[string, number]>; total: number; awsCalls: number; awsSeconds: number };

/** A directory with an `aws` that runs the real one and appends its start and end (ns) to `log`. */
function countingAws(dir: string, log: string): string {
  const real = execFileSync('bash', ['-c', 'command -v aws'], { encoding: 'utf8' }).trim();
  const wrapper = join(dir, 'aws');
  writeFileSync(wrapper, `#!/bin/bash\nstart=$(date +%s%N)\n${JSON.stringify(real)} "$@"\nrc=$?\necho "$start $(date +%s%N)" >> ${JSON.stringify(log)}\nexit $rc\n`);
  chmodSync(wrapper, 0o755);
  return dir;
}

/** The aws CLI's own time per call: median of `aws sts get-caller-identity` against kumo. */
function awsCallSeconds(url: string): number {
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    execFileSync('aws', ['sts', 'get-caller-identity', '--endpoint-url', url], { env: awsEnv(url), stdio: 'ignore' });
    times.push((performance.now() - t0) / 1000);
  }
  return times.sort((a, b) => a - b)[2]!;
}

const awsEnv = (url: string) => ({
  ...process.env, KUMO_URL: url, AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
  AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_DEFAULT_REGION: 'ap-northeast-1',
});

function skipReason(): string | undefined {
  const runtime = detectRuntime();
  if (runtime.mode !== 'native') return `needs the native runtime: ${runtime.reason}`;
  const absent = ['haproxy', 'aws', 'curl', 'ssh', 'ssh-keygen'].filter((t) => !which(t));
  return absent.length ? `needs ${absent.join(', ')}` : undefined;
}

/** part-b.sh --timed against `url`: its wall times, or an error with the end of its output. */
function runPartB(url: string): Promise<Timings> {
  const dir = tempDir('kumo-bench-aws-');
  const log = join(dir, 'calls');
  writeFileSync(log, '');
  return new Promise<Timings>((resolve, reject) => {
    const env = { ...awsEnv(url), PATH: `${countingAws(dir, log)}:${process.env.PATH}` };
    const child = spawn('bash', [SCRIPT, '--timed'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`part-b.sh exited with ${code}:\n${out.slice(-3000)}`));
      const report = out.slice(out.lastIndexOf('Wall time per step:'));
      const steps: Array<[string, number]> = [];
      let total = NaN;
      for (const m of report.matchAll(/^\s*([\d.]+) s {2}(.+)$/gm)) {
        if (m[2] === 'total') total = Number(m[1]);
        else steps.push([m[2]!, Number(m[1])]);
      }
      if (!steps.length || Number.isNaN(total)) return reject(new Error(`no timings in part-b.sh's output:\n${out.slice(-2000)}`));
      const calls = readFileSync(log, 'utf8').trim().split('\n').filter(Boolean).map((l) => l.split(' ').map(Number));
      const awsSeconds = calls.reduce((sum, [a, b]) => sum + (b! - a!) / 1e9, 0);
      resolve({ steps, total, awsCalls: calls.length, awsSeconds: Math.round(awsSeconds * 10) / 10 });
    });
  }).finally(() => removeDir(dir));
}

async function once(packageCache: string, progress: (line: string) => void, label: string): Promise<Timings & { perCall: number }> {
  const kumo = await spawnKumo({ env: { KUMO_IMAGE_DIR: IMAGE_CACHE, KUMO_PACKAGE_CACHE: packageCache, KUMO_EIP_POOL: EIP_POOL }, timeoutMs: 60_000 });
  try {
    progress(`${label}: part-b.sh against ${kumo.url}`);
    const timings = await runPartB(kumo.url);
    return { ...timings, perCall: Math.round(awsCallSeconds(kumo.url) * 100) / 100 };
  } finally {
    await kumo.stop();
  }
}

const round = (x: number) => Math.round(x * 10) / 10;
const lower = (t: { awsCalls: number; perCall: number }) => round(t.awsCalls * t.perCall);

export const scenario: Benchmark = {
  name: 'scenario',
  description: "the documents' Part B end to end (part-b.sh), package caches cold then warm",
  async run(progress) {
    const why = skipReason();
    if (why) return { text: `\n## scenario: skipped (${why})`, data: { skipped: why } };
    const cache = tempDir('kumo-bench-packages-');
    try {
      const cold = await once(cache, progress, 'cold');
      const warm = await once(cache, progress, 'warm');
      const rows = cold.steps.map(([name, s], i) => [name.length > 70 ? `${name.slice(0, 67)}...` : name, `${s} s`, `${warm.steps[i]?.[1] ?? '?'} s`]);
      rows.push(['whole of Part B', `${cold.total} s`, `${warm.total} s`]);
      rows.push(['  in aws CLI calls (count, seconds)', `${cold.awsCalls}, ${cold.awsSeconds} s`, `${warm.awsCalls}, ${warm.awsSeconds} s`]);
      rows.push(['  of which the CLI itself (calls × its time per call)', `${lower(cold)} s (${cold.perCall} s)`, `${lower(warm)} s (${warm.perCall} s)`]);
      rows.push(['  the rest: kumo, the instances, the documents\' intervals', `${round(cold.total - lower(cold))} s`, `${round(warm.total - lower(warm))} s`]);
      const text = table("the documents' Part B, from an empty kumo to the teardown (examples/scalable-website/part-b.sh)", ['step', 'cold package cache', 'warm'], rows);
      return {
        text,
        data: { coldSeconds: cold.total, warmSeconds: warm.total, awsCalls: warm.awsCalls, awsSecondsPerCall: warm.perCall, cold: cold.steps, warm: warm.steps },
      };
    } finally {
      removeDir(cache);
    }
  },
};
