/**
 * The composition root: the only place that picks concrete stores, services and the edge, and
 * wires them together. Everything else receives what it needs from here.
 *
 *   startKumo(config) → lock data dir → open state.db → build services → listen → KumoHandle
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, accessSync, constants } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import type { KumoConfig } from './config.js';
import type { Edge } from './edge/chain.js';
import { internalHandler } from './edge/internal.js';
import { ServiceRouter } from './edge/route.js';
import { listen } from './edge/server.js';
import { detectRuntime } from './runtime/detect.js';
import type { Service } from './services/service.js';
import { createStsService } from './services/sts/provider.js';
import { createEc2Service } from './services/ec2/provider.js';
import { createElbv2Service } from './services/elbv2/provider.js';
import { createRdsService } from './services/rds/provider.js';
import { createS3Service } from './services/s3/provider.js';
import { migrate, openDatabase, type Db } from './state/db.js';
import { NetworkStore, networkMigrations } from './state/network.js';
import { TagStore, tagMigrations } from './state/tags.js';
import { wipeAll } from './state/wipe.js';
import { VERSION } from './version.js';

export interface KumoHandle {
  url: string;
  host: string;
  port: number;
  dataDir: string;
  close(): Promise<void>;
}

export interface PidFile {
  pid: number;
  host: string;
  port: number;
  startedAt: string;
  version: string;
}

export const pidFilePath = (dataDir: string) => join(dataDir, 'kumo.pid');

export function readPidFile(dataDir: string): PidFile | undefined {
  try {
    return JSON.parse(readFileSync(pidFilePath(dataDir), 'utf8')) as PidFile;
  } catch {
    return undefined;
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function prepareDataDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.R_OK | constants.W_OK | constants.X_OK);
  } catch (e) {
    throw new Error(`cannot use data directory ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const running = readPidFile(dir);
  if (running && running.pid !== process.pid && isAlive(running.pid)) {
    throw new Error(`data directory ${dir} is in use by kumo (pid ${running.pid}, port ${running.port}); stop it first with 'kumo stop'`);
  }
}

export async function startKumo(config: KumoConfig, log: (line: string) => void = console.log): Promise<KumoHandle> {
  prepareDataDir(config.dataDir);
  let db: Db;
  try {
    db = openDatabase(config.dataDir);
  } catch (e) {
    throw new Error(`cannot open ${join(config.dataDir, 'state.db')}: ${(e as Error).message}`);
  }
  migrate(db, 'tags', tagMigrations);
  migrate(db, 'network', networkMigrations);
  const tags = new TagStore(db);
  const network = new NetworkStore(db);
  const now = () => new Date();
  const services: Service[] = [
    createEc2Service({ db, network, tags }),
    createElbv2Service({ db, network, tags }),
    createRdsService({ db, network, tags }),
    createS3Service({ db, dataDir: config.dataDir, log }),
    createStsService(),
  ];
  const runtime = detectRuntime();
  const started = Date.now();
  const edge: Edge = {
    router: new ServiceRouter(services),
    auth: {
      enabled: config.auth,
      credentials: new Map(config.credentials.map((c) => [c.accessKeyId, c])),
      defaultAccount: config.credentials[0].account,
      now,
    },
    defaultRegion: config.defaultRegion,
    accessLog: config.accessLog,
    log,
    fallback: services.find((s) => s.name === 'sts')!,
    internal: internalHandler({
      health: () => ({
        status: 'running',
        version: VERSION,
        uptimeSeconds: Math.round((Date.now() - started) / 1000),
        dataDir: config.dataDir,
        auth: config.auth ? 'sigv4' : 'off',
        runtime,
        services: Object.fromEntries(
          services.map((s) => [
            s.name,
            { protocol: s.codec.model.metadata.protocol, apiVersion: s.codec.model.metadata.apiVersion, operations: Object.keys(s.handlers).length },
          ]),
        ),
      }),
      reset: async () => {
        wipeAll(db);
        for (const s of services) await s.reset?.();
        log('state reset');
      },
    }),
  };
  let server: Server;
  let port: number;
  try {
    ({ server, port } = await listen(edge, config.host, config.port));
  } catch (e) {
    for (const s of services) await s.close?.();
    db.close();
    throw e;
  }
  const pid: PidFile = { pid: process.pid, host: config.host, port, startedAt: new Date().toISOString(), version: VERSION };
  writeFileSync(pidFilePath(config.dataDir), JSON.stringify(pid));
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
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      for (const s of services) await s.close?.();
      db.close();
      const current = readPidFile(config.dataDir);
      if (current?.pid === process.pid && existsSync(pidFilePath(config.dataDir))) rmSync(pidFilePath(config.dataDir), { force: true });
    },
  };
}
