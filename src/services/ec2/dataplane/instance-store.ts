/**
 * Instance store: the ephemeral disks of instance types that have them (i3.large: one 475 GB
 * NVMe disk), as on AWS a raw block device the user formats and mounts (/dev/nvme1n1, …), whose
 * data lives as long as the instance runs: kept across a reboot, gone at stop or termination,
 * unlike an EBS volume.
 *
 *   <root>/<instance-id>/<device>   a sparse file of the disk's size (nothing is written up front)
 *
 * Each boot of the container (start, reboot, adoption after a kumo restart keeps them as they
 * are) exposes them into it; stop deletes them. Native runtime only: without a driver that can
 * expose devices there are none.
 */
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, rmSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import type { InstanceDriver } from '../../../runtime/instances/driver.js';
import { attachLoop, detachLoops, loopsOf } from '../../../runtime/loop.js';
import { INSTANCE_TYPE_BY_NAME } from '../catalog/instance-types-data.js';
import type { InstanceRecord } from '../instances/store.js';

const GB = 1000 ** 3;

export class InstanceStoreDisks {
  constructor(
    private readonly root: string | undefined,
    private readonly driver: InstanceDriver,
  ) {}

  /** The instance type's disks as the instance sees them: NVMe devices after the root (nvme1n1, …). */
  static disksOf(instanceType: string): { name: string; sizeBytes: number }[] {
    const disks = INSTANCE_TYPE_BY_NAME.get(instanceType)?.InstanceStorageInfo?.Disks ?? [];
    const out: { name: string; sizeBytes: number }[] = [];
    for (const d of disks) for (let n = 0; n < (d.Count ?? 0); n++) out.push({ name: `nvme${out.length + 1}n1`, sizeBytes: (d.SizeInGB ?? 0) * GB });
    return out;
  }

  /** After the container (re)started: its disks, made empty if new, appear in it. */
  async expose(i: InstanceRecord): Promise<void> {
    if (!this.root || !this.driver.exposeDevice) return;
    for (const d of InstanceStoreDisks.disksOf(i.InstanceType)) {
      const file = this.fileOf(i.InstanceId, d.name);
      if (!existsSync(file)) {
        mkdirSync(join(this.root, i.InstanceId), { recursive: true, mode: 0o700 });
        closeSync(openSync(file, 'w', 0o600));
        truncateSync(file, d.sizeBytes);
      }
      await this.driver.exposeDevice(i.InstanceId, await attachLoop(file), d.name);
    }
  }

  /** Stop or termination: the disks and their data go. */
  async discard(instanceId: string): Promise<void> {
    if (!this.root) return;
    const dir = join(this.root, instanceId);
    if (!existsSync(dir)) return;
    for (const name of readdirSync(dir)) await detachLoops(join(dir, name));
    rmSync(dir, { recursive: true, force: true });
  }

  /** The host device behind /dev/<name> of a running instance, if it is one of its instance-store disks. */
  async hostDevice(instanceId: string, name: string): Promise<string | undefined> {
    if (!this.root || !/^nvme\d+n1$/.test(name)) return undefined;
    const file = this.fileOf(instanceId, name);
    return existsSync(file) ? (await loopsOf(file))[0] : undefined;
  }

  private fileOf(instanceId: string, name: string): string {
    if (!/^i-[0-9a-f]+$/.test(instanceId)) throw new Error(`bad instance id ${instanceId}`);
    return join(this.root!, instanceId, name);
  }
}
