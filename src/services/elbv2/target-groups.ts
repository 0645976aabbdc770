/**
 * CreateTargetGroup, DescribeTargetGroups, DeleteTargetGroup, ModifyTargetGroup and the group's
 * attributes. Creating a group that already exists with the same settings returns it (AWS is
 * idempotent here); different settings are DuplicateTargetGroupName. Health-check defaults follow
 * AWS's per-protocol defaults. A malformed ARN is a ValidationError; deleting a well-formed ARN
 * that names nothing succeeds, as on AWS. LoadBalancerArns is derived from the listeners and
 * rules that forward to the group.
 */
import type { NetworkStore } from '../../state/network.js';
import type { Scope } from '../../state/scope.js';
import type { TagStore } from '../../state/tags.js';
import { scopeOf } from '../service.js';
import { applyAttributes, arnBase, hex16, attributeList, selectBy, intIn, isBool, isIntIn, loadBalancerOf, page, targetGroupOf, tagsOf, validateName as validateElbName, type Op } from './common.js';
import { Elbv2Errors } from './errors.js';
import { healthKey, type Elbv2Store, type TargetGroupRecord } from './store.js';

const PROTOCOLS = ['HTTP', 'HTTPS', 'TCP', 'TLS', 'UDP', 'TCP_UDP', 'GENEVE'];
const TARGET_TYPES = ['instance', 'ip', 'lambda', 'alb'];
const ARN = /^arn:aws:elasticloadbalancing:[a-z0-9-]+:[0-9]{12}:targetgroup\/[A-Za-z0-9-]{1,32}\/[0-9a-f]{16}$/;

const validateName = (name: string) => validateElbName('Target group', name);

function validateArn(arn: string): void {
  if (!ARN.test(arn)) throw Elbv2Errors.validation(`'${arn}' is not a valid target group ARN`);
}

export const DEFAULT_TG_ATTRIBUTES: Record<string, string> = {
  'deregistration_delay.timeout_seconds': '300',
  'stickiness.enabled': 'false',
  'stickiness.type': 'lb_cookie',
  'stickiness.lb_cookie.duration_seconds': '86400',
  'stickiness.app_cookie.cookie_name': '',
  'stickiness.app_cookie.duration_seconds': '86400',
  'load_balancing.algorithm.type': 'round_robin',
  'load_balancing.algorithm.anomaly_mitigation': 'off',
  'load_balancing.cross_zone.enabled': 'use_load_balancer_configuration',
  'slow_start.duration_seconds': '0',
  'target_group_health.dns_failover.minimum_healthy_targets.count': '1',
  'target_group_health.dns_failover.minimum_healthy_targets.percentage': 'off',
  'target_group_health.unhealthy_state_routing.minimum_healthy_targets.count': '1',
  'target_group_health.unhealthy_state_routing.minimum_healthy_targets.percentage': 'off',
};

function checkTgAttribute(key: string, v: string): string | undefined {
  if (key === 'stickiness.enabled' && !isBool(v)) return `'${v}' is not a valid value for '${key}'; valid values are 'true' and 'false'`;
  if (key === 'deregistration_delay.timeout_seconds' && !isIntIn(v, 0, 3600)) return 'Deregistration delay must be between 0 and 3600 seconds';
  if (key === 'stickiness.type' && !['lb_cookie', 'app_cookie'].includes(v)) return `Stickiness type '${v}' is not valid for application load balancers`;
  if (key.endsWith('duration_seconds') && key.startsWith('stickiness') && !isIntIn(v, 1, 604800)) return 'Stickiness duration must be between 1 and 604800 seconds';
  if (key === 'load_balancing.algorithm.type' && !['round_robin', 'least_outstanding_requests', 'weighted_random'].includes(v)) return `Load balancing algorithm '${v}' is not valid`;
  if (key === 'slow_start.duration_seconds' && !(v === '0' || isIntIn(v, 30, 900))) return 'Slow start duration must be 0 or between 30 and 900 seconds';
  if (key === 'load_balancing.cross_zone.enabled' && !['true', 'false', 'use_load_balancer_configuration'].includes(v)) return `'${v}' is not a valid value for '${key}'`;
  return undefined;
}

