/**
 * CreateSnapshot, CreateSnapshots, DescribeSnapshots, DeleteSnapshot, CopySnapshot.
 *
 *   create  a `pending` row at `0%` → the reconciler copies the volume's disk into the snapshot
 *           store (runtime/snapshots: incremental, crash-safe), a mounted root volume held still
 *           meanwhile (fsfreeze), the row's Progress following → `completed` at `100%`, or
 *           `error` with a StateMessage (also for a snapshot a kill -9 interrupted)
 *   copy    a `pending` row naming its source → the store names the same chunks → `completed`
 *   delete  the row goes at once (unless an image uses it: InvalidSnapshot.InUse); the
 *           reconciler removes what no row names any more
 *
 * Who sees a snapshot (DescribeSnapshots with no owner or restorable-by): its owner, every
 * account it is shared with (createVolumePermission), and everyone when it is public.
 */
import type { Ec2Operations } from '../../../models/generated/ec2.js';
import { checkDryRun } from '../../../state/dry-run.js';
import type { Accessors } from '../../../state/filters.js';
import { resourceId } from '../../../state/ids.js';
import { regionInfo } from '../../../state/regions.js';
import type { Scope } from '../../../state/scope.js';
import type { Tag } from '../../../state/tags.js';
import { scopeOf, type OpHandler, type RequestContext } from '../../service.js';
import { pick } from '../describe.js';
import { Ec2Errors } from '../errors.js';
import { instancesByIds } from '../instances/instances.js';
import { putTags, tagsFromSpecifications } from '../tagging.js';
import { canUse, capped, findSnapshot, findVolume, ownSnapshot, type EbsDeps } from './common.js';
import { EbsErrors } from './errors.js';
import type { SnapshotRecord, VolumeRecord } from './store.js';

type Op<K extends keyof Ec2Operations> = OpHandler<Ec2Operations, K>;
type ShownSnapshot = SnapshotRecord & { Tags: Tag[] };

/** AWS's largest DescribeSnapshots page. */
const MAX_PAGE = 1000;
const MAX_DESCRIPTION = 255;

export function snapshotView(s: ShownSnapshot) {
  return {
    Description: s.Description,
    Encrypted: false,
    OwnerId: s.OwnerId,
    Progress: s.Progress,
    SnapshotId: s.SnapshotId,
    StartTime: s.StartTime,
    State: s.State,
    StateMessage: s.StateMessage,
    VolumeId: s.VolumeId,
    VolumeSize: s.VolumeSize,
    Tags: s.Tags,
    StorageTier: 'standard',
  };
}

const snapshotFilters: Accessors<ShownSnapshot> = {
  description: (s) => s.Description,
  encrypted: () => 'false',
  'owner-alias': () => undefined,
  'owner-id': (s) => s.OwnerId,
  progress: (s) => s.Progress,
  'snapshot-id': (s) => s.SnapshotId,
  'start-time': (s) => s.StartTime,
  status: (s) => s.State,
  'storage-tier': () => 'standard',
  'volume-id': (s) => s.VolumeId,
  'volume-size': (s) => String(s.VolumeSize),
};

function checkDescription(d: string | undefined): string {
  if (d !== undefined && d.length > MAX_DESCRIPTION) throw Ec2Errors.invalidParameter(`Value for parameter description is invalid. Length exceeds maximum of ${MAX_DESCRIPTION} characters.`);
  return d ?? '';
}

/** A pending snapshot of `v` with its tags (call after every check and DryRun, in a transaction). */
export function beginSnapshot(deps: Pick<EbsDeps, 'store' | 'ebs'>, scope: Scope, now: Date, v: VolumeRecord, description: string, tags: Tag[]): ShownSnapshot {
  const s: SnapshotRecord = {
    SnapshotId: resourceId('snap'),
    OwnerId: scope.account,
    VolumeId: v.VolumeId,
    VolumeSize: v.Size,
    Description: description,
    StartTime: now.toISOString(),
    State: 'pending',
    Progress: '0%',
    CreateVolumePermissions: [],
    Boot: v.Boot,
  };
  deps.ebs.putSnapshot(scope, s);
  putTags(deps.store, scope, s.SnapshotId, 'snapshot', tags);
  return { ...s, Tags: tags };
}

