/** RDS's tables: DB subnet groups and DB instances (keyed by lower-cased name). Thin queries only. */
import type { Db, Migration } from '../../state/db.js';
import { ResourceTable, resourceTableSql } from '../../state/resources.js';

export interface DbSubnetGroupRecord {
  DBSubnetGroupName: string;
  DBSubnetGroupDescription: string;
  VpcId: string;
  SubnetGroupStatus: string;
  Subnets: { SubnetIdentifier: string; SubnetAvailabilityZone: { Name: string }; SubnetOutpost: Record<string, never>; SubnetStatus: string }[];
  DBSubnetGroupArn: string;
  SupportedNetworkTypes: string[];
}

export type DbInstanceStatus = 'creating' | 'available' | 'modifying' | 'rebooting' | 'stopping' | 'stopped' | 'starting' | 'deleting' | 'failed';

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
}

export const rdsMigrations: Migration[] = [
  { version: 1, up: resourceTableSql('rds_subnet_groups') },
  { version: 2, up: resourceTableSql('rds_instances') },
];

export class RdsStore {
  readonly subnetGroups: ResourceTable<DbSubnetGroupRecord>;
  readonly instances: ResourceTable<DbInstanceRecord>;
  constructor(readonly db: Db) {
    this.subnetGroups = new ResourceTable<DbSubnetGroupRecord>(db, 'rds_subnet_groups');
    this.instances = new ResourceTable<DbInstanceRecord>(db, 'rds_instances');
  }
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }
}
