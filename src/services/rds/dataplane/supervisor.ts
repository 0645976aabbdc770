/**
 * The database supervisor: makes the host match the DB instance rows, on the shared reconcile
 * loop (runtime/reconciler.ts), one step at a time per instance. A DB instance is served by a
 * primary node and, Multi-AZ, a standby in another zone (./nodes.ts: containers of the database
 * image on fabric ports).
 *
 *   creating   → the primary launched with the engine setup as first-boot user data
 *                (./engine-setup.ts) → its mark on the console → `available`
 *   available  → a node not running is started (after `kumo stop`, or a crash); a standby not
 *                ready is (re)built from the primary (./replication.ts)
 *   modifying  → what ModifyDBInstance asked, one change at a time → `available`
 *   rebooting  → failover (the standby promoted, the primary's slot rebuilt as the new standby),
 *                or the primary restarted → the engine answers → `available`
 *   stopping/starting → both nodes stopped / started;  deleting → nodes, disks, addresses gone
 *
 * Health: every HEALTH_MS the primaries of `available` instances are asked for a connection; one
 * that fails HEALTH_FAILURES times in a row fails over to a ready standby (Multi-AZ) or is
 * restarted (Single-AZ), as RDS recovers from a failed host.
 */
import { Reconciler } from '../../../runtime/reconciler.js';
import type { Scope } from '../../../state/scope.js';
import { READY_MARK } from './engine-setup.js';
import { DbNodes, type DbNodesDeps } from './nodes.js';
import { promote, replicationUser, semiSyncOff, semiSyncOn, standbySetup } from './replication.js';
import { allocateNode, releaseNode } from '../instances/nodes.js';
import { standbyZone } from '../instances/modify.js';
import type { DbInstanceRecord, DbInstanceStatus, DbNode, RdsStore } from '../store.js';
import { engineSetup } from './engine-setup.js';
import type { TagStore } from '../../../state/tags.js';

export { RDS_PORT_OWNER } from './nodes.js';

const POLL_MS = 500;
const HEALTH_MS = 1000;
const HEALTH_FAILURES = 3;
/** A first boot that never prints its mark (the setup failed) is given up after this long. */
const SETUP_DEADLINE_MS = 5 * 60_000;

export interface DbSupervisorDeps extends DbNodesDeps {
  store: RdsStore;
  tags: TagStore;
  now: () => Date;
}

type Row = { scope: Scope; row: DbInstanceRecord };
type Step = (() => Promise<void>) | undefined;

export class DbSupervisor {
  private readonly loop: Reconciler<Row>;
  private readonly nodes: DbNodes;
  private poll: NodeJS.Timeout | undefined;
  private health: NodeJS.Timeout | undefined;
  private readonly launchedAt = new Map<string, number>();
  private readonly failures = new Map<string, number>();

  constructor(private readonly deps: DbSupervisorDeps) {
    this.nodes = new DbNodes(deps);
    this.loop = new Reconciler<Row>({
      name: 'rds',
      desired: () => deps.store.instances.everywhere(),
      key: (r) => r.row.DbiResourceId,
      plan: (r) => this.plan(r.scope, r.row),
      afterPass: async (rows, busy) => {
        this.schedulePoll(rows);
        await this.nodes.syncVpcs(rows);
        if (busy.size === 0) await this.nodes.prune(rows.map((x) => x.row));
      },
      recover: async () => {
        await deps.driver.adopt?.();
      },
      log: deps.log,
    });
  }

  async start(): Promise<void> {
    await this.loop.start();
    this.health = setInterval(() => void this.checkHealth(), HEALTH_MS);
    this.health.unref();
  }

  wake(): void {
    this.loop.wake();
  }

  /** A node's container ended without being asked: the loop (and the health checks) take it from there. */
  exited(nodeId: string): void {
    this.deps.log(`database node ${nodeId}: its container ended`);
    this.wake();
  }

  private plan(scope: Scope, r: DbInstanceRecord): Step {
    const primary = this.nodes.status(r);
    switch (r.DBInstanceStatus) {
      case 'creating':
        if (primary === 'terminated') return () => this.launchPrimary(scope, r);
        if (primary === 'stopped') return () => this.nodes.boot(scope, r, r);
        // Created Multi-AZ: once the primary is up, its standby is built while still `creating`.
        if (r.InstanceCreateTime && r.Applying) return () => this.applyChanges(scope, r);
        return () => this.awaitFirstBoot(scope, r);
      case 'available':
        if (primary !== 'running') return () => this.nodes.boot(scope, r, r);
        if (!this.nodes.isPlugged(r)) return () => this.nodes.replug(scope, r, r);
        return this.planStandby(scope, r);
      case 'modifying':
        return () => this.applyChanges(scope, r);
      case 'rebooting':
        return r.FailoverRequested ? () => this.failover(scope, r) : () => this.reboot(scope, r);
      case 'starting':
        if (primary !== 'running') return () => this.nodes.boot(scope, r, r);
        return async () => {
          if (await this.nodes.answers(r, r)) this.settle(scope, r, ['starting'], { DBInstanceStatus: 'available' });
        };
      case 'stopping':
        return () => this.stop(scope, r);
      case 'deleting':
        return () => this.remove(scope, r);
      default:
        return undefined;
    }
  }