/** A pending copy of a completed snapshot (perhaps of another region) into `scope` (in a transaction). */
export function beginSnapshotCopy(deps: Pick<EbsDeps, 'store' | 'ebs'>, scope: Scope, now: Date, source: SnapshotRecord, sourceRegion: string, description: string, tags: Tag[]): SnapshotRecord {
  const copy: SnapshotRecord = {
    SnapshotId: resourceId('snap'),
    OwnerId: scope.account,
    VolumeId: 'vol-ffffffff',
    VolumeSize: source.VolumeSize,
    Description: description,
    StartTime: now.toISOString(),
    State: 'pending',
    Progress: '0%',
    CreateVolumePermissions: [],
    CopyOf: { SnapshotId: source.SnapshotId, Region: sourceRegion },
    Boot: source.Boot,
  };
  deps.ebs.putSnapshot(scope, copy);
  putTags(deps.store, scope, copy.SnapshotId, 'snapshot', tags);
  return copy;
}

export function snapshotHandlers(deps: EbsDeps) {
  const { store, ebs } = deps;
  // Tags are the owner's: another account sees a shared snapshot without them.
  store.registerTaggable('snap', {
    type: 'snapshot',
    exists: (scope, id) => ebs.snapshot(scope.region, id)?.scope.account === scope.account,
    notFound: EbsErrors.snapshotNotFound,
  });

  const usable = (v: VolumeRecord) => {
    if (v.State !== 'available' && v.State !== 'in-use') throw EbsErrors.volumeState(v.VolumeId, v.State);
  };
  const requireStore = () => {
    if (!deps.host.snapshots) throw EbsErrors.needsNativeRuntime('take snapshots');
  };

  const begin = (ctx: RequestContext, v: VolumeRecord, description: string, tags: Tag[]): ShownSnapshot =>
    beginSnapshot(deps, scopeOf(ctx), ctx.now(), v, description, tags);

  const CreateSnapshot: Op<'CreateSnapshot'> = (ctx, input) => {
    const v = findVolume(ebs, scopeOf(ctx), input.VolumeId);
    if (input.OutpostArn) throw Ec2Errors.unsupported('Outposts');
    usable(v);
    const description = checkDescription(input.Description);
    const tags = tagsFromSpecifications(input.TagSpecifications, 'snapshot');
    requireStore();
    checkDryRun(input);
    return snapshotView(store.transaction(() => begin(ctx, v, description, tags)));
  };

  const CreateSnapshots: Op<'CreateSnapshots'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const spec = input.InstanceSpecification;
    if (!spec?.InstanceId) throw Ec2Errors.missingParameter('InstanceSpecification.InstanceId');
    const [i] = instancesByIds(deps.instances, scope, [spec.InstanceId], ctx.now());
    if (input.OutpostArn) throw Ec2Errors.unsupported('Outposts');
    if (input.CopyTagsFromSource !== undefined && input.CopyTagsFromSource !== 'volume') {
      throw Ec2Errors.invalidParameter(`Value (${input.CopyTagsFromSource}) for parameter CopyTagsFromSource is invalid. Expected: 'volume'.`);
    }
    const attached = ebs.volumesOf(scope, i!.InstanceId);
    const excluded = new Set(spec.ExcludeDataVolumeIds ?? []);
    for (const id of excluded) {
      const v = findVolume(ebs, scope, id);
      if (v.Attachment?.InstanceId !== i!.InstanceId) throw Ec2Errors.invalidParameter(`The volume ${id} is not attached to instance ${i!.InstanceId}.`);
      if (v.Attachment.Root) throw Ec2Errors.invalidParameter(`The volume ${id} is the root volume of ${i!.InstanceId}: exclude it with ExcludeBootVolume.`);
    }
    const chosen = attached.filter((v) => !excluded.has(v.VolumeId) && !(spec.ExcludeBootVolume && v.Attachment!.Root));
    if (chosen.length === 0) throw Ec2Errors.invalidParameter(`No volumes of instance ${i!.InstanceId} are left to snapshot.`);
    for (const v of chosen) usable(v);
    const description = checkDescription(input.Description);
    const tags = tagsFromSpecifications(input.TagSpecifications, 'snapshot');
    requireStore();
    checkDryRun(input);
    const made = store.transaction(() =>
      chosen.map((v) => {
        const own = input.CopyTagsFromSource === 'volume' ? store.tags.get(scope, v.VolumeId) : [];
        const merged = new Map([...own, ...tags].map((t) => [t.Key, t] as const));
        return begin(ctx, v, description, [...merged.values()]);
      }),
    );
    return { Snapshots: made.map((s) => ({ ...snapshotView(s), StateMessage: undefined, StorageTier: undefined })) };
  };

  /** The snapshots a caller may see in its region, narrowed by OwnerIds and RestorableByUserIds. */
  const visible = (ctx: RequestContext, owners: string[] | undefined, restorable: string[] | undefined): SnapshotRecord[] => {
    const me = ctx.account;
    const ownerSet = owners?.length ? new Set(owners.map((o) => (o === 'self' ? me : o))) : undefined;
    const rows = ebs.snapshotsIn(ctx.region).filter(({ scope, row }) => canUse(me, scope.account, row));
    return rows
      .filter(({ row }) => !ownerSet || ownerSet.has(row.OwnerId))
      .filter(({ row }) => {
        if (!restorable?.length) return true;
        const perms = row.CreateVolumePermissions;
        return restorable.some((who) =>
          who === 'all'
            ? perms.some((p) => p.Group === 'all')
            : who === 'self'
              ? row.OwnerId === me || perms.some((p) => p.UserId === me)
              : row.OwnerId === me && perms.some((p) => p.UserId === who),
        );
      })
      .map(({ row }) => row);
  };

  /** Rows with their owner's tags (another account's tags are not the caller's to see). */
  const shown = (ctx: RequestContext, rows: SnapshotRecord[]): ShownSnapshot[] => {
    const mine = store.withTags(scopeOf(ctx), 'snapshot', (s) => s.SnapshotId, rows);
    return mine.map((s) => (s.OwnerId === ctx.account ? s : { ...s, Tags: [] }));
  };

  const DescribeSnapshots: Op<'DescribeSnapshots'> = (ctx, input) => {
    checkDryRun(input);
    for (const who of input.RestorableByUserIds ?? []) if (who !== 'all' && who !== 'self' && !/^\d{12}$/.test(who)) throw EbsErrors.invalidUser(who);
    const page = pick(shown(ctx, visible(ctx, input.OwnerIds, input.RestorableByUserIds)), (s) => s.SnapshotId, snapshotFilters, {
      ids: input.SnapshotIds,
      idsParam: 'snapshotIds',
      prefix: 'snap',
      malformed: EbsErrors.snapshotMalformed,
      notFound: EbsErrors.snapshotNotFound,
      filters: input.Filters,
      maxResults: capped(input.MaxResults, MAX_PAGE),
      nextToken: input.NextToken,
    });
    return { Snapshots: page.items.map(snapshotView), NextToken: page.nextToken };
  };

  const DeleteSnapshot: Op<'DeleteSnapshot'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const s = ownSnapshot(ebs, scope, input.SnapshotId);
    for (const user of deps.snapshotUsers) {
      const image = user(scope, s.SnapshotId);
      if (image) throw EbsErrors.snapshotInUse(s.SnapshotId, image);
    }
    checkDryRun(input);
    store.transaction(() => {
      ebs.deleteSnapshot(scope, s.SnapshotId);
      store.tags.removeAll(scope, s.SnapshotId);
    });
    return {};
  };

  const CopySnapshot: Op<'CopySnapshot'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    if (!input.SourceRegion) throw Ec2Errors.missingParameter('SourceRegion');
    if (!input.SourceSnapshotId) throw Ec2Errors.missingParameter('SourceSnapshotId');
    if (!regionInfo(input.SourceRegion)) throw Ec2Errors.invalidRegion(input.SourceRegion);
    // The SDKs fill DestinationRegion (and a presigned URL, which kumo has no use for) themselves.
    if (input.DestinationRegion && input.DestinationRegion !== ctx.region) {
      throw Ec2Errors.invalidParameter(`Value (${input.DestinationRegion}) for parameter destinationRegion is invalid. Send CopySnapshot to the destination region (${ctx.region} here).`);
    }
    if (input.Encrypted || input.KmsKeyId) throw Ec2Errors.unsupported('encrypted snapshots');
    if (input.DestinationOutpostArn) throw Ec2Errors.unsupported('Outposts');
    const { row: source } = findSnapshot(ebs, ctx.account, input.SourceRegion, input.SourceSnapshotId);
    if (source.State !== 'completed') throw EbsErrors.snapshotNotReady(source.SnapshotId, source.State);
    const description = checkDescription(input.Description ?? `[Copied ${source.SnapshotId} from ${input.SourceRegion}]`);
    const tags = tagsFromSpecifications(input.TagSpecifications, 'snapshot');
    requireStore();
    checkDryRun(input);
    const copy = store.transaction(() => beginSnapshotCopy(deps, scope, ctx.now(), source, input.SourceRegion!, description, tags));
    return { SnapshotId: copy.SnapshotId, Tags: tags };
  };

  return { CreateSnapshot, CreateSnapshots, DescribeSnapshots, DeleteSnapshot, CopySnapshot };
}
