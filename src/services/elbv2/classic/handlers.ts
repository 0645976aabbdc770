/**
 * The classic Elastic Load Balancing API (2012-06-01) over the same rows and data plane as ELBv2:
 * a classic load balancer is a load-balancer row of Type `classic` whose listeners, health check
 * and instances live in its `Classic` part (store.ts). Nodes, security groups, DNS names, HAProxy
 * and health checks are ELBv2's (group.ts makes its instances a target group of its own).
 */
import { randomInt } from 'node:crypto';
import type { ElbOperations } from '../../../models/generated/elb.js';
import type { NetworkStore, SubnetRecord } from '../../../state/network.js';
import type { Scope } from '../../../state/scope.js';
import type { TagStore } from '../../../state/tags.js';
import { scopeOf, type OpHandler } from '../../service.js';
import { page, tagsOf, validateName } from '../common.js';
import { Elbv2Errors } from '../errors.js';
import { checkGroups, checkSubnets, hasInternetGateway } from '../load-balancers.js';
import { createNode, markDeleting, setGroups, setSubnets } from '../nodes.js';
import { healthKey, type ClassicConfig, type ClassicListener, type Elbv2Store, type LoadBalancerRecord } from '../store.js';
import { targetStatuses, type TargetDirectory } from '../target-health.js';
import { classicGroup, classicState, parseHealthTarget } from './group.js';
import { AwsError } from '../../../protocol/errors.js';
import { checkCertificate, type CertificateDirectory } from '../listener-certificates.js';

type Op<K extends keyof ElbOperations> = OpHandler<ElbOperations, K>;

const PROTOCOLS = ['HTTP', 'HTTPS', 'TCP', 'SSL'];

const ClassicErrors = {
  notFound: (name: string) => new AwsError('LoadBalancerNotFound', `There is no ACTIVE Load Balancer named '${name}'`, 400),
  invalidInstance: (ids: string[]) => new AwsError('InvalidInstance', `The following instances are not valid or not registered: ${ids.join(', ')}`, 400),
  invalidConfiguration: (message: string) => new AwsError('InvalidConfigurationRequest', message, 409),
};

type ListenerInput = { Protocol: string; LoadBalancerPort: number; InstanceProtocol?: string; InstancePort: number; SSLCertificateId?: string };

/** Listeners as given: HTTP(S) to HTTP(S), TCP/SSL to TCP/SSL; HTTPS and SSL ones with an ACM certificate. */
function checkListeners(certificates: CertificateDirectory | undefined, scope: Scope, listeners: ListenerInput[]): ClassicListener[] {
  return listeners.map((l) => {
    const protocol = l.Protocol.toUpperCase();
    const instanceProtocol = (l.InstanceProtocol ?? l.Protocol).toUpperCase();
    if (!PROTOCOLS.includes(protocol) || !PROTOCOLS.includes(instanceProtocol)) throw Elbv2Errors.validation(`Invalid protocol '${l.Protocol}'`);
    const layer7 = (p: string) => p === 'HTTP' || p === 'HTTPS';
    if (layer7(protocol) !== layer7(instanceProtocol)) {
      throw Elbv2Errors.validation(`Listener protocol '${protocol}' and instance protocol '${instanceProtocol}' are not compatible`);
    }
    for (const p of [l.LoadBalancerPort, l.InstancePort]) if (!Number.isInteger(p) || p < 1 || p > 65535) throw Elbv2Errors.validation(`Invalid port ${p}`);
    const out: ClassicListener = { Protocol: protocol, LoadBalancerPort: l.LoadBalancerPort, InstanceProtocol: instanceProtocol, InstancePort: l.InstancePort };
    if (protocol === 'HTTPS' || protocol === 'SSL') out.SSLCertificateId = checkCertificate(certificates, scope, l.SSLCertificateId);
    return out;
  });
}

