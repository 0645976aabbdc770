/**
 * Bucket policies: parsed and validated once at PutBucketPolicy (anything kumo could not evaluate
 * faithfully is MalformedPolicy, never stored and ignored), then evaluated per request against an
 * EvalContext built by ./authorize.ts. Supported: Effect, Principal/NotPrincipal ("*", AWS account
 * ids and arn:aws:iam::ACCOUNT:root, CanonicalUser), Action/NotAction and Resource/NotResource
 * with * and ? wildcards, and the condition operators and keys listed below.
 */
import ipaddr from 'ipaddr.js';
import { AwsError } from '../../protocol/errors.js';
import { canonicalId } from './access.js';

export interface Condition {
  /** Base operator without IfExists / ForAnyValue: / ForAllValues:. */
  op: string;
  set?: 'any' | 'all';
  ifExists: boolean;
  key: string;
  values: string[];
}

export interface Statement {
  effect: 'Allow' | 'Deny';
  principal?: Principal;
  notPrincipal?: Principal;
  actions?: string[];
  notActions?: string[];
  resources?: string[];
  notResources?: string[];
  conditions: Condition[];
}

/** '*' or the principal lists of the policy, by kind (AWS, CanonicalUser, Service, Federated). */
export type Principal = '*' | Record<string, string[]>;

export interface EvalContext {
  /** '' when anonymous. */
  account: string;
  action: string;
  resource: string;
  keys: Record<string, string[] | undefined>;
}

const malformed = (message: string) => new AwsError('MalformedPolicy', message, 400);

const STRING_OPS = ['StringEquals', 'StringNotEquals', 'StringEqualsIgnoreCase', 'StringNotEqualsIgnoreCase', 'StringLike', 'StringNotLike'];
const NUMERIC_OPS = ['NumericEquals', 'NumericNotEquals', 'NumericLessThan', 'NumericLessThanEquals', 'NumericGreaterThan', 'NumericGreaterThanEquals'];
const DATE_OPS = NUMERIC_OPS.map((o) => o.replace('Numeric', 'Date'));
const ARN_OPS = ['ArnEquals', 'ArnLike', 'ArnNotEquals', 'ArnNotLike'];
const OPERATORS = new Set([...STRING_OPS, ...NUMERIC_OPS, ...DATE_OPS, ...ARN_OPS, 'Bool', 'IpAddress', 'NotIpAddress', 'Null']);

/**
 * The condition keys kumo supplies (see policy-keys.ts). The aws:Source* keys of VPCs and
 * services are accepted and never present: requests reach kumo from the host, not through an
 * endpoint; so are s3:TlsVersion (kumo speaks http) and the access point keys (there are none).
 */
export const CONDITION_KEYS = new Set(
  [
    'aws:SecureTransport', 'aws:SourceIp', 'aws:PrincipalAccount', 'aws:PrincipalArn', 'aws:PrincipalType', 'aws:userid',
    'aws:CurrentTime', 'aws:EpochTime', 'aws:Referer', 'aws:UserAgent', 'aws:SourceVpc', 'aws:SourceVpce', 'aws:SourceArn',
    'aws:SourceAccount', 'aws:SourceOwner', 'aws:PrincipalOrgID', 's3:prefix', 's3:delimiter', 's3:max-keys', 's3:x-amz-acl',
    's3:authType', 's3:signatureversion', 's3:x-amz-content-sha256', 's3:x-amz-server-side-encryption',
    's3:x-amz-server-side-encryption-aws-kms-key-id', 's3:x-amz-server-side-encryption-customer-algorithm', 's3:x-amz-grant-read',
    's3:x-amz-grant-write', 's3:x-amz-grant-read-acp', 's3:x-amz-grant-write-acp', 's3:x-amz-grant-full-control', 's3:x-amz-copy-source',
    's3:x-amz-metadata-directive', 's3:x-amz-storage-class', 's3:x-amz-website-redirect-location', 's3:VersionId', 's3:ResourceAccount',
    's3:object-lock-mode', 's3:object-lock-retain-until-date', 's3:object-lock-remaining-retention-days', 's3:object-lock-legal-hold',
    's3:RequestObjectTagKeys', 's3:if-match', 's3:if-none-match', 's3:TlsVersion', 's3:DataAccessPointArn', 's3:DataAccessPointAccount',
    's3:AccessPointNetworkOrigin',
  ].map((k) => k.toLowerCase()),
);

