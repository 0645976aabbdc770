/**
 * The image builder: moves `pending` images on, on the shared reconcile loop, one step at a time:
 *
 *   CreateImage, instance being stopped   → once it is `stopped`: snapshots of its volumes begin
 *                                            (at rest: nothing is mounted)
 *   CreateImage or CopyImage, snapshots   → once every one is `completed`: the image is
 *                                            `available` (and an instance kumo stopped for it is
 *                                            started again); if one ends in `error` or is gone,
 *                                            the image is `failed` with its StateReason
 *
 * The steps are row changes only: the instance supervisor stops and starts the instance, the
 * volume supervisor takes and copies the snapshots. This loop is woken when either of them
 * settles something, and by the image calls.
 */
import { Reconciler } from '../../../runtime/reconciler.js';
import type { Scope } from '../../../state/scope.js';
import type { EbsStore } from '../ebs/store.js';
import { snapshotForImage } from '../images/own-images.js';
import type { ImageRecord, ImageStore } from '../images/store.js';
import { autoPublicIp } from '../instances/public-ip.js';
import type { InstanceStore } from '../instances/store.js';
import type { Ec2Store } from '../store.js';

export interface ImageBuilderDeps {
  store: Ec2Store;
  ebs: EbsStore;
  images: ImageStore;
  instances: InstanceStore;
  /** Rows changed here: the instance and volume supervisors look again. */
  changed(): void;
  log(line: string): void;
  now(): Date;
}

type Row = { scope: Scope; row: ImageRecord };

export class ImageBuilder {
  private readonly loop: Reconciler<Row>;

  constructor(private readonly deps: ImageBuilderDeps) {
    this.loop = new Reconciler<Row>({
      name: 'images',
      desired: () => deps.images.all().filter((x) => x.row.State === 'pending'),
      key: (r) => r.row.ImageId,
      plan: (r) => this.plan(r.scope, r.row),
      log: deps.log,
    });
  }

  start(): Promise<void> {
    return this.loop.start();
  }

  wake(): void {
    this.loop.wake();
  }

  drain(): Promise<void> {
    return this.loop.drain();
  }

  close(): Promise<void> {
    return this.loop.close();
  }

  private plan(scope: Scope, image: ImageRecord): (() => Promise<void>) | undefined {
    const build = image.Build;
    if (build?.Phase === 'stopping') {
      const i = this.deps.instances.get(scope, build.InstanceId);
      if (!i || i.State === 'terminated' || i.State === 'shutting-down') return async () => this.fail(scope, image, `Instance ${build.InstanceId} was terminated before the image was made`);
      if (i.State !== 'stopped') return undefined;
      return async () => this.update(scope, image.ImageId, (fresh) => snapshotForImage(this.deps, scope, this.deps.now(), fresh));
    }
    const states = image.BlockDeviceMappings.flatMap((m) => (m.Ebs ? [this.snapshotState(scope, m.Ebs.SnapshotId)] : []));
    const broken = states.find((s) => s.state !== 'pending' && s.state !== 'completed');
    if (broken) return async () => this.fail(scope, image, broken.why);
    if (states.every((s) => s.state === 'completed')) return async () => this.finish(scope, image);
    return undefined;
  }

  private snapshotState(scope: Scope, id: string): { state: string; why: string } {
    const s = this.deps.ebs.snapshot(scope.region, id)?.row;
    if (!s) return { state: 'gone', why: `Snapshot ${id} was deleted before the image was made` };
    return { state: s.State, why: `Snapshot ${id} failed: ${s.StateMessage ?? 'unknown error'}` };
  }

  private finish(scope: Scope, image: ImageRecord): void {
    this.update(scope, image.ImageId, (fresh) => {
      this.restartInstance(scope, fresh);
      const { Build: _done, ...rest } = fresh;
      return { ...rest, State: 'available', StateReason: undefined };
    });
  }

  private fail(scope: Scope, image: ImageRecord, message: string): void {
    this.deps.log(`image ${image.ImageId}: ${message}`);
    this.update(scope, image.ImageId, (fresh) => {
      this.restartInstance(scope, fresh);
      const { Build: _done, ...rest } = fresh;
      return { ...rest, State: 'failed', StateReason: { Code: 'Client.InternalError', Message: `Client.InternalError: ${message}` } };
    });
  }

  /** An instance kumo stopped for the image runs again, as after a reboot: same public IP, same instance-store data. */
  private restartInstance(scope: Scope, image: ImageRecord): void {
    const build = image.Build;
    if (!build?.Restart) return;
    const i = this.deps.instances.get(scope, build.InstanceId);
    if (i?.ImageStop !== image.ImageId) return;
    const { ImageStop: _done, ...rest } = i;
    if (i.State !== 'stopped') return void this.deps.instances.put(scope, rest);
    this.deps.instances.put(scope, {
      ...rest,
      State: 'pending',
      StateTransitionReason: '',
      StateReason: { Code: 'pending', Message: 'pending' },
      PublicIpAddress: i.PublicIpAddress ?? autoPublicIp(this.deps.store, scope, i),
    });
  }

  /** Re-reads the image and applies `change` if it is still pending, in one transaction; then wakes the others. */
  private update(scope: Scope, id: string, change: (fresh: ImageRecord) => ImageRecord): void {
    const changed = this.deps.store.transaction(() => {
      const fresh = this.deps.images.get(scope.region, id);
      if (!fresh || fresh.scope.account !== scope.account || fresh.row.State !== 'pending') return false;
      this.deps.images.put(scope, change(fresh.row));
      return true;
    });
    if (changed) this.deps.changed();
  }
}
