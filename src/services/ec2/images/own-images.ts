/**
 * Images of one's own: CreateImage, RegisterImage, DeregisterImage, CopyImage, and how such an
 * image looks on the wire.
 *
 *   CreateImage     from a running or stopped instance: a `pending` row; by default a running
 *                   instance is stopped first (`stopping → stopped`), its volumes snapshotted at
 *                   rest, then started again; with NoReboot the snapshots are taken at once while
 *                   it runs (the root volume frozen for the read) → `available` once every
 *                   snapshot is `completed` (../dataplane/image-builds.ts), or `failed`
 *   RegisterImage   from a completed snapshot of an instance root volume: `available` at once
 *   CopyImage       the source's snapshots copied into this region → `available` once copied
 *   DeregisterImage the row goes; its snapshots stay, as on AWS
 *
 * Names are unique per account and region (InvalidAMIName.Duplicate).
 */
import type { Ec2Operations } from '../../../models/generated/ec2.js';
import { AwsError } from '../../../protocol/errors.js';
import { checkDryRun } from '../../../state/dry-run.js';
import { resourceId } from '../../../state/ids.js';
import { regionInfo } from '../../../state/regions.js';
import type { Scope } from '../../../state/scope.js';
import type { Tag } from '../../../state/tags.js';
import { scopeOf, type OpHandler } from '../../service.js';
import { findSnapshot, type EbsDeps } from '../ebs/common.js';
import { EbsErrors } from '../ebs/errors.js';
import { beginSnapshot, beginSnapshotCopy } from '../ebs/snapshots.js';
import type { VolumeRecord } from '../ebs/store.js';
import { Ec2Errors } from '../errors.js';
import { instancesByIds } from '../instances/instances.js';
import type { InstanceRecord } from '../instances/store.js';
import { putTags, tagsFromSpecifications } from '../tagging.js';
import { wellFormed } from '../store.js';
import type { ImageMapping, ImageRecord, ImageStore } from './store.js';
import { AMI_ID, ImageErrors, type Image } from './images.js';

type Op<K extends keyof Ec2Operations> = OpHandler<Ec2Operations, K>;

const e = (code: string, message: string) => new AwsError(code, message, 400);
export const OwnImageErrors = {
  duplicateName: (name: string, id: string) => e('InvalidAMIName.Duplicate', `AMI name ${name} is already in use by AMI ${id}`),
  malformedName: () =>
    e('InvalidAMIName.Malformed', "AMI names must be between 3 and 128 characters long, and may contain letters, numbers, '(', ')', '[', ']', ' ', '.', '-', '/', '\\'', '@' and '_'"),
  instanceState: (id: string, state: string) => e('IncorrectInstanceState', `Instance '${id}' is not in a state from which an image can be created (it is '${state}').`),
  notOwner: (id: string) => e('AuthFailure', `Not authorized for image:${id}`),
  notBootable: (snapshot: string) =>
    e('InvalidParameterValue', `kumo boots images registered from snapshots of instance root volumes only; ${snapshot} is a snapshot of a data volume.`),
};

