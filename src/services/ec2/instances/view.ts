/**
 * How instances look on the wire (RunInstances' and DescribeInstances' `Instance`), and the
 * DescribeInstances filters. An instance's network side (groups, addresses, Elastic IP) is read
 * from its primary network interface, as AWS derives it.
 */
import type { Accessors } from '../../../state/filters.js';
import type { Scope } from '../../../state/scope.js';
import type { Tag } from '../../../state/tags.js';
import { scopeOf, type RequestContext } from '../../service.js';
import { privateDnsName } from '../dns-names.js';
import { publicDnsNameIn } from '../vpc/vpc-dns.js';
import { STATE_CODES, type InstanceRecord } from './store.js';
import { INSTANCE_TYPE_BY_NAME } from '../catalog/instance-types-data.js';
import type { Ec2Store } from '../store.js';
import { blockDeviceMappings } from '../ebs/instance-volumes.js';

export type ShownInstance = InstanceRecord & { Tags: Tag[] };

/** The public address an instance answers on: its Elastic IP, else its auto-assigned one. */
export function publicIpOf(store: Ec2Store, scope: Scope, i: InstanceRecord): { ip: string; elastic?: { AllocationId: string; AssociationId?: string } } | undefined {
  const eip = store.network.elasticIps.list(scope).find((a) => a.NetworkInterfaceId === i.NetworkInterfaceId && a.PrivateIpAddress === i.PrivateIpAddress);
  if (eip) return { ip: eip.PublicIp, elastic: { AllocationId: eip.AllocationId, AssociationId: eip.AssociationId } };
  return i.PublicIpAddress ? { ip: i.PublicIpAddress } : undefined;
}

export function groupsOf(store: Ec2Store, scope: Scope, i: InstanceRecord): { GroupId: string; GroupName: string }[] {
  const eni = store.network.networkInterfaces.get(scope, i.NetworkInterfaceId);
  return (eni?.GroupIds ?? []).map((id) => ({ GroupId: id, GroupName: store.network.securityGroups.get(scope, id)?.GroupName ?? '' }));
}

export function stateOf(i: InstanceRecord) {
  return { Code: STATE_CODES[i.State], Name: i.State };
}

export function presentInstance(store: Ec2Store, ctx: RequestContext, i: ShownInstance) {
  const scope = scopeOf(ctx);
  const terminated = i.State === 'terminated';
  const eni = terminated ? undefined : store.network.networkInterfaces.get(scope, i.NetworkInterfaceId);
  const pub = terminated ? undefined : publicIpOf(store, scope, i);
  const groups = terminated ? [] : groupsOf(store, scope, i);
  const privateDns = terminated ? '' : privateDnsName(i.PrivateIpAddress, ctx.region);
  const publicDns = terminated ? '' : publicDnsNameIn(store, scope, i.VpcId, pub?.ip);
  const association = pub ? { IpOwnerId: pub.elastic ? ctx.account : 'amazon', PublicDnsName: publicDns, PublicIp: pub.ip } : undefined;
  return {
    AmiLaunchIndex: i.AmiLaunchIndex,
    ImageId: i.ImageId,
    InstanceId: i.InstanceId,
    InstanceType: i.InstanceType,
    KeyName: i.KeyName,
    LaunchTime: i.LaunchTime,
    Monitoring: { State: i.Monitoring },
    Placement: { AvailabilityZone: i.AvailabilityZone, GroupName: '', Tenancy: 'default' },
    PrivateDnsName: privateDns,
    PrivateIpAddress: terminated ? undefined : i.PrivateIpAddress,
    ProductCodes: [],
    PublicDnsName: publicDns,
    PublicIpAddress: pub?.ip,
    State: stateOf(i),
    StateTransitionReason: i.StateTransitionReason,
    StateReason: i.StateReason,
    SubnetId: terminated ? undefined : i.SubnetId,
    VpcId: terminated ? undefined : i.VpcId,
    Architecture: i.Architecture,
    BlockDeviceMappings: terminated ? [] : blockDeviceMappings(store, scope, i),
    ClientToken: i.ClientToken ?? '',
    EbsOptimized: i.EbsOptimized,
    EnaSupport: true,
    Hypervisor: 'xen',
    NetworkInterfaces: eni
      ? [
          {
            Association: association,
            Attachment: eni.Attachment
              ? { ...eni.Attachment, Status: i.State === 'stopped' ? 'attached' : eni.Attachment.Status }
              : undefined,
            Description: eni.Description,
            Groups: groups,
            Ipv6Addresses: [],
            MacAddress: eni.MacAddress,
            NetworkInterfaceId: eni.NetworkInterfaceId,
            OwnerId: eni.OwnerId,
            PrivateDnsName: privateDns,
            PrivateIpAddress: i.PrivateIpAddress,
            PrivateIpAddresses: eni.PrivateIpAddresses.map((a) => ({
              Association: a.PrivateIpAddress === i.PrivateIpAddress ? association : undefined,
              Primary: a.Primary,
              PrivateDnsName: privateDnsName(a.PrivateIpAddress, ctx.region),
              PrivateIpAddress: a.PrivateIpAddress,
            })),
            SourceDestCheck: eni.SourceDestCheck,
            Status: eni.Status,
            SubnetId: eni.SubnetId,
            VpcId: eni.VpcId,
            InterfaceType: eni.InterfaceType,
          },
        ]
      : [],
    RootDeviceName: i.RootDeviceName,
    RootDeviceType: 'ebs',
    SecurityGroups: groups,
    SourceDestCheck: i.SourceDestCheck,
    Tags: i.Tags,
    VirtualizationType: 'hvm',
    CpuOptions: cpuOptions(i.InstanceType),
    CapacityReservationSpecification: { CapacityReservationPreference: 'open' },
    HibernationOptions: { Configured: false },
    MetadataOptions: { State: i.State === 'pending' ? 'pending' : 'applied', ...i.MetadataOptions },
    EnclaveOptions: { Enabled: false },
    BootMode: 'uefi-preferred',
    PlatformDetails: 'Linux/UNIX',
    UsageOperation: 'RunInstances',
    UsageOperationUpdateTime: i.LaunchTime,
    PrivateDnsNameOptions: { HostnameType: 'ip-name', EnableResourceNameDnsARecord: false, EnableResourceNameDnsAAAARecord: false },
    MaintenanceOptions: { AutoRecovery: 'default' },
    CurrentInstanceBootMode: 'legacy-bios',
  };
}

