/**
 * Application load balancers: Create/Describe/Delete, attributes, SetSecurityGroups, SetSubnets,
 * SetIpAddressType. A load balancer is a row with one node per subnet (nodes.ts); the supervisor
 * (dataplane/) brings its nodes up and moves it from `provisioning` to `active`, and releases the
 * nodes of a deleted one (its row says `deleting`, which no call shows) before dropping the row.
 */
import { randomInt } from 'node:crypto';
import type { NetworkStore, SubnetRecord } from '../../state/network.js';
import type { Scope } from '../../state/scope.js';
import type { TagStore } from '../../state/tags.js';
import { scopeOf } from '../service.js';
import {
  applyAttributes, arnBase, attributeList, hex16, isBool, isIntIn, loadBalancerOf, page, selectBy, tagsOf, validateArn, validateName, type Op,
} from './common.js';
import { Elbv2Errors } from './errors.js';
import { createNode, markDeleting, setGroups, setSubnets } from './nodes.js';
import type { Elbv2Store, LoadBalancerRecord } from './store.js';

/** Route 53 zones of ALB DNS names per region (AWS's published values). */
const HOSTED_ZONES: Record<string, string> = {
  'us-east-1': 'Z35SXDOTRQ7X7K',
  'us-east-2': 'Z3AADJGX6KTTL2',
  'us-west-1': 'Z368ELLRRE2KJ0',
  'us-west-2': 'Z1H1FL5HABSF5',
  'ap-northeast-1': 'Z14GRHDCWA56QT',
  'ap-northeast-2': 'ZWKZPGTI48KDX',
  'ap-southeast-1': 'Z1LMS91P8CMLE5',
  'ap-southeast-2': 'Z1GM3OXH4ZPM65',
  'eu-west-1': 'Z32O12XQLNTSW2',
  'eu-central-1': 'Z215JYRZR1TBD5',
};

/** Route 53 zones of NLB DNS names per region (AWS's published values). */
const NLB_HOSTED_ZONES: Record<string, string> = {
  'us-east-1': 'Z26RNL4JYFTOTI',
  'us-west-2': 'Z18D5FSROUN65G',
  'ap-northeast-1': 'Z31USIVHYNEOWT',
  'eu-west-1': 'Z2IFOLAFXWLO4F',
};

/** A network load balancer's attributes: cross-zone is off unless turned on. */
export const DEFAULT_NLB_ATTRIBUTES: Record<string, string> = {
  'access_logs.s3.enabled': 'false',
  'access_logs.s3.bucket': '',
  'access_logs.s3.prefix': '',
  'deletion_protection.enabled': 'false',
  'dns_record.client_routing_policy': 'any_availability_zone',
  'load_balancing.cross_zone.enabled': 'false',
  'zonal_shift.config.enabled': 'false',
};

export const DEFAULT_LB_ATTRIBUTES: Record<string, string> = {
  'access_logs.s3.enabled': 'false',
  'access_logs.s3.bucket': '',
  'access_logs.s3.prefix': '',
  'client_keep_alive.seconds': '3600',
  'connection_logs.s3.enabled': 'false',
  'connection_logs.s3.bucket': '',
  'connection_logs.s3.prefix': '',
  'deletion_protection.enabled': 'false',
  'idle_timeout.timeout_seconds': '60',
  'load_balancing.cross_zone.enabled': 'true',
  'routing.http.desync_mitigation_mode': 'defensive',
  'routing.http.drop_invalid_header_fields.enabled': 'false',
  'routing.http.preserve_host_header.enabled': 'false',
  'routing.http.x_amzn_tls_version_and_cipher_suite.enabled': 'false',
  'routing.http.xff_client_port.enabled': 'false',
  'routing.http.xff_header_processing.mode': 'append',
  'routing.http2.enabled': 'true',
  'waf.fail_open.enabled': 'false',
  'zonal_shift.config.enabled': 'false',
};

function checkLbAttribute(type: string, key: string, v: string): string | undefined {
  if (key.endsWith('.enabled') && !isBool(v)) return `'${v}' is not a valid value for '${key}'; valid values are 'true' and 'false'`;
  if (key === 'load_balancing.cross_zone.enabled' && v !== 'true' && type === 'application') return 'Cross-zone load balancing cannot be disabled for application load balancers';
  if (key === 'dns_record.client_routing_policy' && !['availability_zone_affinity', 'partial_availability_zone_affinity', 'any_availability_zone'].includes(v)) {
    return `'${v}' is not a valid DNS client routing policy`;
  }
  if (key === 'idle_timeout.timeout_seconds' && !isIntIn(v, 1, 4000)) return 'Idle timeout must be between 1 and 4000 seconds';
  if (key === 'client_keep_alive.seconds' && !isIntIn(v, 60, 604800)) return 'Client keep alive must be between 60 and 604800 seconds';
  if (key === 'routing.http.desync_mitigation_mode' && !['monitor', 'defensive', 'strictest'].includes(v)) return `'${v}' is not a valid desync mitigation mode`;
  if (key === 'routing.http.xff_header_processing.mode' && !['append', 'preserve', 'remove'].includes(v)) return `'${v}' is not a valid XFF header processing mode`;
  if ((key === 'access_logs.s3.enabled' || key === 'connection_logs.s3.enabled') && v === 'true') {
    return `kumo does not write ${key.split('.')[0]!.replace('_', ' ')} to S3`;
  }
  return undefined;
}

