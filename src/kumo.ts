/**
 * The composition root: the only place that picks concrete stores, services and the edge, and
 * wires them together. Everything else receives what it needs from here.
 *
 *   startKumo(config) → lock data dir → open state.db (group commit) → build services → listen → KumoHandle
 *
 * Whatever fails on the way undoes what came before it (services closed, database closed, lock
 * released), so a refused start leaves the data dir as it found it.
 */
import { join } from 'node:path';
import type { KumoConfig } from './config.js';
import type { Edge } from './edge/chain.js';
import { internalHandler } from './edge/internal.js';
import { ServiceRouter } from './edge/route.js';
import { listen } from './edge/server.js';
import { Clock } from './runtime/clock.js';
import { DataPlane } from './runtime/data-plane.js';
import { createHostRuntime, reclaimHostState, type ContainerOwner, type HostRuntime } from './runtime/host-runtime.js';
import type { ExitKind } from './runtime/instances/driver.js';
import type { Service } from './services/service.js';
import { createStsService } from './services/sts/provider.js';
import { createEc2Service } from './services/ec2/provider.js';
import { createElbv2Service } from './services/elbv2/provider.js';
import { reclaimLoadBalancerNodes } from './services/elbv2/dataplane/supervisor.js';
import { vpcPolicyOf, vpcSpecOf } from './state/vpc-policy.js';
import { createRdsService } from './services/rds/provider.js';
import { VolumeStore } from './runtime/volumes.js';
import { createS3Service } from './services/s3/provider.js';
import { lockDataDir, prepareDataDir } from './state/data-dir.js';
import { migrate, openDatabase, type Db } from './state/db.js';
import { GroupCommit, type Commits } from './state/group-commit.js';
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

const CLOSE_GRACE_MS = 5_000;

/** Where EC2's instances live (`<data-dir>/instances`) and how their host objects are named. */
const EC2_CONTAINERS: ContainerOwner = { dir: 'instances', prefix: 'kumo-ec2-' };
/** RDS's database nodes (`<data-dir>/databases`), their disks in a volume store of their own. */
const RDS_CONTAINERS: ContainerOwner = { dir: 'databases', prefix: 'kumo-rds-' };
const RDS_VOLUMES = 'db-volumes';

/** `kumo reset` with no kumo running: ends what a dead kumo left running of this data dir. */
export async function reclaimDataDir(config: KumoConfig): Promise<void> {
  // Load-balancer nodes first: their namespaces go with the fabric slot reclaimHostState releases.
  await reclaimLoadBalancerNodes(join(config.dataDir, ELBV2_DIR));
  await reclaimHostState(config, [EC2_CONTAINERS, RDS_CONTAINERS], [RDS_VOLUMES]);
}

/** Where ELBv2's load-balancer nodes keep their HAProxy configuration and sockets. */
const ELBV2_DIR = 'elbv2';

export { isRunning, pidFilePath, readPidFile, runningKumo, lockDataDir, type PidFile } from './state/data-dir.js';

export async function startKumo(config: KumoConfig, log: (line: string) => void = console.log): Promise<KumoHandle> {
  prepareDataDir(config.dataDir);
  const lock = lockDataDir(config.dataDir, VERSION, config.host);
  const undo: (() => void | Promise<void>)[] = [() => lock.release()];
  const unwind = async () => {
    for (const step of undo.reverse()) await step();
  };
  try {
    let db: Db;
    try {
      db = openDatabase(config.dataDir);
    } catch (e) {
      throw new Error(`cannot open ${join(config.dataDir, 'state.db')}: ${(e as Error).message}`);
    }
    undo.push(() => {
      db.close();
    });
    migrate(db, 'tags', tagMigrations);
    migrate(db, 'network', networkMigrations);
    const commits = new GroupCommit(db, db.name, log);
    undo.push(() => commits.close());
    const runtime = createHostRuntime(config, log);
    // The VPC data plane outlives the services (closed after them): they unplug from it as they stop.
    const plane = new DataPlane({ openFabric: runtime.openFabric, hostDns: config.hostDns, log });
    await plane.start();
    undo.push(() => plane.close());
    const clock = new Clock(config.clock);
    const services = buildServices(config, db, commits, runtime, plane, clock, log);
    undo.push(async () => {
      for (const s of services) await s.close?.();
    });
    const limits = { idleTimeoutMs: config.idleTimeoutMs, maxConnections: config.maxConnections };
    const { server, port } = await listen(edgeFor(config, db, commits, services, runtime, plane, clock, log), config.host, config.port, limits);
    for (const s of services) await s.start?.();
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
        // Requests in flight may finish (their writes were going to be acknowledged); idle
        // keep-alive connections go at once, and whatever still hangs on after the grace period.
        await new Promise<void>((resolve) => {
          const force = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
          server.close(() => {
            clearTimeout(force);
            resolve();
          });
          server.closeIdleConnections();
        });
        await unwind();
      },
    };
  } catch (e) {
    await unwind();
    throw e;
  }
}

