/**
 * CreateTargetGroup, DescribeTargetGroups, DeleteTargetGroup. Creating a group that already
 * exists with the same settings returns it (AWS is idempotent here); different settings are
 * DuplicateTargetGroupName. Health-check defaults follow AWS's per-protocol defaults. A malformed
 * ARN is a ValidationError; deleting a well-formed ARN that names nothing succeeds, as on AWS.
 */
import type { Elbv2Operations } from '../../models/generated/elbv2.js';
import { randomBytes } from 'node:crypto';
import type { NetworkStore } from '../../state/network.js';
import { paginate } from '../../state/pagination.js';
import type { TagStore } from '../../state/tags.js';
import { scopeOf, type OpHandler } from '../service.js';
import { Elbv2Errors } from './errors.js';
import type { Elbv2Store, TargetGroupRecord } from './store.js';

type Op<K extends keyof Elbv2Operations> = OpHandler<Elbv2Operations, K>;

const PROTOCOLS = ['HTTP', 'HTTPS', 'TCP', 'TLS', 'UDP', 'TCP_UDP', 'GENEVE'];
const TARGET_TYPES = ['instance', 'ip', 'lambda', 'alb'];
const ARN = /^arn:aws:elasticloadbalancing:[a-z0-9-]+:[0-9]{12}:targetgroup\/[A-Za-z0-9-]{1,32}\/[0-9a-f]{16}$/;

/** AWS checks the length first, then the characters, then the hyphens, each with its own message. */
function validateName(name: string): void {
  if (name.length === 0) throw Elbv2Errors.validation('Target group name cannot be empty');
  if (name.length > 32) throw Elbv2Errors.validation(`Target group name '${name}' cannot be longer than '32' characters`);
  if (!/^[A-Za-z0-9-]+$/.test(name)) {
    throw Elbv2Errors.validation(`Target group name '${name}' can only contain characters that are alphanumeric characters or hyphens(-)`);
  }
  if (name.startsWith('-') || name.endsWith('-')) throw Elbv2Errors.validation(`Target group name '${name}' cannot begin or end with '-'`);
}

function validateArn(arn: string): void {
  if (!ARN.test(arn)) throw Elbv2Errors.validation(`'${arn}' is not a valid target group ARN`);
}

function intIn(name: string, v: number | undefined, min: number, max: number): void {
  if (v !== undefined && (v < min || v > max)) {
    throw Elbv2Errors.validation(`${name} must be between ${min} and ${max}`);
  }
}

export function targetGroupHandlers(store: Elbv2Store, network: NetworkStore, tags: TagStore) {
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
    if (timeout >= interval) throw Elbv2Errors.validation('Health check timeout must be smaller than the interval');
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
    const existing = targetGroups.list(scope).find((t) => t.TargetGroupName === name);
    if (existing) {
      const same = JSON.stringify({ ...existing, TargetGroupArn: '', LoadBalancerArns: [] }) === JSON.stringify(record);
      if (!same) throw Elbv2Errors.duplicateTargetGroup();
      return { TargetGroups: [existing] };
    }
    const newTags = (input.Tags ?? []).map((t) => ({ Key: t.Key, Value: t.Value ?? '' }));
    if (newTags.length > 50) throw Elbv2Errors.tooManyTags();
    record.TargetGroupArn = `arn:aws:elasticloadbalancing:${ctx.region}:${ctx.account}:targetgroup/${name}/${randomBytes(8).toString('hex')}`;
    store.transaction(() => {
      targetGroups.insert(scope, record.TargetGroupArn, record);
      tags.put(scope, record.TargetGroupArn, 'targetgroup', newTags);
    });
    return { TargetGroups: [record] };
  };

  const DescribeTargetGroups: Op<'DescribeTargetGroups'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    let all = targetGroups.list(scope);
    // No load balancers exist yet, so any load balancer named here is one AWS would not find.
    if (input.LoadBalancerArn) throw Elbv2Errors.loadBalancerNotFound();
    input.TargetGroupArns?.forEach(validateArn);
    if (input.TargetGroupArns?.length) {
      const byArn = new Map(all.map((t) => [t.TargetGroupArn, t]));
      if (input.TargetGroupArns.some((a) => !byArn.has(a))) throw Elbv2Errors.targetGroupNotFound();
      all = input.TargetGroupArns.map((a) => byArn.get(a)!);
    }
    if (input.Names?.length) {
      const byName = new Map(all.map((t) => [t.TargetGroupName, t]));
      const missing = input.Names.filter((n) => !byName.has(n));
      if (missing.length) throw Elbv2Errors.targetGroupNotFound(`Target groups '${missing.join(', ')}' not found`);
      all = input.Names.map((n) => byName.get(n)!);
    }
    const page = paginate(all, (t) => t.TargetGroupArn, {
      maxResults: input.PageSize,
      nextToken: input.Marker,
      min: 1,
      max: 400,
      param: 'PageSize',
      errorCode: 'ValidationError',
    });
    return { TargetGroups: page.items, NextMarker: page.nextToken };
  };

  const DeleteTargetGroup: Op<'DeleteTargetGroup'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    validateArn(input.TargetGroupArn);
    const tg = targetGroups.get(scope, input.TargetGroupArn);
    if (!tg) return {};
    if (tg.LoadBalancerArns.length) {
      throw Elbv2Errors.resourceInUse(`Target group '${tg.TargetGroupArn}' is currently in use by a listener or a rule`);
    }
    store.transaction(() => {
      targetGroups.delete(scope, tg.TargetGroupArn);
      tags.removeAll(scope, tg.TargetGroupArn);
    });
    return {};
  };

  return { CreateTargetGroup, DescribeTargetGroups, DeleteTargetGroup };
}
