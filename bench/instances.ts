/**
 * Instances through the API (needs root and systemd-nspawn; otherwise it says why and reports
 * nothing): a kumo is spawned as users start it, then for 1 and for 20 instances launched by one
 * RunInstances each round: per instance, RunInstances to `running` (DescribeInstances) and to
 * user data done (its output on GetConsoleOutput), median and slowest; the memory per idle
 * instance (its processes plus its systemd-nspawn, RSS and PSS, read from /proc); and the time
 * until TerminateInstances has them all `terminated`. The base image comes from the tests'
 * per-machine cache (KUMO_TEST_IMAGE_CACHE, default /var/tmp/kumo-test-images), built if missing.
 *
 * Then the VPC fabric alone: 20 ports plugged at once into one VPC. Plugs that arrive together
 * are one batch (their namespaces wired at once, the VPC's and the host's nft tables rewritten
 * once for all), so this is the fabric's part of "20 instances to running".
 *
 * Last, kumo's own RSS after those rounds (at once, and once settled).
 *
 * KUMO_BENCH_INSTANCES=1,5 picks other rounds (default 1,20).
 */
import { DescribeImagesCommand, DescribeInstancesCommand, EC2Client, GetConsoleOutputCommand, RunInstancesCommand, TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import { readdirSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { detectRuntime } from '../src/runtime/detect.js';
import { Fabric } from '../src/runtime/network/fabric.js';
import { descendantsOf, pssBytes, rssBytes } from '../src/runtime/instances/host.js';
import { clientConfig } from './lib/clients.js';
import { settledMemory } from './memory.js';
import { mib } from './lib/report.js';
import { readMemory, spawnKumo } from './lib/spawn.js';
import type { Benchmark } from './lib/types.js';

const IMAGE_CACHE = process.env.KUMO_TEST_IMAGE_CACHE || '/var/tmp/kumo-test-images';
const USER_DATA = Buffer.from('#!/bin/sh\necho "bench-user-data-done on $(hostname)"\n').toString('base64');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The instance's systemd-nspawn and everything under it, found by its --machine= argument. */
function instanceMemory(id: string): { rss: number; pss: number } {
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number)) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (!cmd.startsWith('systemd-nspawn') || !cmd.includes(`--machine=${id}\0`)) continue;
      const all = [pid, ...descendantsOf(pid)];
      return { rss: all.reduce((s, p) => s + rssBytes(p), 0), pss: all.reduce((s, p) => s + pssBytes(p), 0) };
    } catch {
      // exited while we looked
    }
  }
  return { rss: 0, pss: 0 };
}

/**
 * Milliseconds from `started` until each ID is done, sorted. `doneNow` answers for all pending IDs
 * at once, so the benchmark's own polling stays light (one Describe per round, not one per ID).
 */
async function waitAll(ids: string[], started: number, doneNow: (pending: string[]) => Promise<string[]>, what: string): Promise<number[]> {
  const ms = new Map<string, number>();
  while (ms.size < ids.length) {
    if (performance.now() - started > 300_000) throw new Error(`${what}: ${ids.length - ms.size} instances not there after 300 s`);
    const pending = ids.filter((id) => !ms.has(id));
    for (const id of await doneNow(pending)) ms.set(id, performance.now() - started);
    await sleep(25);
  }
  return [...ms.values()].sort((a, b) => a - b);
}

async function round(ec2: EC2Client, ami: string, n: number) {
  const t0 = performance.now();
  const r = await ec2.send(new RunInstancesCommand({ ImageId: ami, MinCount: n, MaxCount: n, InstanceType: 't3.micro', UserData: USER_DATA }));
  const ids = r.Instances!.map((i) => i.InstanceId!);
  try {
    const stateOf = async () => {
      const out = await ec2.send(new DescribeInstancesCommand({ InstanceIds: ids }));
      return new Map(out.Reservations!.flatMap((x) => x.Instances!).map((i) => [i.InstanceId!, i.State!.Name!]));
    };
    const running = await waitAll(ids, t0, async (pending) => {
      const states = await stateOf();
      return pending.filter((id) => states.get(id) === 'running');
    }, 'running');
    const userData = await waitAll(ids, t0, async (pending) => {
      const done: string[] = [];
      for (const id of pending) {
        const out = await ec2.send(new GetConsoleOutputCommand({ InstanceId: id }));
        if (Buffer.from(out.Output ?? '', 'base64').includes('bench-user-data-done')) done.push(id);
      }
      return done;
    }, 'user data');
    await sleep(2000); // boot-time work settles, so the figure is an idle one
    const mem = ids.map(instanceMemory);
    const tt = performance.now();
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: ids }));
    await waitAll(ids, tt, async (pending) => {
      const states = await stateOf();
      return pending.filter((id) => states.get(id) === 'terminated');
    }, 'terminated');
    const mid = (xs: number[]) => xs[Math.floor(xs.length / 2)]!;
    return {
      n,
      runningMedianMs: mid(running), runningMaxMs: running.at(-1)!,
      userDataMedianMs: mid(userData), userDataMaxMs: userData.at(-1)!,
      rssMiBPerInstance: mem.reduce((s, m) => s + m.rss, 0) / n / 2 ** 20,
      pssMiBPerInstance: mem.reduce((s, m) => s + m.pss, 0) / n / 2 ** 20,
      terminateAllMs: performance.now() - tt,
    };
  } catch (err) {
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: ids })).catch(() => {});
    throw err;
  }
}

