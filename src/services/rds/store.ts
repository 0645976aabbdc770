/**
 * RDS's tables: DB subnet groups, DB instances and DB snapshots (keyed by lower-cased name), and
 * the event log DescribeEvents reads. Thin queries only.
 */
import type { Db, Migration } from '../../state/db.js';
import { ResourceTable, resourceTableSql } from '../../state/resources.js';
import type { Scope } from '../../state/scope.js';

export interface DbSubnetGroupRecord {
  DBSubnetGroupName: string;
  DBSubnetGroupDescription: string;
  VpcId: string;
  SubnetGroupStatus: string;
  Subnets: { SubnetIdentifier: string; SubnetAvailabilityZone: { Name: string }; SubnetOutpost: Record<string, never>; SubnetStatus: string }[];
  DBSubnetGroupArn: string;
  SupportedNetworkTypes: string[];
}

export type DbInstanceStatus = 'creating' | 'backing-up' | 'available' | 'modifying' | 'rebooting' | 'stopping' | 'stopped' | 'starting' | 'deleting' | 'failed';

/** One server of a DB instance: a container on a fabric port with an interface of its own. */
export interface DbNode {
  /** The container and fabric port (`db-…`, lower case: a host name). */
  NodeId: string;
  AvailabilityZone: string;
  SubnetId: string;
  PrivateIpAddress: string;
  NetworkInterfaceId: string;
}

/** What ModifyDBInstance changes (pending until applied, or being applied now). */
export interface DbChanges {
  MultiAZ?: boolean;
  DBInstanceClass?: string;
  AllocatedStorage?: number;
  MasterUserPassword?: string;
  BackupRetentionPeriod?: number;
}

/** A DB instance: what the API shows, and where its one node runs (a container on a fabric port). */
export interface DbInstanceRecord {
  DBInstanceIdentifier: string;
  DbiResourceId: string;
  DBInstanceArn: string;
  Engine: 'mysql' | 'postgres';
  EngineVersion: string;
  DBInstanceClass: string;
  AllocatedStorage: number;
  StorageType: string;
  Iops?: number;
  MasterUsername: string;
  /** Kept to set the engine up at the node's first boot (state.db is root's alone, 0600). */
  MasterUserPassword: string;
  DBName?: string;
  Port: number;
  PubliclyAccessible: boolean;
  VpcSecurityGroupIds: string[];
  DBSubnetGroupName: string;
  VpcId: string;
  AvailabilityZone: string;
  SubnetId: string;
  PrivateIpAddress: string;
  NetworkInterfaceId: string;
  /** Publicly accessible: a loopback address from kumo's public pool, reached from the host. */
  PublicIpAddress?: string;
  MultiAZ: boolean;
  BackupRetentionPeriod: number;
  PreferredBackupWindow: string;
  PreferredMaintenanceWindow: string;
  DBParameterGroupName: string;
  DBInstanceStatus: DbInstanceStatus;
  InstanceCreateTime?: string;
  DeletionProtection: boolean;
  AutoMinorVersionUpgrade: boolean;
  CopyTagsToSnapshot: boolean;
  CACertificateIdentifier: string;
  /** The container and fabric port of the node serving it (`db-…`, lower case: a host name). */
  NodeId: string;
  /** RebootDBInstance asked; the supervisor restarts the node and clears it. */
  RebootRequested?: boolean;
  /**
   * Multi-AZ: the standby, a synchronous replica in another zone (`Ready` once it has caught up
   * and acknowledges every commit). The primary is the record's own node fields.
   */
  Standby?: DbNode & { Ready: boolean };
  /** The replication user's password (the engine's own user `rdsrepl`, kumo's alone). */
  ReplicationPassword?: string;
  /** Both nodes' internal group: they reach each other whatever the security groups say. */
  InternalGroup?: string;
  /** ModifyDBInstance without ApplyImmediately: applied at the next maintenance (or with the next immediate change). */
  Pending?: DbChanges;
  /** What the supervisor is applying while the status is `modifying`. */
  Applying?: DbChanges;
  /** RebootDBInstance with ForceFailover, or the primary stopped answering: the standby takes over. */
  FailoverRequested?: 'forced' | 'automatic';
  /** Restored from a DB snapshot: the node's disk is made from this host snapshot, not from the image. */
  RestoredFrom?: { DBSnapshotIdentifier: string; DiskSnapshotId: string };
}

