/**
 * DescribeImages over the public AMI catalog (./catalog.ts) and the caller's own and shared
 * images (./own-images.ts), and `findImage` for the EC2 control plane (RunInstances) to resolve a
 * catalog ImageId to the kumo image that boots it and the user that logs in.
 *
 * Catalog images exist in every region with a stable ID per region (`ami-` + 17 hex of a hash of
 * region and name), so an ID copied from one region is, as on AWS, unknown in another. They are
 * public and owned by their publishers' accounts, never by the caller: `--owners self` and
 * `--executable-users self` do not list them.
 *
 * Differences from AWS: catalog images carry no tags; IncludeDisabled has nothing to include.
 */
import { createHash } from 'node:crypto';
import type { Ec2Operations } from '../../../models/generated/ec2.js';
import { AwsError } from '../../../protocol/errors.js';
import type { ImageSpec } from '../../../runtime/images/builder.js';
import { checkDryRun } from '../../../state/dry-run.js';
import { applyFilters, type Accessors } from '../../../state/filters.js';
import { paginate } from '../../../state/pagination.js';
import type { Tag } from '../../../state/tags.js';
import type { OpHandler, RequestContext } from '../../service.js';
import { Ec2Errors } from '../errors.js';
import { CATALOG, type CatalogImage } from './catalog.js';
import type { ImageRecord } from './store.js';

type Op<K extends keyof Ec2Operations> = OpHandler<Ec2Operations, K>;
type ImageShape = NonNullable<Ec2Operations['DescribeImages']['output']['Images']>[number];
/** Catalog images carry no tags (they are not the caller's). */
export type Image = Omit<ImageShape, 'Tags'> & { Tags?: Tag[] };

/** What RunInstances needs to boot an AMI. */
export interface PublicImage {
  imageId: string;
  name: string;
  /** The runtime image to ensureImage() and boot. */
  kumoImage: ImageSpec;
  /** The login user that gets the key pair (ec2-user, admin, ubuntu). */
  defaultUser: string;
  architecture: 'x86_64';
  rootDeviceName: string;
  /** Root volume size in GiB and the snapshot it is made from, for block device mappings. */
  volumeSize: number;
  snapshotId: string;
  platformDetails: string;
  ownerId: string;
  /** `v2.0`: instances default to IMDSv2 only (HttpTokens required), as AWS does for such AMIs. */
  imdsSupport?: string;
}

const e = (code: string, message: string) => new AwsError(code, message, 400);
export const ImageErrors = {
  notFound: (ids: string[]) => e('InvalidAMIID.NotFound', `The image id '[${ids.join(', ')}]' does not exist`),
  malformed: (id: string) => e('InvalidAMIID.Malformed', `Invalid id: "${id}" (expecting "ami-...")`),
  unavailable: (id: string) => e('InvalidAMIID.Unavailable', `The image ID '${id}' is no longer available`),
};

export const AMI_ID = /^ami-([0-9a-f]{8}|[0-9a-f]{17})$/;

const hex17 = (what: string) => createHash('sha256').update(what).digest('hex').slice(0, 17);
const amiId = (region: string, name: string) => `ami-${hex17(`kumo/ami/${region}/${name}`)}`;
const snapshotId = (region: string, name: string) => `snap-${hex17(`kumo/ami-snapshot/${region}/${name}`)}`;

interface Entry {
  image: Image;
  source: CatalogImage;
  deprecated: (now: Date) => boolean;
}

/** The catalog as Image shapes for one region, built once per region (IDs are hashes). */
const byRegion = new Map<string, Entry[]>();
function catalogIn(region: string): Entry[] {
  let entries = byRegion.get(region);
  if (entries) return entries;
  entries = CATALOG.map((c) => ({
    source: c,
    image: toImage(region, c),
    deprecated: (now: Date) => new Date(c.deprecationTime) <= now,
  }));
  byRegion.set(region, entries);
  return entries;
}