const NAME = /^[A-Za-z0-9()[\] ./\-'@_]{3,128}$/;
const MAX_DESCRIPTION = 255;

export interface ImageDeps extends Pick<EbsDeps, 'store' | 'ebs' | 'instances' | 'host'> {
  images: ImageStore;
  /** Rows changed: the image builder and the volume reconciler look again. */
  changed(): void;
}

/** An own image as DescribeImages shows it. */
export function imageView(i: ImageRecord, tags: Tag[] | undefined): Image {
  return {
    ImageId: i.ImageId,
    ImageLocation: `${i.OwnerId}/${i.Name}`,
    State: i.State,
    StateReason: i.StateReason,
    OwnerId: i.OwnerId,
    CreationDate: i.CreationDate,
    Public: i.LaunchPermissions.some((p) => p.Group === 'all'),
    Architecture: i.Architecture,
    ImageType: 'machine',
    Name: i.Name,
    Description: i.Description,
    RootDeviceType: 'ebs',
    RootDeviceName: i.RootDeviceName,
    BlockDeviceMappings: i.BlockDeviceMappings.map((m) => ({
      DeviceName: m.DeviceName,
      VirtualName: m.VirtualName,
      NoDevice: m.NoDevice,
      Ebs: m.Ebs && {
        DeleteOnTermination: m.Ebs.DeleteOnTermination,
        SnapshotId: m.Ebs.SnapshotId || undefined,
        VolumeSize: m.Ebs.VolumeSize,
        VolumeType: m.Ebs.VolumeType,
        Iops: m.Ebs.Iops,
        Throughput: m.Ebs.Throughput,
        Encrypted: false,
      },
    })),
    VirtualizationType: i.VirtualizationType,
    Hypervisor: 'xen',
    EnaSupport: i.EnaSupport,
    SriovNetSupport: i.SriovNetSupport,
    PlatformDetails: 'Linux/UNIX',
    UsageOperation: 'RunInstances',
    BootMode: i.BootMode,
    ImdsSupport: i.ImdsSupport,
    SourceInstanceId: i.SourceInstanceId,
    Tags: tags,
  };
}

/** May `account` see and launch this image: its own, public, or shared with it. */
export function canLaunch(account: string, owner: string, i: ImageRecord): boolean {
  return owner === account || i.LaunchPermissions.some((p) => p.Group === 'all' || p.UserId === account);
}

/** An own or shared image by ID in `region` (the caller's by default), with AWS's errors. */
export function findOwnImage(images: ImageStore, account: string, region: string, id: string): { scope: Scope; row: ImageRecord } {
  if (!AMI_ID.test(id ?? '')) throw ImageErrors.malformed(id);
  const found = images.get(region, id);
  if (!found || !canLaunch(account, found.scope.account, found.row)) throw ImageErrors.notFound([id]);
  return found;
}

function checkName(images: ImageStore, scope: Scope, name: string | undefined): string {
  if (name === undefined || name === '') throw Ec2Errors.missingParameter('name');
  if (!NAME.test(name)) throw OwnImageErrors.malformedName();
  const taken = images.inRegion(scope.region).find((x) => x.scope.account === scope.account && x.row.Name === name);
  if (taken) throw OwnImageErrors.duplicateName(name, taken.row.ImageId);
  return name;
}

function checkDescription(d: string | undefined): string | undefined {
  if (d !== undefined && d.length > MAX_DESCRIPTION) throw Ec2Errors.invalidParameter(`Value for parameter description is invalid. Length exceeds maximum of ${MAX_DESCRIPTION} characters.`);
  return d;
}

/** TagSpecifications of CreateImage and CopyImage may tag the image and its snapshots. */
function imageTags(specs: Ec2Operations['CreateImage']['input']['TagSpecifications']): { image: Tag[]; snapshot: Tag[] } {
  const image = tagsFromSpecifications(specs?.filter((s) => s.ResourceType === 'image'), 'image');
  const snapshot = tagsFromSpecifications(specs?.filter((s) => s.ResourceType === 'snapshot'), 'snapshot');
  for (const s of specs ?? []) {
    if (s.ResourceType !== 'image' && s.ResourceType !== 'snapshot') throw Ec2Errors.invalidParameter(`'${s.ResourceType}' is not a valid taggable resource type for this operation.`);
  }
  return { image, snapshot };
}

/**
 * The image's block device mappings: the instance's volumes (root first), shaped by what the call
 * asks (NoDevice leaves a data volume out; a larger VolumeSize or another DeleteOnTermination is
 * recorded for launches). Instance-store mappings are recorded as given.
 */
function mappingsOf(i: InstanceRecord, volumes: VolumeRecord[], asked: Ec2Operations['CreateImage']['input']['BlockDeviceMappings']): { mappings: ImageMapping[]; imaged: { DeviceName: string; VolumeId: string }[] } {
  const mappings: ImageMapping[] = [];
  const imaged: { DeviceName: string; VolumeId: string }[] = [];
  const attached = volumes.filter((v) => v.Attachment?.State === 'attached').sort((a, b) => Number(!a.Attachment!.Root) - Number(!b.Attachment!.Root));
  for (const b of asked ?? []) {
    if (!b.DeviceName) throw Ec2Errors.missingParameter('BlockDeviceMapping.DeviceName');
    if (b.Ebs?.SnapshotId) throw Ec2Errors.unsupported('adding a snapshot to an image being created');
    if (b.NoDevice !== undefined && b.DeviceName === i.RootDeviceName) throw Ec2Errors.invalidParameter('The root device cannot be left out of an image.');
    if (!b.VirtualName && b.NoDevice === undefined && !attached.some((v) => v.Attachment!.Device === b.DeviceName)) {
      throw Ec2Errors.invalidParameter(`No volume is attached to ${i.InstanceId} at ${b.DeviceName}.`);
    }
  }
  for (const v of attached) {
    const device = v.Attachment!.Device;
    const b = asked?.find((x) => x.DeviceName === device);
    if (b?.NoDevice !== undefined) continue;
    const size = b?.Ebs?.VolumeSize ?? v.Size;
    if (size < v.Size) throw Ec2Errors.invalidParameter(`Volume of size ${size}GiB is smaller than the volume at ${device} (${v.Size}GiB).`);
    mappings.push({
      DeviceName: device,
      Ebs: {
        SnapshotId: '',
        VolumeSize: size,
        VolumeType: b?.Ebs?.VolumeType ?? v.VolumeType,
        DeleteOnTermination: b?.Ebs?.DeleteOnTermination ?? v.Attachment!.DeleteOnTermination,
        Iops: b?.Ebs?.Iops ?? v.Iops,
        Throughput: b?.Ebs?.Throughput ?? v.Throughput,
      },
    });
    imaged.push({ DeviceName: device, VolumeId: v.VolumeId });
  }
  for (const b of asked ?? []) if (b.VirtualName) mappings.push({ DeviceName: b.DeviceName!, VirtualName: b.VirtualName });
  return { mappings, imaged };
}

/**
 * Snapshots of the image's volumes, now (in a transaction): their IDs go into the mappings. The
 * build then waits for them (../dataplane/image-builds.ts).
 */
export function snapshotForImage(deps: Pick<ImageDeps, 'store' | 'ebs'>, scope: Scope, now: Date, image: ImageRecord): ImageRecord {
  const build = image.Build!;
  const mappings = image.BlockDeviceMappings.map((m) => {
    const imaged = build.Volumes.find((x) => x.DeviceName === m.DeviceName);
    const v = imaged && deps.ebs.volume(scope, imaged.VolumeId);
    if (!m.Ebs || !v) return m;
    const s = beginSnapshot(deps, scope, now, v, `Created by CreateImage(${build.InstanceId}) for ${image.ImageId}`, build.SnapshotTags);
    return { ...m, Ebs: { ...m.Ebs, SnapshotId: s.SnapshotId } };
  });
  return { ...image, BlockDeviceMappings: mappings, Build: { ...build, Phase: 'snapshotting' } };
}

export function ownImageHandlers(deps: ImageDeps) {
  const { store, ebs, images } = deps;
  store.registerTaggable('ami', {
    type: 'image',
    exists: (scope, id) => images.get(scope.region, id)?.scope.account === scope.account,
    notFound: (id) => ImageErrors.notFound([id]),
  });
  const requireSnapshots = (what: string) => {
    if (!deps.host.snapshots) throw EbsErrors.needsNativeRuntime(what);
  };

  const CreateImage: Op<'CreateImage'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const [i] = instancesByIds(deps.instances, scope, [input.InstanceId], ctx.now());
    const instance = i!;
    if (!['running', 'stopping', 'stopped'].includes(instance.State)) throw OwnImageErrors.instanceState(instance.InstanceId, instance.State);
    const name = checkName(images, scope, input.Name);
    const description = checkDescription(input.Description);
    const tags = imageTags(input.TagSpecifications);
    const { mappings, imaged } = mappingsOf(instance, ebs.volumesOf(scope, instance.InstanceId), input.BlockDeviceMappings);
    requireSnapshots('create images');
    checkDryRun(input);
    // A running instance is stopped for the image unless NoReboot; one already on its way down is waited for.
    const stopFirst = (instance.State === 'running' && !input.NoReboot) || instance.State === 'stopping';
    const image: ImageRecord = {
      ImageId: resourceId('ami'),
      OwnerId: ctx.account,
      Name: name,
      Description: description,
      State: 'pending',
      CreationDate: ctx.now().toISOString(),
      Architecture: instance.Architecture,
      RootDeviceName: instance.RootDeviceName,
      BlockDeviceMappings: mappings,
      VirtualizationType: 'hvm',
      EnaSupport: true,
      SriovNetSupport: 'simple',
      ImdsSupport: instance.MetadataOptions.HttpTokens === 'required' ? 'v2.0' : undefined,
      KumoImage: instance.KumoImage,
      DefaultUser: instance.DefaultUser,
      SourceInstanceId: instance.InstanceId,
      LaunchPermissions: [],
      Build: { InstanceId: instance.InstanceId, Phase: 'stopping', Restart: instance.State === 'running' && !input.NoReboot, Volumes: imaged, SnapshotTags: tags.snapshot },
    };
    store.transaction(() => {
      const fresh = deps.instances.get(scope, instance.InstanceId)!;
      if (image.Build!.Restart) {
        deps.instances.put(scope, {
          ...fresh,
          State: 'stopping',
          ImageStop: image.ImageId,
          StateTransitionReason: `User initiated (${ctx.now().toISOString().replace('T', ' ').slice(0, 19)} GMT): CreateImage ${image.ImageId}`,
          StateReason: { Code: 'Client.UserInitiatedShutdown', Message: 'Client.UserInitiatedShutdown: User initiated shutdown' },
        });
      }
      images.put(scope, stopFirst ? image : snapshotForImage(deps, scope, ctx.now(), image));
      putTags(store, scope, image.ImageId, 'image', tags.image);
    });
    deps.changed();
    return { ImageId: image.ImageId };
  };

  const RegisterImage: Op<'RegisterImage'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    if (input.ImageLocation) throw Ec2Errors.unsupported('instance store-backed images (ImageLocation)');
    if (input.KernelId || input.RamdiskId) throw Ec2Errors.unsupported('kernel and ramdisk images');
    const name = checkName(images, scope, input.Name);
    const description = checkDescription(input.Description);
    const rootDevice = input.RootDeviceName;
    if (!rootDevice) throw Ec2Errors.missingParameter('rootDeviceName');
    const given = input.BlockDeviceMappings ?? [];
    const root = given.find((b) => b.DeviceName === rootDevice);
    if (!root?.Ebs?.SnapshotId) throw Ec2Errors.invalidParameter(`The block device mapping for the root device ${rootDevice} must name a snapshot.`);
    const mappings: ImageMapping[] = [];
    let boot: { KumoImage: string; DefaultUser: string } | undefined;
    for (const b of given) {
      if (!b.DeviceName) throw Ec2Errors.missingParameter('BlockDeviceMapping.DeviceName');
      if (b.VirtualName || b.NoDevice !== undefined) {
        mappings.push({ DeviceName: b.DeviceName, VirtualName: b.VirtualName, NoDevice: b.NoDevice });
        continue;
      }
      if (!b.Ebs?.SnapshotId) throw Ec2Errors.unsupported('empty EBS volumes in an image');
      const { row: snap } = findSnapshot(ebs, ctx.account, ctx.region, b.Ebs.SnapshotId);
      if (snap.State !== 'completed') throw EbsErrors.snapshotNotReady(snap.SnapshotId, snap.State);
      if (b === root) {
        if (!snap.Boot) throw OwnImageErrors.notBootable(snap.SnapshotId);
        boot = snap.Boot;
      }
      const size = b.Ebs.VolumeSize ?? snap.VolumeSize;
      if (size < snap.VolumeSize) throw Ec2Errors.invalidParameter(`Volume of size ${size}GiB is smaller than snapshot '${snap.SnapshotId}', expect size >= ${snap.VolumeSize}GiB`);
      mappings.push({
        DeviceName: b.DeviceName,
        Ebs: { SnapshotId: snap.SnapshotId, VolumeSize: size, VolumeType: b.Ebs.VolumeType ?? 'gp2', DeleteOnTermination: b.Ebs.DeleteOnTermination ?? true, Iops: b.Ebs.Iops, Throughput: b.Ebs.Throughput },
      });
    }
    const architecture = input.Architecture ?? 'i386';
    if (!['i386', 'x86_64', 'arm64', 'x86_64_mac', 'arm64_mac'].includes(architecture)) throw Ec2Errors.invalidParameter(`Value (${architecture}) for parameter architecture is invalid.`);
    const virtualization = input.VirtualizationType ?? 'paravirtual';
    if (virtualization !== 'hvm' && virtualization !== 'paravirtual') throw Ec2Errors.invalidParameter(`Value (${virtualization}) for parameter virtualizationType is invalid.`);
    if (input.ImdsSupport !== undefined && input.ImdsSupport !== 'v2.0') throw Ec2Errors.invalidParameter(`Value (${input.ImdsSupport}) for parameter ImdsSupport is invalid.`);
    const tags = tagsFromSpecifications(input.TagSpecifications, 'image');
    checkDryRun(input);
    const image: ImageRecord = {
      ImageId: resourceId('ami'),
      OwnerId: ctx.account,
      Name: name,
      Description: description,
      State: 'available',
      CreationDate: ctx.now().toISOString(),
      Architecture: architecture,
      RootDeviceName: rootDevice,
      BlockDeviceMappings: [...mappings.filter((m) => m.DeviceName === rootDevice), ...mappings.filter((m) => m.DeviceName !== rootDevice)],
      VirtualizationType: virtualization,
      EnaSupport: input.EnaSupport ?? false,
      SriovNetSupport: input.SriovNetSupport,
      BootMode: input.BootMode,
      ImdsSupport: input.ImdsSupport,
      KumoImage: boot!.KumoImage,
      DefaultUser: boot!.DefaultUser,
      LaunchPermissions: [],
    };
    store.transaction(() => {
      images.put(scope, image);
      putTags(store, scope, image.ImageId, 'image', tags);
    });
    return { ImageId: image.ImageId };
  };

  const DeregisterImage: Op<'DeregisterImage'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const { scope: owner, row } = findOwnImage(images, ctx.account, ctx.region, input.ImageId);
    if (owner.account !== ctx.account) throw OwnImageErrors.notOwner(row.ImageId);
    checkDryRun(input);
    store.transaction(() => {
      images.delete(scope, row.ImageId);
      store.tags.removeAll(scope, row.ImageId);
    });
    deps.changed();
    return {};
  };

  const CopyImage: Op<'CopyImage'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    if (!input.SourceRegion) throw Ec2Errors.missingParameter('SourceRegion');
    if (!input.SourceImageId) throw Ec2Errors.missingParameter('SourceImageId');
    if (!regionInfo(input.SourceRegion)) throw Ec2Errors.invalidRegion(input.SourceRegion);
    if (input.Encrypted || input.KmsKeyId) throw Ec2Errors.unsupported('encrypted images');
    if (input.DestinationOutpostArn) throw Ec2Errors.unsupported('Outposts');
    if (input.ClientToken) {
      const same = images.inRegion(ctx.region).find((x) => x.scope.account === ctx.account && x.row.ClientToken === input.ClientToken);
      if (same) return { ImageId: same.row.ImageId };
    }
    if (!wellFormed(input.SourceImageId, 'ami')) throw ImageErrors.malformed(input.SourceImageId);
    const source = images.get(input.SourceRegion, input.SourceImageId);
    // Catalog images are everywhere already; AWS would copy them, kumo has nothing to copy.
    if (!source || !canLaunch(ctx.account, source.scope.account, source.row)) throw ImageErrors.notFound([input.SourceImageId]);
    if (source.row.State !== 'available') throw e('IncorrectState', `Image ${source.row.ImageId} is not available: it is ${source.row.State}.`);
    const name = checkName(images, scope, input.Name);
    const description = checkDescription(input.Description ?? source.row.Description);
    const tags = imageTags(input.TagSpecifications);
    requireSnapshots('copy images');
    checkDryRun(input);
    const sourceTags = input.CopyImageTags && source.scope.account === ctx.account ? store.tags.get(source.scope, source.row.ImageId) : [];
    const imageId = resourceId('ami');
    const image = store.transaction(() => {
      const mappings = source.row.BlockDeviceMappings.map((m) => {
        if (!m.Ebs) return m;
        const snap = ebs.snapshot(input.SourceRegion, m.Ebs.SnapshotId);
        if (!snap) throw EbsErrors.snapshotNotFound(m.Ebs.SnapshotId);
        const copy = beginSnapshotCopy(deps, scope, ctx.now(), snap.row, input.SourceRegion, `Copied for DestinationAmi ${imageId} from SourceAmi ${source.row.ImageId} for SourceSnapshot ${snap.row.SnapshotId}`, tags.snapshot);
        return { ...m, Ebs: { ...m.Ebs, SnapshotId: copy.SnapshotId } };
      });
      const { Build: _none, SourceInstanceId: _instance, ...rest } = source.row;
      const made: ImageRecord = {
        ...rest,
        ImageId: imageId,
        OwnerId: ctx.account,
        Name: name,
        Description: description,
        State: 'pending',
        CreationDate: ctx.now().toISOString(),
        BlockDeviceMappings: mappings,
        SourceImageId: source.row.ImageId,
        SourceImageRegion: input.SourceRegion,
        LaunchPermissions: [],
        ClientToken: input.ClientToken,
      };
      images.put(scope, made);
      putTags(store, scope, made.ImageId, 'image', [...sourceTags, ...tags.image]);
      return made;
    });
    deps.changed();
    return { ImageId: image.ImageId };
  };

  return { CreateImage, RegisterImage, DeregisterImage, CopyImage };
}
