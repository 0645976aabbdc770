/**
 * What an instance may learn about itself and its VPC, read from EC2's rows at the moment it asks:
 * the instance metadata service's view of one instance (runtime/metadata), and the answers of the
 * Amazon-provided DNS server at the VPC's base+2 (runtime/dns). Both are reached through the
 * fabric, which tells which instance is asking by the connection's source address.
 */
import { findZone } from '../../state/regions.js';
import type { Scope } from '../../state/scope.js';
import type { InstanceMetadata } from '../../runtime/metadata/imds.js';
import type { DnsQuestion, DnsResolution } from '../../runtime/dns/server.js';
import { parseEc2Name, privateDnsName } from '../../runtime/dns/names.js';
import { publicDnsNameIn, resolverMode } from './vpc-dns.js';
import { containsIp, ipToInt, parseCidr4 } from '../../runtime/net/cidr.js';
import type { InstanceRecord, InstanceStore } from './instance-store.js';
import { groupsOf, publicIpOf } from './instance-view.js';
import { keyPairTable } from './key-pairs-store.js';
import type { Ec2Store } from './store.js';

export class InstanceDirectory {
  constructor(
    private readonly store: Ec2Store,
    private readonly instances: InstanceStore,
  ) {}

  find(instanceId: string): { scope: Scope; instance: InstanceRecord } | undefined {
    return this.instances.everywhere().find((r) => r.instance.InstanceId === instanceId);
  }

  metadata(instanceId: string): InstanceMetadata | undefined {
    const found = this.find(instanceId);
    if (!found || found.instance.State === 'terminated') return undefined;
    const { scope, instance: i } = found;
    const n = this.store.network;
    const subnet = n.subnets.get(scope, i.SubnetId);
    const vpc = n.vpcs.get(scope, i.VpcId);
    const eni = n.networkInterfaces.get(scope, i.NetworkInterfaceId);
    if (!subnet || !vpc || !eni) return undefined;
    const pub = publicIpOf(this.store, scope, i);
    const key = i.KeyName ? keyPairTable(this.store.db).list(scope).find((k) => k.KeyName === i.KeyName) : undefined;
    const tags = Object.fromEntries(this.store.tags.get(scope, i.InstanceId).map((t) => [t.Key, t.Value]));
    return {
      instanceId: i.InstanceId,
      imageId: i.ImageId,
      instanceType: i.InstanceType,
      launchIndex: i.AmiLaunchIndex,
      reservationId: i.ReservationId,
      accountId: i.OwnerId,
      region: scope.region,
      availabilityZone: i.AvailabilityZone,
      availabilityZoneId: findZone(scope.region, i.AvailabilityZone)?.zoneId ?? '',
      privateIp: i.PrivateIpAddress,
      privateDnsName: privateDnsName(i.PrivateIpAddress, scope.region),
      publicIp: pub?.ip,
      publicDnsName: publicDnsNameIn(this.store, scope, i.VpcId, pub?.ip) || undefined,
      mac: eni.MacAddress,
      interfaceId: eni.NetworkInterfaceId,
      subnetId: subnet.SubnetId,
      subnetCidr: subnet.CidrBlock,
      vpcId: vpc.VpcId,
      vpcCidrs: vpc.CidrBlockAssociationSet.map((c) => c.CidrBlock),
      securityGroups: groupsOf(this.store, scope, i).map((g) => ({ id: g.GroupId, name: g.GroupName })),
      keyName: key?.KeyName,
      publicKey: key?.PublicKey,
      userData: i.UserData ? Buffer.from(i.UserData, 'base64') : undefined,
      httpTokens: i.MetadataOptions.HttpTokens === 'required' ? 'required' : 'optional',
      httpEndpoint: i.MetadataOptions.HttpEndpoint === 'disabled' ? 'disabled' : 'enabled',
      instanceMetadataTags: i.MetadataOptions.InstanceMetadataTags === 'enabled' ? 'enabled' : 'disabled',
      tags,
      launchTime: new Date(i.LaunchTime),
      architecture: i.Architecture === 'arm64' ? 'arm64' : 'x86_64',
      rootDeviceName: i.RootDeviceName,
    };
  }

  /**
   * The VPC resolver's answers for the instance `askerId`: EC2 names of addresses in its VPC
   * (private names → private IPs; public names of its VPC's instances → their private IPs, as
   * AWS answers inside a VPC; other public names → the public IP), as far as the VPC's DNS
   * attributes allow (./vpc-dns.ts). Anything else does not exist: kumo never forwards a lookup
   * to the outside world.
   */
  resolve(askerId: string | undefined, q: DnsQuestion): DnsResolution {
    const asker = askerId ? this.find(askerId) : undefined;
    if (!asker) return 'refused';
    const { scope, instance } = asker;
    const mode = resolverMode(this.store, scope, instance.VpcId);
    if (mode === 'off') return 'refused';
    const parsed = parseEc2Name(q.name);
    if (!parsed || parsed.region !== scope.region || (mode === 'public-only' && parsed.kind !== 'public')) return 'nxdomain';
    const inVpc = this.instances.list(scope).filter((i) => i.VpcId === instance.VpcId && i.State !== 'terminated');
    let ip: string | undefined;
    if (parsed.kind === 'resource') ip = inVpc.find((i) => i.InstanceId === parsed.instanceId)?.PrivateIpAddress;
    else if (parsed.kind === 'private') {
      const vpc = this.store.network.vpcs.get(scope, instance.VpcId);
      const v = ipToInt(parsed.ip);
      ip = vpc?.CidrBlockAssociationSet.some((c) => containsIp(parseCidr4(c.CidrBlock)!, v)) ? parsed.ip : undefined;
    } else {
      const owner = mode === 'full' ? inVpc.find((i) => publicIpOf(this.store, scope, i)?.ip === parsed.ip) : undefined;
      ip = owner ? owner.PrivateIpAddress : parsed.ip;
    }
    if (!ip) return 'nxdomain';
    return { answers: q.type === 'A' ? [{ type: 'A', data: ip, ttl: 60 }] : [] };
  }
}
