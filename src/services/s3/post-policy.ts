/**
 * The policy document of a browser upload (POST Object, ./post-object.ts): its SigV4 credential and
 * date, its expiration, and its conditions checked against the form's fields as S3 checks them
 * (the signature itself is the base64 policy signed by the edge's Signer):
 *
 * - `{"field": "value"}` and `["eq", "$field", "value"]` match exactly; `["starts-with", "$field",
 *   "prefix"]` by prefix (an empty prefix allows anything; a Content-Type listing several types
 *   must have each start so); `["content-length-range", min, max]` bounds the file's size, which
 *   is known only as it streams, so it is returned for the upload to enforce;
 * - field names are compared without regard to case; `$bucket` is the bucket the URL names, and
 *   `$key` is the key after `${filename}` became the file's name;
 * - every field sent must be covered by a condition, except the signature, the policy, the file
 *   and `x-ignore-*` fields (S3's "Extra input fields").
 */
import { AwsError } from '../../protocol/errors.js';

/** Fields no condition needs to name. */
const EXEMPT = new Set(['policy', 'x-amz-signature', 'signature', 'awsaccesskeyid', 'file']);

/** Fields S3 lets a policy match only exactly. */
const EXACT_ONLY = new Set(['bucket', 'success_action_status', 'x-amz-algorithm', 'x-amz-credential', 'x-amz-date', 'x-amz-security-token']);

export interface SizeRange {
  min: number;
  max: number;
}

export interface PolicyVerdict {
  /** The tightest content-length-range the policy sets, if any. */
  size?: SizeRange;
}

export const PostPolicyErrors = {
  invalid: (why: string) => new AwsError('InvalidPolicyDocument', `Invalid Policy: ${why}`, 400),
  denied: (why: string) => new AwsError('AccessDenied', `Invalid according to Policy: ${why}`, 403),
  signature: (stringToSign: string, accessKeyId: string) =>
    new AwsError(
      'SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
      403,
      { fields: { AWSAccessKeyId: accessKeyId, StringToSign: stringToSign } },
    ),
};

/** SigV4: `x-amz-credential` is `<key>/<yyyymmdd>/<region>/s3/aws4_request`. */
export interface V4Credential {
  accessKeyId: string;
  date: string;
  region: string;
}

export function parseV4Credential(credential: string): V4Credential | undefined {
  const m = /^([^/]+)\/([0-9]{8})\/([^/]+)\/s3\/aws4_request$/.exec(credential);
  return m ? { accessKeyId: m[1], date: m[2], region: m[3] } : undefined;
}

/** `x-amz-date` must be a basic ISO 8601 time on the credential's day. */
export function checkV4Date(amzDate: string | undefined, cred: V4Credential): void {
  if (amzDate === undefined) throw missingField('x-amz-date');
  if (!/^[0-9]{8}T[0-9]{6}Z$/.test(amzDate) || !amzDate.startsWith(cred.date)) {
    throw new AwsError('AuthorizationQueryParametersError', "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\" and on the credential's date", 400);
  }
}

export function missingField(name: string): AwsError {
  return new AwsError('InvalidArgument', `Bucket POST must contain a field named '${name}'.  If it is specified, please check the order of the fields.`, 400, {
    fields: { ArgumentName: name, ArgumentValue: '' },
  });
}

type Condition = { op: 'eq' | 'starts-with'; field: string; value: string; text: string } | { op: 'range'; min: number; max: number; text: string };

/**
 * Decodes and checks the policy against `fields` (names lower-cased; `bucket` and `key` as S3
 * sees them) at `now`.
 */
