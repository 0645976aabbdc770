/**
 * Bucket CORS: Put/Get/DeleteBucketCors (validated as S3 does) and the two places browsers meet
 * it. A preflight (OPTIONS, which no S3 API model describes and browsers send unsigned, so
 * ./admission.ts hands it to `preflight` before authentication) is answered from the first rule
 * matching its Origin, Access-Control-Request-Method and -Headers, or refused with S3's 403
 * CORSResponse. An actual request carrying an Origin gets the Access-Control-* headers of the
 * first rule matching its Origin and method (`responseHeaders`), whatever its outcome.
 */
import type { CORSRules, S3Operations } from '../../models/generated/s3.js';
import { AwsError } from '../../protocol/errors.js';
import { splitS3Path } from '../../protocol/rest-xml.js';
import type { WireRequest } from '../../protocol/types.js';
import { malformedXml } from '../../protocol/xml-decode.js';
import { type OpHandler } from '../service.js';
import { ownedBucket } from './access.js';
import type { AccessStore } from './access-store.js';
import type { S3Store } from './store.js';

type Op<K extends keyof S3Operations> = OpHandler<S3Operations, K>;
type Rule = CORSRules[number];

const METHODS = ['GET', 'PUT', 'HEAD', 'POST', 'DELETE'];
const invalid = (message: string) => new AwsError('InvalidRequest', message, 400);

function validate(rules: CORSRules): void {
  if (rules.length === 0) throw malformedXml();
  if (rules.length > 100) throw invalid('The number of CORS rules should not exceed allowed limit of 100 rules.');
  for (const r of rules) {
    if (!r.AllowedMethods?.length || !r.AllowedOrigins?.length) throw malformedXml();
    if (r.ID !== undefined && r.ID.length > 255) throw invalid('The ID of a CORS rule can be at most 255 characters long.');
    for (const m of r.AllowedMethods) if (!METHODS.includes(m)) throw invalid(`Found unsupported HTTP method in CORS config. Unsupported method is ${m}`);
    for (const o of r.AllowedOrigins) if (o.split('*').length > 2) throw invalid(`AllowedOrigin "${o}" can not have more than one wildcard.`);
    for (const h of r.AllowedHeaders ?? []) if (h.split('*').length > 2) throw invalid(`AllowedHeader "${h}" can not have more than one wildcard.`);
    for (const h of r.ExposeHeaders ?? []) if (h.includes('*')) throw invalid(`ExposeHeader "${h}" contains wildcard. We currently do not support wildcard for ExposeHeader.`);
  }
}

export function corsHandlers(store: S3Store, acc: AccessStore) {
  const PutBucketCors: Op<'PutBucketCors'> = (ctx, input) => {
    const bucket = ownedBucket(store, ctx, input.Bucket);
    const rules = input.CORSConfiguration?.CORSRules ?? [];
    validate(rules);
    acc.put(bucket.name, 'cors', rules);
    return {};
  };

  const GetBucketCors: Op<'GetBucketCors'> = (ctx, input) => {
    const bucket = ownedBucket(store, ctx, input.Bucket);
    const rules = acc.get<CORSRules>(bucket.name, 'cors');
    if (!rules) throw new AwsError('NoSuchCORSConfiguration', 'The CORS configuration does not exist', 404, { fields: { BucketName: bucket.name } });
    return { CORSRules: rules };
  };

  const DeleteBucketCors: Op<'DeleteBucketCors'> = (ctx, input) => {
    acc.delete(ownedBucket(store, ctx, input.Bucket).name, 'cors');
    return {};
  };

  return { PutBucketCors, GetBucketCors, DeleteBucketCors };
}

/** One `*` matches any run of characters. */
function wildcard(pattern: string, value: string, ignoreCase: boolean): boolean {
  const [a, b] = ignoreCase ? [pattern.toLowerCase(), value.toLowerCase()] : [pattern, value];
  const star = a.indexOf('*');
  if (star < 0) return a === b;
  const head = a.slice(0, star);
  const tail = a.slice(star + 1);
  return b.length >= head.length + tail.length && b.startsWith(head) && b.endsWith(tail);
}

function matchRule(rules: CORSRules, origin: string, method: string, headers: string[] | undefined): Rule | undefined {
  return rules.find(
    (r) =>
      r.AllowedOrigins.some((o) => wildcard(o, origin, false)) &&
      r.AllowedMethods.includes(method) &&
      (headers ?? []).every((h) => (r.AllowedHeaders ?? []).some((a) => wildcard(a, h, true))),
  );
}

function ruleHeaders(rule: Rule, origin: string): Record<string, string> {
  const any = rule.AllowedOrigins.includes('*');
  const out: Record<string, string> = {
    'access-control-allow-origin': any ? '*' : origin,
    'access-control-allow-methods': rule.AllowedMethods.join(', '),
    vary: 'Origin, Access-Control-Request-Headers, Access-Control-Request-Method',
  };
  if (!any) out['access-control-allow-credentials'] = 'true';
  if (rule.ExposeHeaders?.length) out['access-control-expose-headers'] = rule.ExposeHeaders.join(', ');
  if (rule.MaxAgeSeconds !== undefined) out['access-control-max-age'] = String(rule.MaxAgeSeconds);
  return out;
}

export class Cors {
  constructor(
    private readonly store: S3Store,
    private readonly acc: AccessStore,
  ) {}

  /** The answer to an OPTIONS request; throws S3's errors for a refused one. */
  preflight(req: WireRequest): { status: number; headers: Record<string, string> } {
    const target = splitS3Path(req);
    const origin = req.headers.origin;
    const method = req.headers['access-control-request-method'];
    if (!origin) throw new AwsError('BadRequest', 'Insufficient information. Origin request header needed.', 400);
    if (!method || !METHODS.includes(method)) throw new AwsError('BadRequest', `Invalid Access-Control-Request-Method: ${method ?? 'null'}`, 400);
    const fields = { Method: method, ResourceType: target.key !== undefined ? 'OBJECT' : 'BUCKET' };
    if (target.bucket === undefined || !this.store.bucket(target.bucket)) {
      throw new AwsError('NoSuchBucket', 'The specified bucket does not exist', 404, { fields: { BucketName: target.bucket ?? '' } });
    }
    const rules = this.acc.get<CORSRules>(target.bucket, 'cors');
    if (!rules) throw new AwsError('AccessForbidden', 'CORSResponse: CORS is not enabled for this bucket.', 403, { fields });
    const requested = req.headers['access-control-request-headers']
      ?.split(',')
      .map((h) => h.trim().toLowerCase())
      .filter(Boolean);
    const rule = matchRule(rules, origin, method, requested);
    if (!rule) {
      throw new AwsError(
        'AccessForbidden',
        "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.",
        403,
        { fields },
      );
    }
    const headers = ruleHeaders(rule, origin);
    if (requested?.length) headers['access-control-allow-headers'] = requested.join(', ');
    return { status: 200, headers };
  }

  /** Access-Control-* headers for an actual request with an Origin its bucket's rules allow. */
  responseHeaders(req: WireRequest): Record<string, string> | undefined {
    const origin = req.headers.origin;
    if (!origin || req.method === 'OPTIONS') return undefined;
    let bucket: string | undefined;
    try {
      bucket = splitS3Path(req).bucket;
    } catch {
      return undefined;
    }
    if (bucket === undefined) return undefined;
    const rules = this.acc.get<CORSRules>(bucket, 'cors');
    const rule = rules && matchRule(rules, origin, req.method, undefined);
    return rule ? ruleHeaders(rule, origin) : undefined;
  }
}