/** What Describe shows of a row. */
export function lbView(lb: LoadBalancerRecord) {
  return {
    LoadBalancerArn: lb.LoadBalancerArn,
    DNSName: lb.DNSName,
    CanonicalHostedZoneId: lb.CanonicalHostedZoneId,
    CreatedTime: lb.CreatedTime,
    LoadBalancerName: lb.LoadBalancerName,
    Scheme: lb.Scheme,
    VpcId: lb.VpcId,
    State: lb.State,
    Type: lb.Type,
    AvailabilityZones: lb.Nodes.map((n) => ({ ZoneName: n.ZoneName, SubnetId: n.SubnetId, LoadBalancerAddresses: [] })),
    SecurityGroups: lb.SecurityGroups,
    IpAddressType: lb.IpAddressType,
  };
}

/** The subnets asked for: found, one per zone, all in one VPC, at least `min` zones (shared with the classic API). */
export function checkSubnets(
  network: NetworkStore,
  scope: Scope,
  ids: { SubnetId: string; PrivateIPv4Address?: string }[],
  vpcId?: string,
  min = 2,
): { subnet: SubnetRecord; ip?: string }[] {
  const out: { subnet: SubnetRecord; ip?: string }[] = [];
  for (const { SubnetId, PrivateIPv4Address } of ids) {
    const subnet = network.subnets.get(scope, SubnetId);
    if (!subnet) throw Elbv2Errors.subnetNotFound(`The subnet ID '${SubnetId}' is not valid`);
    if (out.some((o) => o.subnet.SubnetId === SubnetId)) throw Elbv2Errors.validation(`Subnet '${SubnetId}' is specified more than once`);
    if (out.some((o) => o.subnet.AvailabilityZone === subnet.AvailabilityZone)) {
      throw Elbv2Errors.invalidConfiguration('A load balancer cannot be attached to multiple subnets in the same Availability Zone');
    }
    if ((vpcId ?? out[0]?.subnet.VpcId ?? subnet.VpcId) !== subnet.VpcId) throw Elbv2Errors.invalidConfiguration('All subnets must belong to the same VPC');
    out.push({ subnet, ip: PrivateIPv4Address });
  }
  if (out.length < min) {
    throw Elbv2Errors.validation(min === 1 ? 'At least one subnet must be specified' : 'At least two subnets in two different Availability Zones must be specified');
  }
  return out;
}

/** Security groups asked for, all of the VPC; none: the VPC's default group. */
export function checkGroups(network: NetworkStore, scope: Scope, vpcId: string, ids: string[] | undefined): string[] {
  if (!ids?.length) {
    const def = network.securityGroups.list(scope).find((g) => g.VpcId === vpcId && g.GroupName === 'default');
    return def ? [def.GroupId] : [];
  }
  for (const id of ids) {
    const g = network.securityGroups.get(scope, id);
    if (!g || g.VpcId !== vpcId) throw Elbv2Errors.invalidSecurityGroup(`Security group '${id}' does not exist`);
  }
  return [...new Set(ids)];
}

/** Whether an internet gateway is attached to the VPC (internet-facing load balancers need one). */
export const hasInternetGateway = (network: NetworkStore, scope: Scope, vpcId: string) =>
  network.internetGateways.list(scope).some((g) => g.Attachments.some((a) => a.VpcId === vpcId));

