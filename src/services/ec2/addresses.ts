/**
 * AllocateAddress, DescribeAddresses, ReleaseAddress: Elastic IPs (domain vpc). kumo never hands
 * out real public addresses: an Elastic IP's PublicIp comes from a loopback pool on this host
 * (default 127.100.0.0/16, `KUMO_EIP_POOL`), so that whatever later forwards it into a VPC only
 * ever listens on loopback. Addresses are unique across accounts and regions.
 */
import { randomInt } from 'node:crypto';
import type { Ec2Operations } from '../../models/generated/ec2.js';
import { AwsError } from '../../protocol/errors.js';
import { contains, intToIp, last, parseCidr4, type Cidr4 } from '../../runtime/net/cidr.js';
import { checkDryRun } from '../../state/dry-run.js';
import { applyFilters, type Accessors } from '../../state/filters.js';
import { resourceId } from '../../state/ids.js';
import type { Tag } from '../../state/tags.js';
import { scopeOf, type OpHandler, type RequestContext } from '../service.js';
import { AddressTable, type AddressRecord } from './addresses-store.js';
import { Ec2Errors } from './errors.js';
import { wellFormed, type Ec2Store } from './store.js';
import { putTags, tagsFromSpecifications } from './tagging.js';

type Op<K extends keyof Ec2Operations> = OpHandler<Ec2Operations, K>;
type Address = AddressRecord & { Tags: Tag[] };

export const DEFAULT_EIP_POOL = '127.100.0.0/16';
const LOOPBACK = parseCidr4('127.0.0.0/8')!;

/** The pool as configured; anything outside 127.0.0.0/8 is refused at startup. */
export function parseEipPool(text: string): Cidr4 {
  const pool = parseCidr4(text);
  if (!pool || !contains(LOOPBACK, pool) || pool.prefix > 30) {
    throw new Error(`invalid Elastic IP pool '${text}': expected a CIDR block of at least 4 addresses inside 127.0.0.0/8`);
  }
  return pool;
}

const e = (code: string, message: string) => new AwsError(code, message, 400);
export const AddressErrors = {
  allocationNotFound: (id: string) => e('InvalidAllocationID.NotFound', `The allocation ID '${id}' does not exist`),
  allocationMalformed: (id: string) => e('InvalidAllocationID.Malformed', `Invalid id: "${id}" (expecting "eipalloc-...")`),
  addressNotFound: (ip: string) => e('InvalidAddress.NotFound', `Address '${ip}' not found.`),
  limit: () => e('AddressLimitExceeded', 'The maximum number of addresses has been reached.'),
};

const addressFilters: Accessors<Address> = {
  'allocation-id': (a) => a.AllocationId,
  'association-id': () => undefined,
  domain: (a) => a.Domain,
  'instance-id': () => undefined,
  'network-border-group': (a) => a.NetworkBorderGroup,
  'network-interface-id': () => undefined,
  'network-interface-owner-id': () => undefined,
  'private-ip-address': () => undefined,
  'public-ip': (a) => a.PublicIp,
  'public-ipv4-pool': (a) => a.PublicIpv4Pool,
};

function checkBorderGroup(ctx: RequestContext, group: string | undefined): void {
  if (group !== undefined && group !== ctx.region) {
    throw Ec2Errors.invalidParameter(`The network border group '${group}' is invalid for region ${ctx.region}.`);
  }
}

