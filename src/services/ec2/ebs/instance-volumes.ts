/**
 * Where instances and volume rows meet, called by the instance code inside its own transactions:
 *
 *   RunInstances       every instance's root volume is a row: `in-use`, attached at the root
 *                      device, DeleteOnTermination as launched, SnapshotId the AMI's
 *   termination        each attached volume is deleted (DeleteOnTermination) or detached and
 *                      `available`; the reconciler removes disks and lets go of devices
 *   DescribeInstances  BlockDeviceMappings are the volume rows attached to the instance
 *   ModifyInstanceAttribute  DeleteOnTermination of an attached volume
 *
 * The instance row keeps its root volume's ID, size and DeleteOnTermination as well: the
 * instance supervisor makes and removes the root disk from them (dataplane/root-volumes.ts).
 */
import { resourceId } from '../../../state/ids.js';
import type { Scope } from '../../../state/scope.js';
import type { InstanceRecord } from '../instances/store.js';
import type { Ec2Store } from '../store.js';
import { ebsStore, type VolumeRecord } from './store.js';
import type { VolumeSpec } from './volume-types.js';

/** Writes the root volume row of an instance RunInstances is recording (call in its transaction). */
export function putRootVolume(store: Ec2Store, scope: Scope, i: InstanceRecord, spec: VolumeSpec, snapshotId: string | undefined): void {
  const v: VolumeRecord = {
    VolumeId: i.RootVolumeId,
    OwnerId: i.OwnerId,
    AvailabilityZone: i.AvailabilityZone,
    ...spec,
    Size: i.RootVolumeSize,
    SnapshotId: snapshotId ?? '',
    CreateTime: i.LaunchTime,
    State: 'in-use',
    Attachment: { InstanceId: i.InstanceId, Device: i.RootDeviceName, State: 'attached', AttachTime: i.RootAttachTime, DeleteOnTermination: i.RootDeleteOnTermination, Root: true },
    AutoEnableIO: false,
    Format: 'root',
    Boot: { KumoImage: i.KumoImage, DefaultUser: i.DefaultUser },
  };
  ebsStore(store.db).putVolume(scope, v);
}

/**
 * A data volume an image names, for an instance being launched from it (call in RunInstances'
 * transaction): `creating` from its snapshot and `attaching`; the reconciler makes the disk and
 * exposes it once the instance runs. Answers the new volume's ID.
 */
export function putImageVolume(store: Ec2Store, scope: Scope, i: InstanceRecord, d: { DeviceName: string; SnapshotId: string; VolumeSize: number; VolumeType: string; DeleteOnTermination: boolean; Iops?: number; Throughput?: number }): string {
  const ebs = ebsStore(store.db);
  const v: VolumeRecord = {
    VolumeId: resourceId('vol'),
    OwnerId: i.OwnerId,
    AvailabilityZone: i.AvailabilityZone,
    Size: d.VolumeSize,
    VolumeType: d.VolumeType,
    Iops: d.Iops,
    Throughput: d.Throughput,
    SnapshotId: d.SnapshotId,
    CreateTime: i.LaunchTime,
    State: 'creating',
    Attachment: { InstanceId: i.InstanceId, Device: d.DeviceName, State: 'attaching', AttachTime: i.LaunchTime, DeleteOnTermination: d.DeleteOnTermination, Root: false },
    AutoEnableIO: false,
    Format: 'raw',
    Boot: ebs.snapshot(scope.region, d.SnapshotId)?.row.Boot,
  };
  ebs.putVolume(scope, v);
  return v.VolumeId;
}

/**
 * The instance is terminated (call in the transaction that says so): its volumes with
 * DeleteOnTermination go, the others are detached and `available`. The root volume follows the
 * instance row (the instance supervisor has already removed or kept its disk accordingly).
 */
export function releaseVolumesOf(store: Ec2Store, scope: Scope, i: InstanceRecord): void {
  const ebs = ebsStore(store.db);
  for (const v of ebs.volumesOf(scope, i.InstanceId)) {
    const a = v.Attachment!;
    const gone = a.Root ? i.RootDeleteOnTermination : a.DeleteOnTermination;
    const { Attachment: _detached, ...rest } = v;
    ebs.putVolume(scope, { ...rest, State: gone ? 'deleting' : 'available' });
  }
}

/** The instance's block device mappings: the root device first, then the rest as attached. */
export function blockDeviceMappings(store: Ec2Store, scope: Scope, i: InstanceRecord) {
  const rows = ebsStore(store.db).volumesOf(scope, i.InstanceId);
  const root = rows.find((v) => v.Attachment!.Root);
  const mapping = (v: VolumeRecord) => ({
    DeviceName: v.Attachment!.Device,
    Ebs: { AttachTime: v.Attachment!.AttachTime, DeleteOnTermination: v.Attachment!.DeleteOnTermination, Status: v.Attachment!.State, VolumeId: v.VolumeId },
  });
  // An instance recorded before volumes were rows has its root on the instance row only.
  const first = root
    ? mapping(root)
    : { DeviceName: i.RootDeviceName, Ebs: { AttachTime: i.RootAttachTime, DeleteOnTermination: i.RootDeleteOnTermination, Status: 'attached', VolumeId: i.RootVolumeId } };
  return [first, ...rows.filter((v) => v !== root).map(mapping)];
}

/**
 * ModifyInstanceAttribute's BlockDeviceMapping: DeleteOnTermination of the volume attached at
 * `device`. False when no volume is attached there.
 */
export function setDeleteOnTermination(store: Ec2Store, scope: Scope, instanceId: string, device: string, value: boolean): boolean {
  const ebs = ebsStore(store.db);
  const v = ebs.volumesOf(scope, instanceId).find((x) => x.Attachment!.Device === device);
  if (!v) return false;
  ebs.putVolume(scope, { ...v, Attachment: { ...v.Attachment!, DeleteOnTermination: value } });
  return true;
}
