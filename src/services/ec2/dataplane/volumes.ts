/**
 * The EBS supervisor: makes the host match the volume and snapshot rows, on the shared reconcile
 * loop (runtime/reconciler.ts), one step at a time per volume or snapshot:
 *
 *   volume `creating`        → a sparse disk file, empty or the snapshot restored → `available`
 *   volume `deleting`        → (once no pending snapshot reads it) the disk goes → the row goes
 *   modification `modifying` → the disk grows (a root volume's ext4 too) → `optimizing` → `completed`
 *   attachment `attaching`   → the disk as a loop device, made /dev/xvdX in the running instance
 *                              (the driver's exposeDevice); for a stopped instance at its next
 *                              start → `attached`
 *   attachment `detaching`   → the device leaves the instance (hideDevice), the loop device goes
 *                              → no attachment, `available`
 *   snapshot `pending`       → taken or copied (./snapshot-steps.ts) → `completed` or `error`
 *
 * Which containers run comes from the instance supervisor (containerChanged): a started
 * container has none of the volume devices yet, an adopted one (kumo restarted, the instance
 * kept running) still has them, an ended one leaves loop devices to release. A root volume is the
 * instance supervisor's to make, mount and remove; here it is only snapshotted and grown.
 *
 * The process runtime has no disks: volumes are rows that change state at once and hold nothing
 * (the handlers refuse what would need data: attaching, snapshots).
 */
import type { InstanceDriver } from '../../../runtime/instances/driver.js';
import { Reconciler } from '../../../runtime/reconciler.js';
import type { SnapshotStore } from '../../../runtime/snapshots/store.js';
import { GiB, type VolumeStore } from '../../../runtime/volumes.js';
import type { Scope } from '../../../state/scope.js';
import { insideName } from '../ebs/devices.js';
import type { EbsStore, SnapshotRecord, VolumeRecord } from '../ebs/store.js';
import type { InstanceStore } from '../instances/store.js';
import type { Ec2Store } from '../store.js';
import { SnapshotSteps } from './snapshot-steps.js';

export interface VolumeSupervisorDeps {
  store: Ec2Store;
  ebs: EbsStore;
  instances: InstanceStore;
  driver: InstanceDriver;
  volumes?: VolumeStore;
  snapshots?: SnapshotStore;
  log: (line: string) => void;
  now: () => Date;
}

type Row = { scope: Scope; volume: VolumeRecord; snapshot?: undefined } | { scope: Scope; snapshot: SnapshotRecord; volume?: undefined };
type Step = (() => Promise<void>) | undefined;

/** A volume made a device of a running instance by this process (or found so after a restart). */
interface Exposure {
  instanceId: string;
  name: string;
  device: string;
}

export class VolumeSupervisor {
  private readonly loop: Reconciler<Row>;
  private readonly steps?: SnapshotSteps;
  private readonly exposed = new Map<string, Exposure>();
  /** Instances whose containers run: reported started or adopted, and not ended since. */
  private readonly live = new Set<string>();
  /** Attachments a crash may have left half made: their device is cleared before it is made again. */
  private readonly uncertain = new Set<string>();
  private readonly listeners: ((scope: Scope, s: SnapshotRecord) => void)[] = [];
  private started = false;

  constructor(private readonly deps: VolumeSupervisorDeps) {
    const { volumes, snapshots } = deps;
    if (volumes && snapshots) {
      this.steps = new SnapshotSteps({ ebs: deps.ebs, volumes, snapshots, log: deps.log, settled: (scope, s) => this.listeners.forEach((l) => l(scope, s)) });
    }
    this.loop = new Reconciler<Row>({
      name: 'ebs',
      desired: () => [
        ...deps.ebs.allVolumes().map(({ scope, row }) => ({ scope, volume: row })),
        ...deps.ebs.allSnapshots().map(({ scope, row }) => ({ scope, snapshot: row })),
      ],
      key: (r) => r.volume?.VolumeId ?? r.snapshot!.SnapshotId,
      plan: (r) => (r.volume ? this.planVolume(r.scope, r.volume) : this.planSnapshot(r.scope, r.snapshot!)),
      afterPass: async (rows, busy) => {
        this.steps?.sweep(rows.flatMap((r) => (r.snapshot ? [r.snapshot] : [])), rows.flatMap((r) => (r.volume ? [r.volume] : [])), busy);
      },
      recover: () => this.recover(),
      log: deps.log,
    });
  }

