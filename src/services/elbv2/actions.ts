/**
 * Listener and rule actions (forward with weights and stickiness, redirect, fixed-response) and
 * rule conditions (path, host, header, method, query string, source IP): checked as AWS checks
 * them and normalized to what AWS answers (a forward with TargetGroupArn also shows its
 * ForwardConfig; a path or host condition given as Values also shows its *Config).
 */
import type { Scope } from '../../state/scope.js';
import { normalizeCidr4 } from '../../runtime/network/rules.js';
import { targetGroupOf } from './common.js';
import { Elbv2Errors } from './errors.js';
import type { Action, Condition, Elbv2Store, LoadBalancerRecord } from './store.js';

const CONTENT_TYPES = ['text/plain', 'text/css', 'text/html', 'application/javascript', 'application/json'];

export function checkActions(store: Elbv2Store, scope: Scope, lb: LoadBalancerRecord, actions: Action[] | undefined): Action[] {
  if (!actions?.length) throw Elbv2Errors.validation('At least one action must be specified');
  if (actions.length > 1) throw Elbv2Errors.invalidAction('kumo supports one action per rule (authenticate actions are not supported)');
  if (lb.Type === 'network' && actions[0]!.Type !== 'forward') throw Elbv2Errors.invalidAction('Network load balancers only forward');
  return actions.map((a) => checkAction(store, scope, lb, a));
}

function checkAction(store: Elbv2Store, scope: Scope, lb: LoadBalancerRecord, a: Action): Action {
  switch (a.Type) {
    case 'forward': {
      const list = a.ForwardConfig?.TargetGroups ?? [];
      if (a.TargetGroupArn && list.length && (list.length !== 1 || list[0]!.TargetGroupArn !== a.TargetGroupArn)) {
        throw Elbv2Errors.validation('You cannot specify a target group ARN and a forward config with a different target group');
      }
      const groups = list.length ? list : a.TargetGroupArn ? [{ TargetGroupArn: a.TargetGroupArn, Weight: 1 }] : [];
      if (!groups.length) throw Elbv2Errors.validation('A target group ARN must be specified for a forward action');
      if (groups.length > 5) throw Elbv2Errors.validation('A forward action can have at most 5 target groups');
      const seen = new Set<string>();
      for (const g of groups) {
        const tg = targetGroupOf(store, scope, g.TargetGroupArn ?? '');
        if (seen.has(tg.TargetGroupArn)) throw Elbv2Errors.validation(`Target group '${tg.TargetGroupArn}' is specified more than once`);
        seen.add(tg.TargetGroupArn);
        if (g.Weight !== undefined && (g.Weight < 0 || g.Weight > 999)) throw Elbv2Errors.validation('Target group weight must be between 0 and 999');
        const wants = lb.Type === 'network' ? ['TCP', 'TLS'] : ['HTTP', 'HTTPS'];
        if (tg.TargetType === 'lambda' || !wants.includes(tg.Protocol ?? '')) {
          throw Elbv2Errors.incompatibleProtocols(`The target group '${tg.TargetGroupArn}' uses protocol '${tg.Protocol ?? 'lambda'}', which ${lb.Type} load balancers do not forward to here`);
        }
        if (tg.VpcId !== lb.VpcId) throw Elbv2Errors.validation(`The target group '${tg.TargetGroupArn}' is in a different VPC from the load balancer`);
        const other = store.loadBalancersOf(scope, tg.TargetGroupArn).find((arn) => arn !== lb.LoadBalancerArn);
        if (other) throw Elbv2Errors.targetGroupAssociationLimit(`The following target groups cannot be associated with more than one load balancer: ${tg.TargetGroupArn}`);
      }
      const sticky = a.ForwardConfig?.TargetGroupStickinessConfig;
      if (sticky?.Enabled && (sticky.DurationSeconds === undefined || sticky.DurationSeconds < 1 || sticky.DurationSeconds > 604800)) {
        throw Elbv2Errors.validation('Target group stickiness duration must be between 1 and 604800 seconds');
      }
      const tgs = groups.map((g) => ({ TargetGroupArn: g.TargetGroupArn!, Weight: g.Weight ?? 1 }));
      return {
        Type: 'forward',
        ...(tgs.length === 1 ? { TargetGroupArn: tgs[0]!.TargetGroupArn } : {}),
        Order: a.Order,
        ForwardConfig: {
          TargetGroups: tgs,
          TargetGroupStickinessConfig: sticky?.Enabled ? { Enabled: true, DurationSeconds: sticky.DurationSeconds } : { Enabled: false },
        },
      };
    }
    case 'redirect': {
      const r = a.RedirectConfig;
      if (!r) throw Elbv2Errors.validation('A redirect configuration must be specified for a redirect action');
      if (!['HTTP_301', 'HTTP_302'].includes(r.StatusCode)) throw Elbv2Errors.validation(`Redirect status code '${r.StatusCode}' is not valid`);
      if (r.Protocol && !['HTTP', 'HTTPS', '#{protocol}'].includes(r.Protocol)) throw Elbv2Errors.validation(`Redirect protocol '${r.Protocol}' is not valid`);
      if (r.Path !== undefined && !r.Path.startsWith('/')) throw Elbv2Errors.validation('The redirect path must start with a \'/\'');
      for (const [name, v] of [['host', r.Host], ['path', r.Path], ['query', r.Query]] as const) {
        if (v !== undefined && (v.length > 128 || !/^[\x21-\x7e]*$/.test(v))) throw Elbv2Errors.validation(`The redirect ${name} '${v}' is not valid`);
      }
      if (r.Port !== undefined && r.Port !== '#{port}' && !(/^\d{1,5}$/.test(r.Port) && Number(r.Port) >= 1 && Number(r.Port) <= 65535)) {
        throw Elbv2Errors.validation(`The redirect port '${r.Port}' is not valid`);
      }
      const out = { Protocol: r.Protocol ?? '#{protocol}', Port: r.Port ?? '#{port}', Host: r.Host ?? '#{host}', Path: r.Path ?? '/#{path}', Query: r.Query ?? '#{query}', StatusCode: r.StatusCode };
      if (out.Protocol === '#{protocol}' && out.Port === '#{port}' && out.Host === '#{host}' && out.Path === '/#{path}' && out.Query === '#{query}') {
        throw Elbv2Errors.invalidAction('The redirect configuration is not valid: it would redirect to itself');
      }
      return { Type: 'redirect', Order: a.Order, RedirectConfig: out };
    }
    case 'fixed-response': {
      const f = a.FixedResponseConfig;
      if (!f) throw Elbv2Errors.validation('A fixed response configuration must be specified for a fixed-response action');
      if (!/^[245]\d\d$/.test(f.StatusCode)) throw Elbv2Errors.validation(`Status code '${f.StatusCode}' is not valid: it must be 2XX, 4XX or 5XX`);
      if (f.ContentType !== undefined && !CONTENT_TYPES.includes(f.ContentType)) throw Elbv2Errors.validation(`Content type '${f.ContentType}' is not valid`);
      if ((f.MessageBody ?? '').length > 1024) throw Elbv2Errors.validation('The message body cannot be longer than 1024 characters');
      return { Type: 'fixed-response', Order: a.Order, FixedResponseConfig: { StatusCode: f.StatusCode, ContentType: f.ContentType, MessageBody: f.MessageBody } };
    }
    case 'authenticate-oidc':
    case 'authenticate-cognito':
      throw Elbv2Errors.invalidAction(`kumo does not support '${a.Type}' actions`);
    default:
      throw Elbv2Errors.validation(`Action type '${a.Type}' is not valid`);
  }
}

