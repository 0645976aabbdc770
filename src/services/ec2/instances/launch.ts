/**
 * RunInstances: every check AWS makes before it accepts a launch (image, type and architecture,
 * subnet or zone, groups, key, user data, addresses, root volume), then one transaction that
 * writes the reservation's instances as `pending` with their primary network interfaces and
 * addresses. Nothing runs here: the supervisor sees the pending rows and boots them, so the call
 * answers at once, as AWS's does.
 */
import { randomBytes } from 'node:crypto';
import type { Ec2Operations } from '../../../models/generated/ec2.js';
import { checkDryRun } from '../../../state/dry-run.js';
import { resourceId } from '../../../state/ids.js';
import type { NetworkInterfaceRecord, SubnetRecord } from '../../../state/network.js';
import type { Scope } from '../../../state/scope.js';
import type { Tag } from '../../../state/tags.js';
import { scopeOf, type OpHandler, type RequestContext } from '../../service.js';
import { Ec2Errors } from '../errors.js';
import { InstanceErrors } from './errors.js';
import { ImageErrors } from '../images/images.js';
import type { InstanceRecord, InstanceStore } from './store.js';
import { INSTANCE_TYPE_BY_NAME } from '../catalog/instance-types-data.js';
import { keyPairTable } from '../keys/store.js';
import { checkUsableAddress, macAddress } from '../vpc/network-interfaces.js';
import { SECURITY_GROUPS } from '../vpc/security-groups.js';
import { SUBNETS } from '../vpc/subnets.js';
import { lookup } from '../resource-kind.js';
import { wellFormed, type Ec2Store } from '../store.js';
import { putTags, validateTags, type TagSpecification } from '../tagging.js';
import { allocatePublicIp } from './public-ip.js';
import { putImageVolume, putRootVolume } from '../ebs/instance-volumes.js';
import { checkVolumeSpec } from '../ebs/volume-types.js';

type Op<K extends keyof Ec2Operations> = OpHandler<Ec2Operations, K>;

/** What a launch needs to know of an AMI (the AMI catalog answers it). */
export interface LaunchImage {
  ImageId: string;
  Architecture: string;
  /** kumo's local image that backs the AMI. */
  KumoImage: string;
  DefaultUser: string;
  RootDeviceName: string;
  RootSizeGiB: number;
  /** The snapshot the root volume is made from (its volume row's SnapshotId). */
  RootSnapshotId?: string;
  /** The root volume's type when the launch names none (the AMI's block device mapping's). */
  RootVolumeType?: string;
  /** The root volume's DeleteOnTermination when the launch says nothing (true for catalog AMIs). */
  RootDeleteOnTermination?: boolean;
  /** An image of one's own: RootSnapshotId holds the data the root volume is restored from. */
  RestoreRoot?: boolean;
  /** An image of one's own: the other volumes it names, made from their snapshots at launch. */
  DataVolumes?: { DeviceName: string; SnapshotId: string; VolumeSize: number; VolumeType: string; DeleteOnTermination: boolean; Iops?: number; Throughput?: number }[];
  ImdsSupport?: string;
}

export type ImageLookup = (scope: Scope, imageId: string) => LaunchImage | undefined;

const MAX_USER_DATA = 16 * 1024;
// AWS's default when InstanceType is left out.
const DEFAULT_INSTANCE_TYPE = 'm1.small';

function decodeUserData(text: string | undefined): string | undefined {
  if (text === undefined || text === '') return undefined;
  const compact = text.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact) || compact.length % 4 === 1) throw InstanceErrors.userDataNotBase64();
  if (Buffer.from(compact, 'base64').length > MAX_USER_DATA) throw InstanceErrors.userDataTooLarge();
  return compact;
}

/** TagSpecifications of RunInstances may name the instance, its volumes and its interfaces. */
function launchTags(specs: TagSpecification[] | undefined): Record<'instance' | 'volume' | 'network-interface', Tag[]> {
  const out = { instance: [] as Tag[], volume: [] as Tag[], 'network-interface': [] as Tag[] };
  for (const s of specs ?? []) {
    if (!s.ResourceType) throw Ec2Errors.missingParameter('TagSpecification.ResourceType');
    if (!(s.ResourceType in out)) throw Ec2Errors.invalidParameter(`'${s.ResourceType}' is not a valid taggable resource type for this operation.`);
    out[s.ResourceType as keyof typeof out].push(...validateTags(s.Tags ?? []));
  }
  return out;
}