function toImage(region: string, c: CatalogImage): Image {
  return {
    ImageId: amiId(region, c.name),
    ImageLocation: `${c.ownerAlias ?? c.ownerId}/${c.name}`,
    State: 'available',
    OwnerId: c.ownerId,
    CreationDate: c.creationDate,
    Public: true,
    Architecture: 'x86_64',
    ImageType: 'machine',
    Name: c.name,
    Description: c.description,
    ImageOwnerAlias: c.ownerAlias,
    RootDeviceType: 'ebs',
    RootDeviceName: c.rootDeviceName,
    BlockDeviceMappings: [{
      DeviceName: c.rootDeviceName,
      Ebs: { DeleteOnTermination: true, SnapshotId: snapshotId(region, c.name), VolumeSize: c.volumeSize, VolumeType: 'gp3', Encrypted: false },
    }],
    VirtualizationType: 'hvm',
    Hypervisor: 'xen',
    EnaSupport: true,
    SriovNetSupport: 'simple',
    PlatformDetails: 'Linux/UNIX',
    UsageOperation: 'RunInstances',
    BootMode: c.bootMode,
    ImdsSupport: c.imdsSupport,
    DeprecationTime: c.deprecationTime,
  };
}

/** The catalog image with this ID in this region, for RunInstances. */
export function findImage(region: string, imageId: string): PublicImage | undefined {
  const hit = catalogIn(region).find((x) => x.image.ImageId === imageId);
  if (!hit) return undefined;
  const { image, source } = hit;
  return {
    imageId, name: source.name, kumoImage: source.kumoImage, defaultUser: source.defaultUser, architecture: 'x86_64',
    rootDeviceName: source.rootDeviceName, volumeSize: source.volumeSize,
    snapshotId: image.BlockDeviceMappings![0]!.Ebs!.SnapshotId!, platformDetails: 'Linux/UNIX', ownerId: source.ownerId,
    imdsSupport: image.ImdsSupport,
  };
}

const imageFilters: Accessors<Image> = {
  architecture: (i) => i.Architecture,
  'block-device-mapping.delete-on-termination': (i) => i.BlockDeviceMappings?.map((b) => b.Ebs?.DeleteOnTermination),
  'block-device-mapping.device-name': (i) => i.BlockDeviceMappings?.map((b) => b.DeviceName),
  'block-device-mapping.snapshot-id': (i) => i.BlockDeviceMappings?.map((b) => b.Ebs?.SnapshotId),
  'block-device-mapping.volume-size': (i) => i.BlockDeviceMappings?.map((b) => b.Ebs?.VolumeSize),
  'block-device-mapping.volume-type': (i) => i.BlockDeviceMappings?.map((b) => b.Ebs?.VolumeType),
  'block-device-mapping.encrypted': (i) => i.BlockDeviceMappings?.map((b) => b.Ebs?.Encrypted),
  'creation-date': (i) => i.CreationDate,
  description: (i) => i.Description,
  'ena-support': (i) => i.EnaSupport,
  hypervisor: (i) => i.Hypervisor,
  'image-id': (i) => i.ImageId,
  'image-type': (i) => i.ImageType,
  'imds-support': (i) => i.ImdsSupport,
  'is-public': (i) => i.Public,
  'kernel-id': (i) => i.KernelId,
  'manifest-location': (i) => i.ImageLocation,
  name: (i) => i.Name,
  'owner-alias': (i) => i.ImageOwnerAlias,
  'owner-id': (i) => i.OwnerId,
  platform: (i) => i.Platform,
  'platform-details': (i) => i.PlatformDetails,
  'product-code': (i) => i.ProductCodes?.map((p) => p.ProductCodeId),
  'ramdisk-id': (i) => i.RamdiskId,
  'root-device-name': (i) => i.RootDeviceName,
  'root-device-type': (i) => i.RootDeviceType,
  'source-instance-id': (i) => i.SourceInstanceId,
  state: (i) => i.State,
  'state-reason-code': (i) => i.StateReason?.Code,
  'state-reason-message': (i) => i.StateReason?.Message,
  'sriov-net-support': (i) => i.SriovNetSupport,
  'tpm-support': (i) => i.TpmSupport,
  'usage-operation': (i) => i.UsageOperation,
  'virtualization-type': (i) => i.VirtualizationType,
};

