/**
 * RDS events: what happened to DB instances and snapshots, in RDS's own words and categories,
 * kept 14 days as RDS keeps them. The supervisor and the handlers record them; DescribeEvents
 * and DescribeEventCategories read them.
 */
import type { RdsOperations } from '../../models/generated/rds.js';
import { paginate } from '../../state/pagination.js';
import type { Scope } from '../../state/scope.js';
import { scopeOf, type OpHandler } from '../service.js';
import { RdsErrors } from './errors.js';
import type { DbEvent, RdsStore } from './store.js';

type Op<K extends keyof RdsOperations> = OpHandler<RdsOperations, K>;

const KEPT_MS = 14 * 24 * 3600_000;
const DEFAULT_DURATION_MIN = 60;

type SourceType = DbEvent['SourceType'];

/** The events kumo records: RDS's messages and categories (RDS-EVENT ids in the comments). */
export const EVENTS = {
  created: { type: 'db-instance', categories: ['creation'], message: 'DB instance created' }, // 0005
  restored: { type: 'db-instance', categories: ['restoration'], message: 'Restored from snapshot %s' }, // 0043
  backingUp: { type: 'db-instance', categories: ['backup'], message: 'Backing up DB instance' }, // 0001
  backedUp: { type: 'db-instance', categories: ['backup'], message: 'Finished DB Instance backup' }, // 0002
  restarted: { type: 'db-instance', categories: ['availability'], message: 'DB instance restarted' }, // 0006
  shutdown: { type: 'db-instance', categories: ['availability'], message: 'DB instance shutdown' }, // 0004
  stopped: { type: 'db-instance', categories: ['notification'], message: 'DB instance stopped' }, // 0087
  started: { type: 'db-instance', categories: ['notification'], message: 'DB instance started' }, // 0088
  deleted: { type: 'db-instance', categories: ['deletion'], message: 'DB instance deleted' }, // 0003
  failed: { type: 'db-instance', categories: ['failure'], message: 'DB instance failed: %s' }, // 0031
  failoverStarted: { type: 'db-instance', categories: ['failover'], message: 'Multi-AZ instance failover started.' }, // 0013
  failoverDone: { type: 'db-instance', categories: ['failover'], message: 'Multi-AZ instance failover completed' }, // 0049
  recovery: { type: 'db-instance', categories: ['recovery'], message: 'Recovery of the DB instance has started. Recovery time will vary with the amount of data to be recovered.' }, // 0019
  recovered: { type: 'db-instance', categories: ['recovery'], message: 'Recovery of the DB instance is complete.' }, // 0020
  multiAzOn: { type: 'db-instance', categories: ['configuration change'], message: 'Finished applying modification to convert to a Multi-AZ DB instance' }, // 0025
  multiAzOff: { type: 'db-instance', categories: ['configuration change'], message: 'Finished applying modification to convert to a standard (Single-AZ) DB instance' }, // 0028
  classChanged: { type: 'db-instance', categories: ['configuration change'], message: 'Finished applying modification to DB instance class' }, // 0014
  storageChanged: { type: 'db-instance', categories: ['configuration change'], message: 'Finished applying modification to allocated storage' }, // 0017
  passwordReset: { type: 'db-instance', categories: ['configuration change'], message: 'Reset master credentials' }, // 0016
  snapshotCreating: { type: 'db-snapshot', categories: ['creation'], message: 'Creating manual snapshot' }, // 0040
  snapshotCreated: { type: 'db-snapshot', categories: ['creation'], message: 'Manual snapshot created' }, // 0042
  automatedCreating: { type: 'db-snapshot', categories: ['creation'], message: 'Creating automated snapshot' }, // 0090
  automatedCreated: { type: 'db-snapshot', categories: ['creation'], message: 'Automated snapshot created' }, // 0091
  snapshotDeleted: { type: 'db-snapshot', categories: ['deletion'], message: 'Deleted manual snapshot' }, // 0041
  snapshotFailed: { type: 'db-snapshot', categories: ['notification'], message: 'Snapshot failed: %s' }, // 0196
} as const satisfies Record<string, { type: SourceType; categories: readonly string[]; message: string }>;

