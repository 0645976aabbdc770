/**
 * What every ELBv2 handler file shares: ARN shapes and their parsing, lookups that answer AWS's
 * not-found errors, paging with ELBv2's PageSize/Marker, and tag input checks.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Elbv2Operations } from '../../models/generated/elbv2.js';
import { paginate } from '../../state/pagination.js';
import type { Scope } from '../../state/scope.js';
import type { OpHandler, RequestContext } from '../service.js';
import { Elbv2Errors } from './errors.js';
import type { Elbv2Store, ListenerRecord, LoadBalancerRecord, RuleRecord, TargetGroupRecord } from './store.js';

export type Op<K extends keyof Elbv2Operations> = OpHandler<Elbv2Operations, K>;

const PREFIX = /^arn:aws:elasticloadbalancing:[a-z0-9-]+:[0-9]{12}:/;
const LB = /^loadbalancer\/(app|net)\/([A-Za-z0-9-]{1,32})\/([0-9a-f]{16})$/;
const LISTENER = /^listener\/(app|net)\/([A-Za-z0-9-]{1,32})\/([0-9a-f]{16})\/([0-9a-f]{16})$/;
const RULE = /^listener-rule\/(app|net)\/([A-Za-z0-9-]{1,32})\/([0-9a-f]{16})\/([0-9a-f]{16})\/([0-9a-f]{16})$/;
const TG = /^targetgroup\/[A-Za-z0-9-]{1,32}\/[0-9a-f]{16}$/;

export const hex16 = () => randomBytes(8).toString('hex');
export const arnBase = (ctx: RequestContext) => `arn:aws:elasticloadbalancing:${ctx.region}:${ctx.account}`;

export type ArnKind = 'loadbalancer' | 'listener' | 'listener-rule' | 'targetgroup';

export function arnKind(arn: string): ArnKind | undefined {
  if (!PREFIX.test(arn)) return undefined;
  const rest = arn.replace(PREFIX, '');
  if (LB.test(rest)) return 'loadbalancer';
  if (LISTENER.test(rest)) return 'listener';
  if (RULE.test(rest)) return 'listener-rule';
  if (TG.test(rest)) return 'targetgroup';
  return undefined;
}

function checkArn(arn: string, kind: ArnKind, what: string): void {
  if (arnKind(arn) !== kind) throw Elbv2Errors.validation(`'${arn}' is not a valid ${what} ARN`);
}

/** The default rule of a listener has an ARN of its own, derived from the listener's. */
export function defaultRuleArn(listenerArn: string): string {
  const id = createHash('sha256').update(listenerArn).digest('hex').slice(0, 16);
  return `${listenerArn.replace(':listener/', ':listener-rule/')}/${id}`;
}

export function loadBalancerOf(store: Elbv2Store, scope: Scope, arn: string): LoadBalancerRecord {
  checkArn(arn, 'loadbalancer', 'load balancer');
  const lb = store.loadBalancers.get(scope, arn);
  if (!lb || lb.State.Code === 'deleting') throw Elbv2Errors.loadBalancerNotFound(`Load balancer '${arn}' not found`);
  return lb;
}

export function listenerOf(store: Elbv2Store, scope: Scope, arn: string): ListenerRecord {
  checkArn(arn, 'listener', 'listener');
  const l = store.listeners.get(scope, arn);
  if (!l) throw Elbv2Errors.listenerNotFound(`Listener '${arn}' not found`);
  return l;
}

export function targetGroupOf(store: Elbv2Store, scope: Scope, arn: string): TargetGroupRecord {
  checkArn(arn, 'targetgroup', 'target group');
  const tg = store.targetGroups.get(scope, arn);
  if (!tg) throw Elbv2Errors.targetGroupNotFound(`Target group '${arn}' not found`);
  return tg;
}