  /** Rows waiting on an engine are looked at again shortly; nothing else polls. */
  private schedulePoll(rows: Row[]): void {
    const waiting = rows.some(({ row }) => ['creating', 'modifying', 'rebooting', 'starting'].includes(row.DBInstanceStatus) || (row.Standby && !row.Standby.Ready));
    if (!waiting || this.poll) return;
    this.poll = setTimeout(() => {
      this.poll = undefined;
      this.wake();
    }, POLL_MS);
    this.poll.unref();
  }

  private async launchPrimary(scope: Scope, r: DbInstanceRecord): Promise<void> {
    try {
      await this.nodes.launch(scope, r, r, engineSetup(r));
      this.launchedAt.set(r.NodeId, Date.now());
    } catch (err) {
      this.deps.log(`database ${r.DBInstanceIdentifier}: could not be created: ${(err as Error).message}`);
      this.settle(scope, r, ['creating'], { DBInstanceStatus: 'failed' });
    }
  }

  /** First boot: available once the setup printed its mark (users and database made). */
  private async awaitFirstBoot(scope: Scope, r: DbInstanceRecord): Promise<void> {
    if (this.nodes.printed(r, READY_MARK)) {
      this.launchedAt.delete(r.NodeId);
      const created = this.deps.now().toISOString();
      this.settle(scope, r, ['creating'], r.Applying ? { InstanceCreateTime: created } : { DBInstanceStatus: 'available', InstanceCreateTime: created });
    } else if (this.setupTimedOut(r)) {
      this.deps.log(`database ${r.DBInstanceIdentifier}: its engine setup did not finish; console:\n${this.nodes.console(r).slice(-2000)}`);
      this.settle(scope, r, ['creating'], { DBInstanceStatus: 'failed' });
    }
  }

  private setupTimedOut(node: DbNode): boolean {
    const since = this.launchedAt.get(node.NodeId);
    if (since === undefined) this.launchedAt.set(node.NodeId, Date.now());
    return since !== undefined && Date.now() - since > SETUP_DEADLINE_MS;
  }

  /** A Multi-AZ instance's standby: started if it stopped, built (or rebuilt) if it is not ready. */
  private planStandby(scope: Scope, r: DbInstanceRecord): Step {
    const standby = r.Standby;
    if (!standby) return undefined;
    const status = this.nodes.status(r, standby);
    if (standby.Ready) {
      if (status !== 'running') return () => this.nodes.boot(scope, r, standby);
      return this.nodes.isPlugged(standby) ? undefined : () => this.nodes.replug(scope, r, standby);
    }
    if (status === 'terminated') return () => this.launchStandby(scope, r, standby);
    return () => this.awaitStandby(scope, r, standby);
  }

  private async launchStandby(scope: Scope, r: DbInstanceRecord, standby: DbNode): Promise<void> {
    await this.nodes.run(r, ...replicationUser(r));
    await this.nodes.launch(scope, r, standby, standbySetup(r, standby, r.PrivateIpAddress));
    this.launchedAt.set(standby.NodeId, Date.now());
  }

  private async awaitStandby(scope: Scope, r: DbInstanceRecord, standby: DbNode): Promise<void> {
    if (this.nodes.printed(standby, READY_MARK)) {
      this.launchedAt.delete(standby.NodeId);
      await this.nodes.run(r, ...semiSyncOn());
      this.update(scope, r, (x) => (x.Standby?.NodeId === standby.NodeId ? { ...x, Standby: { ...x.Standby, Ready: true }, MultiAZ: true } : x));
    } else if (this.setupTimedOut(standby)) {
      this.deps.log(`database ${r.DBInstanceIdentifier}: standby ${standby.NodeId} did not catch up; building it again; console:\n${this.nodes.console(standby).slice(-2000)}`);
      this.launchedAt.delete(standby.NodeId);
      await this.nodes.remove(standby);
    }
  }

