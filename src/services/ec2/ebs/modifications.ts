/**
 * ModifyVolume and DescribeVolumesModifications, DescribeVolumeStatus, and the volume attributes
 * (autoEnableIO, productCodes).
 *
 *   ModifyVolume  the target is checked as CreateVolume checks a new volume (a size only grows)
 *                 → modification `modifying` → the reconciler grows the disk (a root volume's
 *                 filesystem with it; a data volume's filesystem is the instance's to grow, as
 *                 on AWS) → `optimizing` (the new size is in effect) → `completed`
 *
 * Volume status: `ok` with I/O enabled, `insufficient-data` while creating, `impaired` for a
 * volume in error; no scheduled events or actions.
 */
import type { Ec2Operations } from '../../../models/generated/ec2.js';
import { checkDryRun } from '../../../state/dry-run.js';
import type { Accessors } from '../../../state/filters.js';
import { scopeOf, type OpHandler, type RequestContext } from '../../service.js';
import { pick } from '../describe.js';
import { Ec2Errors } from '../errors.js';
import { findVolume, volumeSelection, type EbsDeps } from './common.js';
import { EbsErrors } from './errors.js';
import type { VolumeModificationRecord, VolumeRecord } from './store.js';
import { checkVolumeSpec } from './volume-types.js';

type Op<K extends keyof Ec2Operations> = OpHandler<Ec2Operations, K>;
type Modified = VolumeRecord & { Modification: VolumeModificationRecord };

function modificationView(v: Modified) {
  const m = v.Modification;
  return {
    VolumeId: v.VolumeId,
    ModificationState: m.ModificationState,
    StatusMessage: m.StatusMessage,
    TargetSize: m.TargetSize,
    TargetIops: m.TargetIops,
    TargetVolumeType: m.TargetVolumeType,
    TargetThroughput: m.TargetThroughput,
    TargetMultiAttachEnabled: false,
    OriginalSize: m.OriginalSize,
    OriginalIops: m.OriginalIops,
    OriginalVolumeType: m.OriginalVolumeType,
    OriginalThroughput: m.OriginalThroughput,
    OriginalMultiAttachEnabled: false,
    Progress: m.Progress,
    StartTime: m.StartTime,
    EndTime: m.EndTime,
  };
}

const modificationFilters: Accessors<Modified & { Tags: never[] }> = {
  'modification-state': (v) => v.Modification.ModificationState,
  'original-iops': (v) => v.Modification.OriginalIops,
  'original-size': (v) => v.Modification.OriginalSize,
  'original-volume-type': (v) => v.Modification.OriginalVolumeType,
  'original-multi-attach-enabled': () => 'false',
  'start-time': (v) => v.Modification.StartTime,
  'target-iops': (v) => v.Modification.TargetIops,
  'target-size': (v) => v.Modification.TargetSize,
  'target-volume-type': (v) => v.Modification.TargetVolumeType,
  'target-multi-attach-enabled': () => 'false',
  'volume-id': (v) => v.VolumeId,
};

const statusOf = (v: VolumeRecord) => (v.State === 'error' ? 'impaired' : v.State === 'creating' ? 'insufficient-data' : 'ok');
const ioPerformance = (v: VolumeRecord) => (['io1', 'io2', 'gp3'].includes(v.VolumeType) ? 'normal' : 'not-applicable');

const statusFilters: Accessors<VolumeRecord & { Tags: never[] }> = {
  'availability-zone': (v) => v.AvailabilityZone,
  'volume-status.status': (v) => statusOf(v),
  'volume-status.details-name': () => ['io-enabled', 'io-performance'],
  'volume-status.details-status': (v) => [v.State === 'error' ? 'failed' : 'passed', ioPerformance(v)],
  'action.code': () => undefined,
  'action.description': () => undefined,
  'action.event-id': () => undefined,
  'event.description': () => undefined,
  'event.event-id': () => undefined,
  'event.event-type': () => undefined,
  'event.not-after': () => undefined,
  'event.not-before': () => undefined,
};