  /** Rows changed: a pass (coalesced). Nothing runs before recovery has settled what a crash left. */
  wake(): void {
    if (this.started) this.loop.wake();
  }

  async start(): Promise<void> {
    await this.loop.start();
    this.started = true;
    this.loop.wake();
  }

  /** Told by the instance supervisor whenever an instance's container starts, is adopted after a restart, or ends. */
  containerChanged(instanceId: string, how: 'started' | 'adopted' | 'ended'): void {
    if (how === 'ended') this.live.delete(instanceId);
    else this.live.add(instanceId);
    // A new container has none of the devices the last one had (the loop devices stay).
    if (how === 'started') for (const [id, e] of this.exposed) if (e.instanceId === instanceId) this.exposed.delete(id);
    this.wake();
  }

  /** The host device behind /dev/<name> in a running instance (for mounting its filesystem there). */
  hostDevice(instanceId: string, name: string): string | undefined {
    for (const e of this.exposed.values()) if (e.instanceId === instanceId && e.name === name) return e.device;
    return undefined;
  }

  /** `listener` hears of every snapshot that reaches `completed` or `error` (images wait on theirs). */
  onSnapshotSettled(listener: (scope: Scope, s: SnapshotRecord) => void): void {
    this.listeners.push(listener);
  }

  private async recover(): Promise<void> {
    const { ebs, volumes, snapshots, driver } = this.deps;
    if (snapshots) {
      const { abandoned, removedChunks } = snapshots.recover();
      if (abandoned.length) this.deps.log(`snapshots: ${abandoned.length} cut short by a crash (${abandoned.join(', ')}); ${removedChunks} chunks collected`);
    }
    if (this.steps) this.steps.recover(ebs.allSnapshots());
    else for (const { scope, row } of ebs.allSnapshots()) if (row.State === 'pending') this.settleSnapshot(scope, row.SnapshotId, (s) => ({ ...s, State: 'error', StateMessage: 'no snapshot store on this runtime' }));
    if (!volumes) return;
    // Devices in containers that kept running while kumo was down are still there.
    for (const { row: v } of ebs.allVolumes()) {
      const a = v.Attachment;
      if (!a || a.Root || !volumes.exists(v.VolumeId)) continue;
      if (driver.status(a.InstanceId) === 'running' && a.State !== 'attaching') {
        this.exposed.set(v.VolumeId, { instanceId: a.InstanceId, name: insideName(a.Device)!, device: await volumes.attach(v.VolumeId) });
      } else {
        if (a.State === 'attaching') this.uncertain.add(v.VolumeId);
        await volumes.detach(v.VolumeId);
      }
    }
  }

  private planVolume(scope: Scope, v: VolumeRecord): Step {
    const { volumes } = this.deps;
    if (!volumes) return this.planRowOnly(scope, v);
    if (v.State === 'creating') return () => this.create(scope, v, volumes);
    if (v.State === 'deleting') return this.snapshotReading(v) ? undefined : () => this.remove(scope, v, volumes);
    const m = v.Modification?.ModificationState;
    if (m === 'modifying') return this.snapshotReading(v) ? undefined : () => this.grow(scope, v, volumes);
    if (m === 'optimizing') return async () => this.finishModification(scope, v);
    const a = v.Attachment;
    const exposed = this.exposed.get(v.VolumeId);
    if (!a || a.Root) return exposed ? () => this.release(v, volumes) : undefined;
    const i = this.deps.instances.get(scope, a.InstanceId);
    const running = i?.State === 'running' && this.live.has(a.InstanceId);
    if (a.State === 'detaching') return () => this.detach(scope, v, volumes);
    if (a.State === 'attaching') {
      if (running) return () => this.expose(scope, v, volumes);
      if (!i || i.State === 'terminated' || (i.State === 'stopped' && !this.live.has(a.InstanceId))) return async () => this.attached(scope, v);
      return undefined;
    }
    if (running && !exposed) return () => this.expose(scope, v, volumes);
    if (!running && exposed && !this.live.has(a.InstanceId)) return () => this.release(v, volumes);
    return undefined;
  }

  /** The process runtime: states move on with nothing on the host. */
  private planRowOnly(scope: Scope, v: VolumeRecord): Step {
    if (v.State === 'creating') return async () => this.settleVolume(scope, v.VolumeId, ['creating'], (r) => ({ ...r, State: r.SnapshotId ? 'error' : 'available' }));
    if (v.State === 'deleting') return async () => this.dropVolume(scope, v.VolumeId);
    if (v.Modification?.ModificationState === 'modifying') return async () => this.grown(scope, v);
    if (v.Modification?.ModificationState === 'optimizing') return async () => this.finishModification(scope, v);
    if (v.Attachment?.State === 'attaching') return async () => this.attached(scope, v);
    if (v.Attachment?.State === 'detaching') return async () => this.detached(scope, v);
    return undefined;
  }