  /** ModifyDBInstance's changes, one per step; `available` when none is left. */
  private async applyChanges(scope: Scope, r: DbInstanceRecord): Promise<void> {
    const a = r.Applying ?? {};
    if (a.MasterUserPassword !== undefined) {
      await this.nodes.run(r, ...this.nodes.passwordChange(r, a.MasterUserPassword));
      return this.doneApplying(scope, r, 'MasterUserPassword', { MasterUserPassword: a.MasterUserPassword });
    }
    if (a.DBInstanceClass !== undefined) {
      const next = { ...r, DBInstanceClass: a.DBInstanceClass };
      for (const node of nodesOf(r)) await this.nodes.restart(scope, next, node);
      return this.doneApplying(scope, r, 'DBInstanceClass', { DBInstanceClass: a.DBInstanceClass });
    }
    if (a.AllocatedStorage !== undefined) {
      for (const node of nodesOf(r)) await this.nodes.grow(node, a.AllocatedStorage);
      return this.doneApplying(scope, r, 'AllocatedStorage', { AllocatedStorage: a.AllocatedStorage });
    }
    if (a.MultiAZ === true) {
      if (!r.Standby) {
        this.update(scope, r, (x) => {
          const zone = standbyZone(this.deps.network, scope, x, this.deps.store);
          const subnetId = this.subnetIn(scope, x, zone);
          const subnet = this.deps.network.subnets.get(scope, subnetId)!;
          return { ...x, Standby: { ...allocateNode(this.deps.network, scope, subnet, x.VpcSecurityGroupIds, x.InternalGroup!), Ready: false } };
        });
        return;
      }
      if (!r.Standby.Ready) {
        const step = this.planStandby(scope, r);
        return step?.();
      }
      return this.doneApplying(scope, r, 'MultiAZ', { MultiAZ: true });
    }
    if (a.MultiAZ === false) {
      if (r.Standby) {
        await this.nodes.remove(r.Standby);
        await this.nodes.run(r, ...semiSyncOff());
        this.update(scope, r, (x) => {
          if (x.Standby) releaseNode(this.deps.network, scope, x.Standby);
          return { ...x, Standby: undefined };
        });
      }
      return this.doneApplying(scope, r, 'MultiAZ', { MultiAZ: false });
    }
    this.settle(scope, r, ['modifying', 'creating'], { DBInstanceStatus: 'available', Applying: undefined });
  }

  private doneApplying(scope: Scope, r: DbInstanceRecord, key: keyof NonNullable<DbInstanceRecord['Applying']>, change: Partial<DbInstanceRecord>): void {
    this.update(scope, r, (x) => {
      const { [key]: _done, ...rest } = x.Applying ?? {};
      return { ...x, ...change, Applying: Object.keys(rest).length ? rest : undefined };
    });
  }

  private subnetIn(scope: Scope, r: DbInstanceRecord, zone: string): string {
    const group = this.deps.store.subnetGroups.get(scope, r.DBSubnetGroupName);
    const ids = group ? group.Subnets.map((s) => s.SubnetIdentifier) : this.deps.network.subnets.list(scope).filter((s) => s.VpcId === r.VpcId).map((s) => s.SubnetId);
    const found = ids.map((id) => this.deps.network.subnets.get(scope, id)).find((s) => s?.AvailabilityZone === zone);
    if (!found) throw new Error(`no subnet of ${r.DBInstanceIdentifier}'s group in ${zone}`);
    return found.SubnetId;
  }

  /**
   * The standby takes over: the old primary stops (no write may land there any more), the standby
   * applies what it received and becomes writable, the rows swap (the endpoint's DNS answer and a
   * public address follow), and the old primary's slot is rebuilt as the new standby.
   */
  private async failover(scope: Scope, r: DbInstanceRecord): Promise<void> {
    const standby = r.Standby;
    if (!standby?.Ready) {
      this.deps.log(`database ${r.DBInstanceIdentifier}: no ready standby to fail over to; restarting the primary`);
      this.update(scope, r, (x) => ({ ...x, FailoverRequested: undefined, RebootRequested: true }));
      return;
    }
    const old: DbNode = { NodeId: r.NodeId, AvailabilityZone: r.AvailabilityZone, SubnetId: r.SubnetId, PrivateIpAddress: r.PrivateIpAddress, NetworkInterfaceId: r.NetworkInterfaceId };
    await this.nodes.stopQuickly(old);
    const [script, input] = promote();
    await this.nodes.run(r, script, input, standby);
    const swapped: DbInstanceRecord = { ...r, ...pick(standby), Standby: { ...old, Ready: false }, FailoverRequested: undefined, DBInstanceStatus: 'available' };
    await this.nodes.movePublicAddress(scope, swapped, old);
    this.update(scope, r, () => swapped);
    this.deps.log(`database ${r.DBInstanceIdentifier}: failed over from ${old.AvailabilityZone} to ${standby.AvailabilityZone} (${r.FailoverRequested})`);
    // The old primary's container and disk go; its slot is built again as a replica of the new primary.
    await this.nodes.remove(old);
  }

