/**
 * Listeners (Create/Describe/Modify/Delete) and their rules (Create/Describe/Modify/Delete,
 * SetRulePriorities). A listener's default actions are its default rule, which has an ARN of its
 * own (derived, common.ts) and no row. Every change wakes the supervisor, which rewrites the
 * proxies' configuration.
 */
import type { Scope } from '../../state/scope.js';
import type { TagStore } from '../../state/tags.js';
import { checkCertificate, type CertificateDirectory } from './listener-certificates.js';
import { DEFAULT_SSL_POLICY, sslPolicy } from './ssl-policies.js';
import { scopeOf } from '../service.js';
import { checkActions, checkConditions } from './actions.js';
import { arnBase, defaultRuleArn, hex16, intIn, listenerOf, loadBalancerOf, page, ruleOf, tagsOf, validateArn, type Op } from './common.js';
import { Elbv2Errors } from './errors.js';
import type { Condition, Elbv2Store, ListenerRecord, LoadBalancerRecord, RuleRecord } from './store.js';

function checkProtocol(lb: LoadBalancerRecord, protocol: string | undefined): string {
  const p = protocol ?? '';
  if (lb.Type === 'network') {
    if (p === 'TCP' || p === 'TLS') return p;
    if (['UDP', 'TCP_UDP', 'HTTP', 'HTTPS'].includes(p)) throw Elbv2Errors.unsupportedProtocol(`kumo's network load balancers support TCP and TLS listeners only, not '${p}'`);
    throw Elbv2Errors.validation(`Protocol '${p}' is not valid`);
  }
  if (!['HTTP', 'HTTPS'].includes(p)) {
    if (['TCP', 'TLS', 'UDP', 'TCP_UDP', 'GENEVE'].includes(p)) throw Elbv2Errors.unsupportedProtocol(`Protocol '${p}' is not supported for application load balancers`);
    throw Elbv2Errors.validation(`Protocol '${p}' is not valid`);
  }
  return p;
}

const ALPN = ['HTTP1Only', 'HTTP2Only', 'HTTP2Optional', 'HTTP2Preferred', 'None'];

type Secure = Pick<ListenerRecord, 'Certificates' | 'SslPolicy' | 'ExtraCertificates' | 'AlpnPolicy'>;

/** HTTPS and TLS listeners: one default certificate (ACM's), a security policy, ALPN (TLS only); others: none of these. */
function checkSecure(
  certificates: CertificateDirectory | undefined,
  scope: Scope,
  protocol: string,
  input: { Certificates?: { CertificateArn?: string }[]; SslPolicy?: string; AlpnPolicy?: string[] },
  previous?: ListenerRecord,
): Secure {
  const secure = protocol === 'HTTPS' || protocol === 'TLS';
  if (!secure) {
    if (input.Certificates?.length || input.SslPolicy || input.AlpnPolicy?.length) throw Elbv2Errors.validation('Certificates, SSL policies and ALPN policies apply to HTTPS and TLS listeners only');
    return { Certificates: undefined, SslPolicy: undefined, ExtraCertificates: undefined, AlpnPolicy: undefined };
  }
  const was = previous && (previous.Protocol === 'HTTPS' || previous.Protocol === 'TLS') ? previous : undefined;
  if (input.Certificates && input.Certificates.length !== 1) throw Elbv2Errors.validation(`You must provide exactly one certificate for ${protocol} listeners`);
  const arn = input.Certificates?.[0]?.CertificateArn ?? was?.Certificates?.[0]?.CertificateArn;
  if (!arn) throw Elbv2Errors.validation(`A certificate must be specified for ${protocol} listeners`);
  checkCertificate(certificates, scope, arn);
  const policy = input.SslPolicy ?? was?.SslPolicy ?? DEFAULT_SSL_POLICY;
  if (!sslPolicy(policy)) throw Elbv2Errors.sslPolicyNotFound(policy);
  const alpn = input.AlpnPolicy ?? was?.AlpnPolicy;
  if (alpn?.length && protocol !== 'TLS') throw Elbv2Errors.validation('ALPN policies apply to TLS listeners only');
  if (alpn && alpn.length > 1) throw Elbv2Errors.validation('At most one ALPN policy can be specified');
  if (alpn?.[0] !== undefined && !ALPN.includes(alpn[0])) throw Elbv2Errors.alpnPolicyNotFound(alpn[0]);
  return {
    Certificates: [{ CertificateArn: arn }],
    SslPolicy: policy,
    ExtraCertificates: (was?.ExtraCertificates ?? []).filter((a) => a !== arn),
    AlpnPolicy: protocol === 'TLS' ? (alpn?.length ? alpn : ['None']) : undefined,
  };
}

