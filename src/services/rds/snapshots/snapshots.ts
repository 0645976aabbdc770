/**
 * DB snapshots: CreateDBSnapshot, DescribeDBSnapshots, DeleteDBSnapshot, CopyDBSnapshot.
 *
 *   create   the instance `available` → the snapshot `creating`, the instance `backing-up` → the
 *            supervisor copies the primary's disk (../dataplane/backups.ts) → `available`
 *   copy     a second row naming the same disk snapshot (chunks are content-addressed: a copy
 *            costs nothing), `available` at once
 *   delete   manual snapshots only; the row goes, the disk snapshot when no row names it
 *
 * Final snapshots (DeleteDBInstance) and StopDBInstance's snapshot are rows made the same way
 * (newSnapshot), taken by the supervisor before the nodes stop.
 */
import { randomBytes } from 'node:crypto';
import type { RdsOperations } from '../../../models/generated/rds.js';
import { paginate } from '../../../state/pagination.js';
import type { Scope } from '../../../state/scope.js';
import type { TagStore } from '../../../state/tags.js';
import { scopeOf, type OpHandler, type RequestContext } from '../../service.js';
import { RdsErrors } from '../errors.js';
import { recordEvent } from '../events.js';
import { checkIdentifier } from '../instances/create.js';
import type { DbInstanceRecord, DbSnapshotRecord, RdsStore } from '../store.js';
import { snapshotView } from './view.js';

type Op<K extends keyof RdsOperations> = OpHandler<RdsOperations, K>;

/** RDS's quota of manual snapshots per region. */
const MAX_MANUAL = 100;

export const snapshotArn = (scope: Scope, id: string) => `arn:aws:rds:${scope.region}:${scope.account}:snapshot:${id}`;

/** A snapshot of `r` being taken (`creating`); the supervisor fills in its disk and time. */
export function newSnapshot(scope: Scope, r: DbInstanceRecord, id: string, type: DbSnapshotRecord['SnapshotType']): DbSnapshotRecord {
  return {
    DBSnapshotIdentifier: id,
    DBSnapshotArn: snapshotArn(scope, id),
    DBInstanceIdentifier: r.DBInstanceIdentifier,
    DbiResourceId: r.DbiResourceId,
    SnapshotType: type,
    Status: 'creating',
    PercentProgress: 0,
    Engine: r.Engine,
    EngineVersion: r.EngineVersion,
    DBInstanceClass: r.DBInstanceClass,
    AllocatedStorage: r.AllocatedStorage,
    StorageType: r.StorageType,
    Iops: r.Iops,
    Port: r.Port,
    AvailabilityZone: r.AvailabilityZone,
    VpcId: r.VpcId,
    InstanceCreateTime: r.InstanceCreateTime,
    MasterUsername: r.MasterUsername,
    MasterUserPassword: r.MasterUserPassword,
    DBName: r.DBName,
    DBParameterGroupName: r.DBParameterGroupName,
    DiskSnapshotId: `rdss-${randomBytes(9).toString('hex')}`,
  };
}

/** `rds:<instance>-YYYY-MM-DD-HH-MM`, as RDS names automated snapshots. */
export function automatedSnapshotId(r: DbInstanceRecord, at: Date): string {
  const t = at.toISOString();
  return `rds:${r.DBInstanceIdentifier}-${t.slice(0, 10)}-${t.slice(11, 13)}-${t.slice(14, 16)}`;
}

/** An automated backup of `r` begins (call in a transaction): its snapshot row, and the events RDS records. */
export function beginAutomatedBackup(store: RdsStore, scope: Scope, r: DbInstanceRecord, now: Date): void {
  const s = newSnapshot(scope, r, automatedSnapshotId(r, now), 'automated');
  store.snapshots.insert(scope, s.DBSnapshotIdentifier, s);
  recordEvent(store, scope, 'backingUp', { id: r.DBInstanceIdentifier, arn: r.DBInstanceArn }, now);
  recordEvent(store, scope, 'automatedCreating', { id: s.DBSnapshotIdentifier, arn: s.DBSnapshotArn }, now);
}

/**
 * Checks a new manual snapshot's name and the region's quota, then inserts its row with the
 * instance's tags when it copies them (call in a transaction).
 */