/** `Owners`: self, amazon, aws-marketplace, aws-backup-vault, or account IDs; anything else is refused. */
function ownerMatches(owners: string[], account: string): (i: Image) => boolean {
  for (const o of owners) {
    if (!/^(self|amazon|aws-marketplace|aws-backup-vault|\d{12})$/.test(o)) {
      throw Ec2Errors.invalidParameter(`Invalid value '${o}' for ownerId`);
    }
  }
  return (i) => owners.some((o) => (o === 'self' ? i.OwnerId === account : o === i.OwnerId || (o === 'amazon' && i.ImageOwnerAlias === 'amazon')));
}

/** What DescribeImages and findImage see of the caller's own images and those shared with it. */
export interface OwnImages {
  /** Images in the caller's region it may launch (own, public, shared with it), with its own tags. */
  visible(ctx: RequestContext): { image: Image; record: ImageRecord }[];
  /** An image of one's own or shared, by ID in a region. */
  find(account: string, region: string, imageId: string): ImageRecord | undefined;
}

/**
 * `ExecutableUsers`: `all` means public images; `self` the caller's own and those shared with it;
 * an account ID the caller's images shared with that account. A catalog image is only public.
 */
function executableBy(users: string[], account: string, records: Map<string, ImageRecord>) {
  return (i: Image) => {
    const r = records.get(i.ImageId!);
    return users.some((u) => {
      if (u === 'all') return i.Public === true;
      if (!r) return false;
      if (u === 'self') return i.OwnerId === account || r.LaunchPermissions.some((p) => p.UserId === account);
      return i.OwnerId === account && r.LaunchPermissions.some((p) => p.UserId === u);
    });
  };
}

export function imageHandlers(own: OwnImages) {
  const DescribeImages: Op<'DescribeImages'> = (ctx, input) => {
    const ids = input.ImageIds ?? [];
    for (const id of ids) if (!AMI_ID.test(id)) throw ImageErrors.malformed(id);
    if (ids.length && input.MaxResults !== undefined) {
      throw Ec2Errors.invalidCombination('The parameter imageIdsSet cannot be used with the parameter maxResults');
    }
    for (const u of input.ExecutableUsers ?? []) if (!/^(all|self|\d{12})$/.test(u)) throw Ec2Errors.invalidParameter(`Invalid value '${u}' for executableUsers`);
    const now = ctx.now();
    let entries = catalogIn(ctx.region);
    const mine = own.visible(ctx);
    const records = new Map(mine.map((x) => [x.image.ImageId!, x.record] as const));
    let images: Image[];
    if (ids.length) {
      const known = new Set([...entries.map((x) => x.image.ImageId!), ...records.keys()]);
      const missing = ids.filter((id) => !known.has(id));
      if (missing.length) throw ImageErrors.notFound(missing);
      entries = entries.filter((x) => ids.includes(x.image.ImageId!));
      images = [...entries.map((x) => x.image), ...mine.filter((x) => ids.includes(x.image.ImageId!)).map((x) => x.image)];
    } else {
      // Asking by ID shows a deprecated image; listing hides it unless asked to include them.
      if (!input.IncludeDeprecated) entries = entries.filter((x) => !x.deprecated(now));
      images = [...entries.map((x) => x.image), ...mine.map((x) => x.image)];
    }
    if (input.Owners?.length) images = images.filter(ownerMatches(input.Owners, ctx.account));
    if (input.ExecutableUsers?.length) images = images.filter(executableBy(input.ExecutableUsers, ctx.account, records));
    images = applyFilters(images, input.Filters, imageFilters);
    const page = paginate(images, (i) => i.ImageId!, {
      maxResults: input.MaxResults, nextToken: input.NextToken, min: 5, max: 1000,
    });
    checkDryRun(input);
    return { Images: page.items, NextToken: page.nextToken };
  };

  return { DescribeImages };
}

/** A catalog image as Image, for the attribute calls. */
export function catalogImage(region: string, imageId: string): Image | undefined {
  return catalogIn(region).find((x) => x.image.ImageId === imageId)?.image;
}