/** Condition keys named per tag: s3:ExistingObjectTag/<key>, s3:RequestObjectTag/<key>. */
const TAG_KEY_PREFIXES = ['s3:existingobjecttag/', 's3:requestobjecttag/'];

function isConditionKey(key: string): boolean {
  const k = key.toLowerCase();
  return CONDITION_KEYS.has(k) || TAG_KEY_PREFIXES.some((p) => k.startsWith(p) && k.length > p.length);
}

const MAX_POLICY_BYTES = 20 * 1024;

function list(v: unknown, what: string): string[] {
  const arr = Array.isArray(v) ? v : [v];
  if (arr.length === 0 || arr.some((x) => typeof x !== 'string')) throw malformed(`Invalid ${what} in policy`);
  return arr as string[];
}

function parsePrincipal(v: unknown): Principal {
  if (v === '*') return '*';
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw malformed('Invalid principal in policy');
  const out: Record<string, string[]> = {};
  for (const [kind, ids] of Object.entries(v as Record<string, unknown>)) {
    if (!['AWS', 'CanonicalUser', 'Service', 'Federated'].includes(kind)) throw malformed('Invalid principal in policy');
    const values = list(ids, 'principal');
    if (kind === 'AWS') {
      for (const id of values) {
        if (id !== '*' && !/^[0-9]{12}$/.test(id) && !/^arn:aws:iam::[0-9]{12}:(root|user\/.+|role\/.+)$/.test(id)) {
          throw malformed('Invalid principal in policy');
        }
      }
    }
    if (kind === 'CanonicalUser' && values.some((id) => !/^[0-9a-f]{64}$/.test(id))) throw malformed('Invalid principal in policy');
    out[kind] = values;
  }
  return out;
}

function parseConditions(v: unknown): Condition[] {
  if (v === undefined) return [];
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw malformed('Invalid Condition in policy');
  const out: Condition[] = [];
  for (const [rawOp, block] of Object.entries(v as Record<string, unknown>)) {
    let op = rawOp;
    let set: Condition['set'];
    if (op.startsWith('ForAnyValue:')) (set = 'any'), (op = op.slice(12));
    else if (op.startsWith('ForAllValues:')) (set = 'all'), (op = op.slice(13));
    const ifExists = op.endsWith('IfExists') && op !== 'IfExists';
    if (ifExists) op = op.slice(0, -8);
    if (!OPERATORS.has(op) || (ifExists && op === 'Null')) throw malformed(`Invalid Condition type : ${rawOp}`);
    if (!block || typeof block !== 'object' || Array.isArray(block)) throw malformed('Invalid Condition in policy');
    for (const [key, raw] of Object.entries(block as Record<string, unknown>)) {
      if (!isConditionKey(key)) throw malformed('Policy has an invalid condition key');
      const values = (Array.isArray(raw) ? raw : [raw]).map((x) => {
        if (typeof x !== 'string' && typeof x !== 'number' && typeof x !== 'boolean') throw malformed('Invalid Condition in policy');
        return String(x);
      });
      if (op === 'IpAddress' || op === 'NotIpAddress') for (const c of values) if (!parseCidr(c)) throw malformed(`Invalid Condition value for ${key}`);
      out.push({ op, set, ifExists, key: key.toLowerCase(), values });
    }
  }
  return out;
}

const OBJECT_ACTION = /object|multipartupload|restore/i;

