/**
 * Spawning kumo the way a user does (`node bin/kumo.js start --port 0 --data-dir DIR --quiet`),
 * timing it, reading its memory and CPU from /proc, and cleaning up: every kumo started here is
 * tracked until it has exited, and every temporary directory until it is removed, so a failing
 * or interrupted benchmark leaves nothing behind.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const KUMO_BIN = join(ROOT, 'bin', 'kumo.js');

const liveChildren = new Set<ChildProcess>();
// Whatever imports this (the bench runner, a script of one's own) leaves no kumo or temp dir behind,
// even when it ends on an uncaught error.
process.on('exit', () => cleanupSync());
const tempDirs = new Set<string>();

/** A child started elsewhere (SDK client processes), stopped by cleanupAll like kumo. */
export function track(child: ChildProcess): void {
  liveChildren.add(child);
  child.once('exit', () => liveChildren.delete(child));
}

export function tempDir(label = 'kumo-bench-'): string {
  const dir = mkdtempSync(join(tmpdir(), label));
  tempDirs.add(dir);
  return dir;
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

export interface SpawnedKumo {
  url: string;
  port: number;
  pid: number;
  dataDir: string;
  child: ChildProcess;
  /** performance.now() just before spawn(). */
  spawnedAt: number;
  /** Milliseconds from spawn to the "ready on" line on stdout. */
  readyMs: number;
  output(): string;
  exited: Promise<number | null>;
  /** SIGTERM, wait for exit (SIGKILL after 10 s), remove the data dir. Returns ms to exit. */
  stop(): Promise<{ exitMs: number; code: number | null; killed: boolean }>;
}

export interface SpawnOptions {
  dataDir?: string;
  /** Listen here rather than on a port the system picks (so a client can try before the ready line). */
  port?: number;
  args?: string[];
  /** Called as soon as the ready line is seen, before the promise resolves (no timer lag). */
  onReady?: (url: string, spawnedAt: number) => void;
  timeoutMs?: number;
  /** KUMO_* variables for the child (the parent's are never inherited). */
  env?: Record<string, string>;
}

/** Starts kumo and resolves when it prints its ready line; throws (after killing it) if it does not. */
export function spawnKumo(opts: SpawnOptions = {}): Promise<SpawnedKumo> {
  const dataDir = opts.dataDir ?? tempDir();
  // BENCH_KUMO_NODE_FLAGS (say '--cpu-prof --cpu-prof-dir=prof'): profile kumo under a benchmark.
  const flags = process.env.BENCH_KUMO_NODE_FLAGS?.split(' ').filter(Boolean) ?? [];
  const args = [...flags, KUMO_BIN, 'start', '--host', '127.0.0.1', '--port', String(opts.port ?? 0), '--data-dir', dataDir, '--quiet', ...(opts.args ?? [])];
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('KUMO_')) delete env[k];
  Object.assign(env, opts.env ?? {});
  const spawnedAt = performance.now();
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env, cwd: ROOT });
  liveChildren.add(child);
  let out = '';
  const append = (d: Buffer) => {
    out += d.toString('utf8');
    if (out.length > 256 * 1024) out = out.slice(-128 * 1024);
  };
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code, signal) => {
      liveChildren.delete(child);
      resolve(code ?? (signal ? -1 : null));
    }),
  );
  child.stderr!.on('data', append);

  const stop = async () => {
    const t = performance.now();
    let killed = false;
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => {
        killed = true;
        child.kill('SIGKILL');
      }, 10_000);
      await exited;
      clearTimeout(timer);
    }
    const exitMs = performance.now() - t;
    if (!opts.dataDir) removeDir(dataDir);
    return { exitMs, code: child.exitCode, killed };
  };

  return new Promise<SpawnedKumo>((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => fail(new Error(`kumo did not print its ready line within ${opts.timeoutMs ?? 20_000} ms`)), opts.timeoutMs ?? 20_000);
    const fail = (e: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void stop().then(() => reject(new Error(`${e.message}\n--- kumo output ---\n${out}`)));
    };
    child.once('error', (e) => fail(e));
    child.once('exit', (code) => fail(new Error(`kumo exited early (code ${code})`)));
    child.stdout!.on('data', (d: Buffer) => {
      append(d);
      if (settled) return;
      const m = /ready on (http:\/\/127\.0\.0\.1:([0-9]+))/.exec(out);
      if (!m) return;
      const readyMs = performance.now() - spawnedAt;
      settled = true;
      clearTimeout(timer);
      opts.onReady?.(m[1], spawnedAt);
      resolve({ url: m[1], port: Number(m[2]), pid: child.pid!, dataDir, child, spawnedAt, readyMs, output: () => out, exited, stop });
    });
  });
}