export interface LaunchDeps {
  store: Ec2Store;
  instances: InstanceStore;
  images: ImageLookup;
  /** Told after the rows are committed, so the supervisor boots them. */
  changed: () => void;
  /** The reservation as RunInstances answers it. */
  present: (ctx: RequestContext, launched: InstanceRecord[]) => Ec2Operations['RunInstances']['output'];
}

export function runInstancesHandler(deps: LaunchDeps): Op<'RunInstances'> {
  const { store, instances } = deps;
  const n = store.network;
  const keys = keyPairTable(store.db);

  const chooseSubnet = (scope: Scope, input: Ec2Operations['RunInstances']['input'], nic0?: { SubnetId?: string }): SubnetRecord => {
    const subnetId = input.SubnetId ?? nic0?.SubnetId;
    if (subnetId) {
      const s = lookup(store, scope, SUBNETS, subnetId);
      const zone = input.Placement?.AvailabilityZone;
      if (zone && zone !== s.AvailabilityZone) throw Ec2Errors.invalidParameter(`Value (${zone}) for parameter availabilityZone is invalid. Subnet ${s.SubnetId} is in ${s.AvailabilityZone}.`);
      return s;
    }
    const vpc = n.vpcs.list(scope).find((v) => v.IsDefault);
    if (!vpc) throw InstanceErrors.noDefaultVpc();
    const defaults = n.subnets.list(scope).filter((s) => s.VpcId === vpc.VpcId && s.DefaultForAz);
    const zone = input.Placement?.AvailabilityZone;
    const pick = zone ? defaults.find((s) => s.AvailabilityZone === zone) : defaults[0];
    if (!pick) {
      if (zone) throw Ec2Errors.invalidParameter(`Value (${zone}) for parameter availabilityZone is invalid. No default subnet for availability zone: ${zone}.`);
      throw InstanceErrors.noDefaultVpc();
    }
    return pick;
  };

  const chooseGroups = (scope: Scope, subnet: SubnetRecord, ids: string[], names: string[]): string[] => {
    const vpc = n.vpcs.get(scope, subnet.VpcId)!;
    const out = ids.map((id) => {
      const g = lookup(store, scope, SECURITY_GROUPS, id);
      if (g.VpcId !== subnet.VpcId) throw Ec2Errors.differentNetworks();
      return g.GroupId;
    });
    if (names.length) {
      // Group names only resolve in the default VPC; elsewhere AWS wants IDs.
      if (!vpc.IsDefault) throw InstanceErrors.groupNameWithSubnet();
      for (const name of names) {
        const g = n.securityGroups.list(scope).find((x) => x.VpcId === vpc.VpcId && x.GroupName === name);
        if (!g) throw Ec2Errors.sgNameNotFound(name);
        out.push(g.GroupId);
      }
    }
    if (out.length === 0) {
      const dflt = n.securityGroups.list(scope).find((g) => g.VpcId === subnet.VpcId && g.GroupName === 'default');
      if (dflt) out.push(dflt.GroupId);
    }
    return [...new Set(out)];
  };

  const checkPrivateIp = (scope: Scope, subnet: SubnetRecord, ip: string) => {
    checkUsableAddress(subnet, ip);
    if (n.networkInterfaces.list(scope).some((e) => e.SubnetId === subnet.SubnetId && e.PrivateIpAddresses.some((a) => a.PrivateIpAddress === ip))) {
      throw Ec2Errors.addressInUse(ip);
    }
  };

  return (ctx: RequestContext, input) => {
    const scope = scopeOf(ctx);
    if (input.ClientToken) {
      const earlier = instances.list(scope).filter((i) => i.ClientToken === input.ClientToken);
      if (earlier.length) return deps.present(ctx, earlier);
    }
    if (input.LaunchTemplate) throw Ec2Errors.unsupported('launch templates');
    if (input.Ipv6AddressCount || input.Ipv6Addresses?.length || input.EnablePrimaryIpv6) throw Ec2Errors.unsupported('IPv6 addresses');
    if (input.InstanceMarketOptions) throw Ec2Errors.unsupported('Spot instances');
    const min = input.MinCount;
    const max = input.MaxCount;
    if (!Number.isInteger(min) || min < 1) throw InstanceErrors.countInvalid(`Value (${min}) for parameter minCount is invalid. Expected a positive integer.`);
    if (!Number.isInteger(max) || max < 1) throw InstanceErrors.countInvalid(`Value (${max}) for parameter maxCount is invalid. Expected a positive integer.`);
    if (min > max) throw InstanceErrors.countInvalid('Value for parameter minCount must be less than or equal to maxCount.');

    if (!input.ImageId) throw Ec2Errors.missingParameter('ImageId');
    if (!wellFormed(input.ImageId, 'ami')) throw ImageErrors.malformed(input.ImageId);
    const image = deps.images(scope, input.ImageId);
    if (!image) throw ImageErrors.notFound([input.ImageId]);
    const typeName = input.InstanceType ?? DEFAULT_INSTANCE_TYPE;
    const type = INSTANCE_TYPE_BY_NAME.get(typeName);
    if (!type) throw InstanceErrors.invalidType(typeName);
    const arches = type.ProcessorInfo.SupportedArchitectures as string[];
    if (!arches.includes(image.Architecture)) throw InstanceErrors.architectureMismatch(arches[0]!, image.Architecture);

    const nics = input.NetworkInterfaces ?? [];
    if (nics.length > 1 || (nics[0] && (nics[0].DeviceIndex ?? 0) !== 0)) throw Ec2Errors.unsupported('more than one network interface per instance');
    const nic0 = nics[0];
    if (nic0?.NetworkInterfaceId) throw Ec2Errors.unsupported('launching with an existing network interface');
    if (nic0 && (input.SubnetId || input.SecurityGroupIds?.length || input.SecurityGroups?.length)) {
      throw Ec2Errors.invalidCombination('Network interfaces and an instance-level subnet ID or security groups may not be specified on the same request');
    }
    const subnet = chooseSubnet(scope, input, nic0);
    const groups = chooseGroups(scope, subnet, [...(input.SecurityGroupIds ?? []), ...(nic0?.Groups ?? [])], input.SecurityGroups ?? []);
    const key = input.KeyName !== undefined ? keys.list(scope).find((k) => k.KeyName === input.KeyName) : undefined;
    if (input.KeyName !== undefined && !key) throw InstanceErrors.keyNotFound(input.KeyName);
    const userData = decodeUserData(input.UserData);
    const wantedIp = input.PrivateIpAddress ?? nic0?.PrivateIpAddress;
    if (wantedIp) {
      if (max > 1) throw Ec2Errors.invalidCombination('Cannot specify a private IP address when launching more than one instance.');
      checkPrivateIp(scope, subnet, wantedIp);
    }
    const root = rootVolume(input.BlockDeviceMappings, image);
    const data = dataVolumes(input.BlockDeviceMappings, image);
    const behaviour = input.InstanceInitiatedShutdownBehavior ?? 'stop';
    if (behaviour !== 'stop' && behaviour !== 'terminate') {
      throw Ec2Errors.invalidParameter(`Value (${behaviour}) for parameter instanceInitiatedShutdownBehavior is invalid.`);
    }
    const metadata = metadataOptions(input.MetadataOptions, image);
    const tags = launchTags(input.TagSpecifications);
    const wantsPublicIp = nic0?.AssociatePublicIpAddress ?? subnet.MapPublicIpOnLaunch;
    if (nic0?.AssociatePublicIpAddress && nics.length > 1) throw Ec2Errors.invalidCombination('The associatePublicIPAddress parameter cannot be specified when launching with multiple network interfaces.');

    // Launch as many as fit between MinCount and MaxCount, as AWS does.
    const free = subnet.AvailableIpAddressCount - n.addresses.inUse(scope, subnet.SubnetId);
    const count = Math.min(max, free);
    if (count < min) throw Ec2Errors.subnetFull(subnet.SubnetId);
    checkDryRun(input);

    const reservationId = resourceId('r');
    const now = ctx.now().toISOString();
    const launched = store.transaction(() => {
      const out: InstanceRecord[] = [];
      for (let i = 0; i < count; i++) {
        const id = resourceId('i');
        const eniId = resourceId('eni');
        const ip = n.addresses.allocate(scope, subnet.SubnetId, subnet.CidrBlock, eniId, i === 0 ? wantedIp : undefined);
        if (!ip) {
          if (i < min) throw wantedIp ? Ec2Errors.addressInUse(wantedIp) : Ec2Errors.subnetFull(subnet.SubnetId);
          break;
        }
        const attachmentId = resourceId('eni-attach');
        const mac = macAddress();
        const eni: NetworkInterfaceRecord = {
          NetworkInterfaceId: eniId,
          SubnetId: subnet.SubnetId,
          VpcId: subnet.VpcId,
          AvailabilityZone: subnet.AvailabilityZone,
          OwnerId: ctx.account,
          Description: nic0?.Description ?? '',
          InterfaceType: 'interface',
          MacAddress: mac,
          PrivateIpAddresses: [{ PrivateIpAddress: ip, Primary: true }],
          GroupIds: groups,
          SourceDestCheck: true,
          RequesterManaged: false,
          Status: 'in-use',
          Attachment: {
            AttachmentId: attachmentId,
            InstanceId: id,
            InstanceOwnerId: ctx.account,
            DeviceIndex: 0,
            NetworkCardIndex: 0,
            Status: 'attached',
            AttachTime: now,
            DeleteOnTermination: nic0?.DeleteOnTermination ?? true,
          },
        };
        n.networkInterfaces.insert(scope, eniId, eni);
        putTags(store, scope, eniId, 'network-interface', tags['network-interface']);
        const record: InstanceRecord = {
          InstanceId: id,
          ReservationId: reservationId,
          OwnerId: ctx.account,
          ImageId: image.ImageId,
          InstanceType: typeName,
          Architecture: image.Architecture,
          KeyName: key?.KeyName,
          AmiLaunchIndex: i,
          LaunchTime: now,
          AvailabilityZone: subnet.AvailabilityZone,
          SubnetId: subnet.SubnetId,
          VpcId: subnet.VpcId,
          NetworkInterfaceId: eniId,
          AttachmentId: attachmentId,
          PrivateIpAddress: ip,
          WantsPublicIp: wantsPublicIp,
          PublicIpAddress: wantsPublicIp ? allocatePublicIp(store, scope, id) : undefined,
          State: 'pending',
          StateTransitionReason: '',
          UserData: userData,
          DisableApiTermination: input.DisableApiTermination ?? false,
          DisableApiStop: input.DisableApiStop ?? false,
          InstanceInitiatedShutdownBehavior: behaviour,
          RootDeviceName: image.RootDeviceName,
          RootVolumeId: resourceId('vol'),
          RootVolumeSize: root.size,
          RootDeleteOnTermination: root.deleteOnTermination,
          RootAttachTime: now,
          MetadataOptions: metadata,
          EbsOptimized: input.EbsOptimized ?? false,
          Monitoring: input.Monitoring?.Enabled ? 'enabled' : 'disabled',
          ClientToken: input.ClientToken,
          HostToken: randomBytes(24).toString('hex'),
          SourceDestCheck: true,
          KumoImage: image.KumoImage,
          DefaultUser: image.DefaultUser,
          RootRestoreFrom: image.RestoreRoot ? image.RootSnapshotId : undefined,
        };
        instances.put(scope, record);
        putTags(store, scope, id, 'instance', tags.instance);
        putRootVolume(store, scope, record, root.spec, image.RootSnapshotId);
        putTags(store, scope, record.RootVolumeId, 'volume', tags.volume);
        for (const d of data) putTags(store, scope, putImageVolume(store, scope, record, d), 'volume', tags.volume);
        out.push(record);
      }
      return out;
    });
    deps.changed();
    return deps.present(ctx, launched);
  };
}