  private async reboot(scope: Scope, r: DbInstanceRecord): Promise<void> {
    if (r.RebootRequested) {
      await this.nodes.restart(scope, r, r);
      this.update(scope, r, (x) => ({ ...x, RebootRequested: false }));
      return;
    }
    if (await this.nodes.answers(r, r)) this.settle(scope, r, ['rebooting'], { DBInstanceStatus: 'available' });
  }

  private async stop(scope: Scope, r: DbInstanceRecord): Promise<void> {
    for (const node of [r.Standby, r]) if (node) await this.nodes.stop(node);
    this.settle(scope, r, ['stopping'], { DBInstanceStatus: 'stopped' });
  }

  private async remove(scope: Scope, r: DbInstanceRecord): Promise<void> {
    for (const node of [r.Standby, r]) if (node) await this.nodes.remove(node);
    for (const node of [r.Standby, r]) if (node) this.launchedAt.delete(node.NodeId);
    const { store, network, tags } = this.deps;
    store.transaction(() => {
      if (store.instances.get(scope, r.DBInstanceIdentifier)?.DBInstanceStatus !== 'deleting') return;
      for (const node of [r.Standby, r]) if (node) releaseNode(network, scope, node);
      if (r.PublicIpAddress) network.publicIps.release(r.PublicIpAddress);
      tags.removeAll(scope, r.DBInstanceArn);
      store.instances.delete(scope, r.DBInstanceIdentifier);
    });
  }

  /** Primaries of available instances that stop answering fail over (or restart). */
  private async checkHealth(): Promise<void> {
    for (const { scope, row } of this.deps.store.instances.everywhere()) {
      if (row.DBInstanceStatus !== 'available' || this.loop.busy(row.DbiResourceId)) {
        this.failures.delete(row.DbiResourceId);
        continue;
      }
      if (await this.nodes.answers(row, row)) {
        this.failures.delete(row.DbiResourceId);
        continue;
      }
      const n = (this.failures.get(row.DbiResourceId) ?? 0) + 1;
      this.failures.set(row.DbiResourceId, n);
      if (n < HEALTH_FAILURES) continue;
      this.failures.delete(row.DbiResourceId);
      const failover = row.Standby?.Ready === true;
      this.deps.log(`database ${row.DBInstanceIdentifier}: its primary stopped answering; ${failover ? 'failing over' : 'restarting it'}`);
      this.settle(scope, row, ['available'], failover ? { DBInstanceStatus: 'rebooting', FailoverRequested: 'automatic' } : { DBInstanceStatus: 'rebooting', RebootRequested: true });
    }
  }

  /** Re-reads the row and applies `change` if it is still in one of `from`. */
  private settle(scope: Scope, r: DbInstanceRecord, from: DbInstanceStatus[], change: Partial<DbInstanceRecord>): void {
    this.update(scope, r, (fresh) => (from.includes(fresh.DBInstanceStatus) ? { ...fresh, ...change } : fresh));
  }

  private update(scope: Scope, r: DbInstanceRecord, change: (fresh: DbInstanceRecord) => DbInstanceRecord): void {
    const { store } = this.deps;
    store.transaction(() => {
      const fresh = store.instances.get(scope, r.DBInstanceIdentifier);
      if (fresh) store.instances.update(scope, r.DBInstanceIdentifier, change(fresh));
    });
    this.wake();
  }

  /** kumo is leaving: nodes shut down cleanly, rows keep their status so the next start brings them back. */
  async close(): Promise<void> {
    clearTimeout(this.poll);
    clearInterval(this.health);
    await this.loop.close();
    await this.nodes.stopAll(this.deps.store.instances.everywhere().map((x) => x.row));
  }

  /** After /_kumo/reset wiped the rows: every node and disk goes. */
  async reset(): Promise<void> {
    await this.loop.drain();
    await this.nodes.removeAll();
    this.launchedAt.clear();
    this.failures.clear();
  }
}

/** The instance's nodes: its primary, and its standby if it has one. */
const nodesOf = (r: DbInstanceRecord): DbNode[] => (r.Standby ? [r, r.Standby] : [r]);

const pick = (n: DbNode): DbNode => ({ NodeId: n.NodeId, AvailabilityZone: n.AvailabilityZone, SubnetId: n.SubnetId, PrivateIpAddress: n.PrivateIpAddress, NetworkInterfaceId: n.NetworkInterfaceId });