export function checkPolicy(policyBase64: string, fields: Map<string, string>, now: Date): PolicyVerdict {
  const doc = decode(policyBase64);
  if (doc.expiration === undefined) throw PostPolicyErrors.invalid('Policy missing expiration.');
  if (typeof doc.expiration !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/.test(doc.expiration) || Number.isNaN(Date.parse(doc.expiration))) {
    throw PostPolicyErrors.invalid(`Invalid 'expiration' value: '${String(doc.expiration)}'`);
  }
  if (doc.conditions === undefined) throw PostPolicyErrors.invalid('Policy missing conditions.');
  if (!Array.isArray(doc.conditions)) throw PostPolicyErrors.invalid("Invalid 'conditions' value: must be a list.");
  if (Date.parse(doc.expiration) <= now.getTime()) throw PostPolicyErrors.denied('Policy expired.');
  const conditions = doc.conditions.flatMap(parseCondition);
  const covered = new Set<string>();
  let size: SizeRange | undefined;
  for (const c of conditions) {
    if (c.op === 'range') {
      size = size ? { min: Math.max(size.min, c.min), max: Math.min(size.max, c.max) } : { min: c.min, max: c.max };
      continue;
    }
    covered.add(c.field);
    // An empty starts-with allows any value, none included.
    const actual = fields.get(c.field) ?? (c.op === 'starts-with' && c.value === '' ? '' : undefined);
    if (actual === undefined || !matches(c.op, c.field, actual, c.value)) throw PostPolicyErrors.denied(`Policy Condition failed: ${c.text}`);
  }
  const extra = [...fields.keys()].filter((f) => !EXEMPT.has(f) && !f.startsWith('x-ignore-') && !covered.has(f) && f !== 'bucket');
  if (extra.length) throw PostPolicyErrors.denied(`Extra input fields: ${extra.join(', ')}`);
  return { size };
}

function decode(policyBase64: string): { expiration?: unknown; conditions?: unknown } {
  const text = policyBase64.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text)) throw PostPolicyErrors.invalid('Invalid JSON.');
  try {
    const doc: unknown = JSON.parse(Buffer.from(text, 'base64').toString('utf8'));
    if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new Error('not an object');
    return doc as { expiration?: unknown; conditions?: unknown };
  } catch {
    throw PostPolicyErrors.invalid('Invalid JSON.');
  }
}

/** As S3 prints a condition in its messages: `["eq", "$key", "a"]`. */
function show(parts: unknown[]): string {
  return `[${parts.map((p) => JSON.stringify(p)).join(', ')}]`;
}

function parseCondition(raw: unknown): Condition[] {
  if (raw !== null && typeof raw === 'object' && !Array.isArray(raw)) {
    return Object.entries(raw).map(([name, value]) => {
      if (typeof value !== 'string') throw PostPolicyErrors.invalid(`Invalid Simple-Condition: value must be a string.`);
      return { op: 'eq' as const, field: name.toLowerCase(), value, text: show(['eq', `$${name}`, value]) };
    });
  }
  if (!Array.isArray(raw) || raw.length !== 3) throw PostPolicyErrors.invalid(`Invalid Condition: ${JSON.stringify(raw)}`);
  const [op, a, b] = raw as unknown[];
  const text = show(raw);
  if (typeof op === 'string' && op.toLowerCase() === 'content-length-range') {
    const min = Number(a);
    const max = Number(b);
    if (!Number.isSafeInteger(min) || !Number.isSafeInteger(max) || min < 0 || max < min) throw PostPolicyErrors.denied(`Policy Condition failed: ${text}`);
    return [{ op: 'range', min, max, text }];
  }
  if (typeof op !== 'string' || typeof a !== 'string' || typeof b !== 'string' || !a.startsWith('$')) {
    throw PostPolicyErrors.invalid(`Invalid Condition: ${text}`);
  }
  const kind = op.toLowerCase();
  if (kind !== 'eq' && kind !== 'starts-with') throw PostPolicyErrors.invalid(`Invalid Condition: ${text}`);
  const field = a.slice(1).toLowerCase();
  if (kind === 'starts-with' && (EXACT_ONLY.has(field) || (field.startsWith('x-amz-') && !field.startsWith('x-amz-meta-')))) {
    throw PostPolicyErrors.denied(`Policy Condition failed: ${text}`);
  }
  return [{ op: kind, field, value: b, text }];
}

function matches(op: 'eq' | 'starts-with', field: string, actual: string, wanted: string): boolean {
  if (op === 'eq') return actual === wanted;
  // A Content-Type field may list several types; each must start with the prefix.
  if (field === 'content-type' && actual.includes(',')) return actual.split(',').every((t) => t.trim().startsWith(wanted));
  return actual.startsWith(wanted);
}
