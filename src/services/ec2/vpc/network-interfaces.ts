/**
 * Network interfaces: Create/Describe/Delete/ModifyNetworkInterfaceAttribute and Assign/
 * UnassignPrivateIpAddresses. An interface lives in one subnet, takes its addresses from the
 * subnet's address book (state/subnet-addresses.ts: lowest free first, AWS's five reserved never),
 * and carries security groups of its VPC (the VPC's `default` group when none are given). While
 * it holds addresses its subnet cannot be deleted, nor its groups. Attachments come with
 * instances; until then every interface is `available`.
 */
import { randomBytes } from 'node:crypto';
import type { Ec2Operations } from '../../../models/generated/ec2.js';
import { containsIp, ipToInt, parseCidr4 } from '../../../lib/cidr.js';
import { privateDnsName } from '../dns-names.js';
import { checkDryRun } from '../../../state/dry-run.js';
import { resourceId } from '../../../state/ids.js';
import type { NetworkInterfaceRecord, SubnetRecord } from '../../../state/network.js';
import type { Scope } from '../../../state/scope.js';
import type { Tag } from '../../../state/tags.js';
import { scopeOf, type OpHandler, type RequestContext } from '../../service.js';
import { Ec2Errors } from '../errors.js';
import { deleteKind, describeKind, lookup, pageAs, registerKind, type ResourceKind } from '../resource-kind.js';
import type { Ec2Store } from '../store.js';
import { putTags, tagsFromSpecifications } from '../tagging.js';
import { unmap } from './elastic-ips.js';
import { SECURITY_GROUPS } from './security-groups.js';
import { SUBNETS } from './subnets.js';
import { publicDnsNameIn } from './vpc-dns.js';

type Op<K extends keyof Ec2Operations> = OpHandler<Ec2Operations, K>;
type Shown = NetworkInterfaceRecord & { Tags: Tag[] };

const MAX_ADDRESSES_PER_INTERFACE = 50;