/** A rule, or the default rule of a listener (which has no row of its own). */
export function ruleOf(store: Elbv2Store, scope: Scope, arn: string): { rule?: RuleRecord; listener: ListenerRecord } {
  checkArn(arn, 'listener-rule', 'rule');
  const rule = store.rules.get(scope, arn);
  if (rule) return { rule, listener: store.listeners.get(scope, rule.ListenerArn)! };
  const listenerArn = arn.replace(':listener-rule/', ':listener/').replace(/\/[0-9a-f]{16}$/, '');
  const listener = store.listeners.get(scope, listenerArn);
  if (listener && defaultRuleArn(listenerArn) === arn) return { listener };
  throw Elbv2Errors.ruleNotFound(`Rule '${arn}' not found`);
}

export function validateArn(arn: string, kind: ArnKind, what: string): void {
  checkArn(arn, kind, what);
}

export function page<T>(items: T[], key: (t: T) => string, input: { PageSize?: number; Marker?: string }) {
  const p = paginate(items, key, { maxResults: input.PageSize, nextToken: input.Marker, min: 1, max: 400, param: 'PageSize', errorCode: 'ValidationError' });
  return { items: p.items, NextMarker: p.nextToken };
}

/** The items named by `wanted`, in its order (all of them when it is empty); any missing is `notFound`. */
export function selectBy<T>(all: T[], wanted: string[] | undefined, keyOf: (t: T) => string, notFound: (missing: string[]) => Error): T[] {
  if (!wanted?.length) return all;
  const byKey = new Map(all.map((t) => [keyOf(t), t]));
  const missing = wanted.filter((k) => !byKey.has(k));
  if (missing.length) throw notFound(missing);
  return wanted.map((k) => byKey.get(k)!);
}

/** ELBv2 names: load balancers and target groups share the rules (1–32 alphanumerics and hyphens). */
export function validateName(kind: string, name: string): void {
  if (name.length === 0) throw Elbv2Errors.validation(`${kind} name cannot be empty`);
  if (name.length > 32) throw Elbv2Errors.validation(`${kind} name '${name}' cannot be longer than '32' characters`);
  if (!/^[A-Za-z0-9-]+$/.test(name)) {
    throw Elbv2Errors.validation(`${kind} name '${name}' can only contain characters that are alphanumeric characters or hyphens(-)`);
  }
  if (name.startsWith('-') || name.endsWith('-')) throw Elbv2Errors.validation(`${kind} name '${name}' cannot begin or end with '-'`);
}

export function intIn(name: string, v: number | undefined, min: number, max: number): void {
  if (v !== undefined && (!Number.isInteger(v) || v < min || v > max)) throw Elbv2Errors.validation(`${name} must be between ${min} and ${max}`);
}

/** Tags as given in a request: at most 50, unique keys, as AWS checks. */
export function tagsOf(tags: { Key: string; Value?: string }[] | undefined): { Key: string; Value: string }[] {
  const out = (tags ?? []).map((t) => ({ Key: t.Key, Value: t.Value ?? '' }));
  const seen = new Set<string>();
  for (const t of out) {
    if (seen.has(t.Key)) throw Elbv2Errors.duplicateTagKeys(t.Key);
    seen.add(t.Key);
  }
  if (out.length > 50) throw Elbv2Errors.tooManyTags();
  return out;
}

/** Attribute lists: known keys only, values checked by `check`, returned as a map. */
export function applyAttributes(
  current: Record<string, string>,
  given: { Key?: string; Value?: string }[],
  check: (key: string, value: string) => string | undefined,
): Record<string, string> {
  const next = { ...current };
  for (const { Key, Value } of given) {
    if (!Key || !(Key in current)) throw Elbv2Errors.validation(`Attribute key '${Key ?? ''}' is not recognized`);
    const v = Value ?? '';
    const problem = check(Key, v);
    if (problem) throw Elbv2Errors.validation(problem);
    next[Key] = v;
  }
  return next;
}

export const attributeList = (attrs: Record<string, string>) => Object.entries(attrs).map(([Key, Value]) => ({ Key, Value }));

export const isBool = (v: string) => v === 'true' || v === 'false';
export const isIntIn = (v: string, min: number, max: number) => /^\d+$/.test(v) && Number(v) >= min && Number(v) <= max;