export function classicHandlers(store: Elbv2Store, network: NetworkStore, tags: TagStore, directory: TargetDirectory, certificates: CertificateDirectory | undefined, wake: () => void) {
  const { loadBalancers } = store;
  const byName = (scope: Scope, name: string) =>
    loadBalancers.list(scope).find((lb) => lb.Classic && lb.State.Code !== 'deleting' && lb.LoadBalancerName === name);
  const get = (scope: Scope, name: string) => {
    const lb = byName(scope, name);
    if (!lb) throw ClassicErrors.notFound(name);
    return lb;
  };
  const save = (scope: Scope, lb: LoadBalancerRecord) => {
    loadBalancers.update(scope, lb.LoadBalancerArn, lb);
    wake();
  };

  /** AvailabilityZones (the default subnet of each zone in the default VPC) or Subnets. */
  function subnetsFor(scope: Scope, zones: string[] | undefined, subnets: string[] | undefined, vpcId?: string): { subnet: SubnetRecord }[] {
    if (zones?.length && subnets?.length) throw Elbv2Errors.validation('Specify either availability zones or subnets, not both');
    if (zones?.length) {
      const ids = zones.map((z) => {
        const s = network.subnets.list(scope).find((x) => x.DefaultForAz && x.AvailabilityZone === z && (!vpcId || x.VpcId === vpcId));
        if (!s) throw Elbv2Errors.validation(`Availability zone '${z}' has no default subnet`);
        return { SubnetId: s.SubnetId };
      });
      return checkSubnets(network, scope, ids, vpcId, 1);
    }
    return checkSubnets(network, scope, (subnets ?? []).map((SubnetId) => ({ SubnetId })), vpcId, 1);
  }

  function describe(scope: Scope, lb: LoadBalancerRecord) {
    const c = lb.Classic!;
    const group = lb.SecurityGroups[0] ? network.securityGroups.get(scope, lb.SecurityGroups[0]) : undefined;
    return {
      LoadBalancerName: lb.LoadBalancerName,
      DNSName: lb.DNSName,
      CanonicalHostedZoneName: lb.DNSName,
      CanonicalHostedZoneNameID: lb.CanonicalHostedZoneId,
      ListenerDescriptions: c.Listeners.map((Listener) => ({ Listener, PolicyNames: [] })),
      Policies: { AppCookieStickinessPolicies: [], LBCookieStickinessPolicies: [], OtherPolicies: [] },
      BackendServerDescriptions: [],
      AvailabilityZones: lb.Nodes.map((n) => n.ZoneName),
      Subnets: lb.Nodes.map((n) => n.SubnetId),
      VPCId: lb.VpcId,
      Instances: c.Instances.map((InstanceId) => ({ InstanceId })),
      HealthCheck: c.HealthCheck,
      SourceSecurityGroup: group ? { OwnerAlias: scope.account, GroupName: group.GroupName } : undefined,
      SecurityGroups: lb.SecurityGroups,
      CreatedTime: lb.CreatedTime,
      Scheme: lb.Scheme,
    };
  }

  const CreateLoadBalancer: Op<'CreateLoadBalancer'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    directory.regionDefaults?.(ctx);
    validateName('Load balancer', input.LoadBalancerName);
    const scheme = input.Scheme ?? 'internet-facing';
    if (!['internet-facing', 'internal'].includes(scheme)) throw Elbv2Errors.validation(`Invalid scheme '${scheme}'`);
    const listeners = checkListeners(certificates, scope, input.Listeners ?? []);
    if (!listeners.length) throw Elbv2Errors.validation('At least one listener must be specified');
    if (new Set(listeners.map((l) => l.LoadBalancerPort)).size !== listeners.length) throw Elbv2Errors.duplicateListener();
    const subnets = subnetsFor(scope, input.AvailabilityZones, input.Subnets);
    const vpcId = subnets[0]!.subnet.VpcId;
    if (scheme === 'internet-facing' && !hasInternetGateway(network, scope, vpcId)) throw Elbv2Errors.invalidSubnet(`VPC ${vpcId} has no internet gateway`);
    const groups = checkGroups(network, scope, vpcId, input.SecurityGroups);
    const newTags = tagsOf(input.Tags);
    const existing = byName(scope, input.LoadBalancerName);
    if (existing) {
      if (JSON.stringify(existing.Classic!.Listeners) !== JSON.stringify(listeners)) throw Elbv2Errors.duplicateLoadBalancer();
      return { DNSName: existing.DNSName };
    }
    const first = listeners[0]!;
    const classic: ClassicConfig = {
      Listeners: listeners,
      // AWS's default check: TCP to the first listener's instance port, every 30 s.
      HealthCheck: { Target: `TCP:${first.InstancePort}`, Interval: 30, Timeout: 5, UnhealthyThreshold: 2, HealthyThreshold: 10 },
      Instances: [],
      CrossZone: false,
      ConnectionDraining: { Enabled: false, Timeout: 300 },
      IdleTimeout: 60,
    };
    const lb: LoadBalancerRecord = {
      LoadBalancerArn: `arn:aws:elasticloadbalancing:${ctx.region}:${ctx.account}:loadbalancer/${input.LoadBalancerName}`,
      LoadBalancerName: input.LoadBalancerName,
      DNSName: `${scheme === 'internal' ? 'internal-' : ''}${input.LoadBalancerName}-${randomInt(100_000_000, 2_000_000_000)}.${ctx.region}.elb.amazonaws.com`,
      CanonicalHostedZoneId: 'Z14GRHDCWA56QT',
      CreatedTime: ctx.now().toISOString(),
      Scheme: scheme,
      VpcId: vpcId,
      State: { Code: 'provisioning' },
      Type: 'classic',
      IpAddressType: 'ipv4',
      SecurityGroups: groups,
      Nodes: [],
      Attributes: {},
      Classic: classic,
    };
    store.transaction(() => {
      lb.Nodes = subnets.map(({ subnet }) => createNode(network, scope, lb, subnet));
      loadBalancers.insert(scope, lb.LoadBalancerArn, lb);
      tags.put(scope, lb.LoadBalancerArn, 'loadbalancer', newTags);
    });
    wake();
    return { DNSName: lb.DNSName };
  };

  const DescribeLoadBalancers: Op<'DescribeLoadBalancers'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    let all = loadBalancers.list(scope).filter((lb) => lb.Classic && lb.State.Code !== 'deleting');
    if (input.LoadBalancerNames?.length) all = input.LoadBalancerNames.map((n) => get(scope, n));
    const p = page(all, (lb) => lb.LoadBalancerName, input);
    return { LoadBalancerDescriptions: p.items.map((lb) => describe(scope, lb)), NextMarker: p.NextMarker };
  };

  const DeleteLoadBalancer: Op<'DeleteLoadBalancer'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const lb = byName(scope, input.LoadBalancerName);
    if (!lb) return {};
    store.transaction(() => markDeleting(store, tags, scope, lb));
    wake();
    return {};
  };

  const CreateLoadBalancerListeners: Op<'CreateLoadBalancerListeners'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const lb = get(scope, input.LoadBalancerName);
    const add = checkListeners(certificates, scope, input.Listeners ?? []);
    const listeners = [...lb.Classic!.Listeners];
    for (const l of add) {
      const same = listeners.find((x) => x.LoadBalancerPort === l.LoadBalancerPort);
      if (same && JSON.stringify(same) !== JSON.stringify(l)) throw Elbv2Errors.duplicateListener();
      if (!same) listeners.push(l);
    }
    save(scope, { ...lb, Classic: { ...lb.Classic!, Listeners: listeners } });
    return {};
  };

  const DeleteLoadBalancerListeners: Op<'DeleteLoadBalancerListeners'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const lb = get(scope, input.LoadBalancerName);
    const listeners = lb.Classic!.Listeners.filter((l) => !input.LoadBalancerPorts.includes(l.LoadBalancerPort));
    save(scope, { ...lb, Classic: { ...lb.Classic!, Listeners: listeners } });
    return {};
  };

  const SetLoadBalancerListenerSSLCertificate: Op<'SetLoadBalancerListenerSSLCertificate'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const lb = get(scope, input.LoadBalancerName);
    const l = lb.Classic!.Listeners.find((x) => x.LoadBalancerPort === input.LoadBalancerPort);
    if (!l) throw new AwsError('ListenerNotFound', `There is no listener on port ${input.LoadBalancerPort} of load balancer '${lb.LoadBalancerName}'`, 400);
    if (l.Protocol !== 'HTTPS' && l.Protocol !== 'SSL') throw ClassicErrors.invalidConfiguration(`The listener on port ${l.LoadBalancerPort} is not an HTTPS or SSL listener`);
    const SSLCertificateId = checkCertificate(certificates, scope, input.SSLCertificateId);
    const listeners = lb.Classic!.Listeners.map((x) => (x === l ? { ...x, SSLCertificateId } : x));
    save(scope, { ...lb, Classic: { ...lb.Classic!, Listeners: listeners } });
    return {};
  };

  const instancesOf = (list: { InstanceId?: string }[] | undefined) => (list ?? []).map((i) => i.InstanceId ?? '');

  const RegisterInstancesWithLoadBalancer: Op<'RegisterInstancesWithLoadBalancer'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const lb = get(scope, input.LoadBalancerName);
    const ids = instancesOf(input.Instances);
    const bad = ids.filter((id) => {
      const i = directory.instance(scope, id);
      return !i || i.vpcId !== lb.VpcId || i.state === 'terminated';
    });
    if (bad.length) throw ClassicErrors.invalidInstance(bad);
    const instances = [...new Set([...lb.Classic!.Instances, ...ids])];
    save(scope, { ...lb, Classic: { ...lb.Classic!, Instances: instances } });
    return { Instances: instances.map((InstanceId) => ({ InstanceId })) };
  };

  const DeregisterInstancesFromLoadBalancer: Op<'DeregisterInstancesFromLoadBalancer'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const lb = get(scope, input.LoadBalancerName);
    const ids = instancesOf(input.Instances);
    const missing = ids.filter((id) => !lb.Classic!.Instances.includes(id));
    if (missing.length) throw ClassicErrors.invalidInstance(missing);
    const instances = lb.Classic!.Instances.filter((id) => !ids.includes(id));
    store.transaction(() => {
      for (const id of ids) store.health.delete(scope, healthKey(lb.LoadBalancerArn, id, classicGroup(lb).Port!));
      loadBalancers.update(scope, lb.LoadBalancerArn, { ...lb, Classic: { ...lb.Classic!, Instances: instances } });
    });
    wake();
    return { Instances: instances.map((InstanceId) => ({ InstanceId })) };
  };

  const ConfigureHealthCheck: Op<'ConfigureHealthCheck'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const lb = get(scope, input.LoadBalancerName);
    const hc = input.HealthCheck;
    if (!parseHealthTarget(hc.Target)) throw Elbv2Errors.validation(`Invalid health check target '${hc.Target}'`);
    if (hc.Interval < 5 || hc.Interval > 300) throw Elbv2Errors.validation('Interval must be between 5 and 300 seconds');
    if (hc.Timeout < 2 || hc.Timeout > 60) throw Elbv2Errors.validation('Timeout must be between 2 and 60 seconds');
    if (hc.Timeout >= hc.Interval) throw Elbv2Errors.validation('Timeout must be smaller than Interval');
    for (const [k, v] of [['UnhealthyThreshold', hc.UnhealthyThreshold], ['HealthyThreshold', hc.HealthyThreshold]] as const) {
      if (v < 2 || v > 10) throw Elbv2Errors.validation(`${k} must be between 2 and 10`);
    }
    const HealthCheck = { Target: hc.Target, Interval: hc.Interval, Timeout: hc.Timeout, UnhealthyThreshold: hc.UnhealthyThreshold, HealthyThreshold: hc.HealthyThreshold };
    save(scope, { ...lb, Classic: { ...lb.Classic!, HealthCheck } });
    return { HealthCheck };
  };

  const DescribeInstanceHealth: Op<'DescribeInstanceHealth'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const lb = get(scope, input.LoadBalancerName);
    const statuses = targetStatuses(store, network, directory, scope, classicGroup(lb), ctx.now(), [lb]);
    const asked = input.Instances?.length ? instancesOf(input.Instances) : lb.Classic!.Instances;
    const missing = asked.filter((id) => !statuses.some((s) => s.target.Id === id));
    if (missing.length) throw ClassicErrors.invalidInstance(missing);
    return { InstanceStates: asked.map((id) => ({ InstanceId: id, ...classicState(statuses.find((s) => s.target.Id === id)!.health) })) };
  };

  const attributesOf = (c: ClassicConfig) => ({
    CrossZoneLoadBalancing: { Enabled: c.CrossZone },
    AccessLog: { Enabled: false },
    ConnectionDraining: c.ConnectionDraining,
    ConnectionSettings: { IdleTimeout: c.IdleTimeout },
    AdditionalAttributes: [],
  });

  const DescribeLoadBalancerAttributes: Op<'DescribeLoadBalancerAttributes'> = (ctx, input) => ({
    LoadBalancerAttributes: attributesOf(get(scopeOf(ctx), input.LoadBalancerName).Classic!),
  });

  const ModifyLoadBalancerAttributes: Op<'ModifyLoadBalancerAttributes'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const lb = get(scope, input.LoadBalancerName);
    const a = input.LoadBalancerAttributes;
    if (a.AccessLog?.Enabled) throw Elbv2Errors.validation('kumo does not write access logs to S3');
    if (a.AdditionalAttributes?.length) throw Elbv2Errors.validation('kumo knows no additional attributes');
    const idle = a.ConnectionSettings?.IdleTimeout;
    if (idle !== undefined && (idle < 1 || idle > 4000)) throw Elbv2Errors.validation('IdleTimeout must be between 1 and 4000 seconds');
    const drain = a.ConnectionDraining?.Timeout;
    if (drain !== undefined && (drain < 1 || drain > 3600)) throw Elbv2Errors.validation('ConnectionDraining Timeout must be between 1 and 3600 seconds');
    const c: ClassicConfig = {
      ...lb.Classic!,
      CrossZone: a.CrossZoneLoadBalancing?.Enabled ?? lb.Classic!.CrossZone,
      ConnectionDraining: a.ConnectionDraining ? { Enabled: a.ConnectionDraining.Enabled, Timeout: drain ?? lb.Classic!.ConnectionDraining.Timeout } : lb.Classic!.ConnectionDraining,
      IdleTimeout: idle ?? lb.Classic!.IdleTimeout,
    };
    save(scope, { ...lb, Classic: c });
    return { LoadBalancerName: lb.LoadBalancerName, LoadBalancerAttributes: attributesOf(c) };
  };

  const ApplySecurityGroupsToLoadBalancer: Op<'ApplySecurityGroupsToLoadBalancer'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const lb = get(scope, input.LoadBalancerName);
    if (!input.SecurityGroups?.length) throw Elbv2Errors.validation('At least one security group must be specified');
    const groups = checkGroups(network, scope, lb.VpcId, input.SecurityGroups);
    setGroups(store, network, scope, lb, groups);
    wake();
    return { SecurityGroups: groups };
  };

  /** The load balancer's nodes become those of `subnets`: new ones made, dropped ones retired. */
  function setNodes(scope: Scope, lb: LoadBalancerRecord, subnets: { subnet: SubnetRecord }[]): LoadBalancerRecord {
    if (!subnets.length) throw ClassicErrors.invalidConfiguration('A load balancer must be attached to at least one subnet');
    const next = setSubnets(store, network, scope, lb, subnets);
    wake();
    return next;
  }

  const currentSubnets = (scope: Scope, lb: LoadBalancerRecord) => lb.Nodes.map((n) => ({ subnet: network.subnets.get(scope, n.SubnetId)! }));

  const AttachLoadBalancerToSubnets: Op<'AttachLoadBalancerToSubnets'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const lb = get(scope, input.LoadBalancerName);
    const wanted = [...new Set([...lb.Nodes.map((n) => n.SubnetId), ...input.Subnets])];
    const next = setNodes(scope, lb, subnetsFor(scope, undefined, wanted, lb.VpcId));
    return { Subnets: next.Nodes.map((n) => n.SubnetId) };
  };

  const DetachLoadBalancerFromSubnets: Op<'DetachLoadBalancerFromSubnets'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const lb = get(scope, input.LoadBalancerName);
    const next = setNodes(scope, lb, currentSubnets(scope, lb).filter((s) => !input.Subnets.includes(s.subnet.SubnetId)));
    return { Subnets: next.Nodes.map((n) => n.SubnetId) };
  };

  const EnableAvailabilityZonesForLoadBalancer: Op<'EnableAvailabilityZonesForLoadBalancer'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const lb = get(scope, input.LoadBalancerName);
    const fresh = input.AvailabilityZones.filter((z) => !lb.Nodes.some((n) => n.ZoneName === z));
    const added = fresh.length ? subnetsFor(scope, fresh, undefined, lb.VpcId) : [];
    const next = setNodes(scope, lb, [...currentSubnets(scope, lb), ...added]);
    return { AvailabilityZones: next.Nodes.map((n) => n.ZoneName) };
  };

  const DisableAvailabilityZonesForLoadBalancer: Op<'DisableAvailabilityZonesForLoadBalancer'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const lb = get(scope, input.LoadBalancerName);
    const next = setNodes(scope, lb, currentSubnets(scope, lb).filter((s) => !input.AvailabilityZones.includes(s.subnet.AvailabilityZone)));
    return { AvailabilityZones: next.Nodes.map((n) => n.ZoneName) };
  };

  const AddTags: Op<'AddTags'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const lbs = input.LoadBalancerNames.map((n) => get(scope, n));
    const add = tagsOf(input.Tags);
    store.transaction(() => {
      for (const lb of lbs) tags.put(scope, lb.LoadBalancerArn, 'loadbalancer', add);
    });
    return {};
  };

  const RemoveTags: Op<'RemoveTags'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const lbs = input.LoadBalancerNames.map((n) => get(scope, n));
    store.transaction(() => {
      for (const lb of lbs) tags.remove(scope, lb.LoadBalancerArn, input.Tags.map((t) => ({ Key: t.Key ?? '' })));
    });
    return {};
  };

  const DescribeTags: Op<'DescribeTags'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    return { TagDescriptions: input.LoadBalancerNames.map((n) => ({ LoadBalancerName: n, Tags: tags.get(scope, get(scope, n).LoadBalancerArn) })) };
  };

  return {
    CreateLoadBalancer, DescribeLoadBalancers, DeleteLoadBalancer, CreateLoadBalancerListeners, DeleteLoadBalancerListeners,
    RegisterInstancesWithLoadBalancer, DeregisterInstancesFromLoadBalancer, ConfigureHealthCheck, DescribeInstanceHealth,
    DescribeLoadBalancerAttributes, ModifyLoadBalancerAttributes, ApplySecurityGroupsToLoadBalancer, AttachLoadBalancerToSubnets,
    DetachLoadBalancerFromSubnets, EnableAvailabilityZonesForLoadBalancer, DisableAvailabilityZonesForLoadBalancer, AddTags, RemoveTags, DescribeTags,
    SetLoadBalancerListenerSSLCertificate,
  };
}