export function macAddress(): string {
  const b = randomBytes(6);
  // Unicast and locally administered, like AWS's (0x02 set, 0x01 clear).
  b[0] = (b[0] & 0xfc) | 0x02;
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

/** An address asked for by name must be a valid IPv4 address inside the subnet and not one of AWS's five reserved. */
export function checkUsableAddress(subnet: SubnetRecord, ip: string): void {
  const c = parseCidr4(subnet.CidrBlock)!;
  let v: number;
  try {
    v = ipToInt(ip);
  } catch {
    throw Ec2Errors.invalidParameter(`Value (${ip}) for parameter privateIpAddress is invalid.`);
  }
  if (!containsIp(c, v)) throw Ec2Errors.addressOutsideSubnet(ip, subnet.CidrBlock);
  if (v - c.base < 4 || v === c.base + 2 ** (32 - c.prefix) - 1) throw Ec2Errors.addressReserved(ip);
}

/** The wire form: groups by name, the primary address at the top, Elastic IPs as associations. */
function present(e: Shown, ctx: RequestContext, store: Ec2Store) {
  const n = store.network;
  const { GroupIds, Tags, PrivateIpAddresses, ...rest } = e;
  const primary = PrivateIpAddresses.find((a) => a.Primary)!.PrivateIpAddress;
  const eips = n.elasticIps.list(scopeOf(ctx)).filter((a) => a.NetworkInterfaceId === e.NetworkInterfaceId);
  // An auto-assigned public IP (an instance's, a load balancer node's, a database's) shows on the
  // primary address as Amazon's, as AWS shows it.
  const scope = scopeOf(ctx);
  const auto = n.publicIps.ownedBy(scope, e.NetworkInterfaceId) ?? (e.Attachment?.DeviceIndex === 0 ? n.publicIps.ownedBy(scope, e.Attachment.InstanceId) : undefined);
  const association = (ip: string) => {
    const a = eips.find((x) => x.PrivateIpAddress === ip);
    if (a) {
      return {
        Association: {
          AllocationId: a.AllocationId,
          AssociationId: a.AssociationId,
          IpOwnerId: e.OwnerId,
          PublicIp: a.PublicIp,
          PublicDnsName: publicDnsNameIn(store, scope, e.VpcId, a.PublicIp),
        },
      };
    }
    return auto && ip === primary ? { Association: { IpOwnerId: 'amazon', PublicIp: auto, PublicDnsName: publicDnsNameIn(store, scope, e.VpcId, auto) } } : {};
  };
  return {
    ...rest,
    ...association(primary),
    Groups: GroupIds.map((id) => ({ GroupId: id, GroupName: n.securityGroups.get(scopeOf(ctx), id)?.GroupName })),
    PrivateIpAddress: primary,
    PrivateDnsName: privateDnsName(primary, ctx.region),
    PrivateIpAddresses: PrivateIpAddresses.map((a) => ({
      ...a,
      PrivateDnsName: privateDnsName(a.PrivateIpAddress, ctx.region),
      ...association(a.PrivateIpAddress),
    })),
    Ipv6Addresses: [],
    TagSet: Tags,
  };
}

export const NETWORK_INTERFACES: ResourceKind<NetworkInterfaceRecord, Shown, ReturnType<typeof present>> = {
  type: 'network-interface', prefix: 'eni', id: (e) => e.NetworkInterfaceId, table: (n) => n.networkInterfaces, idsParam: 'networkInterfaceIds',
  notFound: Ec2Errors.eniNotFound, malformed: Ec2Errors.eniMalformed,
  columns: { 'vpc-id': 'VpcId', 'subnet-id': 'SubnetId', 'network-interface-id': 'NetworkInterfaceId' },
  filters: {
    'network-interface-id': (n) => n.NetworkInterfaceId,
    'subnet-id': (n) => n.SubnetId,
    'vpc-id': (n) => n.VpcId,
    'availability-zone': (n) => n.AvailabilityZone,
    description: (n) => n.Description,
    'group-id': (n) => n.GroupIds,
    'interface-type': (n) => n.InterfaceType,
    'mac-address': (n) => n.MacAddress,
    'owner-id': (n) => n.OwnerId,
    'private-ip-address': (n) => n.PrivateIpAddresses.map((a) => a.PrivateIpAddress),
    'addresses.private-ip-address': (n) => n.PrivateIpAddresses.map((a) => a.PrivateIpAddress),
    'addresses.primary': (n) => n.PrivateIpAddresses.map((a) => a.Primary),
    'requester-managed': (n) => n.RequesterManaged,
    'source-dest-check': (n) => n.SourceDestCheck,
    status: (n) => n.Status,
  },
  view: present,
  blocksDelete: (e) => (e.Status === 'in-use' ? Ec2Errors.eniInUse(e.NetworkInterfaceId) : undefined),
  // Elastic IPs mapped to the interface are disassociated with it, as in AWS; its addresses go back.
  cleanup: (e, store, scope) => {
    for (const a of store.network.elasticIps.list(scope).filter((x) => x.NetworkInterfaceId === e.NetworkInterfaceId)) unmap(store, scope, a);
    store.network.addresses.releaseOwner(scope, e.NetworkInterfaceId);
  },
};

export function networkInterfaceHandlers(store: Ec2Store) {
  const n = store.network;
  const { networkInterfaces, subnets, securityGroups } = n;
  registerKind(store, NETWORK_INTERFACES);
  const eniOf = (scope: Scope, id: string) => lookup(store, scope, NETWORK_INTERFACES, id);

  const groupsFor = (scope: Scope, vpcId: string, ids: string[] | undefined): string[] => {
    if (!ids?.length) {
      const dflt = securityGroups.listWhere(scope, 'VpcId', [vpcId]).find((g) => g.GroupName === 'default');
      return dflt ? [dflt.GroupId] : [];
    }
    return [...new Set(ids)].map((id) => {
      const g = lookup(store, scope, SECURITY_GROUPS, id);
      if (g.VpcId !== vpcId) throw Ec2Errors.differentNetworks();
      return g.GroupId;
    });
  };

  /** Checks an address asked for by name: inside the subnet, not reserved, not taken. */
  const checkWanted = (scope: Scope, subnet: SubnetRecord, ip: string, reassign = false) => {
    checkUsableAddress(subnet, ip);
    const holder = networkInterfaces.list(scope).find((e) => e.SubnetId === subnet.SubnetId && e.PrivateIpAddresses.some((a) => a.PrivateIpAddress === ip));
    if (holder && !(reassign && !holder.PrivateIpAddresses.find((a) => a.PrivateIpAddress === ip)!.Primary)) throw Ec2Errors.addressInUse(ip);
    return holder;
  };

  /** Takes `wanted` addresses plus `count` more from the subnet; call inside a transaction. */
  const take = (scope: Scope, subnet: SubnetRecord, owner: string, wanted: string[], count: number): string[] => {
    const got: string[] = [];
    for (const ip of wanted) {
      if (!n.addresses.allocate(scope, subnet.SubnetId, subnet.CidrBlock, owner, ip)) throw Ec2Errors.addressInUse(ip);
      got.push(ip);
    }
    for (let i = 0; i < count; i++) {
      const ip = n.addresses.allocate(scope, subnet.SubnetId, subnet.CidrBlock, owner);
      if (!ip) throw Ec2Errors.subnetFull(subnet.SubnetId);
      got.push(ip);
    }
    return got;
  };

  const CreateNetworkInterface: Op<'CreateNetworkInterface'> = (ctx, input) => {
    if (
      input.Ipv6AddressCount !== undefined ||
      input.Ipv6Addresses?.length ||
      input.Ipv4Prefixes?.length ||
      input.Ipv4PrefixCount !== undefined ||
      input.Ipv6Prefixes?.length ||
      input.Ipv6PrefixCount !== undefined ||
      input.EnablePrimaryIpv6 ||
      input.ConnectionTrackingSpecification ||
      (input.InterfaceType !== undefined && input.InterfaceType !== 'interface')
    ) {
      throw Ec2Errors.unsupported('IPv6 addresses, prefixes, connection tracking settings or interface types other than `interface`');
    }
    const scope = scopeOf(ctx);
    const subnet = lookup(store, scope, SUBNETS, input.SubnetId);
    const groups = groupsFor(scope, subnet.VpcId, input.Groups);
    const listed = input.PrivateIpAddresses ?? [];
    if (listed.filter((a) => a.Primary).length > 1) throw Ec2Errors.invalidParameter('Only one primary private IP address may be specified.');
    let primary = input.PrivateIpAddress ?? listed.find((a) => a.Primary)?.PrivateIpAddress;
    if (input.PrivateIpAddress && listed.some((a) => a.Primary && a.PrivateIpAddress !== input.PrivateIpAddress)) {
      throw Ec2Errors.invalidCombination('PrivateIpAddress and the primary of PrivateIpAddresses differ.');
    }
    const secondaries = listed.filter((a) => a.PrivateIpAddress && a.PrivateIpAddress !== primary).map((a) => a.PrivateIpAddress!);
    const wanted = [...(primary ? [primary] : []), ...secondaries];
    if (new Set(wanted).size !== wanted.length) throw Ec2Errors.invalidParameter('Duplicate private IP addresses in the request.');
    for (const ip of wanted) checkWanted(scope, subnet, ip);
    const extra = input.SecondaryPrivateIpAddressCount ?? 0;
    if (extra < 0 || wanted.length + extra + (primary ? 0 : 1) > MAX_ADDRESSES_PER_INTERFACE) {
      throw Ec2Errors.invalidParameter(`An interface can have at most ${MAX_ADDRESSES_PER_INTERFACE} private IPv4 addresses.`);
    }
    if (input.Description !== undefined && input.Description.length > 255) throw Ec2Errors.invalidParameter('Description is longer than 255 characters.');
    const tags = tagsFromSpecifications(input.TagSpecifications, 'network-interface');
    checkDryRun(input);
    const id = resourceId('eni');
    const eni = store.transaction(() => {
      const ips = take(scope, subnet, id, wanted, extra + (primary ? 0 : 1));
      primary = primary ?? ips[wanted.length];
      const record: NetworkInterfaceRecord = {
        NetworkInterfaceId: id,
        SubnetId: subnet.SubnetId,
        VpcId: subnet.VpcId,
        AvailabilityZone: subnet.AvailabilityZone,
        OwnerId: ctx.account,
        Description: input.Description ?? '',
        InterfaceType: 'interface',
        MacAddress: macAddress(),
        PrivateIpAddresses: [primary, ...ips.filter((ip) => ip !== primary)].map((ip) => ({ PrivateIpAddress: ip, Primary: ip === primary })),
        GroupIds: groups,
        SourceDestCheck: true,
        RequesterManaged: false,
        Status: 'available',
      };
      networkInterfaces.insert(scope, id, record);
      putTags(store, scope, id, 'network-interface', tags);
      return record;
    });
    return { NetworkInterface: present({ ...eni, Tags: tags }, ctx, store), ClientToken: input.ClientToken };
  };

  const DescribeNetworkInterfaces: Op<'DescribeNetworkInterfaces'> = (ctx, input) =>
    pageAs('NetworkInterfaces', describeKind(store, ctx, NETWORK_INTERFACES, input, input.NetworkInterfaceIds));

  const DeleteNetworkInterface: Op<'DeleteNetworkInterface'> = (ctx, input) => deleteKind(store, ctx, NETWORK_INTERFACES, input.NetworkInterfaceId, input);

  const ModifyNetworkInterfaceAttribute: Op<'ModifyNetworkInterfaceAttribute'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const eni = eniOf(scope, input.NetworkInterfaceId);
    if (input.Attachment || input.EnaSrdSpecification || input.EnablePrimaryIpv6 !== undefined || input.ConnectionTrackingSpecification || input.AssociatePublicIpAddress !== undefined) {
      throw Ec2Errors.unsupported('attachment, ENA Express, IPv6, connection tracking or public IP changes on network interfaces');
    }
    const given = [input.Description, input.Groups?.length ? input.Groups : undefined, input.SourceDestCheck].filter((x) => x !== undefined);
    if (given.length === 0) throw Ec2Errors.missingParameter('Description, SecurityGroupId or SourceDestCheck');
    if (given.length > 1) throw Ec2Errors.invalidCombination('Only one attribute can be modified at a time.');
    const next = { ...eni };
    if (input.Description) next.Description = input.Description.Value ?? '';
    if (input.Groups?.length) next.GroupIds = groupsFor(scope, eni.VpcId, input.Groups);
    if (input.SourceDestCheck) next.SourceDestCheck = input.SourceDestCheck.Value ?? true;
    checkDryRun(input);
    networkInterfaces.update(scope, eni.NetworkInterfaceId, next);
    return {};
  };

  const AssignPrivateIpAddresses: Op<'AssignPrivateIpAddresses'> = (ctx, input) => {
    if (input.Ipv4Prefixes?.length || input.Ipv4PrefixCount !== undefined) throw Ec2Errors.unsupported('IPv4 prefixes');
    const scope = scopeOf(ctx);
    const eni = eniOf(scope, input.NetworkInterfaceId);
    const subnet = subnets.get(scope, eni.SubnetId)!;
    const wanted = [...new Set(input.PrivateIpAddresses ?? [])];
    const count = input.SecondaryPrivateIpAddressCount ?? 0;
    if (wanted.length && count) throw Ec2Errors.invalidCombination('Specify either PrivateIpAddresses or SecondaryPrivateIpAddressCount, not both.');
    if (!wanted.length && count <= 0) throw Ec2Errors.missingParameter('PrivateIpAddresses or SecondaryPrivateIpAddressCount');
    const holders = wanted.map((ip) => checkWanted(scope, subnet, ip, input.AllowReassignment === true));
    if (holders.some((h) => h?.NetworkInterfaceId === eni.NetworkInterfaceId)) throw Ec2Errors.addressInUse(wanted[holders.findIndex((h) => h?.NetworkInterfaceId === eni.NetworkInterfaceId)]);
    if (eni.PrivateIpAddresses.length + wanted.length + count > MAX_ADDRESSES_PER_INTERFACE) {
      throw Ec2Errors.invalidParameter(`An interface can have at most ${MAX_ADDRESSES_PER_INTERFACE} private IPv4 addresses.`);
    }
    const added = store.transaction(() => {
      // AllowReassignment moves a secondary address from another interface of the subnet.
      holders.forEach((h, i) => {
        if (!h) return;
        const fresh = networkInterfaces.get(scope, h.NetworkInterfaceId)!;
        networkInterfaces.update(scope, h.NetworkInterfaceId, { ...fresh, PrivateIpAddresses: fresh.PrivateIpAddresses.filter((a) => a.PrivateIpAddress !== wanted[i]) });
        n.addresses.release(scope, subnet.SubnetId, wanted[i]);
      });
      const ips = take(scope, subnet, eni.NetworkInterfaceId, wanted, count);
      networkInterfaces.update(scope, eni.NetworkInterfaceId, {
        ...eni,
        PrivateIpAddresses: [...eni.PrivateIpAddresses, ...ips.map((ip) => ({ PrivateIpAddress: ip, Primary: false }))],
      });
      return ips;
    });
    return { NetworkInterfaceId: eni.NetworkInterfaceId, AssignedPrivateIpAddresses: added.map((PrivateIpAddress) => ({ PrivateIpAddress })) };
  };

  const UnassignPrivateIpAddresses: Op<'UnassignPrivateIpAddresses'> = (ctx, input) => {
    if (input.Ipv4Prefixes?.length) throw Ec2Errors.unsupported('IPv4 prefixes');
    const scope = scopeOf(ctx);
    const eni = eniOf(scope, input.NetworkInterfaceId);
    const doomed = [...new Set(input.PrivateIpAddresses ?? [])];
    if (!doomed.length) throw Ec2Errors.missingParameter('PrivateIpAddresses');
    for (const ip of doomed) {
      const a = eni.PrivateIpAddresses.find((x) => x.PrivateIpAddress === ip);
      if (!a) throw Ec2Errors.invalidParameter(`Some of the specified addresses are not assigned to interface ${eni.NetworkInterfaceId}`);
      if (a.Primary) throw Ec2Errors.invalidParameter(`The primary private IP address ${ip} of an interface cannot be unassigned.`);
    }
    store.transaction(() => {
      for (const a of n.elasticIps.list(scope).filter((x) => x.NetworkInterfaceId === eni.NetworkInterfaceId && doomed.includes(x.PrivateIpAddress!))) {
        unmap(store, scope, a);
      }
      for (const ip of doomed) n.addresses.release(scope, eni.SubnetId, ip);
      networkInterfaces.update(scope, eni.NetworkInterfaceId, { ...eni, PrivateIpAddresses: eni.PrivateIpAddresses.filter((a) => !doomed.includes(a.PrivateIpAddress)) });
    });
    return {};
  };

  return {
    CreateNetworkInterface,
    DescribeNetworkInterfaces,
    DeleteNetworkInterface,
    ModifyNetworkInterfaceAttribute,
    AssignPrivateIpAddresses,
    UnassignPrivateIpAddresses,
  };
}