/** A loopback port nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Runs a command to completion and returns its wall time in ms (for baselines such as bare node). */
export function timeProcess(args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const t = performance.now();
    const child = spawn(process.execPath, args, { stdio: 'ignore', cwd: ROOT });
    liveChildren.add(child);
    child.once('error', reject);
    child.once('exit', (code) => {
      liveChildren.delete(child);
      if (code === 0) resolve(performance.now() - t);
      else reject(new Error(`${args.join(' ')} exited with ${code}`));
    });
  });
}

/**
 * Starts `node -e script`, which must print its listening port as the first line of stdout;
 * resolves with its pid and port. Tracked like kumo: stopped by cleanupAll at the latest.
 */
export function spawnNodeServer(script: string): Promise<{ pid: number; port: number; stop(): Promise<void> }> {
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  liveChildren.add(child);
  const exited = new Promise<void>((r) => child.once('exit', () => (liveChildren.delete(child), r())));
  const stop = async () => {
    child.kill('SIGTERM');
    await exited;
  };
  return new Promise((resolve, reject) => {
    let out = '';
    child.once('exit', (code) => reject(new Error(`node server exited early (code ${code})`)));
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString('utf8');
      const m = /^(\d+)\n/.exec(out);
      if (m) resolve({ pid: child.pid!, port: Number(m[1]), stop });
    });
  });
}

/** Starts a bare `node` that idles, for a memory baseline; the caller stops it. */
export function spawnIdleNode(): { pid: number; stop(): Promise<void> } {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  liveChildren.add(child);
  const exited = new Promise<void>((r) => child.once('exit', () => (liveChildren.delete(child), r())));
  return {
    pid: child.pid!,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

export interface Memory {
  /** Resident set size now, KiB. */
  rssKiB: number;
  /** Peak resident set size (VmHWM), KiB, when /proc is available. */
  hwmKiB?: number;
  source: 'proc' | 'ps';
}

/** VmRSS (and VmHWM) from /proc/<pid>/status on Linux; `ps -o rss=` elsewhere. */
export function readMemory(pid: number): Memory {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rss = /^VmRSS:\s+(\d+) kB/m.exec(status);
    const hwm = /^VmHWM:\s+(\d+) kB/m.exec(status);
    if (rss) return { rssKiB: Number(rss[1]), hwmKiB: hwm ? Number(hwm[1]) : undefined, source: 'proc' };
  } catch {
    // fall back to ps
  }
  const text = execFileSync('ps', ['-o', 'rss=', '-p', String(pid)], { encoding: 'utf8' }).trim();
  const kib = Number(text);
  if (!Number.isFinite(kib) || kib <= 0) throw new Error(`cannot read the memory of pid ${pid} (ps said '${text}')`);
  return { rssKiB: kib, source: 'ps' };
}

const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** User+system CPU time the process has used, in ms; undefined where /proc is missing. */
export function readCpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the ")" that ends the command name: state is field 3, utime 14, stime 15.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(rest[11]);
    const stime = Number(rest[12]);
    return ((utime + stime) * 1000) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

/** Stops every kumo still running (SIGTERM, then SIGKILL after 10 s) and removes temp dirs. */
export async function cleanupAll(): Promise<void> {
  await Promise.all(
    [...liveChildren].map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
          child.once('exit', () => {
            clearTimeout(timer);
            liveChildren.delete(child);
            resolve();
          });
          child.kill('SIGTERM');
        }),
    ),
  );
  for (const dir of [...tempDirs]) removeDir(dir);
}

/** Last resort on process exit: synchronous, so it can only SIGKILL and rm. */
export function cleanupSync(): void {
  for (const child of liveChildren) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const dir of [...tempDirs]) {
    try {
      removeDir(dir);
    } catch {
      // best effort
    }
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
