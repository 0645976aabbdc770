/**
 * EC2 (ec2 wire family): the operation table. Handlers live by resource (./vpcs.ts,
 * ./vpc-attributes.ts, ./subnets.ts, ./default-vpc.ts, ./dhcp-options.ts,
 * ./internet-gateways.ts, ./route-tables.ts, ./routes.ts, ./security-groups.ts,
 * ./security-group-rules.ts, ./network-acls.ts, ./network-interfaces.ts, ./elastic-ips.ts,
 * ./prefix-lists.ts, ./tags.ts, ./regions.ts, ./images.ts); this file assembles them and makes each account+region's defaults
 * (default VPC, DHCP options) before the first call there runs.
 *
 * Differences from AWS:
 * - IPv4 only: IPv6 CIDRs on VPCs and subnets, IPAM pools and Outposts are refused.
 *   Security group rules and network ACL entries do accept IPv6 CIDRs.
 * - Managed prefix lists: the AWS-managed ones are `com.amazonaws.<region>.s3` and `.dynamodb`
 *   only, with IDs derived from the region (not Amazon's real IDs) and a few plausible CIDRs that
 *   are NOT Amazon's real ranges; they show no MaxEntries/Version and count as one rule in a
 *   security group's quota. Customer lists are `create-complete`/`modify-complete` at once (AWS
 *   passes through `*-in-progress`), DeleteManagedPrefixList answers `delete-in-progress` but the
 *   list is gone at once, and deleting a list a security group rule or route refers to is refused
 *   synchronously with DependencyViolation (AWS's exact behaviour there is unverified: it may
 *   instead go to `delete-failed`). Refusals to modify/delete AWS-managed lists, to grow MaxEntries
 *   past a referencing group's quota, bad CIDRs and duplicate entries are InvalidParameterValue
 *   with kumo's messages; a change of entries without CurrentVersion is MissingParameter. No
 *   RestoreManagedPrefixListVersion, GetManagedPrefixListAssociations, sharing (RAM) or
 *   transit gateway references. ClientToken makes CreateManagedPrefixList idempotent.
 * - Route targets: internet gateways and network interfaces. Instances answer
 *   InvalidInstanceID.NotFound until kumo has them; NAT/transit/local/carrier gateways, peering
 *   connections and VPC endpoints answer theirs (no such resource can exist yet). IPv6
 *   destinations and gateway (edge) route table associations are refused. A DestinationPrefixListId
 *   must be one of the account's own IPv4 lists (AWS-managed ones, which AWS routes only through
 *   gateway endpoints, are InvalidParameterValue); such a route counts as one route, not as the
 *   list's MaxEntries, and is not checked against the VPC's CIDRs.
 * - Network interfaces: IPv4 only, type `interface` only, no attachments yet (so always
 *   `available`), no IPv4 prefixes.
 * - Elastic IPs: VPC domain, Amazon pool only; addresses are loopback addresses from
 *   KUMO_EIP_POOL (default 127.100.0.0/16), never real public ones, so the host can reach them;
 *   five per account and region. They associate with network interfaces (instances come later).
 * - Key pairs: KeyFormat ppk gives a PuTTY format 2 file (not checked with puttygen here);
 *   PublicKey's comment is always the key name; no 5,000-per-region quota.
 * - Images: the public catalog only (./images.ts lists its own differences).
 * - Instance types: a table of selected real families (./instance-types-data.ts), each offered in
 *   every zone of the region; other types are InvalidInstanceType.
 * - Security group references are same-VPC and same-account only (no peering).
 * - The default VPC appears on the first EC2 call in an account+region, not at account creation.
 * - Regions outside kumo's table have no availability zones (and a default VPC without subnets).
 * - CreateTags/DeleteTags on an ID of a type kumo does not have yet (i-, ami-, vol-, …) is
 *   InvalidID, where AWS would say that type's NotFound.
 * - ClientToken idempotency (CreateRouteTable, CreateNetworkAcl, CreateNetworkInterface) is
 *   echoed, not enforced.
 * - Some refusals' codes are AWS's documented ones but their message texts are kumo's; deleting
 *   a default network ACL answers InvalidParameterValue (AWS's exact code there is unverified).
 * - Security groups, network ACLs, routes and DHCP options are recorded, not yet enforced:
 *   there is no VPC data plane yet.
 */
