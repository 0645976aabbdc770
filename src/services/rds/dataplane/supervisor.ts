/**
 * The database supervisor: makes the host match the DB instance rows, on the shared reconcile
 * loop (runtime/reconciler.ts), one step at a time per instance. A DB instance is served by a
 * primary node and, Multi-AZ, a standby in another zone (./nodes.ts: containers of the database
 * image on fabric ports).
 *
 *   creating   → the primary launched with the engine setup as first-boot user data
 *                (./engine-setup.ts), or its disk made from a DB snapshot → its mark on the
 *                console → `backing-up` (the first automated backup) or `available`
 *   backing-up → the snapshots asked for taken from the primary's disk (./backups.ts) → `available`
 *   available  → a node not running is started (after `kumo stop`, or a crash); a standby not
 *                ready is (re)built from the primary (./standby.ts)
 *   modifying  → what ModifyDBInstance asked, one change at a time → `available`
 *   rebooting  → failover (the standby promoted, the primary's slot rebuilt as the new standby),
 *                or the primary restarted → the engine answers → `available`
 *   stopping/starting → (a snapshot taken, if asked) both nodes stopped / started
 *   deleting   → (the final snapshot taken) nodes, disks, addresses and automated snapshots gone
 *
 * Health: every HEALTH_MS the primaries of `available` instances are asked for a connection; one
 * that fails HEALTH_FAILURES times in a row fails over to a ready standby (Multi-AZ) or is
 * restarted (Single-AZ), as RDS recovers from a failed host.
 */
import { Reconciler } from '../../../runtime/reconciler.js';
import type { SnapshotStore } from '../../../runtime/snapshots/store.js';
import type { Scope } from '../../../state/scope.js';
import type { TagStore } from '../../../state/tags.js';
import { releaseNode } from '../instances/nodes.js';
import { beginAutomatedBackup } from '../snapshots/snapshots.js';
import type { DbInstanceRecord, DbNode, RdsStore } from '../store.js';
import type { EventName } from '../events.js';
import { DbBackups } from './backups.js';
import { engineSetup, READY_MARK, restoredSetup } from './engine-setup.js';
import { DB_IMAGE_NAME, DbNodes, type DbNodesDeps } from './nodes.js';
import { DbRows } from './rows.js';
import { pick, Standbys } from './standby.js';

export { RDS_PORT_OWNER } from './nodes.js';

const POLL_MS = 500;
const HEALTH_MS = 1000;
const HEALTH_FAILURES = 3;
/** A first boot that never prints its mark (the setup failed) is given up after this long. */
const SETUP_DEADLINE_MS = 5 * 60_000;

export interface DbSupervisorDeps extends DbNodesDeps {
  store: RdsStore;
  tags: TagStore;
  /** RDS's own snapshot store (`<data-dir>/db-snapshots`); absent where databases do not run. */
  snapshots?: SnapshotStore;
  now: () => Date;
}

type Row = { scope: Scope; row: DbInstanceRecord };
type Step = (() => Promise<void>) | undefined;

export class DbSupervisor {
  private readonly loop: Reconciler<Row>;
  private readonly nodes: DbNodes;
  private readonly rows: DbRows;
  private readonly standbys: Standbys;
  private readonly backups: DbBackups | undefined;
  private poll: NodeJS.Timeout | undefined;
  private health: NodeJS.Timeout | undefined;
  private readonly launchedAt = new Map<string, number>();
  private readonly failures = new Map<string, number>();
  /** When each node's engine was last asked whether it answers (while it starts or reboots). */
  private readonly probedAt = new Map<string, number>();

