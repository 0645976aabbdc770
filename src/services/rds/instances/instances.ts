/**
 * DescribeDBInstances, DeleteDBInstance, RebootDBInstance, StopDBInstance, StartDBInstance: each
 * checks the state RDS requires and records the new desired state; the database supervisor
 * (../dataplane/supervisor.ts) makes the node follow and settles the status.
 *
 *   delete   available/stopped/failed → `deleting` → (a final snapshot taken) → nodes and disks
 *            removed → the row goes, with its automated snapshots
 *   reboot   available → `rebooting` → the node restarted → `available`
 *   stop     available → `stopping` → (a snapshot taken, if asked) → `stopped`;  start  stopped → `starting` → `available`
 */
import type { RdsOperations } from '../../../models/generated/rds.js';
import { paginate } from '../../../state/pagination.js';
import type { TagStore } from '../../../state/tags.js';
import { scopeOf, type OpHandler, type RequestContext } from '../../service.js';
import { RdsErrors } from '../errors.js';
import type { DbInstanceRecord, DbInstanceStatus, RdsStore } from '../store.js';
import { checkIdentifier } from './create.js';
import { insertManualSnapshot } from '../snapshots/snapshots.js';
import { toView } from './view.js';

type Op<K extends keyof RdsOperations> = OpHandler<RdsOperations, K>;

export function instanceHandlers(deps: { store: RdsStore; tags: TagStore; now: () => Date; changed(): void }) {
  const { store, tags } = deps;
  const shown = (ctx: RequestContext, r: DbInstanceRecord) => toView(r, tags.get(scopeOf(ctx), r.DBInstanceArn));

  const find = (ctx: RequestContext, id: string): DbInstanceRecord => {
    const r = store.instances.get(scopeOf(ctx), (id ?? '').toLowerCase());
    if (!r) throw RdsErrors.instanceNotFound(id);
    return r;
  };

  /** Moves one instance from `from` to `to` (re-read in the transaction), or says why it cannot. */
  const transition = (ctx: RequestContext, id: string, from: DbInstanceStatus[], to: (r: DbInstanceRecord) => DbInstanceRecord, what: string, snapshot?: { id: string; tags?: { Key: string; Value: string }[] }) => {
    const scope = scopeOf(ctx);
    const r = store.transaction(() => {
      const fresh = find(ctx, id);
      if (!from.includes(fresh.DBInstanceStatus)) throw RdsErrors.instanceState(fresh.DBInstanceIdentifier, fresh.DBInstanceStatus, what);
      // Taken by the supervisor before the nodes stop (DeleteDBInstance's final one, StopDBInstance's).
      if (snapshot) {
        if (!fresh.InstanceCreateTime) throw RdsErrors.instanceState(fresh.DBInstanceIdentifier, fresh.DBInstanceStatus, 'a state with data to snapshot');
        insertManualSnapshot(store, tags, scope, fresh, snapshot.id, snapshot.tags, deps.now());
      }
      const next = to(fresh);
      store.instances.update(scope, fresh.DBInstanceIdentifier, next);
      return next;
    });
    deps.changed();
    return { DBInstance: shown(ctx, r) };
  };

  const DescribeDBInstances: Op<'DescribeDBInstances'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    let rows = store.instances.list(scope);
    if (input.DBInstanceIdentifier) rows = [find(ctx, input.DBInstanceIdentifier)];
    for (const f of input.Filters ?? []) {
      const values = f.Values ?? [];
      const pick: Record<string, (r: DbInstanceRecord) => string[]> = {
        'db-instance-id': (r) => [r.DBInstanceIdentifier, r.DBInstanceArn],
        'dbi-resource-id': (r) => [r.DbiResourceId],
        engine: (r) => [r.Engine],
        'domain': () => [],
      };
      const by = pick[f.Name ?? ''];
      if (!by) throw RdsErrors.invalidParameter(`Unrecognized filter name: ${f.Name}`);
      rows = rows.filter((r) => by(r).some((v) => values.includes(v)));
    }
    const page = paginate(rows, (r) => r.DBInstanceIdentifier, { maxResults: input.MaxRecords, nextToken: input.Marker, min: 20, max: 100, defaultSize: 100, param: 'MaxRecords' });
    return { DBInstances: page.items.map((r) => shown(ctx, r)), Marker: page.nextToken };
  };

  const DeleteDBInstance: Op<'DeleteDBInstance'> = (ctx, input) => {
    checkIdentifier(input.DBInstanceIdentifier);
    const r = find(ctx, input.DBInstanceIdentifier);
    if (r.DeletionProtection) throw RdsErrors.invalidParameter('Cannot delete protected DB Instance, please disable deletion protection and try again.');
    let final: { id: string } | undefined;
    if (!input.SkipFinalSnapshot) {
      if (!input.FinalDBSnapshotIdentifier) throw RdsErrors.invalidCombination('FinalDBSnapshotIdentifier is required unless SkipFinalSnapshot is specified.');
      final = { id: checkIdentifier(input.FinalDBSnapshotIdentifier, 'FinalDBSnapshotIdentifier') };
    } else if (input.FinalDBSnapshotIdentifier) {
      throw RdsErrors.invalidCombination('FinalDBSnapshotIdentifier can not be specified when deleting a DB instance with SkipFinalSnapshot enabled.');
    }
    const from: DbInstanceStatus[] = final ? ['available', 'stopped'] : ['available', 'stopped', 'failed', 'creating', 'backing-up'];
    return transition(ctx, r.DBInstanceIdentifier, from, (x) => ({ ...x, DBInstanceStatus: 'deleting' }), 'available or stopped', final);
  };

  const RebootDBInstance: Op<'RebootDBInstance'> = (ctx, input) => {
    if (input.ForceFailover) {
      const r = find(ctx, input.DBInstanceIdentifier);
      if (!r.MultiAZ) throw RdsErrors.invalidCombination(`Cannot failover DB instance ${r.DBInstanceIdentifier}: it is not Multi-AZ.`);
      if (!r.Standby?.Ready) throw RdsErrors.instanceState(r.DBInstanceIdentifier, 'its standby is not ready', 'a state to fail over');
      return transition(ctx, r.DBInstanceIdentifier, ['available'], (x) => ({ ...x, DBInstanceStatus: 'rebooting', FailoverRequested: 'forced' }), 'available');
    }
    return transition(ctx, input.DBInstanceIdentifier, ['available'], (x) => ({ ...x, DBInstanceStatus: 'rebooting', RebootRequested: true }), 'available');
  };

  const StopDBInstance: Op<'StopDBInstance'> = (ctx, input) => {
    const snapshot = input.DBSnapshotIdentifier ? { id: checkIdentifier(input.DBSnapshotIdentifier, 'DBSnapshotIdentifier') } : undefined;
    return transition(ctx, input.DBInstanceIdentifier, ['available'], (x) => ({ ...x, DBInstanceStatus: 'stopping' }), 'available', snapshot);
  };

  const StartDBInstance: Op<'StartDBInstance'> = (ctx, input) =>
    transition(ctx, input.DBInstanceIdentifier, ['stopped'], (x) => ({ ...x, DBInstanceStatus: 'starting' }), 'stopped');

  return { DescribeDBInstances, DeleteDBInstance, RebootDBInstance, StopDBInstance, StartDBInstance };
}
