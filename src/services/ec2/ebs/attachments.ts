/**
 * AttachVolume and DetachVolume. Each records the attachment state AWS reports at once and the
 * reconciler (../dataplane/volumes.ts) carries it out:
 *
 *   attach  `available` → `in-use`, attachment `attaching` → (the volume becomes /dev/xvdX in the
 *           running instance; a stopped instance gets it at its next start) → `attached`
 *   detach  `detaching` → (the device leaves the instance, unmounted lazily if still mounted) →
 *           the attachment goes, the volume is `available`
 *
 * AWS's refusals in AWS's order: the volume and the instance exist, the device name is one EBS
 * takes, the volume is free, the instance is running or stopped and in the volume's zone, the
 * device is not taken (by the root device or another volume). Root volumes are attached by
 * RunInstances (./root-volumes.ts) and are not detached here.
 */
import type { Ec2Operations } from '../../../models/generated/ec2.js';
import { checkDryRun } from '../../../state/dry-run.js';
import { scopeOf, type OpHandler } from '../../service.js';
import { instancesByIds } from '../instances/instances.js';
import type { InstanceRecord } from '../instances/store.js';
import { Ec2Errors } from '../errors.js';
import { findVolume, type EbsDeps } from './common.js';
import { insideName, rootInsideName } from './devices.js';
import { EbsErrors } from './errors.js';
import type { VolumeRecord } from './store.js';
import { attachmentView } from './volumes.js';

type Op<K extends keyof Ec2Operations> = OpHandler<Ec2Operations, K>;

export function attachmentHandlers(deps: EbsDeps) {
  const { ebs, instances } = deps;

  /** Is `name` (inside the instance) taken by its root device or another volume? */
  const taken = (scope: Parameters<typeof ebs.volumesOf>[0], i: InstanceRecord, name: string) =>
    rootInsideName(i.RootDeviceName) === name || ebs.volumesOf(scope, i.InstanceId).some((v) => !v.Attachment?.Root && insideName(v.Attachment!.Device) === name);

  const AttachVolume: Op<'AttachVolume'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    if (!input.Device) throw Ec2Errors.missingParameter('device');
    const v = findVolume(ebs, scope, input.VolumeId);
    const [i] = instancesByIds(instances, scope, [input.InstanceId], ctx.now()) as [InstanceRecord];
    const name = insideName(input.Device);
    if (!name) throw EbsErrors.badDevice(input.Device);
    if (v.Attachment) throw EbsErrors.alreadyAttached(v.VolumeId);
    if (v.State !== 'available') throw EbsErrors.volumeState(v.VolumeId, v.State);
    if (i.State !== 'running' && i.State !== 'stopped') throw EbsErrors.instanceState(i.InstanceId, i.State);
    if (v.AvailabilityZone !== i.AvailabilityZone) throw EbsErrors.zoneMismatch(v.VolumeId, i.InstanceId);
    if (taken(scope, i, name)) throw EbsErrors.deviceInUse(input.Device);
    // Never a success that nothing carries out: without disks, or without a way into a
    // running instance, the volume could not be what the answer says.
    if (!deps.host.disks) throw EbsErrors.needsNativeRuntime('attach volumes to instances');
    if (!deps.host.attach && i.State === 'running') throw EbsErrors.needsNativeRuntime('attach volumes to running instances');
    checkDryRun(input);
    const next: VolumeRecord = {
      ...v,
      State: 'in-use',
      Attachment: { InstanceId: i.InstanceId, Device: input.Device, State: 'attaching', AttachTime: ctx.now().toISOString(), DeleteOnTermination: false },
    };
    ebs.putVolume(scope, next);
    return attachmentView(next);
  };

  const DetachVolume: Op<'DetachVolume'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const v = findVolume(ebs, scope, input.VolumeId);
    const a = v.Attachment;
    if (!a) throw EbsErrors.notAttached(v.VolumeId, v.State);
    if (input.InstanceId !== undefined && input.InstanceId !== a.InstanceId) {
      throw EbsErrors.attachmentNotFound(`The volume ${v.VolumeId} is not attached to instance ${input.InstanceId}`);
    }
    if (input.Device !== undefined && input.Device !== a.Device) throw EbsErrors.attachmentNotFound(`Attachment point ${input.Device} is not in use`);
    if (a.Root) throw EbsErrors.rootDetach(v.VolumeId, a.InstanceId);
    checkDryRun(input);
    const next: VolumeRecord = { ...v, Attachment: { ...a, State: 'detaching', Force: a.Force || input.Force === true } };
    ebs.putVolume(scope, next);
    return attachmentView(next);
  };

  return { AttachVolume, DetachVolume };
}