export function insertManualSnapshot(store: RdsStore, tags: TagStore, scope: Scope, r: DbInstanceRecord, id: string, given: { Key: string; Value: string }[] | undefined, now: Date): DbSnapshotRecord {
  if (store.snapshots.get(scope, id)) throw RdsErrors.snapshotExists(id);
  if (store.snapshots.list(scope).filter((s) => s.SnapshotType === 'manual').length >= MAX_MANUAL) throw RdsErrors.snapshotQuota();
  const s = newSnapshot(scope, r, id, 'manual');
  store.snapshots.insert(scope, id, s);
  const tagList = given?.length ? given : r.CopyTagsToSnapshot ? tags.get(scope, r.DBInstanceArn) : [];
  tags.put(scope, s.DBSnapshotArn, 'snapshot', tagList);
  recordEvent(store, scope, 'snapshotCreating', { id, arn: s.DBSnapshotArn }, now);
  return s;
}

const tagsOf = (t: { Key?: string; Value?: string }[] | undefined) => t?.map((x) => ({ Key: x.Key ?? '', Value: x.Value ?? '' }));

/** A snapshot named by identifier or by ARN (of the caller's account and region). */
function snapshotName(scope: Scope, idOrArn: string | undefined): string {
  const given = idOrArn ?? '';
  const m = /^arn:aws:rds:([a-z0-9-]+):(\d{12}):snapshot:(.+)$/.exec(given);
  if (!m) return given.toLowerCase();
  if (m[1] !== scope.region || m[2] !== scope.account) throw RdsErrors.snapshotNotFound(given);
  return m[3]!.toLowerCase();
}

export function findSnapshot(store: RdsStore, scope: Scope, idOrArn: string | undefined): DbSnapshotRecord {
  const s = store.snapshots.get(scope, snapshotName(scope, idOrArn));
  if (!s) throw RdsErrors.snapshotNotFound(idOrArn ?? '');
  return s;
}

