/**
 * How the database supervisor changes DB instance rows: re-read in a transaction, changed only
 * if still in the status the step expected, with the event RDS would record, and the loop woken.
 *
 * One rule lives here: an instance with snapshots still to take is `backing-up`, never
 * `available` (a manual snapshot, the first automated backup after creation, a restore).
 */
import type { Scope } from '../../../state/scope.js';
import { recordEvent, type EventName } from '../events.js';
import type { DbInstanceRecord, DbInstanceStatus, RdsStore } from '../store.js';

export class DbRows {
  constructor(
    private readonly store: RdsStore,
    private readonly now: () => Date,
    private readonly wake: () => void,
  ) {}

  /**
   * Applies `change` to the row as it is now (if it still exists and `change` returns a row),
   * with `event` recorded in the same transaction.
   */
  update(scope: Scope, r: DbInstanceRecord, change: (fresh: DbInstanceRecord) => DbInstanceRecord | undefined, event?: EventName, detail?: string): void {
    const { store } = this;
    store.transaction(() => {
      const fresh = store.instances.get(scope, r.DBInstanceIdentifier);
      if (!fresh || fresh.DbiResourceId !== r.DbiResourceId) return;
      const next = change(fresh);
      if (!next) return;
      store.instances.update(scope, r.DBInstanceIdentifier, this.settled(scope, next));
      if (event) this.event(scope, r, event, detail);
    });
    this.wake();
  }

  /** Applies `change` if the row is still in one of `from`. */
  settle(scope: Scope, r: DbInstanceRecord, from: DbInstanceStatus[], change: Partial<DbInstanceRecord>, event?: EventName, detail?: string): void {
    this.update(scope, r, (fresh) => (from.includes(fresh.DBInstanceStatus) ? { ...fresh, ...change } : undefined), event, detail);
  }

  event(scope: Scope, r: DbInstanceRecord, name: EventName, detail?: string): void {
    recordEvent(this.store, scope, name, { id: r.DBInstanceIdentifier, arn: r.DBInstanceArn }, this.now(), detail);
  }

  /** `available` with snapshots still to take is `backing-up`. */
  private settled(scope: Scope, r: DbInstanceRecord): DbInstanceRecord {
    if (r.DBInstanceStatus !== 'available') return r;
    const pending = this.store.snapshots.list(scope).some((s) => s.DbiResourceId === r.DbiResourceId && s.Status === 'creating');
    return pending ? { ...r, DBInstanceStatus: 'backing-up' } : r;
  }
}
