/**
 * The composition root: the only place that picks concrete stores, services and the edge, and
 * wires them together. Everything else receives what it needs from here. It comes in two parts,
 * so that kumo answers as soon as it can:
 *
 *   startKumo(config) → lock data dir → STS and the edge → listen → open state.db (group commit)
 *     → (./kumo-services.ts, loaded now) host runtime, data plane, every other service → ready
 *
 * While the rest loads, the endpoint answers /_kumo/health and STS (neither reads state), and
 * holds every other request until its service is up (./edge/route.ts). startKumo resolves once
 * everything is up.
 * Whatever fails on the way undoes what came before it (services closed, database closed, lock
 * released), so a refused start leaves the data dir as it found it.
 */
import type { Server } from 'node:http';
import { join } from 'node:path';
import type { KumoConfig } from './config.js';
import type { Edge } from './edge/chain.js';
import { internalHandler } from './edge/internal.js';
import { Routes } from './edge/route.js';
import { listen } from './edge/server.js';
import type { Started } from './kumo-services.js';
import { CertificateAuthority } from './runtime/certificate-authority.js';
import { Clock } from './runtime/clock.js';
import type { Service } from './services/service.js';
import { createStsService } from './services/sts/provider.js';
import { lockDataDir, prepareDataDir } from './state/data-dir.js';
import type { Db } from './state/db.js';
import { NO_COMMITS, type Commits } from './state/group-commit.js';
import { wipeAll } from './state/wipe.js';
import { VERSION } from './version.js';

export interface KumoHandle {
  url: string;
  host: string;
  port: number;
  dataDir: string;
  close(): Promise<void>;
}

const CLOSE_GRACE_MS = 5_000;
/** kumo's certificate authority (ca.pem, ca.key): made once per data dir, kept across resets. */
const CA_DIR = 'ca';

/** `kumo reset` with no kumo running: ends what a dead kumo left running of this data dir. */
export async function reclaimDataDir(config: KumoConfig): Promise<void> {
  const { reclaimDataDir: reclaim } = await import('./kumo-services.js');
  await reclaim(config);
}

export { isRunning, pidFilePath, readPidFile, runningKumo, lockDataDir, type PidFile } from './state/data-dir.js';

/** What is up so far: STS from the start, the rest once ./kumo-services.ts has started them. */
interface Fleet {
  services: Service[];
  db?: Db;
  /** Nothing to make durable until state.db is open (nothing answered before then writes). */
  commits: Commits;
  started?: Started;
}

export async function startKumo(config: KumoConfig, log: (line: string) => void = console.log): Promise<KumoHandle> {
  prepareDataDir(config.dataDir);
  const lock = lockDataDir(config.dataDir, VERSION, config.host);
  const undo: (() => void | Promise<void>)[] = [() => lock.release()];
  let server: Server | undefined;
  const unwind = async () => {
    // The endpoint first: requests in flight may finish (their writes were going to be acknowledged).
    if (server) await closeServer(server);
    for (const step of undo.reverse()) await step();
  };
  try {
    const clock = new Clock(config.clock);
    const ca = new CertificateAuthority(join(config.dataDir, CA_DIR));
    const sts = createStsService();
    const fleet: Fleet = { services: [sts], commits: NO_COMMITS };
    const routes = new Routes([sts]);
    const limits = { idleTimeoutMs: config.idleTimeoutMs, maxConnections: config.maxConnections };
    let port: number;
    const edge = edgeFor(config, routes, fleet, sts, clock, ca, log);
    ({ server, port } = await listen(edge, config.host, config.port, limits));
    try {
      const [{ openDatabase }, { GroupCommit }, { startServices }] = await Promise.all([
        import('./state/db.js'),
        import('./state/group-commit.js'),
        import('./kumo-services.js'),
      ]);
      let db: Db;
      try {
        db = openDatabase(config.dataDir);
      } catch (e) {
        throw new Error(`cannot open ${join(config.dataDir, 'state.db')}: ${(e as Error).message}`);
      }
      undo.push(() => {
        db.close();
      });
      const commits = new GroupCommit(db, db.name, log);
      undo.push(() => commits.close());
      fleet.db = db;
      fleet.commits = commits;
      fleet.started = await startServices(config, db, commits, clock, log, undo, { edge, limits, ca });
    } catch (e) {
      routes.fail(new Error('kumo failed to start'));
      throw e;
    }
    fleet.services = [...fleet.started.services, sts];
    routes.open(fleet.services);
    lock.ready(config.host, port);
    const urlHost = config.host.includes(':') ? `[${config.host}]` : config.host;
    let closed = false;
    return {
      url: `http://${urlHost}:${port}`,
      host: config.host,
      port,
      dataDir: config.dataDir,
      async close() {
        if (closed) return;
        closed = true;
        await unwind();
      },
    };
  } catch (e) {
    await unwind();
    throw e;
  }
}

/** Idle keep-alive connections go at once, and whatever still hangs on after the grace period. */
function closeServer(server: Server): Promise<void> {
  return new Promise<void>((resolve) => {
    const force = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
    server.close(() => {
      clearTimeout(force);
      resolve();
    });
    server.closeIdleConnections();
  });
}

function edgeFor(config: KumoConfig, routes: Routes, fleet: Fleet, sts: Service, clock: Clock, ca: CertificateAuthority, log: (line: string) => void): Edge {
  const started = Date.now();
  return {
    router: routes,
    auth: {
      enabled: config.auth,
      credentials: new Map(config.credentials.map((c) => [c.accessKeyId, c])),
      defaultAccount: config.credentials[0].account,
      now: () => new Date(),
    },
    defaultRegion: config.defaultRegion,
    accessLog: config.accessLog,
    log,
    fallback: sts,
    commits: { mark: () => fleet.commits.mark(), durable: (mark) => fleet.commits.durable(mark) },
    internal: internalHandler({
      clock,
      caCertificate: () => ca.certificate(),
      health: () => ({
        // Starting: /_kumo/* and STS answer, the other services are coming up (and say nothing yet).
        status: fleet.started ? 'running' : 'starting',
        version: VERSION,
        pid: process.pid,
        uptimeSeconds: Math.round((Date.now() - started) / 1000),
        dataDir: config.dataDir,
        auth: config.auth ? 'sigv4' : 'off',
        runtime: fleet.started?.runtime,
        dns: fleet.started?.plane.hostDns ?? null,
        internet: config.internet,
        outside: fleet.started?.outside?.stats() ?? null,
        memoryMiB: memoryMiB(),
        services: Object.fromEntries(
          fleet.services.map((s) => [
            s.name,
            { protocol: s.codec.model.metadata.protocol, apiVersion: s.codec.model.metadata.apiVersion, operations: Object.keys(s.handlers).length },
          ]),
        ),
      }),
      reset: async () => {
        await routes.whenUp();
        wipeAll(fleet.db!);
        for (const s of fleet.services) await s.reset?.();
        await fleet.started?.plane.reset();
        await fleet.commits.durable();
        log('state reset');
      },
    }),
  };
}

/** What kumo's process holds, in MiB (resident set; V8's heap, committed and live; outside it). */
function memoryMiB(): Record<string, number> {
  const m = process.memoryUsage();
  const mib = (n: number) => Math.round((n / 1048576) * 10) / 10;
  return { rss: mib(m.rss), heapTotal: mib(m.heapTotal), heapUsed: mib(m.heapUsed), external: mib(m.external) };
}