export type DbSnapshotStatus = 'creating' | 'available' | 'failed';

/** A DB snapshot: the instance as it was (what a restore needs) and the host snapshot of its disk. */
export interface DbSnapshotRecord {
  DBSnapshotIdentifier: string;
  DBSnapshotArn: string;
  DBInstanceIdentifier: string;
  DbiResourceId: string;
  SnapshotType: 'manual' | 'automated';
  Status: DbSnapshotStatus;
  PercentProgress: number;
  SnapshotCreateTime?: string;
  OriginalSnapshotCreateTime?: string;
  SourceDBSnapshotIdentifier?: string;
  SourceRegion?: string;
  Engine: DbInstanceRecord['Engine'];
  EngineVersion: string;
  DBInstanceClass: string;
  AllocatedStorage: number;
  StorageType: string;
  Iops?: number;
  Port: number;
  AvailabilityZone: string;
  VpcId: string;
  InstanceCreateTime?: string;
  MasterUsername: string;
  /** The master password inside the snapshot's data, for an instance restored from it. */
  MasterUserPassword: string;
  DBName?: string;
  DBParameterGroupName: string;
  /** The host snapshot (runtime/snapshots) holding the node's disk. */
  DiskSnapshotId: string;
}

/** One line of DescribeEvents. */
export interface DbEvent {
  SourceIdentifier: string;
  SourceType: 'db-instance' | 'db-snapshot' | 'db-parameter-group' | 'db-security-group';
  Message: string;
  EventCategories: string[];
  Date: string;
  SourceArn: string;
}

export const rdsMigrations: Migration[] = [
  { version: 1, up: resourceTableSql('rds_subnet_groups') },
  { version: 2, up: resourceTableSql('rds_instances') },
  { version: 3, up: resourceTableSql('rds_snapshots') },
  {
    version: 4,
    up: `CREATE TABLE rds_events (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      account TEXT NOT NULL, region TEXT NOT NULL, date TEXT NOT NULL,
      data TEXT NOT NULL);
    CREATE INDEX rds_events_by_date ON rds_events (account, region, date);`,
  },
];

export class RdsStore {
  readonly subnetGroups: ResourceTable<DbSubnetGroupRecord>;
  readonly instances: ResourceTable<DbInstanceRecord>;
  readonly snapshots: ResourceTable<DbSnapshotRecord>;
  private readonly stmts;
  constructor(readonly db: Db) {
    this.subnetGroups = new ResourceTable<DbSubnetGroupRecord>(db, 'rds_subnet_groups');
    this.instances = new ResourceTable<DbInstanceRecord>(db, 'rds_instances');
    this.snapshots = new ResourceTable<DbSnapshotRecord>(db, 'rds_snapshots');
    this.stmts = {
      addEvent: db.prepare('INSERT INTO rds_events (account, region, date, data) VALUES (?, ?, ?, ?)'),
      events: db.prepare('SELECT data FROM rds_events WHERE account = ? AND region = ? AND date >= ? AND date <= ? ORDER BY seq'),
      forget: db.prepare('DELETE FROM rds_events WHERE date < ?'),
    };
  }

  addEvent(scope: Scope, e: DbEvent): void {
    this.stmts.addEvent.run(scope.account, scope.region, e.Date, JSON.stringify(e));
  }

  /** Events of a region between two ISO times, oldest first. */
  events(scope: Scope, from: string, to: string): DbEvent[] {
    return (this.stmts.events.all(scope.account, scope.region, from, to) as { data: string }[]).map((r) => JSON.parse(r.data) as DbEvent);
  }

  /** Events older than `before` go (RDS keeps 14 days of them). */
  forgetEvents(before: string): void {
    this.stmts.forget.run(before);
  }
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }
}