type Mappings = Ec2Operations['RunInstances']['input']['BlockDeviceMappings'];

function rootVolume(mappings: Mappings, image: LaunchImage) {
  const m = mappings?.find((b) => b.DeviceName === image.RootDeviceName);
  for (const b of mappings ?? []) {
    const ofImage = image.DataVolumes?.some((d) => d.DeviceName === b.DeviceName);
    if (b !== m && b.Ebs && !ofImage) throw Ec2Errors.unsupported('additional EBS volumes at launch');
    if (b.Ebs?.SnapshotId && (b === m || ofImage)) throw Ec2Errors.invalidParameter(`The snapshot of ${b.DeviceName} is the image's; a launch may change its size, type and DeleteOnTermination only.`);
  }
  const size = m?.Ebs?.VolumeSize ?? image.RootSizeGiB;
  if (size < image.RootSizeGiB) throw InstanceErrors.rootTooSmall(size, image.RootSizeGiB);
  if (size > 16384) throw Ec2Errors.invalidParameter(`Volume of ${size}GiB is too large; the maximum is 16384GiB.`);
  const spec = checkVolumeSpec({ VolumeType: m?.Ebs?.VolumeType ?? image.RootVolumeType ?? 'gp3', Size: size, Iops: m?.Ebs?.Iops, Throughput: m?.Ebs?.Throughput });
  return { size, deleteOnTermination: m?.Ebs?.DeleteOnTermination ?? image.RootDeleteOnTermination ?? true, spec };
}