export type EventName = keyof typeof EVENTS;

/** Writes one event (call inside the transaction that makes the change it reports, where there is one). */
export function recordEvent(store: RdsStore, scope: Scope, name: EventName, source: { id: string; arn: string }, now: Date, detail = ''): void {
  const e = EVENTS[name];
  store.addEvent(scope, {
    SourceIdentifier: source.id,
    SourceType: e.type,
    Message: e.message.replace('%s', detail),
    EventCategories: [...e.categories],
    Date: now.toISOString(),
    SourceArn: source.arn,
  });
}

const SOURCE_TYPES = ['db-instance', 'db-parameter-group', 'db-security-group', 'db-snapshot', 'db-cluster', 'db-cluster-snapshot', 'custom-engine-version', 'db-proxy', 'blue-green-deployment'];

export function eventHandlers(store: RdsStore, now: () => Date) {
  const time = (t: Date | string | undefined, name: string): Date | undefined => {
    if (t === undefined) return undefined;
    const d = new Date(t);
    if (Number.isNaN(d.getTime())) throw RdsErrors.invalidParameter(`Invalid ${name}: ${String(t)}`);
    return d;
  };

  const DescribeEvents: Op<'DescribeEvents'> = (ctx, input) => {
    if (input.Filters?.length) throw RdsErrors.invalidParameter('Filters are not supported for DescribeEvents.');
    if (input.SourceType !== undefined && !SOURCE_TYPES.includes(input.SourceType)) throw RdsErrors.invalidParameter(`Invalid source type: ${input.SourceType}`);
    if (input.SourceIdentifier !== undefined && input.SourceType === undefined) throw RdsErrors.invalidCombination('Cannot specify source identifier without source type.');
    const at = now();
    store.forgetEvents(new Date(at.getTime() - KEPT_MS).toISOString());
    let end = time(input.EndTime, 'EndTime');
    let start = time(input.StartTime, 'StartTime');
    if (input.Duration !== undefined && (!Number.isInteger(input.Duration) || input.Duration < 0)) throw RdsErrors.invalidParameter(`Invalid Duration: ${input.Duration}`);
    const duration = (input.Duration ?? DEFAULT_DURATION_MIN) * 60_000;
    if (!start && !end) start = new Date(at.getTime() - duration);
    else if (!start) start = new Date(end!.getTime() - duration);
    end ??= at;
    const scope = scopeOf(ctx);
    const categories = input.EventCategories?.map((c) => c.toLowerCase());
    const events = store.events(scope, start.toISOString(), end.toISOString()).filter(
      (e) =>
        (input.SourceType === undefined || e.SourceType === input.SourceType) &&
        (input.SourceIdentifier === undefined || e.SourceIdentifier === input.SourceIdentifier.toLowerCase()) &&
        (!categories || e.EventCategories.some((c) => categories.includes(c))),
    );
    const page = paginate(events.map((e, i) => ({ e, key: String(i).padStart(10, '0') })), (x) => x.key, { maxResults: input.MaxRecords, nextToken: input.Marker, min: 20, max: 100, defaultSize: 100, param: 'MaxRecords' });
    return { Events: page.items.map((x) => ({ ...x.e, Date: new Date(x.e.Date) })), Marker: page.nextToken };
  };

  const DescribeEventCategories: Op<'DescribeEventCategories'> = (_ctx, input) => {
    if (input.SourceType !== undefined && !SOURCE_TYPES.includes(input.SourceType)) throw RdsErrors.invalidParameter(`Invalid source type: ${input.SourceType}`);
    const byType = new Map<string, Set<string>>();
    for (const e of Object.values(EVENTS)) {
      const set = byType.get(e.type) ?? new Set<string>();
      for (const c of e.categories) set.add(c);
      byType.set(e.type, set);
    }
    const maps = [...byType].filter(([type]) => input.SourceType === undefined || type === input.SourceType);
    return { EventCategoriesMapList: maps.map(([SourceType, set]) => ({ SourceType, EventCategories: [...set].sort() })) };
  };

  return { DescribeEvents, DescribeEventCategories };
}
