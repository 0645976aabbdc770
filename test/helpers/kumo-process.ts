/**
 * kumo as a child process, started as a user does (`node bin/kumo.js start`), for tests that kill
 * it, restart it on the same data dir or drive its command line. `useKumoProcesses()` is the
 * fixture a test file calls once: before its tests it makes sure dist/ is built from the current
 * sources; after them it kills every kumo the file started that is still running and removes
 * every data dir it made, whether the tests passed or not.
 *
 * Tests that run `bin/kumo.js` need dist/ compiled from the current sources. ensureDist() builds it
 * when it is missing or older than any source file. Test files run in parallel, so the build holds
 * a lock directory; a file that finds the lock taken waits for the other build instead of racing it.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { promisify } from 'node:util';
import { ROOT, TEST_PUBLIC_IP_POOL, tempDir, waitFor } from './kumo.js';

export interface SpawnedKumo {
  url: string;
  port: number;
  child: ChildProcess;
  /** Everything it printed so far, stdout and stderr interleaved. */
  output(): string;
  /** Resolves with the exit code when the process has exited. */
  exited: Promise<number | null>;
  /** Sends `signal` (unless it has already exited) and resolves with its exit code once it has. */
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Runs `kumo start` as a child process (through bin/kumo.js, as a user would); resolves once it is ready. */
export async function spawnKumo(dataDir: string, args: string[] = []): Promise<SpawnedKumo> {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'kumo.js'), 'start', '--port', '0', '--data-dir', dataDir, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, KUMO_PORT: undefined, KUMO_IMAGE_DIR: process.env.KUMO_TEST_IMAGE_CACHE || '/var/tmp/kumo-test-images', KUMO_EIP_POOL: TEST_PUBLIC_IP_POOL, KUMO_DNS: '127.0.0.1:0' },
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const closed = new Promise((resolve) => child.once('close', resolve));
  const kill = (signal: NodeJS.Signals = 'SIGKILL') => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    return exited;
  };
  const gone = () => child.exitCode !== null || child.signalCode !== null;
  let ready: RegExpExecArray | null = null;
  try {
    await waitFor('kumo to print its ready line', () => gone() || (ready = /ready on (http:\/\/[0-9.]+:([0-9]+))/.exec(out)), 20_000);
  } catch (e) {
    await kill();
    throw new Error(`${(e as Error).message}:\n${out}`);
  }
  const match = ready as RegExpExecArray | null;
  if (!match) {
    await closed; // all it wrote before it died
    throw new Error(`kumo exited early (${child.exitCode ?? child.signalCode}):\n${out}`);
  }
  const [, url, port] = match;
  return { url: url!, port: Number(port), child, output: () => out, exited, kill };
}

export interface KumoProcesses {
  /** A new temporary data dir, removed after the file's tests. */
  dataDir(label?: string): string;
  /** `kumo start` on `dataDir` as a child process; killed after the file's tests if still running. */
  start(dataDir: string, args?: string[]): Promise<SpawnedKumo>;
}

/** The fixture for a test file whose kumos run as child processes (see the header). */
export function useKumoProcesses(): KumoProcesses {
  const dirs: string[] = [];
  const children: SpawnedKumo[] = [];
  before(async () => {
    await ensureDist();
  });
  after(async () => {
    for (const k of children) await k.kill('SIGKILL');
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  return {
    dataDir(label = 'kumo-test-') {
      const d = tempDir(label);
      dirs.push(d);
      return d;
    },
    async start(dataDir, args = []) {
      const k = await spawnKumo(dataDir, args);
      children.push(k);
      return k;
    },
  };
}

const run = promisify(execFile);
const ENTRY = join(ROOT, 'dist', 'cli', 'main.js');
const LOCK = join(ROOT, '.kumo-test', 'build.lock');

function newestSource(dir: string): number {
  let newest = 0;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const s = statSync(p);
    newest = Math.max(newest, s.isDirectory() ? newestSource(p) : name.endsWith('.ts') ? s.mtimeMs : 0);
  }
  return newest;
}

function fresh(): boolean {
  try {
    return statSync(ENTRY).mtimeMs >= newestSource(join(ROOT, 'src'));
  } catch {
    return false;
  }
}

function lockHolderAlive(): boolean {
  let pid: number;
  try {
    pid = Number(readFileSync(join(LOCK, 'pid'), 'utf8'));
  } catch {
    // Just taken, pid not written yet; or left by a holder that died at once.
    try {
      return Date.now() - statSync(LOCK).mtimeMs < 5_000;
    } catch {
      return false;
    }
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Builds dist/ from src/ unless it is already as new as every source file (see the header). */
export async function ensureDist(): Promise<void> {
  if (fresh()) return;
  mkdirSync(join(ROOT, '.kumo-test'), { recursive: true });
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      // Another test file is building: wait for it, then take its result if it is fresh.
      await waitFor('the other build of dist/', () => !lockHolderAlive(), 180_000);
      if (fresh()) return;
      rmSync(LOCK, { recursive: true, force: true });
    }
  }
  try {
    writeFileSync(join(LOCK, 'pid'), String(process.pid));
    if (fresh()) return;
    try {
      await run(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], { cwd: ROOT });
    } catch (e) {
      // Others may be mid-edit elsewhere in src/; an existing dist/ still serves these tests.
      const out = (e as { stdout?: string }).stdout ?? String(e);
      try {
        statSync(ENTRY);
        process.stderr.write(`warning: building dist/ failed, testing the existing build:\n${out}\n`);
      } catch {
        throw new Error(`building dist/ failed:\n${out}`);
      }
    }
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}
