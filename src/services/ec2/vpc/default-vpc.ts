/**
 * Each account+region's defaults, made lazily by the first EC2 call there (in one transaction):
 * the default DHCP options set (`<region>.compute.internal`, `ec2.internal` in us-east-1,
 * AmazonProvidedDNS) and the default VPC: 172.31.0.0/16, a /20 default subnet per zone that
 * maps public IPs on launch, an attached internet gateway and 0.0.0.0/0 → it in the main route
 * table. CreateDefaultVpc/CreateDefaultSubnet rebuild them after the user deleted them.
 */
import type { Ec2Operations } from '../../../models/generated/ec2.js';
import { overlaps, parseCidr4 } from '../../../lib/cidr.js';
import { checkDryRun } from '../../../state/dry-run.js';
import { resourceId } from '../../../state/ids.js';
import type { DhcpOptionsRecord, InternetGatewayRecord, SubnetRecord, VpcRecord } from '../../../state/network.js';
import { findZone, zonesOf, type ZoneInfo } from '../../../state/regions.js';
import type { Scope } from '../../../state/scope.js';
import { scopeOf, type OpHandler, type RequestContext } from '../../service.js';
import { Ec2Errors } from '../errors.js';
import type { Ec2Store } from '../store.js';
import { insertSubnet, newSubnetRecord } from './subnets.js';
import { insertVpc } from './vpc-network.js';
import { newVpcRecord, present } from './vpcs.js';

type Op<K extends keyof Ec2Operations> = OpHandler<Ec2Operations, K>;

const DEFAULT_VPC_CIDR = '172.31.0.0/16';
const DEFAULT_SUBNET_PREFIX = 20;

export function defaultDhcpOptions(region: string, account: string): DhcpOptionsRecord {
  return {
    DhcpOptionsId: resourceId('dopt'),
    OwnerId: account,
    DhcpConfigurations: [
      { Key: 'domain-name', Values: [{ Value: region === 'us-east-1' ? 'ec2.internal' : `${region}.compute.internal` }] },
      { Key: 'domain-name-servers', Values: [{ Value: 'AmazonProvidedDNS' }] },
    ],
  };
}

/** The next free /20 of 172.31.0.0/16 not used by a subnet of the default VPC. */
function nextDefaultCidr(taken: string[]): string | undefined {
  const used = taken.map((c) => parseCidr4(c)!);
  for (let i = 0; i < 16; i++) {
    const candidate = parseCidr4(`172.31.${i * 16}.0/${DEFAULT_SUBNET_PREFIX}`)!;
    if (!used.some((u) => overlaps(u, candidate))) return candidate.text;
  }
  return undefined;
}

function defaultSubnet(ctx: RequestContext, vpc: VpcRecord, zone: ZoneInfo, cidr: string): SubnetRecord {
  return newSubnetRecord(ctx.region, ctx.account, vpc.VpcId, cidr, zone, true);
}

/** Builds the default VPC with its subnets, gateway and route; call inside a transaction. */
function buildDefaultVpc(store: Ec2Store, ctx: RequestContext, dhcpOptionsId: string): VpcRecord {
  const scope = scopeOf(ctx);
  const n = store.network;
  const vpc = newVpcRecord(ctx.account, DEFAULT_VPC_CIDR, 'default', dhcpOptionsId, true);
  const { mainRouteTable } = insertVpc(store, scope, vpc, []);
  const taken: string[] = [];
  for (const zone of zonesOf(ctx.region)) {
    const cidr = nextDefaultCidr(taken)!;
    taken.push(cidr);
    insertSubnet(store, scope, defaultSubnet(ctx, vpc, zone, cidr), []);
  }
  const igw: InternetGatewayRecord = {
    InternetGatewayId: resourceId('igw'),
    OwnerId: ctx.account,
    Attachments: [{ VpcId: vpc.VpcId, State: 'available' }],
  };
  n.internetGateways.insert(scope, igw.InternetGatewayId, igw);
  mainRouteTable.Routes.push({ DestinationCidrBlock: '0.0.0.0/0', GatewayId: igw.InternetGatewayId, Origin: 'CreateRoute' });
  n.routeTables.update(scope, mainRouteTable.RouteTableId, mainRouteTable);
  return vpc;
}

export class RegionDefaults {
  private readonly ready = new Set<string>();

  constructor(private readonly store: Ec2Store) {}

  /** Makes the region's defaults unless they exist; cheap after the first call per region. */
  ensure(ctx: RequestContext): void {
    const key = `${ctx.account}\u0000${ctx.region}`;
    if (this.ready.has(key)) return;
    const scope: Scope = scopeOf(ctx);
    const n = this.store.network;
    this.store.transaction(() => {
      if (n.regionDefaultDhcpOptions(scope)) return;
      const dopt = defaultDhcpOptions(ctx.region, ctx.account);
      n.dhcpOptions.insert(scope, dopt.DhcpOptionsId, dopt);
      n.markRegionDefaults(scope, dopt.DhcpOptionsId);
      buildDefaultVpc(this.store, ctx, dopt.DhcpOptionsId);
    });
    this.ready.add(key);
  }

  /** After /_kumo/reset wiped the tables. */
  forget(): void {
    this.ready.clear();
  }
}

export function defaultVpcHandlers(store: Ec2Store) {
  const n = store.network;
  const defaultVpcOf = (scope: Scope) => n.vpcs.list(scope).find((v) => v.IsDefault);

  const CreateDefaultVpc: Op<'CreateDefaultVpc'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const existing = defaultVpcOf(scope);
    if (existing) throw Ec2Errors.defaultVpcExists(existing.VpcId);
    checkDryRun(input);
    const dopt = n.regionDefaultDhcpOptions(scope) ?? 'default';
    const vpc = store.transaction(() => buildDefaultVpc(store, ctx, n.dhcpOptions.get(scope, dopt) ? dopt : 'default'));
    return { Vpc: present({ ...vpc, Tags: [] }) };
  };

  const CreateDefaultSubnet: Op<'CreateDefaultSubnet'> = (ctx, input) => {
    if (input.Ipv6Native) throw Ec2Errors.unsupported('IPv6-only default subnets');
    const scope = scopeOf(ctx);
    const zone = findZone(ctx.region, input.AvailabilityZone);
    if (!zone) throw Ec2Errors.invalidZone(input.AvailabilityZone, zonesOf(ctx.region).map((z) => z.zoneName));
    const vpc = defaultVpcOf(scope);
    if (!vpc) throw Ec2Errors.noDefaultVpc();
    const siblings = n.subnets.listWhere(scope, 'VpcId', [vpc.VpcId]);
    const inZone = siblings.find((s) => s.DefaultForAz && s.AvailabilityZone === zone.zoneName);
    if (inZone) throw Ec2Errors.defaultSubnetExists(zone.zoneName, inZone.SubnetId);
    const cidr = nextDefaultCidr(siblings.map((s) => s.CidrBlock));
    if (!cidr) throw Ec2Errors.subnetConflict(`172.31.0.0/${DEFAULT_SUBNET_PREFIX}`);
    checkDryRun(input);
    const subnet = defaultSubnet(ctx, vpc, zone, cidr);
    store.transaction(() => insertSubnet(store, scope, subnet, []));
    return { Subnet: { ...subnet, Tags: [] } };
  };

  return { CreateDefaultVpc, CreateDefaultSubnet };
}