export function addressHandlers(store: Ec2Store, poolText = DEFAULT_EIP_POOL) {
  const pool = parseEipPool(poolText);
  const addresses = new AddressTable(store.db);
  store.registerTaggable('eipalloc', {
    type: 'elastic-ip',
    exists: (scope, id) => addresses.get(scope, id) !== undefined,
    notFound: AddressErrors.allocationNotFound,
  });

  /** A free address of the pool, network and broadcast addresses aside; random so IPs are not reused at once. */
  function freeIp(): string {
    const taken = addresses.taken();
    const first = pool.base + 1;
    const end = last(pool) - 1;
    for (let i = 0; i < 32; i++) {
      const ip = intToIp(randomInt(first, end + 1));
      if (!taken.has(ip)) return ip;
    }
    for (let n = first; n <= end; n++) if (!taken.has(intToIp(n))) return intToIp(n);
    throw AddressErrors.limit();
  }

  const AllocateAddress: Op<'AllocateAddress'> = (ctx, input) => {
    if (input.Address !== undefined || input.CustomerOwnedIpv4Pool !== undefined || input.IpamPoolId !== undefined) {
      throw Ec2Errors.invalidParameter('kumo allocates Elastic IPs from its own pool only: Address, CustomerOwnedIpv4Pool and IpamPoolId are not supported.');
    }
    if (input.PublicIpv4Pool !== undefined && input.PublicIpv4Pool !== 'amazon') {
      throw Ec2Errors.invalidParameter(`The public IPv4 pool '${input.PublicIpv4Pool}' does not exist; kumo only has 'amazon'.`);
    }
    const domain = input.Domain ?? 'vpc';
    if (domain !== 'vpc') throw Ec2Errors.invalidParameter(`Value (${domain}) for parameter domain is invalid. Valid values: vpc`);
    checkBorderGroup(ctx, input.NetworkBorderGroup);
    const tags = tagsFromSpecifications(input.TagSpecifications, 'elastic-ip');
    checkDryRun(input);
    const scope = scopeOf(ctx);
    const address = store.transaction(() => {
      const a: AddressRecord = {
        AllocationId: resourceId('eipalloc'),
        PublicIp: freeIp(),
        Domain: 'vpc',
        PublicIpv4Pool: 'amazon',
        NetworkBorderGroup: ctx.region,
      };
      addresses.insert(scope, a.AllocationId, a);
      putTags(store, scope, a.AllocationId, 'elastic-ip', tags);
      return a;
    });
    return address;
  };

  const DescribeAddresses: Op<'DescribeAddresses'> = (ctx, input) => {
    for (const id of input.AllocationIds ?? []) if (!wellFormed(id, 'eipalloc')) throw AddressErrors.allocationMalformed(id);
    checkDryRun(input);
    const scope = scopeOf(ctx);
    let all: Address[] = store.withTags(scope, 'elastic-ip', (a) => a.AllocationId, addresses.list(scope));
    for (const id of input.AllocationIds ?? []) if (!all.some((a) => a.AllocationId === id)) throw AddressErrors.allocationNotFound(id);
    for (const ip of input.PublicIps ?? []) if (!all.some((a) => a.PublicIp === ip)) throw AddressErrors.addressNotFound(ip);
    if (input.AllocationIds?.length || input.PublicIps?.length) {
      all = all.filter((a) => input.AllocationIds?.includes(a.AllocationId) || input.PublicIps?.includes(a.PublicIp));
    }
    return { Addresses: applyFilters(all, input.Filters, addressFilters) };
  };

  const ReleaseAddress: Op<'ReleaseAddress'> = (ctx, input) => {
    if (input.AllocationId === undefined) {
      if (input.PublicIp === undefined) throw Ec2Errors.missingParameter('AllocationId');
      throw Ec2Errors.invalidParameter('You must specify an allocation id when releasing a VPC elastic IP address');
    }
    if (!wellFormed(input.AllocationId, 'eipalloc')) throw AddressErrors.allocationMalformed(input.AllocationId);
    checkBorderGroup(ctx, input.NetworkBorderGroup);
    const scope = scopeOf(ctx);
    const address = addresses.get(scope, input.AllocationId);
    if (!address) throw AddressErrors.allocationNotFound(input.AllocationId);
    if (input.PublicIp !== undefined && input.PublicIp !== address.PublicIp) throw AddressErrors.addressNotFound(input.PublicIp);
    checkDryRun(input);
    store.transaction(() => {
      addresses.delete(scope, address.AllocationId);
      store.tags.removeAll(scope, address.AllocationId);
    });
    return {};
  };

  return { AllocateAddress, DescribeAddresses, ReleaseAddress };
}