/** What Describe shows of a row (targets and attributes have calls of their own). */
export function tgView(store: Elbv2Store, scope: Scope, tg: TargetGroupRecord) {
  const { Targets: _t, Attributes: _a, ...rest } = tg;
  return { ...rest, LoadBalancerArns: store.loadBalancersOf(scope, tg.TargetGroupArn) };
}

/** The health check settings of a create or modify call, checked against each other as AWS does. */
function checkHealth(r: TargetGroupRecord): void {
  const hcHttp = r.HealthCheckProtocol === 'HTTP' || r.HealthCheckProtocol === 'HTTPS';
  if (r.HealthCheckTimeoutSeconds >= r.HealthCheckIntervalSeconds) throw Elbv2Errors.validation('Health check timeout must be smaller than the interval');
  if (r.HealthCheckPort && r.HealthCheckPort !== 'traffic-port' && !(/^\d+$/.test(r.HealthCheckPort) && Number(r.HealthCheckPort) >= 1 && Number(r.HealthCheckPort) <= 65535)) {
    throw Elbv2Errors.validation(`Health check port '${r.HealthCheckPort}' is not valid`);
  }
  if (hcHttp && r.Matcher?.HttpCode !== undefined && !/^\d{3}(-\d{3})?(,\d{3}(-\d{3})?)*$/.test(r.Matcher.HttpCode)) {
    throw Elbv2Errors.validation(`Health check matcher HTTP code '${r.Matcher.HttpCode}' must be a value between 200 and 499, a list of them or a range`);
  }
}