export function snapshotHandlers(deps: { store: RdsStore; tags: TagStore; now: () => Date; changed(): void }) {
  const { store, tags, now } = deps;
  const shown = (scope: Scope, s: DbSnapshotRecord) => snapshotView(s, tags.get(scope, s.DBSnapshotArn));
  const find = (scope: Scope, idOrArn: string | undefined) => findSnapshot(store, scope, idOrArn);

  const CreateDBSnapshot: Op<'CreateDBSnapshot'> = (ctx: RequestContext, input) => {
    const scope = scopeOf(ctx);
    const id = checkIdentifier(input.DBSnapshotIdentifier, 'DBSnapshotIdentifier');
    const s = store.transaction(() => {
      const r = store.instances.get(scope, (input.DBInstanceIdentifier ?? '').toLowerCase());
      if (!r) throw RdsErrors.instanceNotFound(input.DBInstanceIdentifier);
      if (r.DBInstanceStatus !== 'available') throw RdsErrors.instanceState(r.DBInstanceIdentifier, r.DBInstanceStatus, 'available');
      const made = insertManualSnapshot(store, tags, scope, r, id, tagsOf(input.Tags), now());
      store.instances.update(scope, r.DBInstanceIdentifier, { ...r, DBInstanceStatus: 'backing-up' });
      return made;
    });
    deps.changed();
    return { DBSnapshot: shown(scope, s) };
  };

  const DescribeDBSnapshots: Op<'DescribeDBSnapshots'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    let rows = input.DBSnapshotIdentifier ? [find(scope, input.DBSnapshotIdentifier)] : store.snapshots.list(scope);
    if (input.DBInstanceIdentifier) rows = rows.filter((s) => s.DBInstanceIdentifier === input.DBInstanceIdentifier!.toLowerCase());
    if (input.DbiResourceId) rows = rows.filter((s) => s.DbiResourceId === input.DbiResourceId);
    if (input.SnapshotType) {
      if (!['manual', 'automated', 'shared', 'public', 'awsbackup'].includes(input.SnapshotType)) throw RdsErrors.invalidParameter(`Invalid snapshot type: ${input.SnapshotType}`);
      rows = rows.filter((s) => s.SnapshotType === input.SnapshotType);
    }
    for (const f of input.Filters ?? []) {
      const values = f.Values ?? [];
      const pick: Record<string, (s: DbSnapshotRecord) => string[]> = {
        'db-instance-id': (s) => [s.DBInstanceIdentifier],
        'db-snapshot-id': (s) => [s.DBSnapshotIdentifier, s.DBSnapshotArn],
        'dbi-resource-id': (s) => [s.DbiResourceId],
        'snapshot-type': (s) => [s.SnapshotType],
        engine: (s) => [s.Engine],
      };
      const by = pick[f.Name ?? ''];
      if (!by) throw RdsErrors.invalidParameter(`Unrecognized filter name: ${f.Name}`);
      rows = rows.filter((s) => by(s).some((v) => values.includes(v)));
    }
    const page = paginate(rows, (s) => s.DBSnapshotIdentifier, { maxResults: input.MaxRecords, nextToken: input.Marker, min: 20, max: 100, defaultSize: 100, param: 'MaxRecords' });
    return { DBSnapshots: page.items.map((s) => shown(scope, s)), Marker: page.nextToken };
  };

  const DeleteDBSnapshot: Op<'DeleteDBSnapshot'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const s = store.transaction(() => {
      const found = find(scope, input.DBSnapshotIdentifier);
      if (found.SnapshotType === 'automated') throw RdsErrors.snapshotState('Only manual snapshots may be deleted.');
      if (found.Status === 'creating') throw RdsErrors.snapshotState(`Cannot delete the snapshot ${found.DBSnapshotIdentifier}: it is being created.`);
      const view = shown(scope, { ...found, Status: 'deleted' as DbSnapshotRecord['Status'] });
      store.snapshots.delete(scope, found.DBSnapshotIdentifier);
      tags.removeAll(scope, found.DBSnapshotArn);
      recordEvent(store, scope, 'snapshotDeleted', { id: found.DBSnapshotIdentifier, arn: found.DBSnapshotArn }, now());
      return view;
    });
    deps.changed();
    return { DBSnapshot: s };
  };

  const CopyDBSnapshot: Op<'CopyDBSnapshot'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    if (input.KmsKeyId) throw RdsErrors.invalidCombination('kumo does not encrypt DB snapshots.');
    if (input.SourceRegion || input.PreSignedUrl) throw RdsErrors.invalidCombination('kumo copies DB snapshots within a region only.');
    const id = checkIdentifier(input.TargetDBSnapshotIdentifier, 'TargetDBSnapshotIdentifier');
    const copy = store.transaction(() => {
      const source = find(scope, input.SourceDBSnapshotIdentifier);
      if (source.Status !== 'available') throw RdsErrors.snapshotState(`Cannot copy the snapshot ${source.DBSnapshotIdentifier}: it is ${source.Status}.`);
      if (store.snapshots.get(scope, id)) throw RdsErrors.snapshotExists(id);
      if (store.snapshots.list(scope).filter((s) => s.SnapshotType === 'manual').length >= MAX_MANUAL) throw RdsErrors.snapshotQuota();
      const at = now().toISOString();
      const made: DbSnapshotRecord = {
        ...source,
        DBSnapshotIdentifier: id,
        DBSnapshotArn: snapshotArn(scope, id),
        SnapshotType: 'manual',
        SourceDBSnapshotIdentifier: source.DBSnapshotArn,
        SnapshotCreateTime: at,
        OriginalSnapshotCreateTime: source.OriginalSnapshotCreateTime ?? source.SnapshotCreateTime,
      };
      store.snapshots.insert(scope, id, made);
      const given = tagsOf(input.Tags);
      tags.put(scope, made.DBSnapshotArn, 'snapshot', given?.length ? given : input.CopyTags ? tags.get(scope, source.DBSnapshotArn) : []);
      recordEvent(store, scope, 'snapshotCreated', { id, arn: made.DBSnapshotArn }, now());
      return made;
    });
    return { DBSnapshot: shown(scope, copy) };
  };

  return { CreateDBSnapshot, DescribeDBSnapshots, DeleteDBSnapshot, CopyDBSnapshot };
}