  private planSnapshot(scope: Scope, s: SnapshotRecord): Step {
    if (s.State !== 'pending') return undefined;
    const steps = this.steps;
    if (!steps) return async () => this.settleSnapshot(scope, s.SnapshotId, (r) => ({ ...r, State: 'error', StateMessage: 'no snapshot store on this runtime' }));
    if (s.CopyOf) return () => steps.copy(scope, s);
    const v = this.deps.ebs.volume(scope, s.VolumeId);
    if (!v) return async () => steps.fail(scope, s, `volume ${s.VolumeId} is gone`);
    // Wait for a disk still being made (a new volume, an instance's root before its first boot) or grown.
    if (this.loop.busy(v.VolumeId) || v.State === 'creating') return undefined;
    if (!this.deps.volumes!.exists(v.VolumeId)) {
      const owner = v.Attachment?.Root ? this.deps.instances.get(scope, v.Attachment.InstanceId) : undefined;
      if (owner?.State === 'pending') return undefined;
      return async () => steps.fail(scope, s, `volume ${v.VolumeId} has no data on this host`);
    }
    return () => steps.take(scope, s, v);
  }

  /** A pending snapshot still reads the volume's disk. */
  private snapshotReading(v: VolumeRecord): boolean {
    return this.deps.ebs.allSnapshots().some(({ row }) => row.State === 'pending' && !row.CopyOf && row.VolumeId === v.VolumeId);
  }

  private async create(scope: Scope, v: VolumeRecord, volumes: VolumeStore): Promise<void> {
    const info = { volumeId: v.VolumeId, sizeBytes: v.Size * GiB, format: v.Format };
    try {
      // A crash after the disk was made, before the row said so, leaves it made.
      if (!volumes.exists(v.VolumeId)) {
        if (v.SnapshotId) await volumes.createFrom(info, (disk) => this.deps.snapshots!.restore(v.SnapshotId, disk, { sizeBytes: info.sizeBytes }));
        else await volumes.create(info);
      }
    } catch (err) {
      this.deps.log(`volume ${v.VolumeId}: could not be made: ${(err as Error).message}`);
      this.settleVolume(scope, v.VolumeId, ['creating'], (r) => ({ ...r, State: 'error' }));
      return;
    }
    // A volume an image gave an instance at launch is attached as soon as it exists.
    this.settleVolume(scope, v.VolumeId, ['creating'], (r) => ({ ...r, State: r.Attachment ? 'in-use' : 'available' }));
  }

  private async remove(scope: Scope, v: VolumeRecord, volumes: VolumeStore): Promise<void> {
    if (this.exposed.has(v.VolumeId)) await this.release(v, volumes);
    await volumes.remove(v.VolumeId);
    this.dropVolume(scope, v.VolumeId);
  }

  private dropVolume(scope: Scope, id: string): void {
    this.deps.ebs.transaction(() => {
      if (this.deps.ebs.volume(scope, id)?.State !== 'deleting') return;
      this.deps.ebs.deleteVolume(scope, id);
      this.deps.store.tags.removeAll(scope, id);
    });
  }

  private async grow(scope: Scope, v: VolumeRecord, volumes: VolumeStore): Promise<void> {
    const m = v.Modification!;
    if (volumes.exists(v.VolumeId)) {
      await volumes.grow(v.VolumeId, m.TargetSize * GiB);
    } else if (v.Attachment?.Root && this.deps.instances.get(scope, v.Attachment.InstanceId)?.State === 'pending') {
      return; // its disk is made at first boot; the next pass tries again
    }
    this.grown(scope, v);
  }

  /** The new size is in effect: `optimizing`, as AWS reports it until the change is complete. */
  private grown(scope: Scope, v: VolumeRecord): void {
    this.settleVolume(scope, v.VolumeId, null, (r) => {
      const m = r.Modification!;
      return { ...r, Size: m.TargetSize, VolumeType: m.TargetVolumeType, Iops: m.TargetIops, Throughput: m.TargetThroughput, Modification: { ...m, ModificationState: 'optimizing', Progress: 50 } };
    });
  }