export function listenerView(l: ListenerRecord) {
  return {
    ListenerArn: l.ListenerArn, LoadBalancerArn: l.LoadBalancerArn, Port: l.Port, Protocol: l.Protocol, DefaultActions: l.DefaultActions,
    Certificates: l.Certificates, SslPolicy: l.SslPolicy, AlpnPolicy: l.AlpnPolicy,
  };
}

function ruleView(r: RuleRecord) {
  return { RuleArn: r.RuleArn, Priority: String(r.Priority), Conditions: r.Conditions, Actions: r.Actions, IsDefault: false };
}

const defaultRuleView = (l: ListenerRecord) => ({ RuleArn: defaultRuleArn(l.ListenerArn), Priority: 'default', Conditions: [] as Condition[], Actions: l.DefaultActions, IsDefault: true });

export function listenerHandlers(store: Elbv2Store, tags: TagStore, certificates: CertificateDirectory | undefined, wake: () => void) {
  const { listeners, rules } = store;

  const CreateListener: Op<'CreateListener'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const lb = loadBalancerOf(store, scope, input.LoadBalancerArn);
    if (input.Port === undefined) throw Elbv2Errors.validation('A listener port must be specified');
    intIn('Listener port', input.Port, 1, 65535);
    const protocol = checkProtocol(lb, input.Protocol);
    if (input.MutualAuthentication && input.MutualAuthentication.Mode !== 'off') throw Elbv2Errors.validation('kumo does not support mutual TLS authentication');
    const secure = checkSecure(certificates, scope, protocol, input);
    const actions = checkActions(store, scope, lb, input.DefaultActions);
    const newTags = tagsOf(input.Tags);
    const existing = store.listenersOf(scope, lb.LoadBalancerArn).find((l) => l.Port === input.Port);
    if (existing) {
      const same = existing.Protocol === protocol && JSON.stringify(existing.DefaultActions) === JSON.stringify(actions) && JSON.stringify(existing.Certificates) === JSON.stringify(secure.Certificates);
      if (same) return { Listeners: [listenerView(existing)] };
      throw Elbv2Errors.duplicateListener();
    }
    const id = lb.LoadBalancerArn.split('/').at(-1)!;
    const l: ListenerRecord = {
      ListenerArn: `${arnBase(ctx)}:listener/${lb.Type === 'network' ? 'net' : 'app'}/${lb.LoadBalancerName}/${id}/${hex16()}`,
      LoadBalancerArn: lb.LoadBalancerArn,
      Port: input.Port,
      Protocol: protocol,
      DefaultActions: actions,
      ...secure,
    };
    store.transaction(() => {
      listeners.insert(scope, l.ListenerArn, l);
      tags.put(scope, l.ListenerArn, 'listener', newTags);
    });
    wake();
    return { Listeners: [listenerView(l)] };
  };

  const DescribeListeners: Op<'DescribeListeners'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    let all: ListenerRecord[];
    if (input.LoadBalancerArn && input.ListenerArns?.length) throw Elbv2Errors.validation('Listener ARNs and a load balancer ARN cannot be specified at the same time');
    if (input.LoadBalancerArn) all = store.listenersOf(scope, loadBalancerOf(store, scope, input.LoadBalancerArn).LoadBalancerArn);
    else if (input.ListenerArns?.length) all = input.ListenerArns.map((a) => listenerOf(store, scope, a));
    else throw Elbv2Errors.validation('You must specify either listener ARNs or a load balancer ARN');
    const p = page(all, (l) => l.ListenerArn, input);
    return { Listeners: p.items.map(listenerView), NextMarker: p.NextMarker };
  };

  const ModifyListener: Op<'ModifyListener'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const l = listenerOf(store, scope, input.ListenerArn);
    const lb = loadBalancerOf(store, scope, l.LoadBalancerArn);
    intIn('Listener port', input.Port, 1, 65535);
    const protocol = input.Protocol !== undefined ? checkProtocol(lb, input.Protocol) : l.Protocol;
    if (input.MutualAuthentication && input.MutualAuthentication.Mode !== 'off') throw Elbv2Errors.validation('kumo does not support mutual TLS authentication');
    const secure = checkSecure(certificates, scope, protocol, input, l);
    const port = input.Port ?? l.Port;
    if (store.listenersOf(scope, lb.LoadBalancerArn).some((o) => o.ListenerArn !== l.ListenerArn && o.Port === port)) throw Elbv2Errors.duplicateListener();
    const next: ListenerRecord = { ...l, Port: port, Protocol: protocol, ...secure, DefaultActions: input.DefaultActions ? checkActions(store, scope, lb, input.DefaultActions) : l.DefaultActions };
    listeners.update(scope, l.ListenerArn, next);
    wake();
    return { Listeners: [listenerView(next)] };
  };

  const DeleteListener: Op<'DeleteListener'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const l = listenerOf(store, scope, input.ListenerArn);
    store.transaction(() => {
      for (const r of store.rulesOf(scope, l.ListenerArn)) {
        rules.delete(scope, r.RuleArn);
        tags.removeAll(scope, r.RuleArn);
      }
      listeners.delete(scope, l.ListenerArn);
      tags.removeAll(scope, l.ListenerArn);
    });
    wake();
    return {};
  };

  const checkPriority = (p: number | undefined) => {
    if (p === undefined || !Number.isInteger(p) || p < 1 || p > 50000) throw Elbv2Errors.validation('Priority must be between 1 and 50000');
    return p;
  };

  const CreateRule: Op<'CreateRule'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const l = listenerOf(store, scope, input.ListenerArn);
    const lb = loadBalancerOf(store, scope, l.LoadBalancerArn);
    if (lb.Type === 'network') throw Elbv2Errors.validation('Rules are not supported by network load balancers');
    const priority = checkPriority(input.Priority);
    const conditions = checkConditions(input.Conditions);
    const actions = checkActions(store, scope, lb, input.Actions);
    const newTags = tagsOf(input.Tags);
    if (store.rulesOf(scope, l.ListenerArn).some((r) => r.Priority === priority)) throw Elbv2Errors.priorityInUse(priority);
    const ids = l.ListenerArn.split('/').slice(-3).join('/');
    const r: RuleRecord = {
      RuleArn: `${arnBase(ctx)}:listener-rule/app/${ids}/${hex16()}`,
      ListenerArn: l.ListenerArn,
      Priority: priority,
      Conditions: conditions,
      Actions: actions,
    };
    store.transaction(() => {
      rules.insert(scope, r.RuleArn, r);
      tags.put(scope, r.RuleArn, 'listener-rule', newTags);
    });
    wake();
    return { Rules: [ruleView(r)] };
  };

  const DescribeRules: Op<'DescribeRules'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    let all: ReturnType<typeof defaultRuleView>[];
    if (input.ListenerArn && input.RuleArns?.length) throw Elbv2Errors.validation('Rule ARNs and a listener ARN cannot be specified at the same time');
    if (input.ListenerArn) {
      const l = listenerOf(store, scope, input.ListenerArn);
      all = [...store.rulesOf(scope, l.ListenerArn).map(ruleView), defaultRuleView(l)];
    } else if (input.RuleArns?.length) {
      all = input.RuleArns.map((a) => {
        const { rule, listener } = ruleOf(store, scope, a);
        return rule ? ruleView(rule) : defaultRuleView(listener);
      });
    } else throw Elbv2Errors.validation('You must specify either listener ARN or rule ARNs');
    // Priority order, the default rule last (as AWS lists them); the ARN breaks ties across listeners.
    const p = page(all, (r) => `${r.Priority === 'default' ? '99999' : r.Priority.padStart(5, '0')} ${r.RuleArn}`, input);
    return { Rules: p.items, NextMarker: p.NextMarker };
  };

  const ModifyRule: Op<'ModifyRule'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const { rule, listener } = ruleOf(store, scope, input.RuleArn);
    const lb = loadBalancerOf(store, scope, listener.LoadBalancerArn);
    const actions = input.Actions ? checkActions(store, scope, lb, input.Actions) : undefined;
    if (!rule) {
      if (input.Conditions?.length) throw Elbv2Errors.operationNotPermitted('The conditions of a default rule cannot be modified');
      const next = { ...listener, DefaultActions: actions ?? listener.DefaultActions };
      listeners.update(scope, listener.ListenerArn, next);
      wake();
      return { Rules: [defaultRuleView(next)] };
    }
    const next: RuleRecord = { ...rule, Conditions: input.Conditions ? checkConditions(input.Conditions) : rule.Conditions, Actions: actions ?? rule.Actions };
    rules.update(scope, rule.RuleArn, next);
    wake();
    return { Rules: [ruleView(next)] };
  };

  const DeleteRule: Op<'DeleteRule'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const { rule } = ruleOf(store, scope, input.RuleArn);
    if (!rule) throw Elbv2Errors.operationNotPermitted(`Default rule '${input.RuleArn}' cannot be deleted`);
    store.transaction(() => {
      rules.delete(scope, rule.RuleArn);
      tags.removeAll(scope, rule.RuleArn);
    });
    wake();
    return {};
  };

  const SetRulePriorities: Op<'SetRulePriorities'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    if (!input.RulePriorities?.length) throw Elbv2Errors.validation('At least one rule priority must be specified');
    const changes = input.RulePriorities.map(({ RuleArn, Priority }) => {
      validateArn(RuleArn ?? '', 'listener-rule', 'rule');
      const { rule } = ruleOf(store, scope, RuleArn!);
      if (!rule) throw Elbv2Errors.operationNotPermitted(`Default rule '${RuleArn}' cannot be given a priority`);
      return { rule, priority: checkPriority(Priority) };
    });
    const changed = new Map(changes.map((c) => [c.rule.RuleArn, c.priority]));
    if (changed.size !== changes.length) throw Elbv2Errors.validation('A rule is specified more than once');
    for (const listenerArn of new Set(changes.map((c) => c.rule.ListenerArn))) {
      const used = new Map<number, string>();
      for (const r of store.rulesOf(scope, listenerArn)) {
        const p = changed.get(r.RuleArn) ?? r.Priority;
        if (used.has(p)) throw Elbv2Errors.priorityInUse(p);
        used.set(p, r.RuleArn);
      }
    }
    const out = store.transaction(() =>
      changes.map(({ rule, priority }) => {
        const next = { ...rule, Priority: priority };
        rules.update(scope, rule.RuleArn, next);
        return ruleView(next);
      }),
    );
    wake();
    return { Rules: out };
  };

  return { CreateListener, DescribeListeners, ModifyListener, DeleteListener, CreateRule, DescribeRules, ModifyRule, DeleteRule, SetRulePriorities };
}