function cpuOptions(type: string) {
  const v = INSTANCE_TYPE_BY_NAME.get(type)?.VCpuInfo as { DefaultCores?: number; DefaultThreadsPerCore?: number } | undefined;
  return { CoreCount: v?.DefaultCores ?? 1, ThreadsPerCore: v?.DefaultThreadsPerCore ?? 1 };
}

/** DescribeInstances' filters (the ones people use, and then some). */
export function instanceFilters(store: Ec2Store, scope: Scope, region: string): Accessors<ShownInstance> {
  const pub = (i: InstanceRecord) => (i.State === 'terminated' ? undefined : publicIpOf(store, scope, i)?.ip);
  return {
    'instance-id': (i) => i.InstanceId,
    'instance-state-name': (i) => i.State,
    'instance-state-code': (i) => String(STATE_CODES[i.State]),
    'instance-type': (i) => i.InstanceType,
    'image-id': (i) => i.ImageId,
    'subnet-id': (i) => i.SubnetId,
    'vpc-id': (i) => i.VpcId,
    'availability-zone': (i) => i.AvailabilityZone,
    'private-ip-address': (i) => i.PrivateIpAddress,
    'network-interface.addresses.private-ip-address': (i) => i.PrivateIpAddress,
    'private-dns-name': (i) => privateDnsName(i.PrivateIpAddress, region),
    'ip-address': (i) => pub(i),
    'public-ip-address': (i) => pub(i),
    'dns-name': (i) => publicDnsNameIn(store, scope, i.VpcId, pub(i)) || undefined,
    'key-name': (i) => i.KeyName,
    'reservation-id': (i) => i.ReservationId,
    'owner-id': (i) => i.OwnerId,
    'launch-index': (i) => String(i.AmiLaunchIndex),
    'launch-time': (i) => i.LaunchTime,
    'instance.group-id': (i) => groupsOf(store, scope, i).map((g) => g.GroupId),
    'instance.group-name': (i) => groupsOf(store, scope, i).map((g) => g.GroupName),
    'group-id': (i) => groupsOf(store, scope, i).map((g) => g.GroupId),
    'group-name': (i) => groupsOf(store, scope, i).map((g) => g.GroupName),
    'network-interface.network-interface-id': (i) => i.NetworkInterfaceId,
    'block-device-mapping.volume-id': (i) => blockDeviceMappings(store, scope, i).map((b) => b.Ebs.VolumeId),
    'block-device-mapping.device-name': (i) => blockDeviceMappings(store, scope, i).map((b) => b.DeviceName),
    'block-device-mapping.status': (i) => blockDeviceMappings(store, scope, i).map((b) => b.Ebs.Status),
    'block-device-mapping.delete-on-termination': (i) => blockDeviceMappings(store, scope, i).map((b) => String(b.Ebs.DeleteOnTermination)),
    'block-device-mapping.attach-time': (i) => blockDeviceMappings(store, scope, i).map((b) => b.Ebs.AttachTime),
    'root-device-name': (i) => i.RootDeviceName,
    'root-device-type': () => 'ebs',
    architecture: (i) => i.Architecture,
    'client-token': (i) => i.ClientToken,
    'metadata-options.http-tokens': (i) => i.MetadataOptions.HttpTokens,
    'metadata-options.http-endpoint': (i) => i.MetadataOptions.HttpEndpoint,
    'state-reason-code': (i) => i.StateReason?.Code,
    'tenancy': () => 'default',
    'virtualization-type': () => 'hvm',
    hypervisor: () => 'xen',
    'platform-details': () => 'Linux/UNIX',
  };
}