  private finishModification(scope: Scope, v: VolumeRecord): void {
    const end = this.deps.now().toISOString();
    this.settleVolume(scope, v.VolumeId, null, (r) => ({ ...r, Modification: { ...r.Modification!, ModificationState: 'completed', Progress: 100, EndTime: end } }));
  }

  private async expose(scope: Scope, v: VolumeRecord, volumes: VolumeStore): Promise<void> {
    const a = v.Attachment!;
    const name = insideName(a.Device)!;
    const device = await volumes.attach(v.VolumeId);
    const driver = this.deps.driver;
    if (!driver.exposeDevice) throw new Error('this runtime cannot give a running instance a device');
    if (this.uncertain.delete(v.VolumeId)) await driver.hideDevice?.(a.InstanceId, name, device);
    await driver.exposeDevice(a.InstanceId, device, name);
    this.exposed.set(v.VolumeId, { instanceId: a.InstanceId, name, device });
    this.attached(scope, v);
  }

  /** Lets go of the device: out of the instance (if it still runs), then the loop device. */
  private async release(v: VolumeRecord, volumes: VolumeStore): Promise<void> {
    const e = this.exposed.get(v.VolumeId);
    if (e) await this.deps.driver.hideDevice?.(e.instanceId, e.name, e.device);
    this.exposed.delete(v.VolumeId);
    await volumes.detach(v.VolumeId);
  }

  private async detach(scope: Scope, v: VolumeRecord, volumes: VolumeStore): Promise<void> {
    await this.release(v, volumes);
    this.detached(scope, v);
  }

  private attached(scope: Scope, v: VolumeRecord): void {
    this.settleVolume(scope, v.VolumeId, null, (r) => {
      if (r.Attachment?.State !== 'attaching' || r.Attachment.InstanceId !== v.Attachment!.InstanceId) return undefined;
      const i = this.deps.instances.get(scope, r.Attachment.InstanceId);
      // The instance went away meanwhile: the volume is free again.
      if (!i || i.State === 'terminated') return { ...r, Attachment: undefined, State: 'available' };
      return { ...r, Attachment: { ...r.Attachment, State: 'attached' } };
    });
  }

  private detached(scope: Scope, v: VolumeRecord): void {
    this.settleVolume(scope, v.VolumeId, null, (r) => (r.Attachment?.State === 'detaching' ? { ...r, Attachment: undefined, State: 'available' } : undefined));
  }

  /** Re-reads the row and applies `change` (if it is still in one of `states`); `change` may decline with undefined. */
  private settleVolume(scope: Scope, id: string, states: VolumeRecord['State'][] | null, change: (v: VolumeRecord) => VolumeRecord | undefined): void {
    const { ebs } = this.deps;
    ebs.transaction(() => {
      const fresh = ebs.volume(scope, id);
      if (!fresh || (states && !states.includes(fresh.State))) return;
      const next = change(fresh);
      if (next) ebs.putVolume(scope, next);
    });
  }

  private settleSnapshot(scope: Scope, id: string, change: (s: SnapshotRecord) => SnapshotRecord): void {
    const { ebs } = this.deps;
    ebs.transaction(() => {
      const fresh = ebs.snapshot(scope.region, id);
      if (fresh?.row.State === 'pending' && fresh.scope.account === scope.account) ebs.putSnapshot(scope, change(fresh.row));
    });
  }

  /** Waits for every step under way (reset). */
  drain(): Promise<void> {
    return this.loop.drain();
  }

  /** No more steps; those under way (a snapshot being taken) finish first. */
  close(): Promise<void> {
    return this.loop.close();
  }

  /** Every instance has stopped (kumo is leaving): no loop device of a data volume stays behind. */
  async releaseAll(): Promise<void> {
    const volumes = this.deps.volumes;
    if (!volumes) return;
    for (const { row: v } of this.deps.ebs.allVolumes()) {
      if (v.Format === 'raw' || (v.Attachment && !v.Attachment.Root)) await volumes.detach(v.VolumeId).catch(() => {});
    }
    this.exposed.clear();
    this.live.clear();
  }

  /** After /_kumo/reset wiped the rows (and the instance supervisor the disks): the snapshots go too. */
  async reset(): Promise<void> {
    await this.loop.drain();
    for (const id of this.deps.snapshots?.list() ?? []) this.deps.snapshots!.delete(id);
    this.exposed.clear();
    this.live.clear();
    this.uncertain.clear();
  }
}
