/**
 * The composition root: the only place that picks concrete stores, services and the edge, and
 * wires them together. Everything else receives what it needs from here.
 *
 *   startKumo(config) → lock data dir → open state.db → build services → listen → KumoHandle
 *
 * Whatever fails on the way undoes what came before it (services closed, database closed, lock
 * released), so a refused start leaves the data dir as it found it.
 */
import { join } from 'node:path';
import { packageCacheDir, type KumoConfig } from './config.js';
import type { Edge } from './edge/chain.js';
import { internalHandler } from './edge/internal.js';
import { ServiceRouter } from './edge/route.js';
import { listen } from './edge/server.js';
import { awsEndpointsInVpcs } from './edge/vpc-endpoints.js';
import { Clock } from './runtime/clock.js';
import { DataPlane } from './runtime/data-plane.js';
import { DEBIAN_SUITE } from './runtime/images/recipe.js';
import { OutsideWorld } from './runtime/outside/world.js';
import { createHostRuntime, reclaimHostState, type ContainerOwner, type HostRuntime } from './runtime/host-runtime.js';
import type { ExitKind } from './runtime/instances/driver.js';
import type { Service } from './services/service.js';
import type { Scope } from './state/scope.js';
import { createStsService } from './services/sts/provider.js';
import { createEc2Service } from './services/ec2/provider.js';
import { createElbv2Service } from './services/elbv2/provider.js';
import { reclaimLoadBalancerNodes } from './services/elbv2/dataplane/supervisor.js';
import { vpcPolicyOf, vpcSpecOf } from './state/vpc-policy.js';
import { createRdsService } from './services/rds/provider.js';
import { SnapshotStore } from './runtime/snapshots/store.js';
import { VolumeStore } from './runtime/volumes.js';
import { createS3Service } from './services/s3/provider.js';
import { createAcmService } from './services/acm/provider.js';
import { CertificateAuthority } from './runtime/certificate-authority.js';
import { lockDataDir, prepareDataDir } from './state/data-dir.js';
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

const CLOSE_GRACE_MS = 5_000;

/** Where EC2's instances live (`<data-dir>/instances`) and how their host objects are named. */
const EC2_CONTAINERS: ContainerOwner = { dir: 'instances', prefix: 'kumo-ec2-' };
/** RDS's database nodes (`<data-dir>/databases`), their disks in a volume store of their own. */
const RDS_CONTAINERS: ContainerOwner = { dir: 'databases', prefix: 'kumo-rds-' };
const RDS_VOLUMES = 'db-volumes';
const RDS_SNAPSHOTS = 'db-snapshots';

/** `kumo reset` with no kumo running: ends what a dead kumo left running of this data dir. */
export async function reclaimDataDir(config: KumoConfig): Promise<void> {
  // Load-balancer nodes first: their namespaces go with the fabric slot reclaimHostState releases.
  await reclaimLoadBalancerNodes(join(config.dataDir, ELBV2_DIR));
  await reclaimHostState(config, [EC2_CONTAINERS, RDS_CONTAINERS], [RDS_VOLUMES]);
}

/** Where ELBv2's load-balancer nodes keep their HAProxy configuration and sockets. */
const ELBV2_DIR = 'elbv2';
/** kumo's certificate authority (ca.pem, ca.key): made once per data dir, kept across resets. */
const CA_DIR = 'ca';

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
    const runtime = createHostRuntime(config, log);
    // The VPC data plane outlives the services (closed after them): they unplug from it as they stop.
    const plane = new DataPlane({ openFabric: runtime.openFabric, hostDns: config.hostDns, log });
    await plane.start();
    undo.push(() => plane.close());
    // What instances see of the world beyond kumo: the package registry through a cache, and a
    // few well-known downloads (runtime/outside). Only where instances have networks of their own.
    const outside = plane.hasFabric ? new OutsideWorld({ cacheDir: packageCacheDir(config), suite: DEBIAN_SUITE, log }) : undefined;
    outside?.plugInto(plane);
    const clock = new Clock(config.clock);
    const ca = new CertificateAuthority(join(config.dataDir, CA_DIR));
    const services = buildServices(config, db, runtime, plane, clock, ca, log);
    undo.push(async () => {
      for (const s of services) await s.close?.();
    });
    const limits = { idleTimeoutMs: config.idleTimeoutMs, maxConnections: config.maxConnections };
    const edge = edgeFor(config, db, services, runtime, plane, clock, ca, log, outside);
    if (plane.hasFabric) {
      const inside = awsEndpointsInVpcs({ edge, ca, limits, prefixes: services.map((s) => s.codec.model.metadata.endpointPrefix) });
      plane.zones.register(inside.zone);
      plane.serve(inside.serve);
    }
    const { server, port } = await listen(edge, config.host, config.port, limits);
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

function buildServices(config: KumoConfig, db: Db, runtime: HostRuntime, plane: DataPlane, clock: Clock, ca: CertificateAuthority, log: (line: string) => void): Service[] {
  const tags = new TagStore(db);
  // Load balancers use ACM's certificates, and ACM asks them which ones are in use.
  let certificateUsers: (scope: Scope, arn: string) => string[] = () => [];
  const acm = createAcmService({ db, tags, ca, inUseBy: (scope, arn) => certificateUsers(scope, arn) });
  const network = new NetworkStore(db, config.elasticIpPool);
  // The driver reports exits to the supervisor, which is built with the service that owns it.
  let exited: (id: string, kind: ExitKind) => void = () => {};
  const driver = runtime.driverFor({ ...EC2_CONTAINERS, onExit: (id, kind) => exited(id, kind) });
  const ec2 = createEc2Service({
    db,
    network,
    tags,
    runtime: {
      driver,
      volumes: runtime.volumes,
      snapshots: runtime.snapshots,
      instanceStoreDir: runtime.volumes ? join(config.dataDir, 'instance-store') : undefined,
      imageRootfs: runtime.imageRootfs,
      plane,
      trustedCertificates: async () => [await ca.certificate()],
    },
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
      snapshots: native ? new SnapshotStore(join(config.dataDir, RDS_SNAPSHOTS)) : undefined,
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
    certificates: { get: (scope, arn) => acm.certificate(scope, arn) },
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
  certificateUsers = (scope, arn) => elbv2.certificateUsers(scope, arn);
  return [
    ec2,
    elbv2,
    elbv2.classic,
    acm,
    rds,
    createS3Service({ db, dataDir: config.dataDir, log, sigV2: config.s3SigV2, clock }),
    createStsService(),
  ];
}

function edgeFor(config: KumoConfig, db: Db, services: Service[], host: HostRuntime, plane: DataPlane, clock: Clock, ca: CertificateAuthority, log: (line: string) => void, outside?: OutsideWorld): Edge {
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
    internal: internalHandler({
      clock,
      caCertificate: () => ca.certificate(),
      health: () => ({
        status: 'running',
        version: VERSION,
        pid: process.pid,
        uptimeSeconds: Math.round((Date.now() - started) / 1000),
        dataDir: config.dataDir,
        auth: config.auth ? 'sigv4' : 'off',
        runtime,
        dns: plane.hostDns ?? null,
        internet: config.internet,
        outside: outside?.stats() ?? null,
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
        log('state reset');
      },
    }),
  };
}
