/**
 * What an instance may learn about itself and its VPC, read from EC2's rows at the moment it asks:
 * the instance metadata service's view of one instance (runtime/metadata), and EC2's DNS zone,
 * which the Amazon-provided DNS server at the VPC's base+2 and the host resolver answer from
 * (runtime/dns). The fabric tells which port (instance) is asking by the connection's source.
 */
import { findZone } from '../../../state/regions.js';
import type { Scope } from '../../../state/scope.js';
import type { InstanceMetadata } from '../../../runtime/metadata/imds.js';
import type { DnsQuestion, DnsResolution } from '../../../runtime/dns/server.js';
import type { DnsAsker } from '../../../runtime/dns/zones.js';
import { parseEc2Name, privateDnsName } from '../dns-names.js';
import { publicDnsNameIn, resolverMode } from '../vpc/vpc-dns.js';
import { containsIp, ipToInt, parseCidr4 } from '../../../lib/cidr.js';
import type { InstanceRecord, InstanceStore } from '../instances/store.js';
import { groupsOf, publicIpOf } from '../instances/view.js';
import { keyPairTable } from '../keys/store.js';
import type { Ec2Store } from '../store.js';
import { EC2_PORT_OWNER } from './vpc-services.js';

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
   * EC2's DNS zone (runtime/dns/zones.ts). Inside a VPC: EC2 names of addresses in the asker's
   * VPC (private names → private IPs; public names of its VPC's instances → their private IPs, as
   * AWS answers inside a VPC; other public names → the public IP), as far as the VPC's DNS
   * attributes allow (../vpc/vpc-dns.ts). From the host: public names
   * → the public (loopback) IP; private names do not resolve outside their VPC, as on AWS.
   * Anything else does not exist: kumo never forwards a lookup to the outside world.
   */
  resolve(asker: DnsAsker, q: DnsQuestion): DnsResolution {
    const parsed = parseEc2Name(q.name);
    if (!parsed) return 'nxdomain';
    const a = (ip: string | undefined): DnsResolution => (ip ? { answers: q.type === 'A' ? [{ type: 'A', data: ip, ttl: 60 }] : [] } : 'nxdomain');
    if (asker.kind === 'host') return a(parsed.kind === 'public' ? parsed.ip : undefined);
    const scope = asker.owner === EC2_PORT_OWNER ? this.find(asker.portId)?.scope : this.store.network.vpcs.scopeOf(asker.vpcId);
    if (!scope) return 'refused';
    const mode = resolverMode(this.store, scope, asker.vpcId);
    if (mode === 'off') return 'refused';
    if (parsed.region !== scope.region || (mode === 'public-only' && parsed.kind !== 'public')) return 'nxdomain';
    const inVpc = this.instances.list(scope).filter((i) => i.VpcId === asker.vpcId && i.State !== 'terminated');
    if (parsed.kind === 'resource') return a(inVpc.find((i) => i.InstanceId === parsed.instanceId)?.PrivateIpAddress);
    if (parsed.kind === 'private') {
      const vpc = this.store.network.vpcs.get(scope, asker.vpcId);
      const v = ipToInt(parsed.ip);
      return a(vpc?.CidrBlockAssociationSet.some((c) => containsIp(parseCidr4(c.CidrBlock)!, v)) ? parsed.ip : undefined);
    }
    const owner = mode === 'full' ? inVpc.find((i) => publicIpOf(this.store, scope, i)?.ip === parsed.ip) : undefined;
    return a(owner ? owner.PrivateIpAddress : parsed.ip);
  }
}