function buildServices(config: KumoConfig, db: Db, commits: Commits, runtime: HostRuntime, plane: DataPlane, clock: Clock, log: (line: string) => void): Service[] {
  const tags = new TagStore(db);
  const network = new NetworkStore(db, config.elasticIpPool);
  // The driver reports exits to the supervisor, which is built with the service that owns it.
  let exited: (id: string, kind: ExitKind) => void = () => {};
  const driver = runtime.driverFor({ ...EC2_CONTAINERS, onExit: (id, kind) => exited(id, kind) });
  const ec2 = createEc2Service({
    db,
    network,
    tags,
    runtime: { driver, volumes: runtime.volumes, snapshots: runtime.snapshots, instanceStoreDir: runtime.volumes ? join(config.dataDir, 'instance-store') : undefined, imageRootfs: runtime.imageRootfs, plane },
    log,
    now: clock.now,
  });
  exited = (id, kind) => ec2.supervisor.exited(id, kind);
  const native = runtime.mode.mode === 'native';
  let nodeExited: (id: string) => void = () => {};
  const rds = createRdsService({
    db,
    network,
    tags,
    runtime: {
      driver: runtime.driverFor({ ...RDS_CONTAINERS, onExit: (id) => nodeExited(id) }),
      volumes: native ? new VolumeStore(join(config.dataDir, RDS_VOLUMES)) : undefined,
      imageRootfs: runtime.imageRootfs,
      plane,
      native,
    },
    log,
    now: clock.now,
    ensureDefaultVpc: (ctx) => ec2.ensureDefaults(ctx),
  });
  nodeExited = (id) => rds.supervisor.exited(id);
  const elbv2 = createElbv2Service({
    db,
    network,
    tags,
    // EC2's instances as targets: what a load balancer needs to know of them.
    directory: {
      instance: (scope, id) => {
        const i = ec2.instances.get(scope, id);
        return i && { state: i.State, privateIp: i.PrivateIpAddress, zone: i.AvailabilityZone, vpcId: i.VpcId };
      },
      regionDefaults: (ctx) => ec2.ensureDefaults(ctx),
    },
    runtime: {
      plane,
      dir: join(config.dataDir, ELBV2_DIR),
      vpc: (scope, vpcId) => {
        const spec = vpcSpecOf(network, scope, vpcId);
        return spec && { spec, policy: vpcPolicyOf(network, scope, vpcId) };
      },
    },
    log,
    now: config.clock,
  });
  return [
    ec2,
    elbv2,
    elbv2.classic,
    rds,
    createS3Service({ db, commits, dataDir: config.dataDir, log, sigV2: config.s3SigV2, clock }),
    createStsService(),
  ];
}

function edgeFor(config: KumoConfig, db: Db, commits: Commits, services: Service[], host: HostRuntime, plane: DataPlane, clock: Clock, log: (line: string) => void): Edge {
  const runtime = host.mode;
  const started = Date.now();
  return {
    router: new ServiceRouter(services),
    auth: {
      enabled: config.auth,
      credentials: new Map(config.credentials.map((c) => [c.accessKeyId, c])),
      defaultAccount: config.credentials[0].account,
      now: () => new Date(),
    },
    defaultRegion: config.defaultRegion,
    accessLog: config.accessLog,
    log,
    fallback: services.find((s) => s.name === 'sts')!,
    commits,
    internal: internalHandler({
      clock,
      health: () => ({
        status: 'running',
        version: VERSION,
        pid: process.pid,
        uptimeSeconds: Math.round((Date.now() - started) / 1000),
        dataDir: config.dataDir,
        auth: config.auth ? 'sigv4' : 'off',
        runtime,
        dns: plane.hostDns ?? null,
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
        await plane.reset();
        await commits.durable();
        log('state reset');
      },
    }),
  };
}
