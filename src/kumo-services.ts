/**
 * The composition root's second part: every service but STS, the host runtime and the VPC data
 * plane. kumo.ts calls it once its endpoint answers: loading these (a few hundred modules and the
 * AWS models) is most of kumo's start-up, so a request for one of these services waits for it,
 * and one for STS or /_kumo/* does not. They are loaded and built a piece at a time, each on a
 * turn of the event loop of its own, so that such a request is answered between pieces rather
 * than after all of them.
 *
 *   startServices → host runtime → data plane → EC2 → RDS → ELB → S3 (each: load, build with its
 *   migrations) → start each
 */
import { join } from 'node:path';
import type { KumoConfig } from './config.js';
import type { Clock } from './runtime/clock.js';
import type { DataPlane } from './runtime/data-plane.js';
import type { ContainerOwner, HostRuntime } from './runtime/host-runtime.js';
import type { ExitKind } from './runtime/instances/driver.js';
import type { Service } from './services/service.js';
import type { Db } from './state/db.js';
import type { Commits } from './state/group-commit.js';
import type { NetworkStore } from './state/network.js';
import type { TagStore } from './state/tags.js';

/** Where EC2's instances live (`<data-dir>/instances`) and how their host objects are named. */
const EC2_CONTAINERS: ContainerOwner = { dir: 'instances', prefix: 'kumo-ec2-' };
/** RDS's database nodes (`<data-dir>/databases`), their disks in a volume store of their own. */
const RDS_CONTAINERS: ContainerOwner = { dir: 'databases', prefix: 'kumo-rds-' };
const RDS_VOLUMES = 'db-volumes';
/** Where ELBv2's load-balancer nodes keep their HAProxy configuration and sockets. */
const ELBV2_DIR = 'elbv2';

/** `kumo reset` with no kumo running: ends what a dead kumo left running of this data dir. */
export async function reclaimDataDir(config: KumoConfig): Promise<void> {
  const [{ reclaimLoadBalancerNodes }, { reclaimHostState }] = await Promise.all([
    import('./services/elbv2/dataplane/supervisor.js'),
    import('./runtime/host-runtime.js'),
  ]);
  // Load-balancer nodes first: their namespaces go with the fabric slot reclaimHostState releases.
  await reclaimLoadBalancerNodes(join(config.dataDir, ELBV2_DIR));
  await reclaimHostState(config, [EC2_CONTAINERS, RDS_CONTAINERS], [RDS_VOLUMES]);
}

/** Lets whatever waits on the event loop (a request) go first. */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A module, loaded on a turn of its own. */
async function piece<T>(load: () => Promise<T>): Promise<T> {
  await nextTurn();
  return load();
}

export interface Started {
  services: Service[];
  runtime: HostRuntime['mode'];
  plane: DataPlane;
}

/**
 * Brings the services up; `undo` gets a step for each thing started, so the caller can take them
 * down again (on a failed start as on close).
 */
export async function startServices(
  config: KumoConfig,
  db: Db,
  commits: Commits,
  clock: Clock,
  log: (line: string) => void,
  undo: (() => void | Promise<void>)[],
): Promise<Started> {
  const [{ migrate }, { NetworkStore, networkMigrations }, { TagStore, tagMigrations }, { createHostRuntime }, { DataPlane }] = await Promise.all([
    import('./state/db.js'),
    import('./state/network.js'),
    import('./state/tags.js'),
    import('./runtime/host-runtime.js'),
    import('./runtime/data-plane.js'),
  ]);
  migrate(db, 'tags', tagMigrations);
  migrate(db, 'network', networkMigrations);
  const runtime = createHostRuntime(config, log);
  // The VPC data plane outlives the services (closed after them): they unplug from it as they stop.
  const plane = new DataPlane({ openFabric: runtime.openFabric, hostDns: config.hostDns, log });
  await plane.start();
  undo.push(() => plane.close());
  const services: Service[] = [];
  undo.push(async () => {
    for (const s of services) await s.close?.();
  });
  const built = { tags: new TagStore(db), network: new NetworkStore(db, config.elasticIpPool), runtime, plane };
  for await (const s of buildServices(config, db, commits, built, clock, log)) services.push(...s);
  for (const s of services) await s.start?.();
  return { services, runtime: runtime.mode, plane };
}

interface Shared {
  tags: TagStore;
  network: NetworkStore;
  runtime: HostRuntime;
  plane: DataPlane;
}

/** The services in the order they depend on each other, each loaded and built on a turn of its own. */
async function* buildServices(config: KumoConfig, db: Db, commits: Commits, shared: Shared, clock: Clock, log: (line: string) => void): AsyncGenerator<Service[]> {
  const { tags, network, runtime, plane } = shared;
  // The driver reports exits to the supervisor, which is built with the service that owns it.
  let exited: (id: string, kind: ExitKind) => void = () => {};
  const driver = runtime.driverFor({ ...EC2_CONTAINERS, onExit: (id, kind) => exited(id, kind) });
  const { createEc2Service } = await piece(() => import('./services/ec2/provider.js'));
  const ec2 = createEc2Service({
    db,
    network,
    tags,
    runtime: { driver, volumes: runtime.volumes, snapshots: runtime.snapshots, instanceStoreDir: runtime.volumes ? join(config.dataDir, 'instance-store') : undefined, imageRootfs: runtime.imageRootfs, plane },
    log,
    now: clock.now,
  });
  exited = (id, kind) => ec2.supervisor.exited(id, kind);
  yield [ec2];
  const native = runtime.mode.mode === 'native';
  let nodeExited: (id: string) => void = () => {};
  const [{ createRdsService }, { VolumeStore }] = await piece(() => Promise.all([import('./services/rds/provider.js'), import('./runtime/volumes.js')]));
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
  const [{ createElbv2Service }, { vpcPolicyOf, vpcSpecOf }] = await piece(() => Promise.all([import('./services/elbv2/provider.js'), import('./state/vpc-policy.js')]));
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
  yield [elbv2, elbv2.classic, rds];
  const { createS3Service } = await piece(() => import('./services/s3/provider.js'));
  yield [createS3Service({ db, commits, dataDir: config.dataDir, log, sigV2: config.s3SigV2, clock })];
}

