/**
 * Multi-AZ replication, as each engine does it (./replication-mysql.ts, ./replication-postgres.ts):
 * a standby in another zone kept synchronously in step, so a commit is acknowledged to its client
 * only once the standby has it, and promoted on failover. Scripts run as root inside a node
 * (DbNodes.run); secrets go through stdin and quoted heredocs, never a command line.
 */
import { ipToInt } from '../../../lib/cidr.js';
import type { DbInstanceRecord, DbNode } from '../store.js';

/** The engine user a standby replicates as (kumo's alone; its password is the row's ReplicationPassword). */
export const REPLICATION_USER = 'rdsrepl';

/** Unique per node in a VPC: its address (MariaDB's server-id). */
export const serverIdOf = (node: Pick<DbNode, 'PrivateIpAddress'>) => ipToInt(node.PrivateIpAddress);

export interface Replication {
  /** Run inside the primary before a standby is built: the user the standby replicates as. */
  user(db: DbInstanceRecord): [script: string, input: string];
  /** The standby's first-boot user data: a copy of the primary, replicating; READY_MARK once it streams. */
  standbySetup(db: DbInstanceRecord, standby: DbNode, primaryIp: string): string;
  /** Run inside the primary once its standby is ready: commits wait for the standby from now on. */
  syncOn(): [script: string, input: string];
  /** Run inside the primary when it has no standby any more. */
  syncOff(): [script: string, input: string];
  /** Run inside the standby on failover: everything it received applied, then writable, waiting for no one. */
  promote(): [script: string, input: string];
}
