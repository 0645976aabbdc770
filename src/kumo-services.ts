/**
 * The composition root's second part: every service but STS, the host runtime and the VPC data
 * plane. kumo.ts loads this module only once its endpoint answers (importing it is most of
 * kumo's start-up: a few hundred modules and the AWS models), so a request for one of these
 * services waits for it, and one for STS or /_kumo/* does not.
 *
 *   startServices → host runtime → data plane → build services (their migrations) → start each
 */
import { join } from 'node:path';
import type { KumoConfig } from './config.js';
import { Clock } from './runtime/clock.js';
import { DataPlane } from './runtime/data-plane.js';
import { createHostRuntime, reclaimHostState, type ContainerOwner, type HostRuntime } from './runtime/host-runtime.js';
import type { ExitKind } from './runtime/instances/driver.js';
import { VolumeStore } from './runtime/volumes.js';
import type { Service } from './services/service.js';
import { createEc2Service } from './services/ec2/provider.js';
import { createElbv2Service } from './services/elbv2/provider.js';
import { reclaimLoadBalancerNodes } from './services/elbv2/dataplane/supervisor.js';
import { createRdsService } from './services/rds/provider.js';
import { createS3Service } from './services/s3/provider.js';
import { migrate, type Db } from './state/db.js';
import type { Commits } from './state/group-commit.js';
import { NetworkStore, networkMigrations } from './state/network.js';
import { TagStore, tagMigrations } from './state/tags.js';
import { vpcPolicyOf, vpcSpecOf } from './state/vpc-policy.js';

/** Where EC2's instances live (`<data-dir>/instances`) and how their host objects are named. */
const EC2_CONTAINERS: ContainerOwner = { dir: 'instances', prefix: 'kumo-ec2-' };
/** RDS's database nodes (`<data-dir>/databases`), their disks in a volume store of their own. */
const RDS_CONTAINERS: ContainerOwner = { dir: 'databases', prefix: 'kumo-rds-' };
const RDS_VOLUMES = 'db-volumes';
/** Where ELBv2's load-balancer nodes keep their HAProxy configuration and sockets. */
const ELBV2_DIR = 'elbv2';

/** `kumo reset` with no kumo running: ends what a dead kumo left running of this data dir. */
export async function reclaimDataDir(config: KumoConfig): Promise<void> {
  // Load-balancer nodes first: their namespaces go with the fabric slot reclaimHostState releases.
  await reclaimLoadBalancerNodes(join(config.dataDir, ELBV2_DIR));
  await reclaimHostState(config, [EC2_CONTAINERS, RDS_CONTAINERS], [RDS_VOLUMES]);
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
  migrate(db, 'tags', tagMigrations);
  migrate(db, 'network', networkMigrations);
  const runtime = createHostRuntime(config, log);
  // The VPC data plane outlives the services (closed after them): they unplug from it as they stop.
  const plane = new DataPlane({ openFabric: runtime.openFabric, hostDns: config.hostDns, log });
  await plane.start();
  undo.push(() => plane.close());
  const services = buildServices(config, db, commits, runtime, plane, clock, log);
  undo.push(async () => {
    for (const s of services) await s.close?.();
  });
  for (const s of services) await s.start?.();
  return { services, runtime: runtime.mode, plane };
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
  ];
}