export function targetGroupHandlers(store: Elbv2Store, network: NetworkStore, tags: TagStore, wake: () => void) {
  const { targetGroups } = store;

  const CreateTargetGroup: Op<'CreateTargetGroup'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const name = input.Name;
    validateName(name);
    const targetType = input.TargetType ?? 'instance';
    if (!TARGET_TYPES.includes(targetType)) throw Elbv2Errors.validation(`Target type '${targetType}' is not valid`);
    const lambda = targetType === 'lambda';
    if (input.Protocol !== undefined && !PROTOCOLS.includes(input.Protocol)) {
      throw Elbv2Errors.validation(`Protocol '${input.Protocol}' is not supported`);
    }
    if (lambda && (input.Protocol || input.Port !== undefined || input.VpcId)) {
      throw Elbv2Errors.validation('A protocol, port or VPC ID cannot be specified for target groups with a target type of \'lambda\'');
    }
    if (!lambda) {
      if (!input.Protocol) throw Elbv2Errors.validation('A protocol must be specified');
      if (input.Port === undefined) throw Elbv2Errors.validation('A port must be specified');
      if (!input.VpcId) throw Elbv2Errors.validation('A VPC ID must be specified');
    }
    intIn('Port', input.Port, 1, 65535);
    intIn('Health check interval', input.HealthCheckIntervalSeconds, 5, 300);
    intIn('Health check timeout', input.HealthCheckTimeoutSeconds, 2, 120);
    intIn('Healthy threshold count', input.HealthyThresholdCount, 2, 10);
    intIn('Unhealthy threshold count', input.UnhealthyThresholdCount, 2, 10);
    if (input.VpcId && !network.vpcs.get(scope, input.VpcId)) throw Elbv2Errors.validation(`The VPC ID '${input.VpcId}' is not found`);
    const http = input.Protocol === 'HTTP' || input.Protocol === 'HTTPS';
    const hcProtocol = input.HealthCheckProtocol ?? (lambda ? undefined : http ? input.Protocol : 'TCP');
    const hcHttp = hcProtocol === 'HTTP' || hcProtocol === 'HTTPS';
    const interval = input.HealthCheckIntervalSeconds ?? (lambda ? 35 : 30);
    const timeout = input.HealthCheckTimeoutSeconds ?? (lambda ? 30 : hcHttp ? 5 : 10);
    if (input.HealthCheckPath !== undefined) {
      if (!hcHttp && !lambda) throw Elbv2Errors.validation(`Health check path is not supported for health check protocol '${hcProtocol}'`);
      if (!input.HealthCheckPath.startsWith('/') || input.HealthCheckPath.length > 1024) {
        throw Elbv2Errors.validation('Health check path must begin with a \'/\' character and be at most 1024 characters long');
      }
    }
    const record: TargetGroupRecord = {
      TargetGroupArn: '',
      TargetGroupName: name,
      Protocol: input.Protocol,
      ProtocolVersion: http ? (input.ProtocolVersion ?? 'HTTP1') : undefined,
      Port: input.Port,
      VpcId: input.VpcId,
      HealthCheckProtocol: hcProtocol,
      HealthCheckPort: lambda ? undefined : (input.HealthCheckPort ?? 'traffic-port'),
      HealthCheckEnabled: input.HealthCheckEnabled ?? !lambda,
      HealthCheckIntervalSeconds: interval,
      HealthCheckTimeoutSeconds: timeout,
      HealthyThresholdCount: input.HealthyThresholdCount ?? 5,
      UnhealthyThresholdCount: input.UnhealthyThresholdCount ?? 2,
      HealthCheckPath: hcHttp || lambda ? (input.HealthCheckPath ?? '/') : undefined,
      Matcher: hcHttp || lambda ? { HttpCode: input.Matcher?.HttpCode ?? '200' } : undefined,
      LoadBalancerArns: [],
      TargetType: targetType,
      IpAddressType: lambda ? undefined : (input.IpAddressType ?? 'ipv4'),
    };
    checkHealth(record);
    const existing = targetGroups.list(scope).find((t) => t.TargetGroupName === name);
    if (existing) {
      const { Targets: _t, Attributes: _a, ...settings } = existing;
      const same = JSON.stringify({ ...settings, TargetGroupArn: '', LoadBalancerArns: [] }) === JSON.stringify(record);
      if (!same) throw Elbv2Errors.duplicateTargetGroup();
      return { TargetGroups: [tgView(store, scope, existing)] };
    }
    const newTags = tagsOf(input.Tags);
    record.Targets = [];
    record.Attributes = { ...DEFAULT_TG_ATTRIBUTES };
    record.TargetGroupArn = `${arnBase(ctx)}:targetgroup/${name}/${hex16()}`;
    store.transaction(() => {
      targetGroups.insert(scope, record.TargetGroupArn, record);
      tags.put(scope, record.TargetGroupArn, 'targetgroup', newTags);
    });
    return { TargetGroups: [tgView(store, scope, record)] };
  };

  const DescribeTargetGroups: Op<'DescribeTargetGroups'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    let all = targetGroups.list(scope);
    if (input.LoadBalancerArn) {
      const used = store.targetGroupsOf(scope, loadBalancerOf(store, scope, input.LoadBalancerArn).LoadBalancerArn);
      all = all.filter((t) => used.has(t.TargetGroupArn));
    }
    input.TargetGroupArns?.forEach(validateArn);
    all = selectBy(all, input.TargetGroupArns, (t) => t.TargetGroupArn, () => Elbv2Errors.targetGroupNotFound());
    all = selectBy(all, input.Names, (t) => t.TargetGroupName, (missing) => Elbv2Errors.targetGroupNotFound(`Target groups '${missing.join(', ')}' not found`));
    const p = page(all, (t) => t.TargetGroupArn, input);
    return { TargetGroups: p.items.map((t) => tgView(store, scope, t)), NextMarker: p.NextMarker };
  };

  const DeleteTargetGroup: Op<'DeleteTargetGroup'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    validateArn(input.TargetGroupArn);
    const tg = targetGroups.get(scope, input.TargetGroupArn);
    if (!tg) return {};
    if (store.loadBalancersOf(scope, tg.TargetGroupArn).length) {
      throw Elbv2Errors.resourceInUse(`Target group '${tg.TargetGroupArn}' is currently in use by a listener or a rule`);
    }
    store.transaction(() => {
      targetGroups.delete(scope, tg.TargetGroupArn);
      tags.removeAll(scope, tg.TargetGroupArn);
      for (const t of tg.Targets ?? []) store.health.delete(scope, healthKey(tg.TargetGroupArn, t.Id, t.Port));
    });
    wake();
    return {};
  };

  const ModifyTargetGroup: Op<'ModifyTargetGroup'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const tg = targetGroupOf(store, scope, input.TargetGroupArn);
    intIn('Health check interval', input.HealthCheckIntervalSeconds, 5, 300);
    intIn('Health check timeout', input.HealthCheckTimeoutSeconds, 2, 120);
    intIn('Healthy threshold count', input.HealthyThresholdCount, 2, 10);
    intIn('Unhealthy threshold count', input.UnhealthyThresholdCount, 2, 10);
    if (input.HealthCheckProtocol !== undefined && !['HTTP', 'HTTPS', 'TCP'].includes(input.HealthCheckProtocol)) {
      throw Elbv2Errors.validation(`Health check protocol '${input.HealthCheckProtocol}' is not valid`);
    }
    const hcProtocol = input.HealthCheckProtocol ?? tg.HealthCheckProtocol;
    const hcHttp = hcProtocol === 'HTTP' || hcProtocol === 'HTTPS';
    if (input.HealthCheckPath !== undefined && (!input.HealthCheckPath.startsWith('/') || input.HealthCheckPath.length > 1024)) {
      throw Elbv2Errors.validation('Health check path must begin with a \'/\' character and be at most 1024 characters long');
    }
    const next: TargetGroupRecord = {
      ...tg,
      HealthCheckProtocol: hcProtocol,
      HealthCheckPort: input.HealthCheckPort ?? tg.HealthCheckPort,
      HealthCheckPath: hcHttp ? (input.HealthCheckPath ?? tg.HealthCheckPath ?? '/') : undefined,
      HealthCheckEnabled: input.HealthCheckEnabled ?? tg.HealthCheckEnabled,
      HealthCheckIntervalSeconds: input.HealthCheckIntervalSeconds ?? tg.HealthCheckIntervalSeconds,
      HealthCheckTimeoutSeconds: input.HealthCheckTimeoutSeconds ?? tg.HealthCheckTimeoutSeconds,
      HealthyThresholdCount: input.HealthyThresholdCount ?? tg.HealthyThresholdCount,
      UnhealthyThresholdCount: input.UnhealthyThresholdCount ?? tg.UnhealthyThresholdCount,
      Matcher: hcHttp ? { HttpCode: input.Matcher?.HttpCode ?? tg.Matcher?.HttpCode ?? '200' } : undefined,
    };
    checkHealth(next);
    targetGroups.update(scope, tg.TargetGroupArn, next);
    wake();
    return { TargetGroups: [tgView(store, scope, next)] };
  };

  const DescribeTargetGroupAttributes: Op<'DescribeTargetGroupAttributes'> = (ctx, input) => {
    const tg = targetGroupOf(store, scopeOf(ctx), input.TargetGroupArn);
    return { Attributes: attributeList({ ...DEFAULT_TG_ATTRIBUTES, ...tg.Attributes }) };
  };

  const ModifyTargetGroupAttributes: Op<'ModifyTargetGroupAttributes'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const tg = targetGroupOf(store, scope, input.TargetGroupArn);
    const Attributes = applyAttributes({ ...DEFAULT_TG_ATTRIBUTES, ...tg.Attributes }, input.Attributes ?? [], checkTgAttribute);
    targetGroups.update(scope, tg.TargetGroupArn, { ...tg, Attributes });
    wake();
    return { Attributes: attributeList(Attributes) };
  };

  return { CreateTargetGroup, DescribeTargetGroups, DeleteTargetGroup, ModifyTargetGroup, DescribeTargetGroupAttributes, ModifyTargetGroupAttributes };
}