/** Parses a policy document for `bucket`; throws MalformedPolicy as S3 does. */
export function parsePolicy(text: string, bucket: string): Statement[] {
  if (Buffer.byteLength(text) > MAX_POLICY_BYTES) throw malformed('Policy exceeds the maximum allowed document size.');
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw malformed('This policy contains invalid Json');
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw malformed('Policies must be valid JSON and the first byte must be \'{\'');
  const d = doc as Record<string, unknown>;
  for (const k of Object.keys(d)) if (!['Version', 'Id', 'Statement'].includes(k)) throw malformed(`Unknown field ${k}`);
  if (d.Version !== undefined && d.Version !== '2012-10-17' && d.Version !== '2008-10-17') throw malformed('Invalid policy syntax.');
  if (d.Statement === undefined) throw malformed('Missing required field Statement');
  const raw = Array.isArray(d.Statement) ? d.Statement : [d.Statement];
  if (raw.length === 0) throw malformed('Could not parse the policy: Statement is empty!');
  return raw.map((s) => {
    if (!s || typeof s !== 'object' || Array.isArray(s)) throw malformed('Invalid policy syntax.');
    const st = s as Record<string, unknown>;
    const known = ['Sid', 'Effect', 'Principal', 'NotPrincipal', 'Action', 'NotAction', 'Resource', 'NotResource', 'Condition'];
    for (const k of Object.keys(st)) if (!known.includes(k)) throw malformed(`Unknown field ${k}`);
    if (st.Effect !== 'Allow' && st.Effect !== 'Deny') throw malformed('Invalid effect: ' + String(st.Effect));
    if (st.Principal === undefined && st.NotPrincipal === undefined) throw malformed('Missing required field Principal');
    if (st.Action === undefined && st.NotAction === undefined) throw malformed('Missing required field Action');
    if (st.Resource === undefined && st.NotResource === undefined) throw malformed('Missing required field Resource');
    const out: Statement = { effect: st.Effect, conditions: parseConditions(st.Condition) };
    if (st.Principal !== undefined) out.principal = parsePrincipal(st.Principal);
    if (st.NotPrincipal !== undefined) out.notPrincipal = parsePrincipal(st.NotPrincipal);
    const actions = list(st.Action ?? st.NotAction, 'action');
    for (const a of actions) if (a !== '*' && !/^s3:[A-Za-z*?]+$/.test(a)) throw malformed('Policy has invalid action');
    if (st.Action !== undefined) out.actions = actions;
    else out.notActions = actions;
    const resources = list(st.Resource ?? st.NotResource, 'resource');
    for (const r of resources) {
      const m = /^arn:aws:s3:::([^/]+)(\/.*)?$/.exec(r);
      if (r !== '*' && (!m || !glob(m[1], bucket))) throw malformed('Policy has invalid resource');
    }
    if (st.Resource !== undefined) out.resources = resources;
    else out.notResources = resources;
    // AWS refuses e.g. s3:GetObject on the bucket ARN alone: the action applies to no resource.
    if (out.actions && out.resources && !out.resources.includes('*')) {
      for (const a of out.actions) {
        if (/[*?]/.test(a)) continue;
        const objectLevel = OBJECT_ACTION.test(a);
        if (!out.resources.some((r) => r.includes('/') === objectLevel)) throw malformed('Action does not apply to any resource(s) in statement');
      }
    }
    return out;
  });
}

