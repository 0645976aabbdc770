/**
 * The host side of EBS snapshots, for the volume supervisor (./volumes.ts): take one from a
 * volume's disk, copy one, and remove what no row names any more.
 *
 *   take   SnapshotStore.create over the volume's disk; its filesystem, where kumo has it mounted
 *          (a root volume, or a data volume kumo mounted for its instance), is frozen meanwhile
 *          (VolumeStore.frozen), so the copy is one point in time with what was written in it. Progress goes to the
 *          row as whole percents; the row ends `completed` (100%) or `error`.
 *   sweep  snapshots on the host that no row names (deleted ones) go, unless a volume being
 *          created or a copy under way still reads them
 *
 * A data volume the instance uses as a raw device (or mounts some way kumo does not) is read as
 * it is: like a snapshot of a volume that is being written to on AWS without pausing writes, it
 * holds what was on the disk as each part was read.
 */
import type { SnapshotStore } from '../../../runtime/snapshots/store.js';
import type { VolumeStore } from '../../../runtime/volumes.js';
import type { Scope } from '../../../state/scope.js';
import type { EbsStore, SnapshotRecord, VolumeRecord } from '../ebs/store.js';

export interface SnapshotStepDeps {
  ebs: EbsStore;
  volumes: VolumeStore;
  snapshots: SnapshotStore;
  log: (line: string) => void;
  /** A snapshot reached `completed` or `error`. */
  settled: (scope: Scope, s: SnapshotRecord) => void;
}

export class SnapshotSteps {
  constructor(private readonly deps: SnapshotStepDeps) {}

  /** Applies `change` to the snapshot row if it is still pending; false if it is gone or settled. */
  update(scope: Scope, id: string, change: (s: SnapshotRecord) => SnapshotRecord): SnapshotRecord | undefined {
    const { ebs } = this.deps;
    return ebs.transaction(() => {
      const fresh = ebs.snapshot(scope.region, id);
      if (!fresh || fresh.scope.account !== scope.account || fresh.row.State !== 'pending') return undefined;
      const next = change(fresh.row);
      ebs.putSnapshot(scope, next);
      return next;
    });
  }

  fail(scope: Scope, s: SnapshotRecord, message: string): void {
    this.deps.log(`snapshot ${s.SnapshotId}: ${message}`);
    const done = this.update(scope, s.SnapshotId, (r) => ({ ...r, State: 'error', StateMessage: message }));
    if (done) this.deps.settled(scope, done);
  }

  private complete(scope: Scope, id: string, storedBytes: number): void {
    const done = this.update(scope, id, (r) => ({ ...r, State: 'completed', Progress: '100%', StoredBytes: storedBytes }));
    if (done) this.deps.settled(scope, done);
    // Deleted while it was being taken: nothing names it now.
    else this.deps.snapshots.delete(id);
  }

  async take(scope: Scope, s: SnapshotRecord, v: VolumeRecord): Promise<void> {
    const { volumes, snapshots } = this.deps;
    let shown = 0;
    const onProgress = (fraction: number) => {
      const pct = Math.floor(fraction * 100);
      // The last percent is `completed`'s to show.
      if (pct <= shown || pct >= 100) return;
      shown = pct;
      this.update(scope, s.SnapshotId, (r) => ({ ...r, Progress: `${pct}%` }));
    };
    const read = () => snapshots.create(s.SnapshotId, volumes.diskOf(v.VolumeId), { onProgress });
    try {
      const info = await volumes.frozen(v.VolumeId, read);
      this.complete(scope, s.SnapshotId, info.storedBytes);
    } catch (err) {
      this.fail(scope, s, `could not read volume ${v.VolumeId}: ${(err as Error).message}`);
    }
  }

  async copy(scope: Scope, s: SnapshotRecord): Promise<void> {
    const from = s.CopyOf!.SnapshotId;
    if (!this.deps.snapshots.info(from)) return this.fail(scope, s, `the source snapshot ${from} is gone`);
    try {
      const info = this.deps.snapshots.copy(from, s.SnapshotId);
      this.complete(scope, s.SnapshotId, info.storedBytes);
    } catch (err) {
      this.fail(scope, s, (err as Error).message);
    }
  }

  /**
   * At start, after SnapshotStore.recover(): a pending row whose snapshot committed before the
   * crash is completed; any other was cut short (what it had written is gone) and is `error`.
   */
  recover(rows: { scope: Scope; row: SnapshotRecord }[]): void {
    for (const { scope, row } of rows) {
      if (row.State !== 'pending') continue;
      const info = this.deps.snapshots.info(row.SnapshotId);
      if (info) this.complete(scope, row.SnapshotId, info.storedBytes);
      else this.fail(scope, row, 'kumo stopped before the snapshot was complete; no data was kept. Take the snapshot again.');
    }
  }

  /** Removes host snapshots no row names (`busy`: ids with a step under way). */
  sweep(snapshotRows: SnapshotRecord[], volumeRows: VolumeRecord[], busy: ReadonlySet<string>): void {
    const keep = new Set<string>(snapshotRows.map((s) => s.SnapshotId));
    for (const s of snapshotRows) if (s.State === 'pending' && s.CopyOf) keep.add(s.CopyOf.SnapshotId);
    for (const v of volumeRows) if (v.State === 'creating' && v.SnapshotId) keep.add(v.SnapshotId);
    for (const id of this.deps.snapshots.list()) {
      if (keep.has(id) || busy.has(id)) continue;
      try {
        this.deps.snapshots.delete(id);
      } catch (err) {
        this.deps.log(`snapshot ${id}: could not remove it: ${(err as Error).message}`);
      }
    }
  }
}
