/**
 * Instances' root volumes on the host (runtime/volumes.ts): made at first boot with the size the
 * launch asked for (empty, or restored from the snapshot of an image of one's own, grown to that
 * size), their filesystem mounted while the instance runs (the overlay root goes on it),
 * unmounted when it stops, deleted at termination unless DeleteOnTermination is false. The
 * process runtime has no volumes: every call is then a no-op.
 */
import type { SnapshotStore } from '../../../runtime/snapshots/store.js';
import { loopsOf } from '../../../runtime/loop.js';
import { GiB, type VolumeStore } from '../../../runtime/volumes.js';
import type { InstanceRecord } from '../instances/store.js';

export class RootVolumes {
  constructor(
    private readonly volumes: VolumeStore | undefined,
    private readonly snapshots?: SnapshotStore,
  ) {}

  /** Made if new, mounted: the directory (upper/, work/) the driver puts the instance's root on. */
  async ready(i: InstanceRecord, imageRootfs: string): Promise<string | undefined> {
    if (!this.volumes) return undefined;
    if (!this.volumes.exists(i.RootVolumeId)) {
      const info = { volumeId: i.RootVolumeId, sizeBytes: i.RootVolumeSize * GiB, format: 'root' as const, imageRootfs };
      const from = i.RootRestoreFrom;
      if (from && this.snapshots) await this.volumes.createFrom(info, (disk) => this.snapshots!.restore(from, disk, { sizeBytes: info.sizeBytes }));
      else if (from) throw new Error(`no snapshot store to restore ${from} from`);
      else await this.volumes.create(info);
    }
    return this.volumes.mountRoot(i.RootVolumeId);
  }

  /** The host device (loop) the mounted root volume is, for listing it inside the instance. */
  async device(i: InstanceRecord): Promise<string | undefined> {
    if (!this.volumes?.exists(i.RootVolumeId)) return undefined;
    return (await loopsOf(this.volumes.diskOf(i.RootVolumeId)))[0];
  }

  /** The instance stopped: its volume is let go (nothing of it stays mounted on the host). */
  async release(i: InstanceRecord): Promise<void> {
    await this.volumes?.unmountRoot(i.RootVolumeId);
  }

  /** The instance is gone: its volume goes with it, unless it was launched to outlive it. */
  async discard(i: InstanceRecord): Promise<void> {
    if (i.RootDeleteOnTermination) await this.volumes?.remove(i.RootVolumeId);
    else await this.release(i);
  }

  /** Everything was wiped. */
  async removeAll(): Promise<void> {
    for (const id of this.volumes?.list() ?? []) await this.volumes!.remove(id);
  }
}