import { loadModel } from '../../models/loader.js';
import type { Ec2Operations } from '../../models/generated/ec2.js';
import { Ec2Codec } from '../../protocol/query.js';
import type { Db } from '../../state/db.js';
import type { NetworkStore } from '../../state/network.js';
import type { TagStore } from '../../state/tags.js';
import type { Handler, Service } from '../service.js';
import { RegionDefaults, defaultVpcHandlers } from './default-vpc.js';
import { dhcpOptionsHandlers } from './dhcp-options.js';
import { elasticIpHandlers } from './elastic-ips.js';
import { imageHandlers } from './images.js';
import { ec2AuthErrors } from './errors.js';
import { instanceTypeHandlers } from './instance-types.js';
import { internetGatewayHandlers } from './internet-gateways.js';
import { keyPairHandlers } from './key-pairs.js';
import { networkAclHandlers } from './network-acls.js';
import { networkInterfaceHandlers } from './network-interfaces.js';
import { prefixListHandlers } from './prefix-lists.js';
import { regionHandlers } from './regions.js';
import { routeTableHandlers } from './route-tables.js';
import { routeHandlers } from './routes.js';
import { securityGroupRuleHandlers } from './security-group-rules.js';
import { securityGroupHandlers } from './security-groups.js';
import { Ec2Store } from './store.js';
import { subnetHandlers } from './subnets.js';
import { tagHandlers } from './tags.js';
import { vpcAttributeHandlers } from './vpc-attributes.js';
import { vpcHandlers } from './vpcs.js';

export interface Ec2Deps {
  db: Db;
  network: NetworkStore;
  tags: TagStore;
}

export function createEc2Service(deps: Ec2Deps): Service {
  const store = new Ec2Store(deps.db, deps.network, deps.tags);
  const table: { [K in keyof Ec2Operations]: Handler } = {
    ...vpcHandlers(store),
    ...vpcAttributeHandlers(store),
    ...subnetHandlers(store),
    ...defaultVpcHandlers(store),
    ...dhcpOptionsHandlers(store),
    ...internetGatewayHandlers(store),
    ...routeTableHandlers(store),
    ...routeHandlers(store),
    ...securityGroupHandlers(store),
    ...securityGroupRuleHandlers(store),
    ...networkAclHandlers(store),
    ...networkInterfaceHandlers(store),
    ...elasticIpHandlers(store),
    ...prefixListHandlers(store),
    ...tagHandlers(store),
    ...regionHandlers(),
    ...keyPairHandlers(store),
    ...instanceTypeHandlers(),
    ...imageHandlers(),
  };
  const defaults = new RegionDefaults(store);
  // Region and zone listings are not regional state; everything else sees the region's defaults.
  const stateless = new Set<string>(['DescribeRegions', 'DescribeAvailabilityZones', 'DescribeInstanceTypes', 'DescribeInstanceTypeOfferings', 'DescribeImages', 'DescribeImageAttribute']);
  const handlers: Record<string, Handler> = {};
  for (const [name, handler] of Object.entries(table) as [string, Handler][]) {
    handlers[name] = stateless.has(name)
      ? handler
      : (ctx, input) => {
          defaults.ensure(ctx);
          return handler(ctx, input);
        };
  }
  return {
    name: 'ec2',
    signingName: 'ec2',
    codec: new Ec2Codec(loadModel('ec2-2016-11-15')),
    handlers,
    authErrors: ec2AuthErrors,
    reset: () => defaults.forget(),
  };
}
