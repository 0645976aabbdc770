/**
 * Elastic IPs: Allocate/Describe/Release/Associate/DisassociateAddress, VPC domain only. An
 * address comes from kumo's public pool (state/public-ips.ts), at most five per account and
 * region as AWS's default quota, and maps to one private address of a network interface whose VPC
 * has an internet gateway; AssociateAddress with an InstanceId maps it to the instance's primary
 * interface and returns the instance's auto-assigned public IP to the pool, as AWS does; when the
 * address is disassociated or moved, a running instance that had one gets a new one.
 */
import type { Ec2Operations } from '../../../models/generated/ec2.js';
import { AwsError } from '../../../protocol/errors.js';
import { checkDryRun } from '../../../state/dry-run.js';
import { applyFilters } from '../../../state/filters.js';
import { resourceId } from '../../../state/ids.js';
import type { AddressRecord } from '../../../state/network.js';
import type { Scope } from '../../../state/scope.js';
import { scopeOf, type OpHandler } from '../../service.js';
import { mustGet } from '../describe.js';
import { Ec2Errors } from '../errors.js';
import { InstanceStore } from '../instances/store.js';
import { autoPublicIp } from '../instances/public-ip.js';
import { deleteRow, lookup, registerKind, type ResourceKind } from '../resource-kind.js';
import { wellFormed, type Ec2Store } from '../store.js';
import { putTags, tagsFromSpecifications } from '../tagging.js';

type Op<K extends keyof Ec2Operations> = OpHandler<Ec2Operations, K>;

const MAX_ADDRESSES = 5;

/** Elastic IPs as a kind (tags, lookups, ReleaseAddress); DescribeAddresses also takes public IPs and has no paging, so it is written out below. */
export const ELASTIC_IPS: ResourceKind<AddressRecord> = {
  type: 'elastic-ip', prefix: 'eipalloc', id: (a) => a.AllocationId, table: (n) => n.elasticIps, idsParam: 'allocationIds',
  notFound: Ec2Errors.allocationNotFound, malformed: Ec2Errors.allocationMalformed,
  filters: {
    'allocation-id': (a) => a.AllocationId,
    'association-id': (a) => a.AssociationId,
    domain: (a) => a.Domain,
    'instance-id': (a) => a.InstanceId,
    'network-border-group': (a) => a.NetworkBorderGroup,
    'network-interface-id': (a) => a.NetworkInterfaceId,
    'network-interface-owner-id': (a) => a.NetworkInterfaceOwnerId,
    'private-ip-address': (a) => a.PrivateIpAddress,
    'public-ip': (a) => a.PublicIp,
  },
  blocksDelete: (a) => (a.AssociationId ? Ec2Errors.addressAssociated(a.AllocationId) : undefined),
  // The address goes back to kumo's pool.
  cleanup: (a, store) => store.network.publicIps.release(a.PublicIp),
};

/** Drops an address's association; call inside a transaction. */
export function unmap(store: Ec2Store, scope: Scope, a: AddressRecord): void {
  const { AssociationId: _a, InstanceId: _i, NetworkInterfaceId: _n, NetworkInterfaceOwnerId: _o, PrivateIpAddress: _p, ...rest } = a;
  store.network.elasticIps.update(scope, a.AllocationId, rest);
}