/** The image's data volumes as this launch shapes them (NoDevice leaves one out; size only grows). */
function dataVolumes(mappings: Mappings, image: LaunchImage): NonNullable<LaunchImage['DataVolumes']> {
  const out: NonNullable<LaunchImage['DataVolumes']> = [];
  for (const d of image.DataVolumes ?? []) {
    const m = mappings?.find((b) => b.DeviceName === d.DeviceName);
    if (m?.NoDevice !== undefined) continue;
    const size = m?.Ebs?.VolumeSize ?? d.VolumeSize;
    if (size < d.VolumeSize) throw Ec2Errors.invalidParameter(`Volume of size ${size}GiB is smaller than snapshot '${d.SnapshotId}', expect size >= ${d.VolumeSize}GiB`);
    const spec = checkVolumeSpec({ VolumeType: m?.Ebs?.VolumeType ?? d.VolumeType, Size: size, Iops: m?.Ebs?.Iops ?? d.Iops, Throughput: m?.Ebs?.Throughput ?? d.Throughput });
    out.push({ ...d, ...spec, VolumeSize: size, DeleteOnTermination: m?.Ebs?.DeleteOnTermination ?? d.DeleteOnTermination });
  }
  return out;
}

function metadataOptions(o: Ec2Operations['RunInstances']['input']['MetadataOptions'], image: LaunchImage): InstanceRecord['MetadataOptions'] {
  const tokens = o?.HttpTokens ?? (image.ImdsSupport === 'v2.0' ? 'required' : 'optional');
  if (tokens !== 'optional' && tokens !== 'required') throw Ec2Errors.invalidParameter(`Value (${tokens}) for parameter httpTokens is invalid.`);
  const hop = o?.HttpPutResponseHopLimit ?? (image.ImdsSupport === 'v2.0' ? 2 : 1);
  if (!Number.isInteger(hop) || hop < 1 || hop > 64) throw Ec2Errors.invalidParameter(`Value (${hop}) for parameter httpPutResponseHopLimit is invalid. Expected an integer from 1 to 64.`);
  const endpoint = o?.HttpEndpoint ?? 'enabled';
  if (endpoint !== 'enabled' && endpoint !== 'disabled') throw Ec2Errors.invalidParameter(`Value (${endpoint}) for parameter httpEndpoint is invalid.`);
  const tags = o?.InstanceMetadataTags ?? 'disabled';
  if (tags !== 'enabled' && tags !== 'disabled') throw Ec2Errors.invalidParameter(`Value (${tags}) for parameter instanceMetadataTags is invalid.`);
  return { HttpTokens: tokens, HttpPutResponseHopLimit: hop, HttpEndpoint: endpoint, InstanceMetadataTags: tags, HttpProtocolIpv6: 'disabled' };
}
