/**
 * Each container's cgroups: `kumo/<id>` in every hierarchy the host has, created (with the
 * instance type's limits) before the container starts and joined by its launcher, so the
 * container and everything it forks are held to them:
 *
 *   memory   memory.limit_in_bytes (and memsw, where swap is accounted) = the type's memory;
 *            past it the kernel reclaims, then OOM-kills inside the instance, never outside
 *   cpu      cpu.cfs_quota_us = vCPUs × period: a runaway instance gets its vCPUs' worth of time
 *   pids     pids.max: a fork bomb fails inside its instance
 *   systemd  (name=systemd) one per container: without systemd on the host every nspawn would
 *            share one, and the containers' systemds, each managing that tree, break each other's
 *            units (status=219/CGROUP seen with 20 instances at once)
 *
 * cgroup v1 (and the hybrid layout, whose `unified` v2 tree is joined too) is what these hosts
 * have; on a v2-only host the same limits go to memory.max, cpu.max and pids.max.
 */
import { existsSync, readFileSync, readdirSync, rmdirSync, writeFileSync, mkdirSync, type Dirent } from 'node:fs';
import { join } from 'node:path';

export interface Resources {
  memoryBytes?: number;
  vcpus?: number;
}

const ROOT = '/sys/fs/cgroup';
const CPU_PERIOD_US = 100_000;
/** Generous for a real workload (a busy web server runs a few hundred), fatal to a fork bomb. */
export const MAX_TASKS = 4096;

const unifiedOnly = () => existsSync(join(ROOT, 'cgroup.controllers'));

/** The hierarchies that exist here, by mount name (v1) or '' for a v2-only host. */
function hierarchies(): string[] {
  if (unifiedOnly()) return [''];
  return ['systemd', 'unified', 'memory', 'cpu', 'pids'].filter((h) => existsSync(join(ROOT, h)));
}

const dirOf = (h: string, id: string) => join(ROOT, h, 'kumo', id);

/** Creates the container's cgroups with its limits; returns the cgroup.procs files its launcher joins. */
export function prepareCgroups(id: string, r: Resources): string[] {
  const joined: string[] = [];
  for (const h of hierarchies()) {
    const dir = dirOf(h, id);
    if (h === '') enableControllers();
    mkdirSync(dir, { recursive: true });
    limit(h, dir, r);
    joined.push(join(dir, 'cgroup.procs'));
  }
  return joined;
}

function limit(h: string, dir: string, r: Resources): void {
  const set = (file: string, value: string | number) => {
    const path = join(dir, file);
    if (existsSync(path)) writeFileSync(path, String(value));
  };
  const quota = r.vcpus ? Math.round(r.vcpus * CPU_PERIOD_US) : -1;
  if (h === 'memory' && r.memoryBytes) {
    // memsw may never be below the plain limit, so it goes second when lowering, first when raising.
    const swapFirst = Number(readSafe(join(dir, 'memory.memsw.limit_in_bytes')) ?? 0) < r.memoryBytes;
    if (swapFirst) set('memory.memsw.limit_in_bytes', r.memoryBytes);
    set('memory.limit_in_bytes', r.memoryBytes);
    if (!swapFirst) set('memory.memsw.limit_in_bytes', r.memoryBytes);
  }
  if (h === 'cpu') {
    set('cpu.cfs_period_us', CPU_PERIOD_US);
    set('cpu.cfs_quota_us', quota);
  }
  if (h === 'pids') set('pids.max', MAX_TASKS);
  if (h === '') {
    if (r.memoryBytes) set('memory.max', r.memoryBytes);
    if (r.memoryBytes) set('memory.swap.max', 0);
    set('cpu.max', quota > 0 ? `${quota} ${CPU_PERIOD_US}` : `max ${CPU_PERIOD_US}`);
    set('pids.max', MAX_TASKS);
  }
}

/** v2: a child's limits need the controllers enabled in every ancestor's subtree_control. */
function enableControllers(): void {
  mkdirSync(join(ROOT, 'kumo'), { recursive: true });
  for (const dir of [ROOT, join(ROOT, 'kumo')]) {
    for (const c of ['memory', 'cpu', 'pids']) {
      try {
        writeFileSync(join(dir, 'cgroup.subtree_control'), `+${c}`);
      } catch {
        // not available here: that limit is simply not applied
      }
    }
  }
}

function readSafe(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** Every process in the container's cgroups (any hierarchy lists them all). */
export function cgroupPids(id: string): number[] {
  const seen = new Set<number>();
  for (const h of hierarchies()) for (const p of pidsUnder(dirOf(h, id))) seen.add(p);
  return [...seen];
}

function pidsUnder(dir: string): number[] {
  let out: number[] = [];
  try {
    out = readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
    for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) out.push(...pidsUnder(join(dir, e.name)));
  } catch {
    // no such cgroup
  }
  return out;
}

/** The container's memory use and limit as the kernel accounts them (v1 memory or v2), for tests and figures. */
export function memoryOf(id: string): { usage: number; peak: number; limit: number } | undefined {
  const v2 = unifiedOnly();
  const dir = dirOf(v2 ? '' : 'memory', id);
  const read = (f: string) => Number(readSafe(join(dir, f)) ?? NaN);
  const limit = v2 ? read('memory.max') : read('memory.limit_in_bytes');
  if (Number.isNaN(limit)) return undefined;
  return { usage: read(v2 ? 'memory.current' : 'memory.usage_in_bytes'), peak: read(v2 ? 'memory.peak' : 'memory.max_usage_in_bytes'), limit };
}

/**
 * Removes the container's cgroups, children first (their files cannot be deleted). A cgroup stays
 * busy until the kernel has reaped its last process, a moment after the container exits.
 */
export async function removeCgroups(id: string, deadlineMs = 5_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  for (const h of hierarchies()) {
    for (;;) {
      try {
        removeTree(dirOf(h, id));
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EBUSY' || Date.now() > end) throw err;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }
}

function removeTree(dir: string): void {
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return; // never created, or gone
  }
  for (const e of entries) if (e.isDirectory()) removeTree(join(dir, e.name));
  rmdirSync(dir);
}

/** The `kumo` parent cgroups, once no container (of any kumo on this host) is left in them. */
export function removeParents(): void {
  for (const h of hierarchies()) {
    try {
      rmdirSync(join(ROOT, h, 'kumo'));
    } catch {
      // absent, or another kumo's containers still run there
    }
  }
}

/** Names of containers with cgroups left on the host, for leak checks. */
export function cgroupLeftovers(marker: string): string[] {
  const out: string[] = [];
  for (const h of hierarchies()) {
    try {
      for (const d of readdirSync(join(ROOT, h, 'kumo'))) if (d.includes(marker)) out.push(`cgroup: ${h || 'v2'}/kumo/${d}`);
    } catch {
      // no kumo cgroups
    }
  }
  return out;
}