export function elasticIpHandlers(store: Ec2Store) {
  const n = store.network;
  const { elasticIps } = n;
  const instances = new InstanceStore(store.db);
  registerKind(store, ELASTIC_IPS);
  const byAllocation = (scope: Scope, id: string) => lookup(store, scope, ELASTIC_IPS, id);
  /** An instance that lost its Elastic IP while running gets a new auto-assigned public IP, if it asked for one at launch (as on AWS). */
  const regainPublicIp = (scope: Scope, eniId: string | undefined) => {
    const eni = eniId ? n.networkInterfaces.get(scope, eniId) : undefined;
    const holder = eni?.Attachment ? instances.get(scope, eni.Attachment.InstanceId) : undefined;
    if (holder && (holder.State === 'running' || holder.State === 'pending')) instances.put(scope, { ...holder, PublicIpAddress: autoPublicIp(store, scope, holder) });
  };
  const byPublicIp = (scope: Scope, ip: string) => {
    const a = elasticIps.list(scope).find((x) => x.PublicIp === ip);
    if (!a) throw Ec2Errors.addressNotFound(ip);
    return a;
  };

  const AllocateAddress: Op<'AllocateAddress'> = (ctx, input) => {
    if (input.Address || input.CustomerOwnedIpv4Pool || input.IpamPoolId || (input.PublicIpv4Pool && input.PublicIpv4Pool !== 'amazon')) {
      throw Ec2Errors.unsupported('BYOIP, customer-owned or IPAM address pools');
    }
    if (input.Domain !== undefined && input.Domain !== 'vpc' && input.Domain !== 'standard') {
      throw Ec2Errors.invalidParameter(`Value (${input.Domain}) for parameter domain is invalid.`);
    }
    if (input.Domain === 'standard') throw Ec2Errors.unsupported('EC2-Classic (standard) addresses');
    if (input.NetworkBorderGroup !== undefined && input.NetworkBorderGroup !== ctx.region) {
      throw Ec2Errors.invalidParameter(`The network border group '${input.NetworkBorderGroup}' is not valid in ${ctx.region}.`);
    }
    const scope = scopeOf(ctx);
    const tags = tagsFromSpecifications(input.TagSpecifications, 'elastic-ip');
    if (elasticIps.count(scope) >= MAX_ADDRESSES) throw Ec2Errors.addressLimit();
    checkDryRun(input);
    const id = resourceId('eipalloc');
    const record = store.transaction(() => {
      const ip = n.publicIps.allocate(scope, id);
      if (!ip) throw Ec2Errors.addressLimit();
      const a: AddressRecord = { AllocationId: id, PublicIp: ip, Domain: 'vpc', PublicIpv4Pool: 'amazon', NetworkBorderGroup: ctx.region };
      elasticIps.insert(scope, id, a);
      putTags(store, scope, id, 'elastic-ip', tags);
      return a;
    });
    return { ...record };
  };

  const DescribeAddresses: Op<'DescribeAddresses'> = (ctx, input) => {
    checkDryRun(input);
    const scope = scopeOf(ctx);
    let rows = store.withTags(scope, 'elastic-ip', (a) => a.AllocationId, elasticIps.list(scope));
    if (input.AllocationIds?.length) {
      for (const id of input.AllocationIds) byAllocation(scope, id);
      rows = rows.filter((a) => input.AllocationIds!.includes(a.AllocationId));
    }
    if (input.PublicIps?.length) {
      for (const ip of input.PublicIps) byPublicIp(scope, ip);
      rows = rows.filter((a) => input.PublicIps!.includes(a.PublicIp));
    }
    return { Addresses: applyFilters(rows, input.Filters, ELASTIC_IPS.filters) };
  };

  const ReleaseAddress: Op<'ReleaseAddress'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    if (!input.AllocationId) {
      if (input.PublicIp) throw Ec2Errors.invalidParameter('You must specify an allocation id when releasing a VPC elastic IP address');
      throw Ec2Errors.missingParameter('AllocationId');
    }
    const a = byAllocation(scope, input.AllocationId);
    if (input.NetworkBorderGroup !== undefined && input.NetworkBorderGroup !== a.NetworkBorderGroup) {
      throw Ec2Errors.invalidParameter(`The network border group '${input.NetworkBorderGroup}' does not match the address's.`);
    }
    deleteRow(store, scope, ELASTIC_IPS, a, input);
    return {};
  };

  const AssociateAddress: Op<'AssociateAddress'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const a = input.AllocationId ? byAllocation(scope, input.AllocationId) : input.PublicIp ? byPublicIp(scope, input.PublicIp) : undefined;
    if (!a) throw Ec2Errors.missingParameter('AllocationId');
    if (input.InstanceId && input.NetworkInterfaceId) throw Ec2Errors.invalidCombination('Specify either InstanceId or NetworkInterfaceId, not both.');
    let eniId = input.NetworkInterfaceId;
    const instance = input.InstanceId ? mustGet((x) => instances.get(scope, x), input.InstanceId, 'i', Ec2Errors.instanceNotFound, Ec2Errors.instanceNotFound) : undefined;
    if (instance) {
      if (instance.State !== 'running' && instance.State !== 'stopped' && instance.State !== 'pending') {
        throw new AwsError('InvalidInstanceID', `The pending instance '${instance.InstanceId}' is not in a valid state for this operation.`, 400);
      }
      eniId = instance.NetworkInterfaceId;
    }
    if (!eniId) throw Ec2Errors.missingParameter('InstanceId');
    const eni = mustGet((x) => n.networkInterfaces.get(scope, x), eniId, 'eni', Ec2Errors.eniNotFound, Ec2Errors.eniMalformed);
    const privateIp = input.PrivateIpAddress ?? eni.PrivateIpAddresses.find((p) => p.Primary)!.PrivateIpAddress;
    if (!eni.PrivateIpAddresses.some((p) => p.PrivateIpAddress === privateIp)) {
      throw Ec2Errors.invalidParameter(`The private IP address ${privateIp} is not assigned to interface ${eni.NetworkInterfaceId}`);
    }
    if (!n.internetGateways.list(scope).some((g) => g.Attachments.some((x) => x.VpcId === eni.VpcId))) throw Ec2Errors.noInternetGateway(eni.VpcId);
    const current = elasticIps.list(scope).find((x) => x.NetworkInterfaceId === eni.NetworkInterfaceId && x.PrivateIpAddress === privateIp);
    const reassociate = input.AllowReassociation === true;
    if (a.AssociationId && !reassociate && a !== current) throw Ec2Errors.alreadyAssociated(a.AllocationId);
    if (current && current.AllocationId !== a.AllocationId && !reassociate) throw Ec2Errors.alreadyAssociated(eni.NetworkInterfaceId);
    checkDryRun(input);
    const associationId = resourceId('eipassoc');
    store.transaction(() => {
      if (current && current.AllocationId !== a.AllocationId) unmap(store, scope, current);
      elasticIps.update(scope, a.AllocationId, {
        ...a,
        AssociationId: associationId,
        InstanceId: eni.Attachment?.InstanceId,
        NetworkInterfaceId: eni.NetworkInterfaceId,
        NetworkInterfaceOwnerId: eni.OwnerId,
        PrivateIpAddress: privateIp,
      });
      // An Elastic IP replaces the instance's auto-assigned public IP, which goes back to the pool.
      const holder = eni.Attachment ? instances.get(scope, eni.Attachment.InstanceId) : undefined;
      if (holder?.PublicIpAddress && holder.PrivateIpAddress === privateIp) {
        n.publicIps.release(holder.PublicIpAddress);
        instances.put(scope, { ...holder, PublicIpAddress: undefined });
      }
      // Moved away from another address: whoever held it there may get its own public IP back.
      if (a.NetworkInterfaceId && (a.NetworkInterfaceId !== eni.NetworkInterfaceId || a.PrivateIpAddress !== privateIp)) regainPublicIp(scope, a.NetworkInterfaceId);
    });
    return { AssociationId: associationId };
  };

  const DisassociateAddress: Op<'DisassociateAddress'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    let a: AddressRecord | undefined;
    if (input.AssociationId) {
      if (!wellFormed(input.AssociationId, 'eipassoc')) throw Ec2Errors.associationNotFound(input.AssociationId);
      a = elasticIps.list(scope).find((x) => x.AssociationId === input.AssociationId);
      if (!a) throw Ec2Errors.associationNotFound(input.AssociationId);
    } else if (input.PublicIp) {
      a = byPublicIp(scope, input.PublicIp);
      if (!a.AssociationId) throw Ec2Errors.associationNotFound(input.PublicIp);
    } else {
      throw Ec2Errors.missingParameter('AssociationId');
    }
    checkDryRun(input);
    const found = a;
    store.transaction(() => {
      unmap(store, scope, found);
      regainPublicIp(scope, found.NetworkInterfaceId);
    });
    return {};
  };

  return { AllocateAddress, DescribeAddresses, ReleaseAddress, AssociateAddress, DisassociateAddress };
}