export function modificationHandlers(deps: EbsDeps) {
  const { ebs } = deps;
  const untagged = <T>(rows: T[]) => rows.map((r) => ({ ...r, Tags: [] as never[] }));

  const ModifyVolume: Op<'ModifyVolume'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const v = findVolume(ebs, scope, input.VolumeId);
    if (input.MultiAttachEnabled) throw Ec2Errors.unsupported('Multi-Attach');
    if (v.State !== 'available' && v.State !== 'in-use') throw EbsErrors.volumeState(v.VolumeId, v.State);
    const busy = v.Modification?.ModificationState;
    if (busy === 'modifying' || busy === 'optimizing') throw EbsErrors.modificationInProgress(v.VolumeId);
    const type = input.VolumeType ?? v.VolumeType;
    if (type !== v.VolumeType && (type === 'standard' || v.VolumeType === 'standard')) {
      throw Ec2Errors.invalidParameter('Modifications to or from magnetic (standard) volumes are not supported.');
    }
    const size = input.Size ?? v.Size;
    if (size < v.Size) throw Ec2Errors.invalidParameter(`New size cannot be smaller than existing size (${v.Size}GiB).`);
    // Same type: unasked-for IOPS and throughput stay; a new type takes its own defaults (gp2's IOPS follow its size).
    const keep = type === v.VolumeType && type !== 'gp2' ? { Iops: v.Iops, Throughput: v.Throughput } : undefined;
    const spec = checkVolumeSpec({ VolumeType: type, Size: size, Iops: input.Iops, Throughput: input.Throughput }, keep);
    if (spec.Size === v.Size && spec.VolumeType === v.VolumeType && spec.Iops === v.Iops && spec.Throughput === v.Throughput) {
      throw Ec2Errors.invalidParameter('New volume type, size, iops and throughput are the same as the existing ones; nothing to modify.');
    }
    checkDryRun(input);
    const m: VolumeModificationRecord = {
      ModificationState: 'modifying',
      TargetSize: spec.Size,
      TargetVolumeType: spec.VolumeType,
      TargetIops: spec.Iops,
      TargetThroughput: spec.Throughput,
      OriginalSize: v.Size,
      OriginalVolumeType: v.VolumeType,
      OriginalIops: v.Iops,
      OriginalThroughput: v.Throughput,
      Progress: 0,
      StartTime: ctx.now().toISOString(),
    };
    const next = { ...v, Modification: m };
    ebs.putVolume(scope, next);
    return { VolumeModification: modificationView(next) };
  };

  const modified = (ctx: RequestContext) => ebs.volumes(scopeOf(ctx)).filter((v): v is Modified => v.Modification !== undefined);

  const DescribeVolumesModifications: Op<'DescribeVolumesModifications'> = (ctx, input) => {
    checkDryRun(input);
    const scope = scopeOf(ctx);
    // A volume that was never modified answers as AWS does: no modification found for it.
    for (const id of input.VolumeIds ?? []) {
      const v = findVolume(ebs, scope, id);
      if (!v.Modification) throw Ec2Errors.invalidParameter(`Modification for volume '${id}' does not exist.`);
    }
    const page = pick(untagged(modified(ctx)), (v) => v.VolumeId, modificationFilters, volumeSelection(input));
    return { VolumesModifications: page.items.map(modificationView), NextToken: page.nextToken };
  };

  const DescribeVolumeStatus: Op<'DescribeVolumeStatus'> = (ctx, input) => {
    checkDryRun(input);
    const page = pick(untagged(ebs.volumes(scopeOf(ctx))), (v) => v.VolumeId, statusFilters, volumeSelection(input));
    return {
      VolumeStatuses: page.items.map((v) => ({
        VolumeId: v.VolumeId,
        AvailabilityZone: v.AvailabilityZone,
        VolumeStatus: {
          Status: statusOf(v),
          Details: [
            { Name: 'io-enabled', Status: v.State === 'error' ? 'failed' : 'passed' },
            { Name: 'io-performance', Status: ioPerformance(v) },
          ],
        },
        Actions: [],
        Events: [],
        AttachmentStatuses: v.Attachment ? [{ InstanceId: v.Attachment.InstanceId, IoPerformance: ioPerformance(v) }] : [],
      })),
      NextToken: page.nextToken,
    };
  };

  const DescribeVolumeAttribute: Op<'DescribeVolumeAttribute'> = (ctx, input) => {
    const v = findVolume(ebs, scopeOf(ctx), input.VolumeId);
    if (input.Attribute !== 'autoEnableIO' && input.Attribute !== 'productCodes') {
      throw Ec2Errors.invalidParameter(`Value (${input.Attribute}) for parameter attribute is invalid. Valid values are autoEnableIO and productCodes.`);
    }
    checkDryRun(input);
    return input.Attribute === 'autoEnableIO' ? { VolumeId: v.VolumeId, AutoEnableIO: { Value: v.AutoEnableIO } } : { VolumeId: v.VolumeId, ProductCodes: [] };
  };

  const ModifyVolumeAttribute: Op<'ModifyVolumeAttribute'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const v = findVolume(ebs, scope, input.VolumeId);
    if (input.AutoEnableIO?.Value === undefined) throw Ec2Errors.missingParameter('AutoEnableIO');
    checkDryRun(input);
    ebs.putVolume(scope, { ...v, AutoEnableIO: input.AutoEnableIO.Value });
    return {};
  };

  return { ModifyVolume, DescribeVolumesModifications, DescribeVolumeStatus, DescribeVolumeAttribute, ModifyVolumeAttribute };
}