  constructor(private readonly deps: DbSupervisorDeps) {
    this.nodes = new DbNodes(deps);
    this.rows = new DbRows(deps.store, deps.now, () => this.wake());
    this.standbys = new Standbys({
      ...deps,
      nodes: this.nodes,
      rows: this.rows,
      setupTimedOut: (node) => this.setupTimedOut(node),
      launched: (node) => this.launchedAt.set(node.NodeId, Date.now()),
    });
    this.backups = deps.volumes && deps.snapshots ? new DbBackups({ ...deps, volumes: deps.volumes, snapshots: deps.snapshots }) : undefined;
    this.loop = new Reconciler<Row>({
      name: 'rds',
      desired: () => deps.store.instances.everywhere(),
      key: (r) => r.row.DbiResourceId,
      plan: (r) => this.plan(r.scope, r.row),
      afterPass: async (rows, busy) => {
        this.schedulePoll(rows);
        await this.nodes.syncVpcs(rows);
        if (busy.size === 0) {
          await this.nodes.prune(rows.map((x) => x.row));
          this.backups?.sweep({ snapshots: deps.store.snapshots.everywhere().map((x) => x.row), instances: rows.map((x) => x.row) });
        }
      },
      recover: async () => {
        await deps.driver.adopt?.();
        const abandoned = deps.snapshots?.recover().abandoned ?? [];
        if (abandoned.length) deps.log(`rds: ${abandoned.length} DB snapshot(s) cut short by a crash will be taken again`);
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
        if (r.InstanceCreateTime) return this.nextChange(scope, r);
        // Booting: nothing to do until its mark is on the console or its setup has run too long
        // (the poll looks again meanwhile).
        if (!this.nodes.printed(r, READY_MARK) && !this.setupTimedOut(r)) return undefined;
        return () => this.awaitFirstBoot(scope, r);
      case 'available':
        if (primary !== 'running') return () => this.nodes.boot(scope, r, r);
        if (!this.nodes.isPlugged(r)) return () => this.nodes.replug(scope, r, r);
        return this.standbys.plan(scope, r);
      case 'backing-up': {
        if (primary !== 'running') return () => this.nodes.boot(scope, r, r);
        const next = this.backups?.pending(scope, r)[0];
        if (next) return () => this.backups!.take(scope, r, next);
        return async () => this.rows.settle(scope, r, ['backing-up'], { DBInstanceStatus: 'available' });
      }
      case 'modifying':
        return this.nextChange(scope, r);
      case 'rebooting':
        if (r.FailoverRequested) return () => this.failover(scope, r);
        if (r.RebootRequested) return () => this.reboot(scope, r);
        return this.probe(r, () => this.rows.settle(scope, r, ['rebooting'], { DBInstanceStatus: 'available' }, 'restarted'));
      case 'starting':
        if (primary !== 'running') return () => this.nodes.boot(scope, r, r);
        return this.probe(r, () => this.rows.settle(scope, r, ['starting'], { DBInstanceStatus: 'available' }, 'started'));
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

  /** A new primary: its disk from the image (the engine set up at first boot) or from a DB snapshot. */
  private async launchPrimary(scope: Scope, r: DbInstanceRecord): Promise<void> {
    try {
      if (r.RestoredFrom) {
        if (!this.backups) throw new Error('this host keeps no DB snapshots');
        await this.backups.restore(r, r, await this.deps.imageRootfs(DB_IMAGE_NAME));
      }
      await this.nodes.launch(scope, r, r, r.RestoredFrom ? restoredSetup(r) : engineSetup(r));
      this.launchedAt.set(r.NodeId, Date.now());
    } catch (err) {
      this.deps.log(`database ${r.DBInstanceIdentifier}: could not be created: ${(err as Error).message}`);
      this.rows.settle(scope, r, ['creating'], { DBInstanceStatus: 'failed' }, 'failed', (err as Error).message);
    }
  }

  /** First boot: on once the setup printed its mark (users and database made, or the snapshot's data up). */
  private async awaitFirstBoot(scope: Scope, r: DbInstanceRecord): Promise<void> {
    if (this.nodes.printed(r, READY_MARK)) {
      this.launchedAt.delete(r.NodeId);
      const created = this.deps.now().toISOString();
      this.rows.event(scope, r, r.RestoredFrom ? 'restored' : 'created', r.RestoredFrom?.DBSnapshotIdentifier);
      if (r.Applying) this.rows.settle(scope, r, ['creating'], { InstanceCreateTime: created });
      else this.created(scope, r, created);
    } else if (this.setupTimedOut(r)) {
      this.deps.log(`database ${r.DBInstanceIdentifier}: its engine setup did not finish; console:\n${this.nodes.console(r).slice(-2000)}`);
      this.rows.settle(scope, r, ['creating'], { DBInstanceStatus: 'failed' }, 'failed', 'its engine did not start');
    }
  }

  /** Created (and its standby built, if Multi-AZ): its first automated backup when backups are kept, as RDS takes one. */
  private created(scope: Scope, r: DbInstanceRecord, createTime = r.InstanceCreateTime): void {
    const { store } = this.deps;
    this.rows.update(scope, r, (x) => {
      if (x.DBInstanceStatus !== 'creating') return undefined;
      const next = { ...x, InstanceCreateTime: createTime, DBInstanceStatus: 'available' as const, Applying: undefined };
      if (next.BackupRetentionPeriod > 0 && this.backups) beginAutomatedBackup(store, scope, next, this.deps.now());
      return next;
    });
  }

  private setupTimedOut(node: DbNode): boolean {
    const since = this.launchedAt.get(node.NodeId);
    if (since === undefined) this.launchedAt.set(node.NodeId, Date.now());
    return since !== undefined && Date.now() - since > SETUP_DEADLINE_MS;
  }

  /**
   * ModifyDBInstance's changes, one per step; `available` when none is left. None while a standby
   * being built catches up (the poll looks again).
   */
  private nextChange(scope: Scope, r: DbInstanceRecord): Step {
    const a = r.Applying ?? {};
    const { MasterUserPassword: password, DBInstanceClass: dbClass, AllocatedStorage: storage } = a;
    if (password !== undefined) {
      return async () => {
        await this.nodes.run(r, ...this.nodes.passwordChange(r, password));
        this.doneApplying(scope, r, 'MasterUserPassword', { MasterUserPassword: password }, 'passwordReset');
      };
    }
    if (dbClass !== undefined) {
      return async () => {
        const next = { ...r, DBInstanceClass: dbClass };
        for (const node of nodesOf(r)) await this.nodes.restart(scope, next, node);
        this.doneApplying(scope, r, 'DBInstanceClass', { DBInstanceClass: dbClass }, 'classChanged');
      };
    }
    if (storage !== undefined) {
      return async () => {
        for (const node of nodesOf(r)) await this.nodes.grow(node, storage);
        this.doneApplying(scope, r, 'AllocatedStorage', { AllocatedStorage: storage }, 'storageChanged');
      };
    }
    if (a.MultiAZ === true) {
      if (!r.Standby) return async () => this.standbys.allocate(scope, r);
      if (!r.Standby.Ready) return this.standbys.plan(scope, r);
      return async () => this.doneApplying(scope, r, 'MultiAZ', { MultiAZ: true }, r.DBInstanceStatus === 'modifying' ? 'multiAzOn' : undefined);
    }
    if (a.MultiAZ === false) {
      return async () => {
        await this.standbys.remove(scope, r);
        this.doneApplying(scope, r, 'MultiAZ', { MultiAZ: false }, 'multiAzOff');
      };
    }
    if (r.DBInstanceStatus === 'creating') return async () => this.created(scope, r);
    return async () => this.rows.settle(scope, r, ['modifying'], { DBInstanceStatus: 'available', Applying: undefined });
  }

  private doneApplying(scope: Scope, r: DbInstanceRecord, key: keyof NonNullable<DbInstanceRecord['Applying']>, change: Partial<DbInstanceRecord>, event?: EventName): void {
    this.rows.update(
      scope,
      r,
      (x) => {
        const { [key]: _done, ...rest } = x.Applying ?? {};
        return { ...x, ...change, Applying: Object.keys(rest).length ? rest : undefined };
      },
      event,
    );
  }

  /** RebootDBInstance with ForceFailover, or a primary that stopped answering: the standby takes over. */
  private async failover(scope: Scope, r: DbInstanceRecord): Promise<void> {
    if (await this.standbys.failover(scope, r)) return;
    this.deps.log(`database ${r.DBInstanceIdentifier}: no ready standby to fail over to; restarting the primary`);
    this.rows.update(scope, r, (x) => ({ ...x, FailoverRequested: undefined, RebootRequested: true }));
  }

  private async reboot(scope: Scope, r: DbInstanceRecord): Promise<void> {
    await this.nodes.restart(scope, r, r);
    this.rows.update(scope, r, (x) => ({ ...x, RebootRequested: false }));
  }

  /**
   * Asks the primary's engine whether it answers, then `answered` if it does: at most once per
   * POLL_MS (the poll wakes the loop again), not at the loop's pace, since each ask is a process.
   */
  private probe(r: DbInstanceRecord, answered: () => void): Step {
    const last = this.probedAt.get(r.NodeId);
    if (last !== undefined && Date.now() - last < POLL_MS) return undefined;
    return async () => {
      this.probedAt.set(r.NodeId, Date.now());
      if (!(await this.nodes.answers(r, r))) return;
      this.probedAt.delete(r.NodeId);
      answered();
    };
  }

  /** Stopping: StopDBInstance's snapshot first, then both nodes. */
  private async stop(scope: Scope, r: DbInstanceRecord): Promise<void> {
    const snapshot = this.backups?.pending(scope, r)[0];
    if (snapshot) return this.backups!.take(scope, r, snapshot);
    for (const node of [r.Standby, r]) if (node) await this.nodes.stop(node);
    this.rows.settle(scope, r, ['stopping'], { DBInstanceStatus: 'stopped' }, 'stopped');
  }

  /** Deleting: the final snapshot first, then the nodes, their disks and addresses, and the automated snapshots. */
  private async remove(scope: Scope, r: DbInstanceRecord): Promise<void> {
    const final = this.backups?.pending(scope, r).find((s) => s.SnapshotType === 'manual');
    if (final && this.nodes.status(r) !== 'terminated') return this.backups!.take(scope, r, final);
    for (const node of [r.Standby, r]) if (node) await this.nodes.remove(node);
    for (const node of [r.Standby, r]) {
      if (!node) continue;
      this.launchedAt.delete(node.NodeId);
      this.probedAt.delete(node.NodeId);
    }
    const { store, network, tags } = this.deps;
    store.transaction(() => {
      const fresh = store.instances.get(scope, r.DBInstanceIdentifier);
      if (fresh?.DBInstanceStatus !== 'deleting' || fresh.DbiResourceId !== r.DbiResourceId) return;
      for (const node of [r.Standby, r]) if (node) releaseNode(network, scope, node);
      if (r.PublicIpAddress) network.publicIps.release(r.PublicIpAddress);
      tags.removeAll(scope, r.DBInstanceArn);
      for (const s of store.snapshots.list(scope)) {
        if (s.DbiResourceId !== r.DbiResourceId) continue;
        // Automated backups go with their instance; a snapshot it never got to take is failed.
        if (s.SnapshotType === 'automated') {
          store.snapshots.delete(scope, s.DBSnapshotIdentifier);
          tags.removeAll(scope, s.DBSnapshotArn);
        } else if (s.Status === 'creating') {
          store.snapshots.update(scope, s.DBSnapshotIdentifier, { ...s, Status: 'failed' });
        }
      }
      store.instances.delete(scope, r.DBInstanceIdentifier);
      this.rows.event(scope, r, 'deleted');
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
      this.rows.settle(scope, row, ['available'], failover ? { DBInstanceStatus: 'rebooting', FailoverRequested: 'automatic' } : { DBInstanceStatus: 'rebooting', RebootRequested: true }, failover ? undefined : 'recovery');
    }
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
    for (const id of this.deps.snapshots?.list() ?? []) this.deps.snapshots!.delete(id);
    this.launchedAt.clear();
    this.failures.clear();
  }
}

/** The instance's nodes: its primary, and its standby if it has one. */
const nodesOf = (r: DbInstanceRecord): DbNode[] => (r.Standby ? [r, r.Standby] : [r]);


