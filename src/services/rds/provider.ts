/**
 * Amazon RDS (query wire family): the operation table, and the database supervisor that runs
 * what the rows describe (./dataplane/).
 *
 *   subnet-groups.ts    DB subnet groups; parameter-groups.ts the engines' default groups
 *   instances/          CreateDBInstance (create.ts), the lifecycle (instances.ts), engines,
 *                       versions and classes (engines.ts), the wire view (view.ts)
 *   snapshots/          DB snapshots and RestoreDBInstanceFromDBSnapshot
 *   events.ts           DescribeEvents, and the events the rest records
 *   dataplane/          the supervisor (containers of the database image on fabric ports), the
 *                       engines' first-boot setup, Multi-AZ (standby.ts, replication-*.ts),
 *                       snapshots of the nodes' disks (backups.ts), endpoint names in kumo's DNS
 *   tags.ts             tags on DB instance, subnet group and snapshot ARNs
 *
 * Differences from AWS:
 * - `mysql` is served by MariaDB 10.11, `postgres` by PostgreSQL 15 (only 15.x is offered); see
 *   ./instances/engines.ts. The API reports the MySQL version asked for.
 * - Multi-AZ: a standby in another zone, synchronous (`mysql`: MariaDB semi-synchronous
 *   replication, AFTER_SYNC; `postgres`: streaming replication named in synchronous_standby_names),
 *   made by CreateDBInstance (the standby built once the primary is up, still `creating`) or
 *   ModifyDBInstance; failover forced or on a primary that stops answering for about 3 s. A
 *   semi-synchronous MariaDB primary goes on alone after 10 s without its standby's
 *   acknowledgement; PostgreSQL's waits. No read replicas.
 * - Snapshots copy the primary's disk while its filesystem is frozen (writes wait a moment, as
 *   RDS suspends I/O for a Single-AZ snapshot; RDS takes a Multi-AZ instance's from the standby).
 *   CopyDBSnapshot is instant and within a region only. Automated backups: the first one after
 *   creation (`backing-up`) and when retention goes from 0 to more; no daily ones, no
 *   point-in-time restore; they go with their instance (DeleteAutomatedBackups is not honored).
 * - Parameter groups: only the engine families' default ones; DescribeDBParameters lists the
 *   parameters kumo sets on its nodes, not the engine's whole set. No option groups beyond the
 *   defaults' names. Events are the ones listed in events.ts, kept 14 days.
 * - ModifyDBInstance without ApplyImmediately keeps changes pending until a later immediate one
 *   (kumo has no maintenance windows).
 * - The master user has RDS's privileges, not the engine's superuser; the engines' own
 *   superusers stay with the node (its local socket).
 * - Storage size is the node's disk (sparse); IOPS and throughput are recorded, not enforced.
 * - Instance classes: a table of common ones (./instances/engines.ts), enforced as memory and CPU
 *   limits on the node. DescribeDBSubnetGroups and DescribeDBEngineVersions refuse Filters.
 * - The process runtime runs no databases: CreateDBInstance answers InvalidParameterCombination.
 */
import { loadModel } from '../../models/loader.js';
import type { RdsOperations } from '../../models/generated/rds.js';
import { QueryCodec } from '../../protocol/query.js';
import type { DataPlane } from '../../runtime/data-plane.js';
import type { InstanceDriver } from '../../runtime/instances/driver.js';
import type { SnapshotStore } from '../../runtime/snapshots/store.js';
import type { VolumeStore } from '../../runtime/volumes.js';
import { migrate, type Db } from '../../state/db.js';
import type { NetworkStore } from '../../state/network.js';
import type { TagStore } from '../../state/tags.js';
import type { Handler, RequestContext, Service } from '../service.js';
import { endpointZone } from './dataplane/endpoints.js';
import { DbSupervisor } from './dataplane/supervisor.js';
import { rdsAuthErrors } from './errors.js';
import { eventHandlers } from './events.js';
import { parameterGroupHandlers } from './parameter-groups.js';
import { restoreHandler } from './snapshots/restore.js';
import { snapshotHandlers } from './snapshots/snapshots.js';
import { createHandler } from './instances/create.js';
import { engineHandlers } from './instances/engines.js';
import { instanceHandlers } from './instances/instances.js';
import { modifyHandler } from './instances/modify.js';
import { RdsStore, rdsMigrations } from './store.js';
import { subnetGroupHandlers } from './subnet-groups.js';
import { tagHandlers } from './tags.js';

/** What runs databases on this host, picked by the composition root; absent on the process runtime. */
export interface RdsRuntime {
  driver: InstanceDriver;
  /** The nodes' disks (RDS's own volume store). */
  volumes?: VolumeStore;
  /** DB snapshots' data (RDS's own snapshot store). */
  snapshots?: SnapshotStore;
  imageRootfs: (name: string) => Promise<string>;
  plane: DataPlane;
  /** Whether databases can run here (the native runtime). */
  native: boolean;
}

export interface RdsDeps {
  db: Db;
  network: NetworkStore;
  tags: TagStore;
  runtime: RdsRuntime;
  log: (line: string) => void;
  now?: () => Date;
  /** An account+region's default VPC (EC2's), made on first use: RDS's default subnet group is its subnets. */
  ensureDefaultVpc(ctx: RequestContext): void;
}

export interface RdsService extends Service {
  supervisor: DbSupervisor;
}

export function createRdsService(deps: RdsDeps): RdsService {
  migrate(deps.db, 'rds', rdsMigrations);
  const store = new RdsStore(deps.db);
  const now = deps.now ?? (() => new Date());
  const supervisor = new DbSupervisor({
    store,
    network: deps.network,
    tags: deps.tags,
    plane: deps.runtime.plane,
    driver: deps.runtime.driver,
    volumes: deps.runtime.volumes,
    snapshots: deps.runtime.snapshots,
    imageRootfs: deps.runtime.imageRootfs,
    log: deps.log,
    now,
  });
  deps.runtime.plane.zones.register(endpointZone(store));
  deps.runtime.plane.onNetworkChange(() => supervisor.wake());
  const changed = () => supervisor.wake();
  const createDeps = { store, network: deps.network, tags: deps.tags, canRun: deps.runtime.native, changed };
  const create = createHandler(createDeps);
  const restore = restoreHandler(createDeps);
  const handlers: { [K in keyof RdsOperations]: Handler } = {
    ...subnetGroupHandlers(store, deps.network, deps.tags),
    CreateDBInstance: (ctx, input) => {
      deps.ensureDefaultVpc(ctx);
      return create(ctx, input);
    },
    ...instanceHandlers({ store, tags: deps.tags, now, changed }),
    ModifyDBInstance: modifyHandler({ store, network: deps.network, tags: deps.tags, now, changed }),
    ...snapshotHandlers({ store, tags: deps.tags, now, changed }),
    RestoreDBInstanceFromDBSnapshot: (ctx, input) => {
      deps.ensureDefaultVpc(ctx);
      return restore(ctx, input);
    },
    ...eventHandlers(store, now),
    ...parameterGroupHandlers(),
    ...engineHandlers(),
    ...tagHandlers(store, deps.tags),
  };
  return {
    name: 'rds',
    signingName: 'rds',
    codec: new QueryCodec(loadModel('rds-2014-10-31')),
    handlers,
    authErrors: rdsAuthErrors,
    supervisor,
    start: () => supervisor.start(),
    reset: () => supervisor.reset(),
    close: () => supervisor.close(),
  };
}
