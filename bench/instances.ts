/**
 * Native instances (needs root, systemd-nspawn, debootstrap; otherwise it says why and reports
 * nothing): for 1 and for 20 instances launched at once through the native driver directly (not
 * yet through RunInstances), the time from launch to user data done (per instance: median and
 * slowest), the memory per idle instance (its processes plus its systemd-nspawn; RSS and PSS), and
 * the time to stop them all cleanly. The image comes from the same per-machine cache as the tests
 * (KUMO_TEST_IMAGE_CACHE, default /var/tmp/kumo-test-images) and is built first if missing.
 *
 * KUMO_BENCH_INSTANCES=1,5 picks other rounds (default 1,20).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { detectRuntime, which } from '../src/runtime/detect.js';
import { DEBIAN_12, ensureImage } from '../src/runtime/images/builder.js';
import { DONE_MARKER } from '../src/runtime/instances/first-boot.js';
import { NativeDriver } from '../src/runtime/instances/native.js';
import { run } from '../src/runtime/instances/host.js';
import type { Benchmark } from './lib/types.js';

const IMAGE_CACHE = process.env.KUMO_TEST_IMAGE_CACHE || '/var/tmp/kumo-test-images';
const USER_DATA = '#!/bin/sh\necho "user data ran on $(hostname)"\n';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function round(driver: NativeDriver, rootfs: string, n: number) {
  const ids = Array.from({ length: n }, (_, i) => `i-bench${process.pid}x${i}`);
  const done: number[] = [];
  try {
    const t0 = performance.now();
    await Promise.all(ids.map(async (id) => {
      const started = performance.now();
      await driver.launch({ id, imageRootfs: rootfs, userData: USER_DATA });
      const marker = join(driver.paths(id).merged, DONE_MARKER);
      while (!existsSync(marker)) {
        if (performance.now() - started > 120_000) {
          const journal = await run('journalctl', ['--no-pager', '-D', join(driver.paths(id).merged, 'var/log/journal'), '-u', 'kumo-user-data']).catch((e) => String(e));
          const tail = `${driver.consoleOutput(id).split('\n').slice(-8).join('\n')}\n${journal}`;
          throw new Error(`${id}: user data not done after 120 s (${driver.status(id)}); console ends:\n${tail}`);
        }
        await sleep(10);
      }
      done.push(performance.now() - started);
    }));
    const allMs = performance.now() - t0;
    await sleep(2000); // let boot-time work finish so the memory figure is an idle one
    const mem = ids.map((id) => driver.rss(id));
    const rss = mem.reduce((s, r) => s + r.container + r.nspawn, 0);
    const pss = mem.reduce((s, r) => s + r.pss, 0);
    const ts = performance.now();
    await Promise.all(ids.map((id) => driver.stop(id)));
    const stopMs = performance.now() - ts;
    done.sort((a, b) => a - b);
    return { n, medianMs: done[Math.floor(n / 2)]!, maxMs: done[n - 1]!, allMs, rssMiBPerInstance: rss / n / 2 ** 20, pssMiBPerInstance: pss / n / 2 ** 20, stopAllMs: stopMs };
  } finally {
    for (const id of ids) await driver.terminate(id, 5_000).catch(() => {});
  }
}

export const instances: Benchmark = {
  name: 'instances',
  description: 'native instances: launch to user data done, memory per idle instance (1 and 20)',
  async run(progress) {
    const rt = detectRuntime();
    if (rt.mode !== 'native' || !which('debootstrap')) {
      return { text: `instances: skipped (${rt.mode !== 'native' ? rt.reason : 'debootstrap missing'})`, data: { skipped: true } };
    }
    const tImage = performance.now();
    const rootfs = await ensureImage(IMAGE_CACHE, DEBIAN_12, progress);
    const imageS = (performance.now() - tImage) / 1000;
    const dataDir = mkdtempSync('/var/tmp/kumo-bench-');
    const driver = new NativeDriver(dataDir);
    try {
      const rows = [];
      for (const n of (process.env.KUMO_BENCH_INSTANCES || '1,20').split(',').map(Number)) {
        progress(`launching ${n}`);
        rows.push(await round(driver, rootfs, n));
      }
      const f = (x: number) => x.toFixed(0).padStart(8);
      const text = [
        `image ready in ${imageS.toFixed(1)} s (${imageS > 5 ? 'built now' : 'cached'})`,
        'instances  user-data done ms (median / slowest / all)  MiB per instance (RSS / PSS)  stop all ms',
        ...rows.map((r) => `${String(r.n).padStart(9)}  ${f(r.medianMs)} ${f(r.maxMs)} ${f(r.allMs)}${' '.repeat(17)}${r.rssMiBPerInstance.toFixed(1).padStart(10)} / ${r.pssMiBPerInstance.toFixed(1).padStart(5)}     ${f(r.stopAllMs)}`),
      ].join('\n');
      return { text, data: { imageSeconds: imageS, rounds: rows } };
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  },
};
