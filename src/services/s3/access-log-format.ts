/**
 * One line of an S3 server access log, in S3's documented field order:
 *
 *   bucket-owner bucket [time] remote-ip requester request-id operation key "request-uri"
 *   status error-code bytes-sent object-size total-time turn-around-time "referer" "user-agent"
 *   version-id host-id signature-version cipher-suite auth-type host-header tls-version
 *   access-point-arn acl-required
 *
 * with `-` for what does not apply. Operations are named as S3 names them: REST.<METHOD>.<RESOURCE>
 * (OBJECT, BUCKET, UPLOADS, PART, ACL, VERSIONING, …), WEBSITE.GET.OBJECT for website hosts.
 */
import { canonicalId } from './access.js';
import type { RequestFacts } from '../service.js';

/** Operations whose resource word is not their sub-resource's name. */
const RESOURCE: Record<string, string> = {
  GetObject: 'OBJECT',
  PutObject: 'OBJECT',
  HeadObject: 'OBJECT',
  DeleteObject: 'OBJECT',
  CopyObject: 'OBJECT',
  PostObject: 'OBJECT',
  ListObjects: 'BUCKET',
  ListObjectsV2: 'BUCKET',
  HeadBucket: 'BUCKET',
  CreateBucket: 'BUCKET',
  DeleteBucket: 'BUCKET',
  ListObjectVersions: 'BUCKETVERSIONS',
  CreateMultipartUpload: 'UPLOADS',
  ListMultipartUploads: 'UPLOADS',
  UploadPart: 'PART',
  UploadPartCopy: 'PART',
  CompleteMultipartUpload: 'UPLOAD',
  AbortMultipartUpload: 'UPLOAD',
  ListParts: 'UPLOAD',
  DeleteObjects: 'MULTI_OBJECT_DELETE',
  GetObjectTagging: 'OBJECT_TAGGING',
  PutObjectTagging: 'OBJECT_TAGGING',
  DeleteObjectTagging: 'OBJECT_TAGGING',
  GetBucketPolicy: 'BUCKETPOLICY',
  PutBucketPolicy: 'BUCKETPOLICY',
  DeleteBucketPolicy: 'BUCKETPOLICY',
  GetBucketLogging: 'LOGGING_STATUS',
  PutBucketLogging: 'LOGGING_STATUS',
};

/** The operation field: REST.GET.OBJECT, REST.PUT.VERSIONING, WEBSITE.GET.OBJECT, … */
export function logOperation(f: RequestFacts, hasKey: boolean): string {
  if (f.operation === 'Website') return `WEBSITE.${f.method}.OBJECT`;
  if (f.operation === 'Preflight') return 'REST.OPTIONS.PREFLIGHT';
  const method = f.operation === 'CopyObject' || f.operation === 'UploadPartCopy' ? 'COPY' : f.method;
  let resource = f.operation ? RESOURCE[f.operation] : undefined;
  if (!resource) {
    const sub = f.query.find(([k]) => /^[a-z-]+$/.test(k) && k !== 'prefix' && k !== 'delimiter');
    resource = sub ? sub[0].toUpperCase().replace(/-/g, '_') : hasKey ? 'OBJECT' : 'BUCKET';
  }
  return `REST.${method}.${resource}`;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const two = (n: number) => String(n).padStart(2, '0');

/** [06/Feb/2019:00:00:38 +0000] */
export function logTime(d: Date): string {
  return `[${two(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} +0000]`;
}

const quoted = (v: string | undefined) => (v ? `"${v.replace(/"/g, '\\"')}"` : '"-"');
const dash = (v: string | number | undefined) => (v === undefined || v === '' ? '-' : String(v));

export interface LogSubject {
  bucket: string;
  owner: string;
  key?: string;
  objectSize?: number;
  versionId?: string;
}

export function logLine(f: RequestFacts, s: LogSubject): string {
  const uri = `${f.method} ${f.rawPath}${f.rawQuery ? `?${f.rawQuery}` : ''} HTTP/${f.httpVersion}`;
  const auth = f.account === undefined ? '-' : f.presigned ? 'QueryString' : 'AuthHeader';
  const sig = f.signatureVersion === 'AWS' ? 'SigV2' : f.signatureVersion ? 'SigV4' : '-';
  const ms = Math.round(f.totalMs);
  return [
    canonicalId(s.owner),
    s.bucket,
    logTime(f.time),
    dash(f.remoteIp),
    f.account ? canonicalId(f.account) : '-',
    f.requestId,
    logOperation(f, s.key !== undefined),
    s.key !== undefined ? s.key.split('/').map(encodeURIComponent).join('/') : '-',
    quoted(uri),
    String(f.status),
    dash(f.errorCode),
    f.bytesSent ? String(f.bytesSent) : '-',
    dash(s.objectSize),
    String(ms),
    String(ms),
    quoted(f.headers.referer),
    quoted(f.headers['user-agent']),
    dash(s.versionId),
    Buffer.from(f.requestId).toString('base64'),
    sig,
    '-',
    auth,
    dash(f.headers.host),
    '-',
    '-',
    '-',
  ].join(' ');
}
