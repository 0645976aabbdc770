/**
 * The `kumo` command: start (foreground), status, stop, reset. Thin: it parses flags, then calls
 * the composition root (../kumo.ts) or talks to a running kumo through its pid file and
 * /_kumo/* endpoints.
 */
import { rmSync, existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { configFromEnv, defaultImageDir, parseCredentials, parseHostDns, type KumoConfig } from '../config.js';
import { isRunning, lockDataDir, pidFilePath, reclaimDataDir, runningKumo, startKumo, type PidFile } from '../kumo.js';
import { findKumoByDataDir } from '../state/data-dir.js';
import { keepHeapSmall } from '../lib/heap-size.js';
import { VERSION } from '../version.js';

const USAGE = `kumo ${VERSION}: AWS on one machine

usage:
  kumo start  [--host 127.0.0.1] [--port 4566] [--data-dir ~/.kumo] [--no-auth]
              [--credentials AKID:SECRET[:ACCOUNT],...] [--default-region us-east-1] [--quiet]
              [--dns 127.0.0.153:53|off]    where the host resolver for AWS names listens
              [--no-s3-sigv2]               refuse S3 Signature Version 2 everywhere
              [--internet]                  instances in public subnets reach the host's networks (NAT)
  kumo status [--data-dir DIR]     is kumo running here, and what does it serve
  kumo stop   [--data-dir DIR]     stop the kumo that uses DIR (found by its pid file, or else by
                                   the DIR/state.db it holds open)
  kumo reset  [--data-dir DIR]     wipe all state (running or not)

environment: KUMO_HOST, KUMO_PORT, KUMO_DATA_DIR, KUMO_NO_AUTH=1, KUMO_CREDENTIALS, KUMO_DEFAULT_REGION,
  KUMO_EIP_POOL, KUMO_IMAGE_DIR, KUMO_RUNTIME=process, KUMO_IDLE_TIMEOUT (s), KUMO_MAX_CONNECTIONS, KUMO_DNS,
  KUMO_S3_SIGV2=off, KUMO_INTERNET=1, KUMO_PACKAGE_CACHE`;

const options = {
  host: { type: 'string' },
  port: { type: 'string' },
  'data-dir': { type: 'string' },
  'no-auth': { type: 'boolean' },
  'no-s3-sigv2': { type: 'boolean' },
  internet: { type: 'boolean' },
  credentials: { type: 'string' },
  'default-region': { type: 'string' },
  dns: { type: 'string' },
  quiet: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const;

function fail(message: string): never {
  process.stderr.write(`kumo: ${message}\n`);
  process.exit(1);
}

function buildConfig(values: Record<string, string | boolean | undefined>): KumoConfig {
  let config: KumoConfig;
  try {
    config = configFromEnv();
    if (typeof values.dns === 'string') config.hostDns = parseHostDns(values.dns);
  } catch (e) {
    fail((e as Error).message);
  }
  if (typeof values.host === 'string') config.host = values.host;
  if (typeof values.port === 'string') {
    const port = /^[0-9]{1,5}$/.test(values.port) ? Number(values.port) : NaN;
    if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`--port must be a number from 0 to 65535, not '${values.port}'`);
    config.port = port;
  }
  if (!Number.isInteger(config.port) || config.port < 0 || config.port > 65535) fail(`KUMO_PORT must be a number from 0 to 65535`);
  if (!(config.idleTimeoutMs >= 1000) || !Number.isFinite(config.idleTimeoutMs)) fail('KUMO_IDLE_TIMEOUT must be a number of seconds, 1 or more');
  if (!Number.isInteger(config.maxConnections) || config.maxConnections < 1) fail('KUMO_MAX_CONNECTIONS must be a whole number, 1 or more');
  if (typeof values['data-dir'] === 'string') {
    config.dataDir = resolve(values['data-dir']);
    config.imageDir = defaultImageDir(config.dataDir);
  }
  if (values['no-auth']) config.auth = false;
  if (values['no-s3-sigv2']) config.s3SigV2 = false;
  if (values.internet) config.internet = true;
  if (typeof values.credentials === 'string') {
    try {
      config.credentials.push(...parseCredentials(values.credentials));
    } catch (e) {
      fail((e as Error).message);
    }
  }
  if (typeof values['default-region'] === 'string') config.defaultRegion = values['default-region'];
  if (values.quiet) config.accessLog = false;
  return config;
}

async function start(config: KumoConfig): Promise<void> {
  keepHeapSmall();
  const log = (line: string) => process.stdout.write(`${new Date().toISOString()} ${line}\n`);
  let kumo;
  try {
    kumo = await startKumo(config, log);
  } catch (e) {
    fail((e as Error).message);
  }
  const key = config.credentials[0];
  process.stdout.write(
    `kumo ${VERSION} ready on ${kumo.url}\n` +
      `  data dir:    ${kumo.dataDir}\n` +
      `  auth:        ${config.auth ? 'SigV4' : 'off (--no-auth)'}\n` +
      (config.internet ? `  internet:    instances in public subnets reach the host's networks through NAT (--internet)\n` : '') +
      `  credentials: AWS_ACCESS_KEY_ID=${key.accessKeyId} AWS_SECRET_ACCESS_KEY=${key.secretAccessKey} (account ${key.account})\n` +
      `  try:         AWS_ENDPOINT_URL=${kumo.url} aws sts get-caller-identity\n`,
  );
  keepServingOnStrayErrors(log);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping`);
    try {
      await kumo.close();
    } catch (e) {
      fail(`stopping failed: ${(e as Error).message}`);
    }
    log('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

/**
 * The last line of defence: an error that escaped every request's own handling (a throw in some
 * callback, a rejection nobody awaited) must not take kumo down for every other client. It is a
 * kumo bug all the same, so it is logged in full, never swallowed.
 */
function keepServingOnStrayErrors(log: (line: string) => void): void {
  // With stdout gone (`kumo start | head`), logging would fail and report its own failure forever.
  process.stdout.on('error', () => undefined);
  let reporting = false;
  const report = (what: string) => (e: unknown) => {
    if (reporting) return;
    reporting = true;
    try {
      log(`${what}, kumo keeps serving (a kumo bug, please report it): ${(e as Error)?.stack ?? String(e)}`);
    } finally {
      reporting = false;
    }
  };
  process.on('uncaughtException', report('uncaught exception'));
  process.on('unhandledRejection', report('unhandled rejection'));
}

/** Where to reach a kumo that listens on `host` (a wildcard address is reached on loopback). */
function baseUrl(p: PidFile): string {
  const host = p.host === '0.0.0.0' || p.host === '' ? '127.0.0.1' : p.host === '::' ? '::1' : p.host;
  return `http://${host.includes(':') ? `[${host}]` : host}:${p.port}`;
}

async function health(p: PidFile): Promise<Record<string, unknown> | undefined> {
  try {
    const res = await fetch(`${baseUrl(p)}/_kumo/health`, { signal: AbortSignal.timeout(3000) });
    return (await res.json()) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** Exit status 3 when not running, as init scripts' `status` does. */
async function status(config: KumoConfig): Promise<void> {
  const pid = runningKumo(config.dataDir);
  if (!pid) {
    const unrecorded = findKumoByDataDir(config.dataDir);
    if (unrecorded) {
      process.stdout.write(`kumo is running: pid ${unrecorded.pid}, data dir ${config.dataDir}\n  (its pid file ${pidFilePath(config.dataDir)} is gone, so its port is unknown; 'kumo stop' still stops it)\n`);
      return;
    }
    process.stdout.write(`kumo is not running (data dir ${config.dataDir})\n`);
    process.exit(3);
  }
  if (!pid.port) {
    process.stdout.write(`kumo is starting: pid ${pid.pid}, data dir ${config.dataDir}\n`);
    return;
  }
  const h = await health(pid);
  process.stdout.write(`kumo is running: pid ${pid.pid}, ${baseUrl(pid)}, since ${pid.startedAt}\n  data dir: ${config.dataDir}\n`);
  if (h) {
    const runtime = h.runtime as { mode: string; reason: string };
    process.stdout.write(`  runtime:  ${runtime.mode} (${runtime.reason})\n`);
    process.stdout.write(`  auth:     ${h.auth}\n`);
    process.stdout.write(`  dns:      ${h.dns ?? 'off'}\n`);
    process.stdout.write(`  services: ${Object.keys(h.services as object).join(', ')}\n`);
  } else process.stdout.write('  (it does not answer /_kumo/health)\n');
}

async function stopCmd(config: KumoConfig): Promise<void> {
  // Without its pid file, the kumo is the process that holds the data dir's state.db open.
  const pid = runningKumo(config.dataDir) ?? findKumoByDataDir(config.dataDir);
  if (!pid) {
    process.stdout.write(`kumo is not running (data dir ${config.dataDir})\n`);
    return;
  }
  process.kill(pid.pid, 'SIGTERM');
  // Instances get a clean shutdown each (up to 20 s, in parallel) before kumo exits.
  const deadline = Date.now() + 60_000;
  while (isRunning(config.dataDir, pid)) {
    if (Date.now() > deadline) fail(`kumo (pid ${pid.pid}) did not stop within 60 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
  process.stdout.write(`kumo (pid ${pid.pid}) stopped\n`);
}

/** What a stopped kumo leaves in its data dir; reset removes exactly these. */
/** What of a data dir may still be in use on the host (containers, mounts, loop devices) after a crash. */
const HOST_STATE_ENTRIES = ['instances', 'volumes', 'instance-store', 'databases', 'db-volumes'];
const STATE_ENTRIES = ['state.db', 'state.db-wal', 'state.db-shm', 's3', 'instances', 'volumes', 'instance-store', 'snapshots', 'databases', 'db-volumes', 'db-snapshots'];

async function reset(config: KumoConfig): Promise<void> {
  const pid = runningKumo(config.dataDir);
  if (pid) {
    const res = await fetch(`${baseUrl(pid)}/_kumo/reset`, { method: 'POST' }).catch((e: Error) => fail(`cannot reach kumo at ${baseUrl(pid)}: ${e.message}`));
    if (!res.ok) fail(`reset failed: HTTP ${res.status}`);
    process.stdout.write('kumo state reset\n');
    return;
  }
  const unrecorded = findKumoByDataDir(config.dataDir);
  if (unrecorded) fail(`kumo (pid ${unrecorded.pid}) runs on ${config.dataDir} but its pid file is gone, so it cannot be reached; stop it first with 'kumo stop --data-dir ${config.dataDir}'`);
  const present = existsSync(config.dataDir) ? readdirSync(config.dataDir).filter((f) => STATE_ENTRIES.includes(f)) : [];
  if (present.length === 0) {
    process.stdout.write(`nothing to reset in ${config.dataDir}\n`);
    return;
  }
  // Hold the lock meanwhile, so that a kumo starting now does not open a half-deleted state.
  let lock;
  try {
    lock = lockDataDir(config.dataDir, VERSION);
  } catch (e) {
    fail((e as Error).message);
  }
  try {
    // A crashed kumo's instances may still run on their root volumes: end them first.
    // (and the network it kept for them, which the next kumo would otherwise take over).
    if (present.some((e) => HOST_STATE_ENTRIES.includes(e))) await reclaimDataDir(config);
    for (const f of present) rmSync(join(config.dataDir, f), { recursive: true, force: true });
  } finally {
    lock.release();
  }
  process.stdout.write(`kumo state in ${config.dataDir} wiped\n`);
}

export async function main(argv: string[]): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    fail(`${(e as Error).message}\n\n${USAGE}`);
  }
  const { values, positionals } = parsed;
  if (values.version) {
    process.stdout.write(`${VERSION}\n`);
    return;
  }
  const command = positionals[0] ?? (values.help ? 'help' : undefined);
  if (!command || command === 'help' || values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const config = buildConfig(values);
  switch (command) {
    case 'start':
      return start(config);
    case 'status':
      return status(config);
    case 'stop':
      return stopCmd(config);
    case 'reset':
      return reset(config);
    default:
      fail(`unknown command '${command}'\n\n${USAGE}`);
  }
}