/** Case-insensitive for actions; `*` any run, `?` one character. */
export function glob(pattern: string, value: string, ignoreCase = false): boolean {
  const re = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${re}$`, ignoreCase ? 'si' : 's').test(value);
}

function principalMatches(p: Principal, account: string): boolean {
  if (p === '*') return true;
  if (p.AWS?.some((id) => id === '*' || (account !== '' && (id === account || id === `arn:aws:iam::${account}:root`)))) return true;
  return account !== '' && (p.CanonicalUser?.includes(canonicalId(account)) ?? false);
}

function parseCidr(text: string): [ipaddr.IPv4 | ipaddr.IPv6, number] | undefined {
  try {
    return text.includes('/') ? ipaddr.parseCIDR(text) : [ipaddr.parse(text), ipaddr.parse(text).kind() === 'ipv4' ? 32 : 128];
  } catch {
    return undefined;
  }
}

function ipIn(ip: string, cidr: string): boolean {
  let addr: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    addr = ipaddr.process(ip);
  } catch {
    return false;
  }
  const range = parseCidr(cidr);
  if (!range || addr.kind() !== range[0].kind()) return false;
  return addr.match(range as [ipaddr.IPv4, number]);
}

/** One context value against one policy value, for a positive base operator. */
function valueMatches(op: string, ctxValue: string, policyValue: string): boolean {
  switch (op) {
    case 'StringEquals':
    case 'StringNotEquals':
    case 'ArnEquals':
    case 'ArnNotEquals':
      return ctxValue === policyValue;
    case 'StringEqualsIgnoreCase':
    case 'StringNotEqualsIgnoreCase':
      return ctxValue.toLowerCase() === policyValue.toLowerCase();
    case 'StringLike':
    case 'StringNotLike':
    case 'ArnLike':
    case 'ArnNotLike':
      return glob(policyValue, ctxValue);
    case 'Bool':
      return ctxValue.toLowerCase() === policyValue.toLowerCase();
    case 'IpAddress':
    case 'NotIpAddress':
      return ipIn(ctxValue, policyValue);
  }
  const [a, b] = op.startsWith('Date') ? [Date.parse(ctxValue), Date.parse(policyValue)] : [Number(ctxValue), Number(policyValue)];
  if (Number.isNaN(a) || Number.isNaN(b)) return false;
  const cmp = op.replace(/^(Numeric|Date)/, '');
  return cmp === 'Equals' || cmp === 'NotEquals' ? a === b : cmp === 'LessThan' ? a < b : cmp === 'LessThanEquals' ? a <= b : cmp === 'GreaterThan' ? a > b : a >= b;
}

const negated = (op: string) => /Not(Equals|Like|IpAddress|EqualsIgnoreCase)$/.test(op) || op === 'NotIpAddress';

function conditionHolds(c: Condition, keys: EvalContext['keys']): boolean {
  const present = keys[c.key];
  if (c.op === 'Null') return c.values.some((v) => (v.toLowerCase() === 'true') === (present === undefined || present.length === 0));
  if (present === undefined || present.length === 0) {
    if (c.set === 'all') return true;
    return c.ifExists || (negated(c.op) && c.set === undefined);
  }
  const one = (v: string) => {
    const any = c.values.some((p) => valueMatches(c.op, v, p));
    return negated(c.op) ? !any : any;
  };
  if (c.set === 'all') return present.every(one);
  return present.some(one);
}

function statementApplies(s: Statement, e: EvalContext): boolean {
  if (s.principal && !principalMatches(s.principal, e.account)) return false;
  if (s.notPrincipal && principalMatches(s.notPrincipal, e.account)) return false;
  if (s.actions && !s.actions.some((a) => glob(a, e.action, true))) return false;
  if (s.notActions && s.notActions.some((a) => glob(a, e.action, true))) return false;
  if (s.resources && !s.resources.some((r) => glob(r, e.resource))) return false;
  if (s.notResources && s.notResources.some((r) => glob(r, e.resource))) return false;
  return s.conditions.every((c) => conditionHolds(c, e.keys));
}

/** 'deny' if any statement denies, else 'allow' if one allows (reporting whether it is public). */
export function evaluatePolicy(statements: Statement[], e: EvalContext): { result: 'deny' | 'allow' | 'none'; publicAllow: boolean } {
  let result: 'allow' | 'none' = 'none';
  let publicAllow = false;
  for (const s of statements) {
    if (!statementApplies(s, e)) continue;
    if (s.effect === 'Deny') return { result: 'deny', publicAllow: false };
    result = 'allow';
    publicAllow ||= statementIsPublic(s);
  }
  return { result, publicAllow };
}

/** Keys whose fixed (wildcard-free) value makes a statement non-public, per S3's "meaning of public". */
const FIXING_KEYS = new Set(
  ['aws:SourceArn', 'aws:SourceVpc', 'aws:SourceVpce', 'aws:SourceOwner', 'aws:SourceAccount', 'aws:userid', 'aws:PrincipalOrgID', 'aws:PrincipalAccount'].map((k) =>
    k.toLowerCase(),
  ),
);

function statementIsPublic(s: Statement): boolean {
  if (s.effect !== 'Allow') return false;
  const p = s.principal;
  const wildcard = s.notPrincipal !== undefined || p === '*' || (p?.AWS?.includes('*') ?? false);
  if (!wildcard) return false;
  const fixed = s.conditions.some((c) => {
    if (c.ifExists || c.set) return false;
    if (c.op === 'IpAddress' && c.key === 'aws:sourceip') return c.values.every((v) => (parseCidr(v)?.[1] ?? 0) > 0);
    return FIXING_KEYS.has(c.key) && ['StringEquals', 'ArnEquals'].includes(c.op) && c.values.every((v) => !/[*?]/.test(v));
  });
  return !fixed;
}

export function policyIsPublic(statements: Statement[]): boolean {
  return statements.some(statementIsPublic);
}