/** 20 ports plugged at once into one VPC of a fabric of its own: total and per plug. */
async function fabricPlugs(n = 20): Promise<{ ports: number; totalMs: number; perPlugMs: number }> {
  const f = await Fabric.open({ owner: `/nonexistent/kumo-bench-${process.pid}` });
  try {
    await f.ensureVpc({ vpcId: 'vpc-bench', cidrs: ['10.5.0.0/16'], subnets: [{ subnetId: 'subnet-bench', cidr: '10.5.1.0/24', naclId: 'acl-bench' }] }, { nacls: {}, securityGroups: { 'sg-bench': { ingress: [], egress: [] } } });
    const t0 = performance.now();
    await Promise.all(Array.from({ length: n }, (_, i) =>
      f.plug({ owner: 'bench', portId: `i-bench${i}`, vpcId: 'vpc-bench', subnetCidr: '10.5.1.0/24', privateIp: `10.5.1.${10 + i}`, groups: ['sg-bench'], publicIps: [] })));
    const totalMs = performance.now() - t0;
    return { ports: n, totalMs, perPlugMs: totalMs / n };
  } finally {
    await f.close();
  }
}

export const instances: Benchmark = {
  name: 'instances',
  description: 'RunInstances to running and to user data done, memory per idle instance (1 and 20)',
  async run(progress) {
    const rt = detectRuntime();
    if (rt.mode !== 'native') return { text: `instances: skipped (${rt.reason})`, data: { skipped: true } };
    const kumo = await spawnKumo({ env: { KUMO_IMAGE_DIR: IMAGE_CACHE } });
    const ec2 = new EC2Client(clientConfig(kumo.url));
    try {
      const images = await ec2.send(new DescribeImagesCommand({ Owners: ['136693071363'], Filters: [{ Name: 'name', Values: ['debian-12-amd64-*'] }] }));
      const ami = images.Images![0]!.ImageId!;
      progress('warming up (builds the base image if this machine has none)');
      await round(ec2, ami, 1);
      const rows = [];
      for (const n of (process.env.KUMO_BENCH_INSTANCES || '1,20').split(',').map(Number)) {
        progress(`launching ${n}`);
        rows.push(await round(ec2, ami, n));
      }
      // What launching, running and terminating them left kumo holding: at once, and settled.
      const rssAfter = readMemory(kumo.pid).rssKiB;
      const rssSettled = await settledMemory(kumo.pid);
      progress('plugging 20 ports into the fabric');
      const plugs = await fabricPlugs();
      const f = (x: number) => x.toFixed(0).padStart(7);
      const text = [
        'instances  to running ms (median / slowest)  to user data done ms (median / slowest)  MiB per idle instance (RSS / PSS)  terminate all ms',
        ...rows.map((r) => `${String(r.n).padStart(9)}  ${f(r.runningMedianMs)} ${f(r.runningMaxMs)}${' '.repeat(19)}${f(r.userDataMedianMs)} ${f(r.userDataMaxMs)}${' '.repeat(27)}${r.rssMiBPerInstance.toFixed(1).padStart(6)} / ${r.pssMiBPerInstance.toFixed(1).padStart(5)}${' '.repeat(22)}${f(r.terminateAllMs)}`),
        `fabric: ${plugs.ports} ports plugged at once in ${plugs.totalMs.toFixed(0)} ms, ${plugs.perPlugMs.toFixed(0)} ms per port (plugged as one batch)`,
        `kumo RSS after these rounds: ${mib(rssAfter)} MiB at once, ${mib(rssSettled.rssKiB)} MiB settled`,
      ].join('\n');
      return { text, data: { rounds: rows, fabricPlugs: plugs, rssAfterMiB: mib(rssAfter), rssAfterSettledMiB: mib(rssSettled.rssKiB) } };
    } finally {
      ec2.destroy();
      await kumo.stop();
    }
  },
};
