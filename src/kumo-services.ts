/**
 * The composition root's second part: every service but STS, the host runtime and the VPC data
 * plane. kumo.ts calls it once its endpoint answers: loading these (a few hundred modules and the
 * AWS models) is most of kumo's start-up, so a request for one of these services waits for it,
 * and one for STS or /_kumo/* does not. They are loaded and built a piece at a time, each on a
 * turn of the event loop of its own, so that such a request is answered between pieces rather
 * than after all of them.
 *
 *   startServices → host runtime → data plane (with what instances see of the outside world, and
 *   AWS's endpoints by their real names inside VPCs) → ACM, EC2 → RDS, ELB → S3 (each: load,
 *   build with its migrations) → start each
 */
import { join } from 'node:path';
import { packageCacheDir, type KumoConfig } from './config.js';
import type { Edge } from './edge/chain.js';
import type { ConnectionLimits } from './edge/connections.js';
import type { CertificateAuthority } from './runtime/certificate-authority.js';
import type { Clock } from './runtime/clock.js';
import type { DataPlane } from './runtime/data-plane.js';
import type { ContainerOwner, HostRuntime } from './runtime/host-runtime.js';
import type { ExitKind } from './runtime/instances/driver.js';
import type { OutsideWorld } from './runtime/outside/world.js';
import type { Service } from './services/service.js';
import type { Db } from './state/db.js';
import type { Commits } from './state/group-commit.js';
import type { NetworkStore } from './state/network.js';
import type { Scope } from './state/scope.js';
import type { TagStore } from './state/tags.js';

/** Where EC2's instances live (`<data-dir>/instances`) and how their host objects are named. */
const EC2_CONTAINERS: ContainerOwner = { dir: 'instances', prefix: 'kumo-ec2-' };
/** RDS's database nodes (`<data-dir>/databases`), their disks in a volume store of their own. */
const RDS_CONTAINERS: ContainerOwner = { dir: 'databases', prefix: 'kumo-rds-' };
const RDS_VOLUMES = 'db-volumes';
const RDS_SNAPSHOTS = 'db-snapshots';
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
  /** The package registry and downloads, for instances (native runtime only). */
  outside?: OutsideWorld;
}

/** The endpoint the services are served by, and kumo's certificate authority. */
export interface Serving {
  edge: Edge;
  limits: ConnectionLimits;
  ca: CertificateAuthority;
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
  serving: Serving,
): Promise<Started> {
  const [{ migrate }, { NetworkStore, networkMigrations }, { TagStore, tagMigrations }, { createHostRuntime }, { DataPlane }, { DEBIAN_SUITE }, { OutsideWorld }, { awsEndpointsInVpcs }] = await Promise.all([
    import('./state/db.js'),
    import('./state/network.js'),
    import('./state/tags.js'),
    import('./runtime/host-runtime.js'),
    import('./runtime/data-plane.js'),
    import('./runtime/images/recipe.js'),
    import('./runtime/outside/world.js'),
    import('./edge/vpc-endpoints.js'),
  ]);
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
  const services: Service[] = [];
  undo.push(async () => {
    for (const s of services) await s.close?.();
  });
  const built = { tags: new TagStore(db), network: new NetworkStore(db, config.elasticIpPool), runtime, plane, ca: serving.ca };
  for await (const s of buildServices(config, db, commits, built, clock, log)) services.push(...s);
  // Before any service opens the fabric: the servers on its service address start with it.
  if (plane.hasFabric) {
    const inside = awsEndpointsInVpcs({ ...serving, prefixes: services.map((s) => s.codec.model.metadata.endpointPrefix) });
    plane.zones.register(inside.zone);
    plane.serve(inside.serve);
  }
  for (const s of services) await s.start?.();
  return { services, runtime: runtime.mode, plane, outside };
}

interface Shared {
  tags: TagStore;
  network: NetworkStore;
  runtime: HostRuntime;
  plane: DataPlane;
  ca: CertificateAuthority;
}

/** The services in the order they depend on each other, each loaded and built on a turn of its own. */
async function* buildServices(config: KumoConfig, db: Db, commits: Commits, shared: Shared, clock: Clock, log: (line: string) => void): AsyncGenerator<Service[]> {
  const { tags, network, runtime, plane, ca } = shared;
  // Load balancers use ACM's certificates, and ACM asks them which ones are in use.
  let certificateUsers: (scope: Scope, arn: string) => string[] = () => [];
  const { createAcmService } = await piece(() => import('./services/acm/provider.js'));
  const acm = createAcmService({ db, tags, ca, inUseBy: (scope, arn) => certificateUsers(scope, arn) });
  // The driver reports exits to the supervisor, which is built with the service that owns it.
  let exited: (id: string, kind: ExitKind) => void = () => {};
  const driver = runtime.driverFor({ ...EC2_CONTAINERS, onExit: (id, kind) => exited(id, kind) });
  const { createEc2Service } = await piece(() => import('./services/ec2/provider.js'));
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
  yield [ec2];
  const native = runtime.mode.mode === 'native';
  let nodeExited: (id: string) => void = () => {};
  const [{ createRdsService }, { VolumeStore }, { SnapshotStore }] = await piece(() =>
    Promise.all([import('./services/rds/provider.js'), import('./runtime/volumes.js'), import('./runtime/snapshots/store.js')]),
  );
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
  yield [elbv2, elbv2.classic, acm, rds];
  const { createS3Service } = await piece(() => import('./services/s3/provider.js'));
  yield [createS3Service({ db, commits, dataDir: config.dataDir, log, sigV2: config.s3SigV2, clock })];
}