export function loadBalancerHandlers(store: Elbv2Store, network: NetworkStore, tags: TagStore, wake: () => void) {
  const { loadBalancers } = store;
  const live = (scope: Scope) => loadBalancers.list(scope).filter((lb) => lb.State.Code !== 'deleting' && !lb.Classic);

  function subnetInput(input: { Subnets?: string[]; SubnetMappings?: { SubnetId?: string; AllocationId?: string; PrivateIPv4Address?: string; IPv6Address?: string }[] }) {
    if (input.Subnets?.length && input.SubnetMappings?.length) throw Elbv2Errors.validation('You can specify subnets or subnet mappings, not both');
    if (input.SubnetMappings?.some((m) => m.AllocationId || m.IPv6Address)) {
      throw Elbv2Errors.invalidConfiguration('Elastic IP addresses and IPv6 addresses can only be given to network load balancers');
    }
    const list: { SubnetId: string; PrivateIPv4Address?: string }[] = input.SubnetMappings?.length
      ? input.SubnetMappings.map((m) => ({ SubnetId: m.SubnetId ?? '', PrivateIPv4Address: m.PrivateIPv4Address }))
      : (input.Subnets ?? []).map((SubnetId) => ({ SubnetId }));
    return list;
  }

  const CreateLoadBalancer: Op<'CreateLoadBalancer'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    validateName('Load balancer', input.Name);
    if (input.Name.toLowerCase().startsWith('internal-')) throw Elbv2Errors.validation(`Load balancer name '${input.Name}' cannot begin with 'internal-'`);
    const type = input.Type ?? 'application';
    if (!['application', 'network', 'gateway'].includes(type)) throw Elbv2Errors.validation(`Load balancer type '${type}' is not valid`);
    if (type === 'gateway') throw Elbv2Errors.validation('kumo has no gateway load balancers');
    const nlb = type === 'network';
    const scheme = input.Scheme ?? 'internet-facing';
    if (!['internet-facing', 'internal'].includes(scheme)) throw Elbv2Errors.validation(`Scheme '${scheme}' is not valid`);
    const ipType = input.IpAddressType ?? 'ipv4';
    if (ipType !== 'ipv4') throw Elbv2Errors.validation(`kumo supports the 'ipv4' IP address type only, not '${ipType}'`);
    if (input.CustomerOwnedIpv4Pool) throw Elbv2Errors.validation('Customer-owned IPv4 pools are for Outposts');
    const wanted = subnetInput(input);
    if (scheme === 'internet-facing' && wanted.some((w) => w.PrivateIPv4Address)) {
      throw Elbv2Errors.invalidConfiguration('Private IPv4 addresses can only be given to internal load balancers');
    }
    const subnets = checkSubnets(network, scope, wanted, undefined, nlb ? 1 : 2);
    const vpcId = subnets[0]!.subnet.VpcId;
    if (scheme === 'internet-facing' && !hasInternetGateway(network, scope, vpcId)) {
      throw Elbv2Errors.invalidSubnet(`VPC ${vpcId} has no internet gateway`);
    }
    const groups = checkGroups(network, scope, vpcId, input.SecurityGroups);
    const newTags = tagsOf(input.Tags);
    const existing = live(scope).find((lb) => lb.LoadBalancerName === input.Name);
    if (existing) {
      const same =
        existing.Scheme === scheme &&
        JSON.stringify([...existing.SecurityGroups].sort()) === JSON.stringify([...groups].sort()) &&
        JSON.stringify(existing.Nodes.map((x) => x.SubnetId).sort()) === JSON.stringify(subnets.map((s) => s.subnet.SubnetId).sort());
      if (!same) throw Elbv2Errors.duplicateLoadBalancer();
      return { LoadBalancers: [lbView(existing)] };
    }
    const id = hex16();
    const arn = `${arnBase(ctx)}:loadbalancer/${nlb ? 'net' : 'app'}/${input.Name}/${id}`;
    // AWS's DNS names: an ALB's end in a number of its own, an NLB's in hex before `elb.`; internal ones start with `internal-`.
    const dns = nlb
      ? `${scheme === 'internal' ? 'internal-' : ''}${input.Name}-${id}.elb.${ctx.region}.amazonaws.com`
      : `${scheme === 'internal' ? 'internal-' : ''}${input.Name}-${randomInt(100_000_000, 2_000_000_000)}.${ctx.region}.elb.amazonaws.com`;
    const lb: LoadBalancerRecord = {
      LoadBalancerArn: arn,
      LoadBalancerName: input.Name,
      DNSName: dns,
      CanonicalHostedZoneId: nlb ? (NLB_HOSTED_ZONES[ctx.region] ?? NLB_HOSTED_ZONES['us-east-1']!) : (HOSTED_ZONES[ctx.region] ?? HOSTED_ZONES['us-east-1']!),
      CreatedTime: ctx.now().toISOString(),
      Scheme: scheme,
      VpcId: vpcId,
      State: { Code: 'provisioning' },
      Type: type,
      IpAddressType: ipType,
      SecurityGroups: groups,
      Nodes: [],
      Attributes: { ...(nlb ? DEFAULT_NLB_ATTRIBUTES : DEFAULT_LB_ATTRIBUTES) },
    };
    store.transaction(() => {
      lb.Nodes = subnets.map(({ subnet, ip }) => createNode(network, scope, lb, subnet, ip));
      loadBalancers.insert(scope, arn, lb);
      tags.put(scope, arn, 'loadbalancer', newTags);
    });
    wake();
    return { LoadBalancers: [lbView(lb)] };
  };

  const DescribeLoadBalancers: Op<'DescribeLoadBalancers'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    let all = live(scope);
    if (input.LoadBalancerArns?.length && input.Names?.length) throw Elbv2Errors.validation('Load balancer names and load balancer ARNs cannot be specified at the same time');
    input.LoadBalancerArns?.forEach((a) => validateArn(a, 'loadbalancer', 'load balancer'));
    const notFound = (missing: string[]) => Elbv2Errors.loadBalancerNotFound(`Load balancers '[${missing.join(', ')}]' not found`);
    all = selectBy(all, input.LoadBalancerArns, (lb) => lb.LoadBalancerArn, notFound);
    all = selectBy(all, input.Names, (lb) => lb.LoadBalancerName, notFound);
    const p = page(all, (lb) => lb.LoadBalancerArn, input);
    return { LoadBalancers: p.items.map(lbView), NextMarker: p.NextMarker };
  };

  const DeleteLoadBalancer: Op<'DeleteLoadBalancer'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    validateArn(input.LoadBalancerArn, 'loadbalancer', 'load balancer');
    const lb = loadBalancers.get(scope, input.LoadBalancerArn);
    // Deleting what is gone succeeds, as on AWS.
    if (!lb || lb.State.Code === 'deleting') return {};
    if (lb.Attributes['deletion_protection.enabled'] === 'true') {
      throw Elbv2Errors.operationNotPermitted(`Load balancer '${lb.LoadBalancerArn}' cannot be deleted because deletion protection is enabled`);
    }
    store.transaction(() => {
      for (const l of store.listenersOf(scope, lb.LoadBalancerArn)) {
        for (const r of store.rulesOf(scope, l.ListenerArn)) {
          store.rules.delete(scope, r.RuleArn);
          tags.removeAll(scope, r.RuleArn);
        }
        store.listeners.delete(scope, l.ListenerArn);
        tags.removeAll(scope, l.ListenerArn);
      }
      markDeleting(store, tags, scope, lb);
    });
    wake();
    return {};
  };

  const DescribeLoadBalancerAttributes: Op<'DescribeLoadBalancerAttributes'> = (ctx, input) => {
    const lb = loadBalancerOf(store, scopeOf(ctx), input.LoadBalancerArn);
    return { Attributes: attributeList(lb.Attributes) };
  };

  const ModifyLoadBalancerAttributes: Op<'ModifyLoadBalancerAttributes'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const lb = loadBalancerOf(store, scope, input.LoadBalancerArn);
    const Attributes = applyAttributes(lb.Attributes, input.Attributes ?? [], (k, v) => checkLbAttribute(lb.Type, k, v));
    loadBalancers.update(scope, lb.LoadBalancerArn, { ...lb, Attributes });
    wake();
    return { Attributes: attributeList(Attributes) };
  };

  const SetSecurityGroups: Op<'SetSecurityGroups'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const lb = loadBalancerOf(store, scope, input.LoadBalancerArn);
    if (input.EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic !== undefined) {
      throw Elbv2Errors.validation('EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic applies to network load balancers only');
    }
    if (!input.SecurityGroups?.length) throw Elbv2Errors.validation('At least one security group must be specified for an application load balancer');
    const groups = checkGroups(network, scope, lb.VpcId, input.SecurityGroups);
    setGroups(store, network, scope, lb, groups);
    wake();
    return { SecurityGroupIds: groups };
  };

  const SetSubnets: Op<'SetSubnets'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const lb = loadBalancerOf(store, scope, input.LoadBalancerArn);
    if (input.IpAddressType && input.IpAddressType !== 'ipv4') throw Elbv2Errors.validation(`kumo supports the 'ipv4' IP address type only, not '${input.IpAddressType}'`);
    const next = setSubnets(store, network, scope, lb, checkSubnets(network, scope, subnetInput(input), lb.VpcId, lb.Type === 'network' ? 1 : 2));
    wake();
    return { AvailabilityZones: lbView(next).AvailabilityZones, IpAddressType: lb.IpAddressType };
  };

  const SetIpAddressType: Op<'SetIpAddressType'> = (ctx, input) => {
    const lb = loadBalancerOf(store, scopeOf(ctx), input.LoadBalancerArn);
    if (input.IpAddressType !== 'ipv4') throw Elbv2Errors.validation(`kumo supports the 'ipv4' IP address type only, not '${input.IpAddressType}'`);
    return { IpAddressType: lb.IpAddressType };
  };

  return {
    CreateLoadBalancer, DescribeLoadBalancers, DeleteLoadBalancer, DescribeLoadBalancerAttributes, ModifyLoadBalancerAttributes,
    SetSecurityGroups, SetSubnets, SetIpAddressType,
  };
}
