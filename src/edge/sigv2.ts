/**
 * AWS Signature Version 2 as S3 defines it (the "REST authentication" of S3's developer guide):
 * `Authorization: AWS <key>:<signature>` or the query string `AWSAccessKeyId`, `Signature`,
 * `Expires`, as the aws CLI v1's `aws s3 presign` and boto3's presigned URLs still produce. The
 * signature is base64(HMAC-SHA1(secret, StringToSign)), where StringToSign is
 *
 *   VERB \n Content-MD5 \n Content-Type \n Date-or-Expires \n CanonicalizedAmzHeaders CanonicalizedResource
 *
 * - Date is the Date header, or empty when x-amz-date is present (x-amz-date is then signed among
 *   the amz headers); a presigned URL puts its Expires (epoch seconds) there instead;
 * - CanonicalizedAmzHeaders: each x-amz-* header (and, for a presigned URL, each x-amz-* query
 *   parameter), lower-cased, sorted, values joined by commas, one `name:value\n` line each;
 * - CanonicalizedResource: `/bucket/key` as sent (percent-encoded, with the bucket first even when
 *   the Host named it; a bucket alone is `/bucket/`), then the sub-resources among the query
 *   parameters, sorted, with their values unencoded.
 */
import { createHmac } from 'node:crypto';
import type { SignedRequest } from './sigv4.js';
import { constantTimeEqual, safeDecode } from './sigv4.js';

/** The query parameters that name a sub-resource, hence belong to the signed resource. */
const SUB_RESOURCES = new Set([
  'accelerate', 'acl', 'analytics', 'cors', 'defaultObjectAcl', 'delete', 'encryption', 'intelligent-tiering', 'inventory',
  'legal-hold', 'lifecycle', 'location', 'logging', 'metrics', 'notification', 'object-lock', 'ownershipControls',
  'partNumber', 'policy', 'policyStatus', 'publicAccessBlock', 'replication', 'requestPayment', 'response-cache-control',
  'response-content-disposition', 'response-content-encoding', 'response-content-language', 'response-content-type',
  'response-expires', 'restore', 'retention', 'select', 'select-type', 'storageClass', 'tagging', 'torrent', 'uploadId',
  'uploads', 'versionId', 'versioning', 'versions', 'website', 'attributes',
]);

export interface SigV2Parts {
  accessKeyId: string;
  signature: string;
  presigned: boolean;
  /** Presigned: when the URL stops working (epoch seconds). */
  expires?: number;
}

/** A SigV2 signature that cannot be read: S3's code, status and words for it. */
export class SigV2FormatError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
    readonly fields: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** Whether the request is signed with SigV2 (header or query string), whether well or not. */
export function looksLikeSigV2(req: SignedRequest, query: [string, string][]): boolean {
  const auth = req.headers.get('authorization')?.[0];
  if (auth !== undefined) return auth.startsWith('AWS ');
  return query.some(([k]) => k === 'AWSAccessKeyId' || k === 'Signature');
}

export function parseSigV2(req: SignedRequest, query: [string, string][]): SigV2Parts {
  const auth = req.headers.get('authorization')?.[0];
  if (auth !== undefined) {
    const m = /^AWS ([^:\s]+):(\S+)$/.exec(auth.trim());
    if (!m) {
      throw new SigV2FormatError('InvalidArgument', 'AWS authorization header is invalid.  Expected AwsAccessKeyId:signature', 400, {
        ArgumentName: 'Authorization',
        ArgumentValue: auth,
      });
    }
    return { accessKeyId: m[1], signature: m[2], presigned: false };
  }
  const q = new Map(query);
  const accessKeyId = q.get('AWSAccessKeyId');
  const signature = q.get('Signature');
  const expires = q.get('Expires');
  if (!accessKeyId || !signature || expires === undefined) {
    throw new SigV2FormatError('AccessDenied', 'Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters', 403);
  }
  if (!/^[0-9]+$/.test(expires)) throw new SigV2FormatError('AccessDenied', 'Invalid date (should be seconds since epoch): ' + expires, 403);
  return { accessKeyId, signature, presigned: true, expires: Number(expires) };
}

/** When a header-signed request says it was made (x-amz-date wins over Date); undefined if neither reads. */
export function signedAt(req: SignedRequest): Date | undefined {
  const raw = req.headers.get('x-amz-date')?.[0] ?? req.headers.get('date')?.[0];
  if (raw === undefined) return undefined;
  const d = new Date(raw);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

export function stringToSignV2(req: SignedRequest, query: [string, string][], parts: SigV2Parts, hostBucket: string | undefined): string {
  const header = (name: string) => (req.headers.get(name) ?? []).map((v) => v.trim()).join(',');
  const fromQuery = (name: string) => query.find(([k]) => k.toLowerCase() === name)?.[1] ?? '';
  const md5 = header('content-md5') || (parts.presigned ? fromQuery('content-md5') : '');
  const type = header('content-type') || (parts.presigned ? fromQuery('content-type') : '');
  let date: string;
  if (parts.presigned) date = String(parts.expires);
  else date = req.headers.has('x-amz-date') ? '' : header('date');
  const amz = new Map<string, string[]>();
  for (const [name, values] of req.headers) {
    if (name.startsWith('x-amz-')) amz.set(name, values.map((v) => v.trim().replace(/\s*\n\s*/g, ' ')));
  }
  if (parts.presigned) {
    for (const [k, v] of query) {
      const name = k.toLowerCase();
      if (name.startsWith('x-amz-')) amz.set(name, [...(amz.get(name) ?? []), v]);
    }
  }
  const amzLines = [...amz.keys()].sort().map((name) => `${name}:${amz.get(name)!.join(',')}\n`).join('');
  return `${req.method}\n${md5}\n${type}\n${date}\n${amzLines}${canonicalResource(req, hostBucket)}`;
}

/**
 * The sub-resources keep the form they were sent in (`?acl` and `?acl=` sign differently, as in
 * the clients), with their values decoded.
 */
function canonicalResource(req: SignedRequest, hostBucket: string | undefined): string {
  const rawPath = req.rawPath.startsWith('/') ? req.rawPath : `/${req.rawPath}`;
  let path = hostBucket !== undefined ? `/${hostBucket}${rawPath}` : rawPath;
  // A bucket is signed as `/bucket/`, however the request spelled it (`/bucket` path-style).
  if (/^\/[^/]+$/.test(path)) path += '/';
  const subs: [string, string | undefined][] = [];
  for (const part of req.rawQuery.split('&')) {
    const eq = part.indexOf('=');
    const name = eq < 0 ? part : part.slice(0, eq);
    if (!SUB_RESOURCES.has(name)) continue;
    subs.push([name, eq < 0 ? undefined : safeDecode(part.slice(eq + 1))]);
  }
  if (!subs.length) return path;
  subs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return `${path}?${subs.map(([k, v]) => (v === undefined ? k : `${k}=${v}`)).join('&')}`;
}

export function signV2(secret: string, stringToSign: string): string {
  return createHmac('sha1', secret).update(stringToSign, 'utf8').digest('base64');
}

export function verifyV2(secret: string, stringToSign: string, signature: string): boolean {
  return constantTimeEqual(signV2(secret, stringToSign), signature);
}
