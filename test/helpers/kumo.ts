/**
 * Test harness: a real kumo on a free loopback port, in this process (startKumoForTest) or as a
 * child process that a test can kill -9 (spawnKumo). Each gets its own temporary data dir, removed
 * afterwards. Clients are the official ones, pointed at the server's URL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { after, before } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { configFromEnv, type KumoConfig } from '../../src/config.js';
import { startKumo, type KumoHandle } from '../../src/kumo.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };
export const REGION = 'ap-northeast-1';

/**
 * Test files may run at once: kumos that run instances hand out public IPs from a block of their
 * own process's, so two kumos never map the same loopback address to different instances.
 */
export const TEST_PUBLIC_IP_POOL = `127.${101 + (process.pid % 100)}.${(process.pid >> 8) % 256}.0/24`;

export interface TestKumo extends KumoHandle {
  stop(): Promise<void>;
}

export function tempDir(label = 'kumo-test-'): string {
  return mkdtempSync(join(tmpdir(), label));
}

/** `log` gets kumo's log lines (dropped by default). */
export async function startKumoForTest(overrides: Partial<KumoConfig> = {}, log: (line: string) => void = () => {}): Promise<TestKumo> {
  const dataDir = overrides.dataDir ?? tempDir();
  const config: KumoConfig = {
    ...configFromEnv({}),
    host: '127.0.0.1',
    port: 0,
    dataDir,
    accessLog: false,
    // One image build per machine for the whole suite (see test/runtime/support.ts).
    imageDir: process.env.KUMO_TEST_IMAGE_CACHE || '/var/tmp/kumo-test-images',
    // Test kumos run side by side: each host resolver on a port of its own.
    hostDns: { host: '127.0.0.1', port: 0 },
    ...overrides,
  };
  const handle = await startKumo(config, log);
  return {
    ...handle,
    async stop() {
      await handle.close();
      if (!overrides.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * A kumo for the whole test file with a client of it: started before the file's tests, given to
 * `assign` (which sets the file's own variables), stopped with the client after them.
 */
export function useKumo<C extends { destroy(): void }>(
  makeClient: (url: string) => C,
  assign: (f: { kumo: TestKumo; client: C }) => void,
  overrides: Partial<KumoConfig> = {},
): void {
  let kumo: TestKumo | undefined;
  let client: C | undefined;
  before(async () => {
    kumo = await startKumoForTest(overrides);
    client = makeClient(kumo.url);
    assign({ kumo, client });
  });
  after(async () => {
    client?.destroy();
    await kumo?.stop();
  });
}

/** Client settings for the SDK v3 clients. */
export function clientConfig(url: string, extra: Record<string, unknown> = {}) {
  return { endpoint: url, region: REGION, credentials: CREDENTIALS, ...extra };
}

export interface SpawnedKumo {
  url: string;
  port: number;
  child: ChildProcess;
  output(): string;
  /** Resolves when the process has exited. */
  exited: Promise<number | null>;
}

/** Runs `kumo start` as a child process (through bin/kumo.js, as a user would). */
export async function spawnKumo(dataDir: string, args: string[] = []): Promise<SpawnedKumo> {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'kumo.js'), 'start', '--port', '0', '--data-dir', dataDir, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, KUMO_PORT: undefined, KUMO_IMAGE_DIR: process.env.KUMO_TEST_IMAGE_CACHE || '/var/tmp/kumo-test-images', KUMO_EIP_POOL: TEST_PUBLIC_IP_POOL, KUMO_DNS: '127.0.0.1:0' },
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 20_000;
  for (;;) {
    const m = /ready on (http:\/\/[0-9.]+:([0-9]+))/.exec(out);
    if (m) return { url: m[1], port: Number(m[2]), child, output: () => out, exited };
    if (child.exitCode !== null) throw new Error(`kumo exited early (${child.exitCode}):\n${out}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`kumo did not start within 20 s:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Polls `check` until it returns a truthy value or the deadline passes. */
export async function waitFor<T>(what: string, check: () => T | Promise<T>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

let counter = 0;
/** A name unique to this test run, safe for S3 buckets and AWS names. */
export function uniqueName(prefix: string): string {
  counter++;
  return `${prefix}-${process.pid.toString(36)}-${Date.now().toString(36)}-${counter}`.toLowerCase();
}

/** The AWS error code an SDK call fails with (the SDK puts it in `name`), or 'no error'. */
export async function errorCode(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return (e as { name: string }).name;
  }
  return 'no error';
}
