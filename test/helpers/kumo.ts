/**
 * Test harness: a real kumo on a free loopback port in this process (startKumoForTest, useKumo),
 * with its own temporary data dir, removed afterwards. Clients are the official ones, pointed at
 * the server's URL. kumo as a child process that a test can kill -9 is in ./kumo-process.ts.
 */
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
  assign: (f: { kumo: TestKumo; client: C }) => unknown,
  overrides: Partial<KumoConfig> = {},
): void {
  let kumo: TestKumo | undefined;
  let client: C | undefined;
  // One hook: node:test runs a file's top-level before() hooks concurrently, so setup that needs
  // the kumo (a shared bucket, say) belongs in `assign`, which may be async.
  before(async () => {
    kumo = await startKumoForTest(overrides);
    client = makeClient(kumo.url);
    await assign({ kumo, client });
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
