/**
 * CreateVolume, DescribeVolumes, DeleteVolume, and how a volume looks on the wire.
 *
 *   CreateVolume  checks (zone, type/size/IOPS/throughput, snapshot usable and completed, tags)
 *                 → a `creating` row → the reconciler makes the disk (empty and sparse, or the
 *                 snapshot restored) → `available`
 *   DeleteVolume  refused while attached (VolumeInUse) → `deleting` → the reconciler removes the
 *                 disk (once no snapshot still reads it) → the row goes
 *
 * ClientToken makes CreateVolume idempotent: the same token answers the volume it made.
 */
import type { Ec2Operations } from '../../../models/generated/ec2.js';
import { checkDryRun } from '../../../state/dry-run.js';
import type { Accessors } from '../../../state/filters.js';
import { resourceId } from '../../../state/ids.js';
import { findZone } from '../../../state/regions.js';
import type { Tag } from '../../../state/tags.js';
import { scopeOf, type OpHandler, type RequestContext } from '../../service.js';
import { pick } from '../describe.js';
import { Ec2Errors } from '../errors.js';
import { putTags, tagsFromSpecifications } from '../tagging.js';
import { capped, findSnapshot, findVolume, volumeSelection, type EbsDeps } from './common.js';
import { EbsErrors } from './errors.js';
import type { VolumeRecord } from './store.js';
import { checkVolumeSpec } from './volume-types.js';

type Op<K extends keyof Ec2Operations> = OpHandler<Ec2Operations, K>;
export type ShownVolume = VolumeRecord & { Tags: Tag[] };

/** AWS's largest DescribeVolumes page. */
const MAX_PAGE = 500;

export function attachmentView(v: VolumeRecord) {
  const a = v.Attachment!;
  return { AttachTime: a.AttachTime, Device: a.Device, InstanceId: a.InstanceId, State: a.State, VolumeId: v.VolumeId, DeleteOnTermination: a.DeleteOnTermination };
}

export function volumeView(v: ShownVolume) {
  return {
    Attachments: v.Attachment ? [attachmentView(v)] : [],
    AvailabilityZone: v.AvailabilityZone,
    CreateTime: v.CreateTime,
    Encrypted: false,
    Size: v.Size,
    SnapshotId: v.SnapshotId,
    State: v.State,
    VolumeId: v.VolumeId,
    Iops: v.Iops,
    Tags: v.Tags,
    VolumeType: v.VolumeType,
    MultiAttachEnabled: false,
    Throughput: v.Throughput,
  };
}

const volumeFilters: Accessors<ShownVolume> = {
  'attachment.attach-time': (v) => v.Attachment?.AttachTime,
  'attachment.delete-on-termination': (v) => v.Attachment && String(v.Attachment.DeleteOnTermination),
  'attachment.device': (v) => v.Attachment?.Device,
  'attachment.instance-id': (v) => v.Attachment?.InstanceId,
  'attachment.status': (v) => v.Attachment?.State,
  'availability-zone': (v) => v.AvailabilityZone,
  'create-time': (v) => v.CreateTime,
  encrypted: () => 'false',
  'fast-restored': () => 'false',
  'multi-attach-enabled': () => 'false',
  size: (v) => String(v.Size),
  'snapshot-id': (v) => v.SnapshotId,
  status: (v) => v.State,
  'volume-id': (v) => v.VolumeId,
  'volume-type': (v) => v.VolumeType,
  iops: (v) => v.Iops,
  throughput: (v) => v.Throughput,
};

export function volumeHandlers(deps: EbsDeps) {
  const { store, ebs } = deps;
  store.registerTaggable('vol', { type: 'volume', exists: (scope, id) => ebs.volume(scope, id) !== undefined, notFound: EbsErrors.volumeNotFound });

  const shown = (ctx: RequestContext, rows: VolumeRecord[]): ShownVolume[] => store.withTags(scopeOf(ctx), 'volume', (v) => v.VolumeId, rows);

  const CreateVolume: Op<'CreateVolume'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    if (input.ClientToken) {
      const earlier = ebs.volumes(scope).find((v) => v.ClientToken === input.ClientToken);
      if (earlier) return volumeView(shown(ctx, [earlier])[0]!);
    }
    if (!input.AvailabilityZone) throw Ec2Errors.missingParameter('AvailabilityZone');
    const zone = findZone(ctx.region, input.AvailabilityZone);
    if (!zone || zone.zoneName !== input.AvailabilityZone) throw Ec2Errors.invalidZoneName(input.AvailabilityZone);
    if (input.Encrypted || input.KmsKeyId) throw Ec2Errors.unsupported('encrypted volumes');
    if (input.OutpostArn) throw Ec2Errors.unsupported('Outposts');
    if (input.MultiAttachEnabled) throw Ec2Errors.unsupported('Multi-Attach');
    let snapshotId = '';
    let boot: VolumeRecord['Boot'];
    let size = input.Size;
    if (input.SnapshotId) {
      const { row: snap } = findSnapshot(ebs, ctx.account, ctx.region, input.SnapshotId);
      if (snap.State !== 'completed') throw EbsErrors.snapshotNotReady(snap.SnapshotId, snap.State);
      size ??= snap.VolumeSize;
      if (size < snap.VolumeSize) {
        throw Ec2Errors.invalidParameter(`Volume of size ${size}GiB is smaller than snapshot '${snap.SnapshotId}', expect size >= ${snap.VolumeSize}GiB`);
      }
      snapshotId = snap.SnapshotId;
      boot = snap.Boot;
    }
    if (size === undefined) throw Ec2Errors.missingParameter('size/snapshot');
    const spec = checkVolumeSpec({ VolumeType: input.VolumeType, Size: size, Iops: input.Iops, Throughput: input.Throughput });
    const tags = tagsFromSpecifications(input.TagSpecifications, 'volume');
    checkDryRun(input);
    const v: VolumeRecord = {
      VolumeId: resourceId('vol'),
      OwnerId: ctx.account,
      AvailabilityZone: zone.zoneName,
      ...spec,
      SnapshotId: snapshotId,
      CreateTime: ctx.now().toISOString(),
      State: 'creating',
      AutoEnableIO: false,
      ClientToken: input.ClientToken,
      Format: 'raw',
      Boot: boot,
    };
    store.transaction(() => {
      ebs.putVolume(scope, v);
      putTags(store, scope, v.VolumeId, 'volume', tags);
    });
    return volumeView({ ...v, Tags: tags });
  };

  const DescribeVolumes: Op<'DescribeVolumes'> = (ctx, input) => {
    checkDryRun(input);
    const page = pick(shown(ctx, ebs.volumes(scopeOf(ctx))), (v) => v.VolumeId, volumeFilters, {
      ...volumeSelection(input),
      maxResults: capped(input.MaxResults, MAX_PAGE),
      max: MAX_PAGE,
    });
    return { Volumes: page.items.map(volumeView), NextToken: page.nextToken };
  };

  const DeleteVolume: Op<'DeleteVolume'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const v = findVolume(ebs, scope, input.VolumeId);
    if (v.Attachment) throw EbsErrors.volumeInUse(v.VolumeId, v.Attachment.InstanceId);
    if (v.State === 'creating') throw EbsErrors.volumeState(v.VolumeId, v.State);
    checkDryRun(input);
    if (v.State !== 'deleting') ebs.putVolume(scope, { ...v, State: 'deleting' });
    return {};
  };

  return { CreateVolume, DescribeVolumes, DeleteVolume };
}
