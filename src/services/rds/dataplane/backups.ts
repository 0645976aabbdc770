/**
 * DB snapshots on the host, for the database supervisor: the primary's disk copied into RDS's
 * own snapshot store (`<data-dir>/db-snapshots`, incremental and content-addressed like EBS's),
 * and a new node's disk made from one.
 *
 *   take     the primary's disk, frozen (fsfreeze) while it is read: one point in time, as
 *            consistent as after a power cut, which both engines recover from at their next
 *            start. Writes wait meanwhile, as RDS suspends I/O for a Single-AZ snapshot.
 *   restore  a new node's disk from a snapshot (grown to the instance's storage)
 *   sweep    disk snapshots no row names any more go (a restore under way reading one keeps it:
 *            the snapshot store leaves pinned chunks alone)
 *
 * A snapshot cut short by a crash of kumo leaves nothing (the store commits by rename); its row,
 * still `creating`, is taken again by the supervisor.
 */
import type { SnapshotStore } from '../../../runtime/snapshots/store.js';
import { GiB, type VolumeStore } from '../../../runtime/volumes.js';
import type { Scope } from '../../../state/scope.js';
import { recordEvent, type EventName } from '../events.js';
import type { DbInstanceRecord, DbNode, DbSnapshotRecord, RdsStore } from '../store.js';
import { volumeIdOf } from './nodes.js';

export interface BackupDeps {
  store: RdsStore;
  volumes: VolumeStore;
  snapshots: SnapshotStore;
  now: () => Date;
  log: (line: string) => void;
}

export class DbBackups {
  constructor(private readonly deps: BackupDeps) {}

  /** Snapshots of `r` still to take. */
  pending(scope: Scope, r: DbInstanceRecord): DbSnapshotRecord[] {
    return this.deps.store.snapshots.list(scope).filter((s) => s.DbiResourceId === r.DbiResourceId && s.Status === 'creating');
  }

  /** Copies the primary's disk into the snapshot `s`, and settles its row. */
  async take(scope: Scope, r: DbInstanceRecord, s: DbSnapshotRecord): Promise<void> {
    const { volumes, snapshots } = this.deps;
    const volumeId = volumeIdOf(r);
    let shown = 0;
    const onProgress = (fraction: number) => {
      const pct = Math.floor(fraction * 100);
      if (pct <= shown || pct >= 100) return;
      shown = pct;
      this.update(scope, s, (x) => ({ ...x, PercentProgress: pct }));
    };
    try {
      if (!snapshots.info(s.DiskSnapshotId)) {
        if (!volumes.exists(volumeId)) throw new Error(`the disk of ${r.DBInstanceIdentifier} is gone`);
        await volumes.frozen(volumeId, () => snapshots.create(s.DiskSnapshotId, volumes.diskOf(volumeId), { onProgress }));
      }
      const at = this.deps.now().toISOString();
      this.update(scope, s, (x) => ({ ...x, Status: 'available', PercentProgress: 100, SnapshotCreateTime: at, OriginalSnapshotCreateTime: at }), s.SnapshotType === 'automated' ? 'automatedCreated' : 'snapshotCreated');
      if (s.SnapshotType === 'automated') recordEvent(this.deps.store, scope, 'backedUp', { id: r.DBInstanceIdentifier, arn: r.DBInstanceArn }, this.deps.now());
    } catch (err) {
      this.deps.log(`DB snapshot ${s.DBSnapshotIdentifier}: ${(err as Error).message}`);
      this.update(scope, s, (x) => ({ ...x, Status: 'failed' }), 'snapshotFailed', (err as Error).message);
    }
  }

  /** A new node's disk, made from the snapshot its instance is restored from. */
  async restore(r: DbInstanceRecord, node: DbNode, imageRootfs: string): Promise<void> {
    const from = r.RestoredFrom!.DiskSnapshotId;
    const info = { volumeId: volumeIdOf(node), sizeBytes: r.AllocatedStorage * GiB, format: 'root' as const, imageRootfs };
    if (this.deps.volumes.exists(info.volumeId)) return;
    await this.deps.volumes.createFrom(info, (disk) => this.deps.snapshots.restore(from, disk, { sizeBytes: info.sizeBytes }));
  }

  /** Disk snapshots that no snapshot row, and no instance being restored, names. */
  sweep(everywhere: { snapshots: DbSnapshotRecord[]; instances: DbInstanceRecord[] }): void {
    const keep = new Set(everywhere.snapshots.map((s) => s.DiskSnapshotId));
    for (const r of everywhere.instances) if (r.RestoredFrom && r.DBInstanceStatus === 'creating') keep.add(r.RestoredFrom.DiskSnapshotId);
    for (const id of this.deps.snapshots.list()) {
      if (keep.has(id)) continue;
      try {
        this.deps.snapshots.delete(id);
      } catch (err) {
        this.deps.log(`DB snapshot disk ${id}: could not remove it: ${(err as Error).message}`);
      }
    }
  }

  private update(scope: Scope, s: DbSnapshotRecord, change: (x: DbSnapshotRecord) => DbSnapshotRecord, event?: EventName, detail?: string): void {
    const { store } = this.deps;
    store.transaction(() => {
      const fresh = store.snapshots.get(scope, s.DBSnapshotIdentifier);
      if (!fresh || fresh.DiskSnapshotId !== s.DiskSnapshotId || fresh.Status !== 'creating') return;
      store.snapshots.update(scope, s.DBSnapshotIdentifier, change(fresh));
      if (event) recordEvent(store, scope, event, { id: s.DBSnapshotIdentifier, arn: s.DBSnapshotArn }, this.deps.now(), detail);
    });
  }
}
