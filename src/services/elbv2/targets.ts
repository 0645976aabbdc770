/**
 * RegisterTargets, DeregisterTargets, DescribeTargetHealth. Registered targets live in their
 * group's row; a deregistered target of a group in use drains for the group's
 * deregistration_delay (DrainingUntil), and the supervisor drops it afterwards. Health comes from
 * target-health.ts.
 */
import { ipToInt, parseCidr4 } from '../../lib/cidr.js';
import type { NetworkStore } from '../../state/network.js';
import type { Scope } from '../../state/scope.js';
import { scopeOf } from '../service.js';
import { intIn, targetGroupOf, type Op } from './common.js';
import { Elbv2Errors } from './errors.js';
import { healthKey, type Elbv2Store, type RegisteredTarget, type TargetGroupRecord } from './store.js';
import { expired, targetStatuses, type TargetDirectory } from './target-health.js';

const PRIVATE = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10'];

function inCidr(ip: string, cidr: string): boolean {
  const c = parseCidr4(cidr);
  if (!c) return false;
  const n = ipToInt(ip);
  return n >= c.base && n < c.base + 2 ** (32 - c.prefix);
}

export function targetHandlers(store: Elbv2Store, network: NetworkStore, directory: TargetDirectory, wake: () => void) {
  const list = (targets: { Id: string; Port?: number }[]) => targets.map((t) => `'${t.Id}'`).join(', ');

  function checkTargets(scope: Scope, tg: TargetGroupRecord, targets: { Id: string; Port?: number; AvailabilityZone?: string }[]): RegisteredTarget[] {
    if (tg.TargetType === 'lambda' || tg.TargetType === 'alb') throw Elbv2Errors.validation(`kumo does not register targets of type '${tg.TargetType}'`);
    for (const t of targets) intIn('Port', t.Port, 1, 65535);
    if (tg.TargetType === 'instance') {
      const bad = targets.filter((t) => !/^i-[0-9a-f]{8,17}$/.test(t.Id) || !directory.instance(scope, t.Id));
      if (bad.length) throw Elbv2Errors.invalidTarget(`The following targets are not valid instances: ${list(bad)}`);
      const gone = targets.filter((t) => directory.instance(scope, t.Id)!.state === 'terminated');
      if (gone.length) throw Elbv2Errors.invalidTarget(`The following targets are not in a running state and cannot be registered: ${list(gone)}`);
      const elsewhere = targets.filter((t) => directory.instance(scope, t.Id)!.vpcId !== tg.VpcId);
      if (elsewhere.length) throw Elbv2Errors.invalidTarget(`The following targets are not in the target group VPC '${tg.VpcId}': ${list(elsewhere)}`);
      if (targets.some((t) => t.AvailabilityZone)) throw Elbv2Errors.validation('An Availability Zone cannot be specified for instance targets');
    } else {
      const vpc = network.vpcs.get(scope, tg.VpcId ?? '');
      const cidrs = vpc?.CidrBlockAssociationSet.filter((c) => c.CidrBlockState.State === 'associated').map((c) => c.CidrBlock) ?? [];
      for (const t of targets) {
        if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(t.Id)) throw Elbv2Errors.invalidTarget(`The IP address '${t.Id}' is not a valid IPv4 address`);
        const inVpc = cidrs.some((c) => inCidr(t.Id, c));
        if (t.AvailabilityZone === 'all') {
          if (!PRIVATE.some((c) => inCidr(t.Id, c))) throw Elbv2Errors.invalidTarget(`The IP address '${t.Id}' is not a private address`);
        } else if (!inVpc) {
          throw Elbv2Errors.invalidTarget(`The IP address '${t.Id}' is not within the CIDR of the target group VPC '${tg.VpcId}'`);
        }
      }
    }
    return targets.map((t) => ({ Id: t.Id, Port: t.Port ?? tg.Port!, ...(t.AvailabilityZone ? { AvailabilityZone: t.AvailabilityZone } : {}) }));
  }

  const same = (a: RegisteredTarget) => (b: RegisteredTarget) => a.Id === b.Id && a.Port === b.Port;

  const RegisterTargets: Op<'RegisterTargets'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const tg = targetGroupOf(store, scope, input.TargetGroupArn);
    if (!input.Targets?.length) throw Elbv2Errors.validation('At least one target must be specified');
    const wanted = checkTargets(scope, tg, input.Targets);
    const now = ctx.now();
    store.transaction(() => {
      const fresh = store.targetGroups.get(scope, tg.TargetGroupArn)!;
      const targets = (fresh.Targets ?? []).filter((t) => !expired(t, now));
      for (const t of wanted) {
        const at = targets.findIndex(same(t));
        // Registering a draining target again brings it back, through initial health checks.
        if (at >= 0 && targets[at]!.DrainingUntil) {
          targets[at] = t;
          store.health.delete(scope, healthKey(tg.TargetGroupArn, t.Id, t.Port));
        } else if (at < 0) targets.push(t);
      }
      store.targetGroups.update(scope, tg.TargetGroupArn, { ...fresh, Targets: targets });
    });
    wake();
    return {};
  };

  const DeregisterTargets: Op<'DeregisterTargets'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const tg = targetGroupOf(store, scope, input.TargetGroupArn);
    if (!input.Targets?.length) throw Elbv2Errors.validation('At least one target must be specified');
    const now = ctx.now();
    const given = input.Targets.map((t) => ({ Id: t.Id, Port: t.Port ?? tg.Port! }));
    const registered = (tg.Targets ?? []).filter((t) => !expired(t, now) && !t.DrainingUntil);
    const missing = given.filter((t) => !registered.some(same(t)));
    if (missing.length) throw Elbv2Errors.invalidTarget(`The following targets are not registered in the target group: ${list(missing)}`);
    const delay = Number(tg.Attributes?.['deregistration_delay.timeout_seconds'] ?? '300');
    const used = store.loadBalancersOf(scope, tg.TargetGroupArn).length > 0;
    const until = new Date(now.getTime() + delay * 1000).toISOString();
    store.transaction(() => {
      const fresh = store.targetGroups.get(scope, tg.TargetGroupArn)!;
      const targets: RegisteredTarget[] = [];
      for (const t of fresh.Targets ?? []) {
        if (expired(t, now)) continue;
        if (!given.some((g) => same(g as RegisteredTarget)(t))) targets.push(t);
        else if (used && delay > 0) targets.push({ ...t, DrainingUntil: until });
        else store.health.delete(scope, healthKey(tg.TargetGroupArn, t.Id, t.Port));
      }
      store.targetGroups.update(scope, tg.TargetGroupArn, { ...fresh, Targets: targets });
    });
    wake();
    return {};
  };

  const DescribeTargetHealth: Op<'DescribeTargetHealth'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const tg = targetGroupOf(store, scope, input.TargetGroupArn);
    if (input.Include?.some((i) => !['AnomalyDetection', 'All'].includes(i))) throw Elbv2Errors.validation('Include must be AnomalyDetection or All');
    const statuses = targetStatuses(store, network, directory, scope, tg, ctx.now());
    const port = (t: RegisteredTarget) => (tg.HealthCheckPort && tg.HealthCheckPort !== 'traffic-port' ? tg.HealthCheckPort : String(t.Port));
    const anomaly = input.Include?.length ? { AnomalyDetection: { Result: 'normal', MitigationInEffect: 'no' } } : {};
    if (input.Targets?.length) {
      return {
        TargetHealthDescriptions: input.Targets.map((asked) => {
          const s = statuses.find((x) => x.target.Id === asked.Id && (asked.Port === undefined || x.target.Port === asked.Port));
          const target = { Id: asked.Id, Port: asked.Port ?? s?.target.Port ?? tg.Port };
          if (!s) {
            return { Target: target, HealthCheckPort: String(target.Port), TargetHealth: { State: 'unavailable', Reason: 'Target.NotRegistered', Description: 'Target is not registered to the target group' } };
          }
          return { Target: { ...target, AvailabilityZone: s.zone }, HealthCheckPort: port(s.target), TargetHealth: s.health, ...anomaly };
        }),
      };
    }
    return {
      TargetHealthDescriptions: statuses.map((s) => ({
        Target: { Id: s.target.Id, Port: s.target.Port, AvailabilityZone: s.zone },
        HealthCheckPort: port(s.target),
        TargetHealth: s.health,
        ...anomaly,
      })),
    };
  };

  return { RegisterTargets, DeregisterTargets, DescribeTargetHealth };
}
