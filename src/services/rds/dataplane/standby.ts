/**
 * The supervisor's Multi-AZ steps: a standby built in another zone of the subnet group (or
 * rebuilt after a failover), kept synchronous once it has caught up, removed when Multi-AZ is
 * turned off; and the failover itself.
 *
 *   standby not ready   → the replication user on the primary, the standby launched with the
 *                         engine's standby setup → its mark on the console → the primary waits for
 *                         its acknowledgements from then on → Ready
 *   failover            → the primary cut off at once, the standby promoted, the rows swapped (the
 *                         endpoint's DNS answer and a public address follow), the old primary's
 *                         slot rebuilt as the new standby
 */
import type { Scope } from '../../../state/scope.js';
import { releaseNode, allocateNode } from '../instances/nodes.js';
import { standbyZone } from '../instances/modify.js';
import type { DbInstanceRecord, DbNode, RdsStore } from '../store.js';
import type { NetworkStore } from '../../../state/network.js';
import { READY_MARK } from './engine-setup.js';
import type { DbNodes } from './nodes.js';
import type { Replication } from './replication.js';
import { mysqlReplication } from './replication-mysql.js';
import { postgresReplication } from './replication-postgres.js';
import type { DbRows } from './rows.js';

type Step = (() => Promise<void>) | undefined;

export const replicationOf = (r: DbInstanceRecord): Replication => (r.Engine === 'mysql' ? mysqlReplication : postgresReplication);

export interface StandbyDeps {
  store: RdsStore;
  network: NetworkStore;
  nodes: DbNodes;
  rows: DbRows;
  log: (line: string) => void;
  /** Whether a node's first boot has run too long (its setup failed). */
  setupTimedOut(node: DbNode): boolean;
  launched(node: DbNode): void;
}

export class Standbys {
  constructor(private readonly deps: StandbyDeps) {}

  /** A Multi-AZ instance's standby: started if it stopped, built (or rebuilt) if it is not ready. */
  plan(scope: Scope, r: DbInstanceRecord): Step {
    const { nodes } = this.deps;
    const standby = r.Standby;
    if (!standby) return undefined;
    const status = nodes.status(r, standby);
    if (standby.Ready) {
      if (status !== 'running') return () => nodes.boot(scope, r, standby);
      return nodes.isPlugged(standby) ? undefined : () => nodes.replug(scope, r, standby);
    }
    if (status === 'terminated') return () => this.launch(scope, r, standby);
    // Catching up: nothing to do until its mark is on the console or its setup has run too long
    // (the supervisor's poll looks again meanwhile).
    if (nodes.printed(standby, READY_MARK)) return () => this.ready(scope, r, standby);
    if (this.deps.setupTimedOut(standby)) return () => this.rebuild(r, standby);
    return undefined;
  }

  /** A standby slot in another zone of the subnet group, in the row (the plan builds it). */
  allocate(scope: Scope, r: DbInstanceRecord): void {
    const { network, store } = this.deps;
    this.deps.rows.update(scope, r, (x) => {
      if (x.Standby) return undefined;
      const zone = standbyZone(network, scope, x, store);
      const subnet = network.subnets.get(scope, subnetIn(store, network, scope, x, zone))!;
      return { ...x, Standby: { ...allocateNode(network, scope, subnet, x.VpcSecurityGroupIds, x.InternalGroup!), Ready: false } };
    });
  }

  /** Multi-AZ off: the standby and its slot go, and the primary waits for no one. */
  async remove(scope: Scope, r: DbInstanceRecord): Promise<void> {
    if (!r.Standby) return;
    await this.deps.nodes.remove(r.Standby);
    await this.deps.nodes.run(r, ...replicationOf(r).syncOff());
    this.deps.rows.update(scope, r, (x) => {
      if (x.Standby) releaseNode(this.deps.network, scope, x.Standby);
      return { ...x, Standby: undefined };
    });
  }

  private async launch(scope: Scope, r: DbInstanceRecord, standby: DbNode): Promise<void> {
    const replication = replicationOf(r);
    await this.deps.nodes.run(r, ...replication.user(r));
    await this.deps.nodes.launch(scope, r, standby, replication.standbySetup(r, standby, r.PrivateIpAddress));
    this.deps.launched(standby);
  }

  /** Caught up: the primary waits for its acknowledgements from now on. */
  private async ready(scope: Scope, r: DbInstanceRecord, standby: DbNode): Promise<void> {
    await this.deps.nodes.run(r, ...replicationOf(r).syncOn());
    this.deps.rows.update(scope, r, (x) => (x.Standby?.NodeId === standby.NodeId ? { ...x, Standby: { ...x.Standby, Ready: true }, MultiAZ: true } : undefined));
  }

  private async rebuild(r: DbInstanceRecord, standby: DbNode): Promise<void> {
    const { nodes } = this.deps;
    this.deps.log(`database ${r.DBInstanceIdentifier}: standby ${standby.NodeId} did not catch up; building it again; console:\n${nodes.console(standby).slice(-2000)}`);
    await nodes.remove(standby);
  }

  /** The standby takes over; false if there is none ready (the caller restarts the primary instead). */
  async failover(scope: Scope, r: DbInstanceRecord): Promise<boolean> {
    const { nodes, rows } = this.deps;
    const standby = r.Standby;
    if (!standby?.Ready) return false;
    rows.event(scope, r, 'failoverStarted');
    const old: DbNode = pick(r);
    await nodes.stopQuickly(old);
    await nodes.run(r, ...replicationOf(r).promote(), standby);
    const swapped: DbInstanceRecord = { ...r, ...pick(standby), Standby: { ...old, Ready: false }, FailoverRequested: undefined, DBInstanceStatus: 'available' };
    await nodes.takeOver(scope, swapped, old);
    rows.update(scope, r, () => swapped, 'failoverDone');
    this.deps.log(`database ${r.DBInstanceIdentifier}: failed over from ${old.AvailabilityZone} to ${standby.AvailabilityZone} (${r.FailoverRequested})`);
    // The old primary's container and disk go; its slot is built again as a replica of the new primary.
    await nodes.remove(old);
    return true;
  }
}

/** The subnet of the instance's subnet group (or its VPC, for the default group) in `zone`. */
function subnetIn(store: RdsStore, network: NetworkStore, scope: Scope, r: DbInstanceRecord, zone: string): string {
  const group = store.subnetGroups.get(scope, r.DBSubnetGroupName);
  const ids = group ? group.Subnets.map((s) => s.SubnetIdentifier) : network.subnets.list(scope).filter((s) => s.VpcId === r.VpcId).map((s) => s.SubnetId);
  const found = ids.map((id) => network.subnets.get(scope, id)).find((s) => s?.AvailabilityZone === zone);
  if (!found) throw new Error(`no subnet of ${r.DBInstanceIdentifier}'s group in ${zone}`);
  return found.SubnetId;
}

/** A node's own fields (a primary's are the row's). */
export const pick = (n: DbNode): DbNode => ({ NodeId: n.NodeId, AvailabilityZone: n.AvailabilityZone, SubnetId: n.SubnetId, PrivateIpAddress: n.PrivateIpAddress, NetworkInterfaceId: n.NetworkInterfaceId });