const FIELDS = ['path-pattern', 'host-header', 'http-header', 'http-request-method', 'query-string', 'source-ip'];

export function checkConditions(conditions: Condition[] | undefined): Condition[] {
  if (!conditions?.length) throw Elbv2Errors.validation('A condition must be specified');
  let values = 0;
  const once = new Set<string>();
  const out = conditions.map((c): Condition => {
    const field = c.Field ?? '';
    if (!FIELDS.includes(field)) throw Elbv2Errors.validation(`Condition field '${field}' is not valid`);
    if (field !== 'http-header' && once.has(field)) throw Elbv2Errors.validation(`A rule can have only one '${field}' condition`);
    once.add(field);
    const legacy = c.Values?.length ? c.Values : undefined;
    switch (field) {
      case 'path-pattern': {
        const v = c.PathPatternConfig?.Values ?? legacy ?? [];
        for (const p of v) if (p.length > 128) throw Elbv2Errors.validation('A path pattern can be at most 128 characters long');
        values += v.length;
        return { Field: field, Values: v, PathPatternConfig: { Values: v } };
      }
      case 'host-header': {
        const v = c.HostHeaderConfig?.Values ?? legacy ?? [];
        for (const h of v) if (h.length > 128 || !/^[A-Za-z0-9.*?-]+$/.test(h)) throw Elbv2Errors.validation(`Host header value '${h}' is not valid`);
        values += v.length;
        return { Field: field, Values: v, HostHeaderConfig: { Values: v } };
      }
      case 'http-header': {
        const name = c.HttpHeaderConfig?.HttpHeaderName;
        if (!name || !/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(name)) throw Elbv2Errors.validation('A valid HTTP header name must be specified');
        const v = c.HttpHeaderConfig?.Values ?? [];
        values += v.length;
        return { Field: field, HttpHeaderConfig: { HttpHeaderName: name, Values: v } };
      }
      case 'http-request-method': {
        const v = c.HttpRequestMethodConfig?.Values ?? [];
        for (const m of v) if (!/^[A-Z_-]{1,40}$/.test(m)) throw Elbv2Errors.validation(`HTTP request method '${m}' is not valid`);
        values += v.length;
        return { Field: field, HttpRequestMethodConfig: { Values: v } };
      }
      case 'query-string': {
        const v = c.QueryStringConfig?.Values ?? [];
        for (const kv of v) {
          if (!kv.Value) throw Elbv2Errors.validation('A query string condition value must be specified');
          // The key names a parameter HAProxy looks up (url_param): plain names only.
          if (kv.Key !== undefined && kv.Key !== '' && !/^[A-Za-z0-9._~-]{1,128}$/.test(kv.Key)) {
            throw Elbv2Errors.validation(`kumo supports query string keys of letters, digits, '.', '_', '~' and '-' only, not '${kv.Key}'`);
          }
        }
        values += v.length;
        return { Field: field, QueryStringConfig: { Values: v.map((kv) => ({ Key: kv.Key, Value: kv.Value })) } };
      }
      default: {
        const v = c.SourceIpConfig?.Values ?? [];
        for (const s of v) if (!normalizeCidr4(s) || !s.includes('/')) throw Elbv2Errors.validation(`Source IP '${s}' is not a valid IPv4 CIDR block`);
        values += v.length;
        return { Field: field, SourceIpConfig: { Values: v } };
      }
    }
  });
  for (const c of out) {
    const v = c.Values ?? c.HttpHeaderConfig?.Values ?? c.HttpRequestMethodConfig?.Values ?? c.QueryStringConfig?.Values ?? c.SourceIpConfig?.Values ?? [];
    if (!v.length) throw Elbv2Errors.validation(`A '${c.Field}' condition must have at least one value`);
  }
  if (values > 5) throw Elbv2Errors.validation('A rule can have at most 5 condition values');
  return out;
}
