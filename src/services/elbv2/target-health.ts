/**
 * A target's health as AWS reports it, derived from the rows every time it is asked: one function
 * answers both DescribeTargetHealth and the supervisor's "which servers does the proxy get".
 *
 *   draining   deregistered, within the deregistration delay (Target.DeregistrationInProgress)
 *   unused     no load balancer forwards to the group, or the target's zone is not one the load
 *              balancer spans (Target.NotInUse), or the instance is not running (Target.InvalidState)
 *   unavailable  health checks disabled (Target.HealthCheckDisabled); still in service
 *   initial / healthy / unhealthy   what the health checker last recorded (store.health), written
 *              on transitions only; a target without a record is `initial`
 *
 * Only healthy (or unavailable) targets are in service; only targets that are neither draining nor
 * unused are health-checked.
 */
import { parseCidr4, ipToInt } from '../../lib/cidr.js';
import type { NetworkStore } from '../../state/network.js';
import type { Scope } from '../../state/scope.js';
import type { RequestContext } from '../service.js';
import { healthKey, type Elbv2Store, type RegisteredTarget, type TargetGroupRecord } from './store.js';

/** What ELBv2 needs to know of an EC2 instance (the composition root wires EC2's rows in). */
export interface InstanceInfo {
  state: string;
  privateIp: string;
  zone: string;
  vpcId: string;
}

export interface TargetDirectory {
  instance(scope: Scope, id: string): InstanceInfo | undefined;
  /** The account+region's default VPC exists after this (classic load balancers by zone use its subnets). */
  regionDefaults?(ctx: RequestContext): void;
}

export interface TargetHealthView {
  State: string;
  Reason?: string;
  Description?: string;
}

export interface TargetStatus {
  target: RegisteredTarget;
  /** Where traffic and checks go: the instance's private IP or the ip target itself. */
  address?: string;
  /** Its zone; 'all' for ip targets outside the VPC. */
  zone?: string;
  health: TargetHealthView;
  /** Whether the health checker probes it. */
  checked: boolean;
  /** Whether the proxy sends it new requests. */
  inService: boolean;
}

/** A deregistered target whose delay is over: gone, whatever the row still says. */
export const expired = (t: RegisteredTarget, now: Date) => t.DrainingUntil !== undefined && Date.parse(t.DrainingUntil) <= now.getTime();

export const INITIAL: TargetHealthView = { State: 'initial', Reason: 'Elb.InitialHealthChecking', Description: 'Initial health checks in progress' };

function zoneOfIp(network: NetworkStore, scope: Scope, vpcId: string | undefined, ip: string): string | undefined {
  let n: number;
  try {
    n = ipToInt(ip);
  } catch {
    return undefined;
  }
  for (const s of network.subnets.list(scope)) {
    if (s.VpcId !== vpcId) continue;
    const c = parseCidr4(s.CidrBlock);
    if (c && n >= c.base && n < c.base + 2 ** (32 - c.prefix)) return s.AvailabilityZone;
  }
  return undefined;
}

export function targetStatuses(
  store: Elbv2Store,
  network: NetworkStore,
  directory: TargetDirectory,
  scope: Scope,
  tg: TargetGroupRecord,
  now: Date,
  /** The load balancers sending to the group; by default those whose listeners and rules forward to it. */
  lbs = store.loadBalancersOf(scope, tg.TargetGroupArn).map((arn) => store.loadBalancers.get(scope, arn)!),
): TargetStatus[] {
  // A deleted load balancer sends nothing.
  lbs = lbs.filter((lb) => lb.State.Code !== 'deleting');
  const zones = new Set(lbs.flatMap((lb) => lb.Nodes.map((n) => n.ZoneName)));
  return (tg.Targets ?? []).filter((t) => !expired(t, now)).map((target) => {
    let address: string | undefined;
    let zone: string | undefined;
    let instanceState: string | undefined;
    if (tg.TargetType === 'instance') {
      const i = directory.instance(scope, target.Id);
      instanceState = i?.state ?? 'terminated';
      address = i?.privateIp;
      zone = i?.zone;
    } else {
      address = target.Id;
      zone = target.AvailabilityZone === 'all' ? 'all' : (zoneOfIp(network, scope, tg.VpcId, target.Id) ?? target.AvailabilityZone);
    }
    const status = (health: TargetHealthView, checked = false, inService = false): TargetStatus => ({ target, address, zone, health, checked, inService });
    if (target.DrainingUntil && Date.parse(target.DrainingUntil) > now.getTime()) {
      return status({ State: 'draining', Reason: 'Target.DeregistrationInProgress', Description: 'Target deregistration is in progress' });
    }
    if (!lbs.length) {
      return status({ State: 'unused', Reason: 'Target.NotInUse', Description: 'Target group is not configured to receive traffic from the load balancer' });
    }
    if (instanceState !== undefined && instanceState !== 'running') {
      return status({ State: 'unused', Reason: 'Target.InvalidState', Description: `Target is in the ${instanceState} state` });
    }
    if (zone !== 'all' && (!zone || !zones.has(zone))) {
      return status({ State: 'unused', Reason: 'Target.NotInUse', Description: 'Target is in an Availability Zone that is not enabled for the load balancer' });
    }
    if (!tg.HealthCheckEnabled) return status({ State: 'unavailable', Reason: 'Target.HealthCheckDisabled', Description: 'Health checks are disabled' }, false, true);
    const h = store.health.get(scope, healthKey(tg.TargetGroupArn, target.Id, target.Port));
    const health = h ?? INITIAL;
    return status(health, true, health.State === 'healthy');
  });
}
