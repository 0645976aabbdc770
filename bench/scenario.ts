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
 * The wall time of each step and of the whole, as the script's --timed mode prints them.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { detectRuntime, which } from '../src/runtime/detect.js';
import { table } from './lib/report.js';
import { removeDir, ROOT, spawnKumo, tempDir } from './lib/spawn.js';
import type { Benchmark } from './lib/types.js';

const IMAGE_CACHE = process.env.KUMO_TEST_IMAGE_CACHE || '/var/tmp/kumo-test-images';
const SCRIPT = join(ROOT, 'examples', 'scalable-website', 'part-b.sh');
// Not the tests' pools: a bench may run beside a test file.
const EIP_POOL = '127.99.0.0/24';

type Timings = { steps: Array<[string, number]>; total: number };

function skipReason(): string | undefined {
  const runtime = detectRuntime();
  if (runtime.mode !== 'native') return `needs the native runtime: ${runtime.reason}`;
  const absent = ['haproxy', 'aws', 'curl', 'ssh', 'ssh-keygen'].filter((t) => !which(t));
  return absent.length ? `needs ${absent.join(', ')}` : undefined;
}

/** part-b.sh --timed against `url`: its wall times, or an error with the end of its output. */
function runPartB(url: string): Promise<Timings> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, KUMO_URL: url, AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null' };
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
      resolve({ steps, total });
    });
  });
}

async function once(packageCache: string, progress: (line: string) => void, label: string): Promise<Timings> {
  const kumo = await spawnKumo({ env: { KUMO_IMAGE_DIR: IMAGE_CACHE, KUMO_PACKAGE_CACHE: packageCache, KUMO_EIP_POOL: EIP_POOL }, timeoutMs: 60_000 });
  try {
    progress(`${label}: part-b.sh against ${kumo.url}`);
    return await runPartB(kumo.url);
  } finally {
    await kumo.stop();
  }
}

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
      const text = table("the documents' Part B, from an empty kumo to the teardown (examples/scalable-website/part-b.sh)", ['step', 'cold package cache', 'warm'], rows);
      return { text, data: { coldSeconds: cold.total, warmSeconds: warm.total, cold: cold.steps, warm: warm.steps } };
    } finally {
      removeDir(cache);
    }
  },
};
