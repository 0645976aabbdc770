/**
 * The rules every object operation shares (PutObject, GetObject, HeadObject, DeleteObject,
 * CopyObject, the multipart operations, object tagging), so that each states them once:
 *
 * - limits: key bytes, user metadata bytes, single-PUT size, part numbers;
 * - what a write may carry: the headers kumo refuses (object lock, website redirect),
 *   storage classes (labels; archived ones refused), the x-amz-tagging header and tag limits, the
 *   content headers stored with the object;
 * - conditional requests: If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since (and
 *   their x-amz-copy-source- twins), in AWS's order of precedence, and the write-side If-Match /
 *   If-None-Match: *;
 * - which version a read names (a delete marker or a missing version is AWS's error);
 * - how a stored object is described back: ETag, whole-second LastModified, checksum fields.
 */
import type { S3Operations } from '../../models/generated/s3.js';
import type { RequestContext } from '../service.js';
import type { ChecksumFields } from './checksums.js';
import { ownedBucket } from './access.js';
import type { FindObject } from './commit.js';
import { S3DataErrors } from './data-errors.js';
import { S3Errors } from './errors.js';
import type { ObjectAttributes, ObjectRow, S3Store } from './store.js';

export const MAX_KEY_BYTES = 1024;
export const MAX_METADATA_BYTES = 2048;
/** The largest object a single PUT or CopyObject may carry (bigger ones need multipart upload). */
export const MAX_PUT_BYTES = 5 * 1024 ** 3;
export const MAX_PARTS = 10000;
/** What AWS stores for objects uploaded without a checksum. */
export const DEFAULT_CHECKSUM = 'CRC64NVME' as const;

export function checkKey(key: string): void {
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) throw S3Errors.keyTooLong();
}

export function checkMetadata(meta: Record<string, string> | undefined): void {
  const size = Object.entries(meta ?? {}).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v), 0);
  if (size > MAX_METADATA_BYTES) throw S3Errors.metadataTooLarge();
}

/** `?partNumber=` of a read, or the part number of UploadPart(Copy). */
export function checkPartNumber(n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > MAX_PARTS) {
    throw S3Errors.invalidArgument('Part number must be an integer between 1 and 10000, inclusive', 'partNumber', String(n));
  }
}

/**
 * A streamed body's declared length: at most `max`. An aws-chunked body (ctx.trailers set)
 * declares its length in x-amz-decoded-content-length and its Content-Length counts the framing,
 * and a body sent with Transfer-Encoding: chunked has no length at all (S3 takes both, as current
 * SDKs send them): those are bounded as they stream instead. A body with neither is
 * MissingContentLength (411).
 */
export function checkContentLength(ctx: RequestContext, length: number | undefined, max: number): void {
  if (ctx.trailers !== undefined) return;
  if (length === undefined) {
    if (/(^|,)\s*chunked\s*$/i.test(ctx.headers?.['transfer-encoding'] ?? '')) return;
    throw S3Errors.missingContentLength();
  }
  if (length > max) throw S3Errors.entityTooLarge(length, max);
}

/**
 * x-amz-website-redirect-location of PutObject, CreateMultipartUpload and CopyObject: where the
 * bucket's website endpoint sends a reader of the object (./website.ts). (x-amz-acl and
 * x-amz-grant-* are checked by ./authorize.ts, encryption headers by ./sse.ts, object lock
 * headers by ./object-lock.ts.)
 */
export function checkRedirectLocation(location: string | undefined): void {
  if (location === undefined) return;
  if (!/^(\/|https?:\/\/)/.test(location)) {
    throw S3Errors.invalidArgument("The website redirect location must have a prefix of 'http://' or 'https://' or '/'.", 'x-amz-website-redirect-location', location);
  }
  if (Buffer.byteLength(location) > 2048) throw S3Errors.invalidArgument('The length of website redirect location cannot exceed 2,048 characters.', 'x-amz-website-redirect-location', location);
}

// Storage classes are labels: every object is on the same disk. GLACIER and DEEP_ARCHIVE objects
// are unreadable until restored (./archive.ts); OUTPOSTS has no outpost here to name.
const STORAGE_CLASSES = ['STANDARD', 'REDUCED_REDUNDANCY', 'STANDARD_IA', 'ONEZONE_IA', 'INTELLIGENT_TIERING', 'GLACIER_IR', 'GLACIER', 'DEEP_ARCHIVE'];

export function checkStorageClass(value: string | undefined): void {
  if (value === undefined) return;
  if (value === 'OUTPOSTS') throw S3Errors.notImplementedHeader('x-amz-storage-class');
  if (!STORAGE_CLASSES.includes(value)) throw S3DataErrors.invalidStorageClass(value);
}

export type Tag = { Key: string; Value: string };

/** AWS's tag limits: 10 tags, keys up to 128 and values up to 256 characters, no duplicate keys, no `aws:` keys. */
export function checkTags(tags: Tag[]): Tag[] {
  if (tags.length > 10) throw S3DataErrors.invalidTag('Object tags cannot be greater than 10');
  const seen = new Set<string>();
  for (const t of tags) {
    if (seen.has(t.Key)) throw S3DataErrors.invalidTag('Cannot provide multiple Tags with the same key');
    seen.add(t.Key);
    if (t.Key.length === 0 || [...t.Key].length > 128) throw S3DataErrors.invalidTag('The TagKey you have provided is invalid');
    if ([...t.Value].length > 256) throw S3DataErrors.invalidTag('The TagValue you have provided is too long, max 256');
    if (t.Key.toLowerCase().startsWith('aws:')) throw S3DataErrors.invalidTag('Your TagKey cannot be prefixed with aws:');
  }
  return tags;
}

/** Tags as S3 answers them: sorted by key, whatever order they were given in. */
export function sortedTags<T extends { Key?: string }>(tags: T[]): T[] {
  return [...tags].sort((a, b) => ((a.Key ?? '') < (b.Key ?? '') ? -1 : (a.Key ?? '') > (b.Key ?? '') ? 1 : 0));
}

/** The x-amz-tagging header of PUT, CreateMultipartUpload and CopyObject: `k1=v1&k2=v2`, URL-encoded. */
export function parseTaggingHeader(header: string | undefined): Tag[] | undefined {
  if (header === undefined) return undefined;
  const tags: Tag[] = [];
  for (const part of header.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    try {
      const k = decodeURIComponent((eq < 0 ? part : part.slice(0, eq)).replace(/\+/g, ' '));
      const v = eq < 0 ? '' : decodeURIComponent(part.slice(eq + 1).replace(/\+/g, ' '));
      tags.push({ Key: k, Value: v });
    } catch {
      throw S3DataErrors.badTagging();
    }
  }
  if (new Set(tags.map((t) => t.Key)).size !== tags.length) throw S3DataErrors.badTagging();
  return checkTags(tags);
}

/** The content headers and metadata a write stores with the object, as the request gave them. */
export function contentAttributes(input: {
  ContentType?: string;
  ContentEncoding?: string;
  ContentLanguage?: string;
  ContentDisposition?: string;
  CacheControl?: string;
  Expires?: Date | string;
  Metadata?: Record<string, string>;
  StorageClass?: string;
  WebsiteRedirectLocation?: string;
}): ObjectAttributes {
  return {
    ContentType: input.ContentType,
    ContentEncoding: stripAwsChunked(input.ContentEncoding),
    ContentLanguage: input.ContentLanguage,
    ContentDisposition: input.ContentDisposition,
    CacheControl: input.CacheControl,
    Expires: input.Expires ? new Date(input.Expires).toUTCString() : undefined,
    Metadata: input.Metadata,
    StorageClass: input.StorageClass,
    WebsiteRedirectLocation: input.WebsiteRedirectLocation,
  };
}

/**
 * aws-chunked is how the body was framed on the wire, not how the object is encoded: that token
 * goes, and the rest is kept exactly as sent (S3 answers `gzip, br` as `gzip, br`).
 */
export function stripAwsChunked(encoding: string | undefined): string | undefined {
  if (!encoding) return undefined;
  const rest = encoding.replace(/(^|,)\s*aws-chunked\s*(?=,|$)/gi, '').replace(/^\s*,\s*/, '');
  return rest.trim() === '' ? undefined : rest;
}

/** An object's timestamps are whole seconds, as S3 keeps them. */
export function wholeSeconds(now: Date): string {
  return new Date(Math.floor(now.getTime() / 1000) * 1000).toISOString();
}

/** The ETag of bytes written in one piece: their MD5, quoted. */
export function etagOf(md5: Buffer): string {
  return `"${md5.toString('hex')}"`;
}

/** A stored checksum as an answer carries it: x-amz-checksum-<algorithm>, and its type if given. */
export function checksumFields(checksum: { algorithm: string; value: string } | undefined, type?: string): ChecksumFields & { ChecksumType?: string } {
  if (!checksum) return {};
  const out: ChecksumFields & { ChecksumType?: string } = { [`Checksum${checksum.algorithm}`]: checksum.value };
  if (type !== undefined) out.ChecksumType = type;
  return out;
}

/** Whether a list of entity tags (If-Match, If-None-Match) names this ETag, quoted or not, or `*`. */
function etagListed(list: string, etag: string): boolean {
  return list.split(',').some((t) => t.trim() === '*' || t.trim() === etag || `"${t.trim()}"` === etag);
}

export interface Conditions {
  IfMatch?: string;
  IfNoneMatch?: string;
  IfModifiedSince?: Date | string;
  IfUnmodifiedSince?: Date | string;
}

export type Condition = 'If-Match' | 'If-Unmodified-Since' | 'If-None-Match' | 'If-Modified-Since';

/**
 * The first condition that does not hold for `obj`, in AWS's order of precedence: a matching
 * If-Match overrides If-Unmodified-Since, and If-None-Match overrides If-Modified-Since.
 */
export function failedCondition(obj: Pick<ObjectRow, 'etag' | 'lastModified'>, c: Conditions): Condition | undefined {
  const modified = new Date(obj.lastModified).getTime();
  const ifMatchHeld = c.IfMatch !== undefined && etagListed(c.IfMatch, obj.etag);
  if (c.IfMatch !== undefined && !ifMatchHeld) return 'If-Match';
  if (c.IfUnmodifiedSince !== undefined && !ifMatchHeld && modified > new Date(c.IfUnmodifiedSince).getTime()) return 'If-Unmodified-Since';
  if (c.IfNoneMatch !== undefined && etagListed(c.IfNoneMatch, obj.etag)) return 'If-None-Match';
  if (c.IfModifiedSince !== undefined && c.IfNoneMatch === undefined && modified <= new Date(c.IfModifiedSince).getTime()) return 'If-Modified-Since';
  return undefined;
}

/** A read's conditions: 412 for If-Match / If-Unmodified-Since, 304 for the other two. */
export function checkReadConditions(obj: ObjectRow, c: Conditions): void {
  const failed = failedCondition(obj, c);
  if (failed === 'If-Match' || failed === 'If-Unmodified-Since') throw S3Errors.preconditionFailed(failed);
  if (failed) throw S3Errors.notModified(obj.etag, new Date(obj.lastModified));
}

/** A write's If-None-Match may only be `*` (create only); checked before the body is taken. */
export function checkWriteIfNoneMatch(value: string | undefined): void {
  if (value !== undefined && value !== '*') throw S3Errors.notImplementedHeader('If-None-Match');
}

/** A write's conditions: If-None-Match: * (create only) and If-Match: <etag> (replace only that). */
export function writeConditions(existing: ObjectRow | undefined, input: { IfNoneMatch?: string; IfMatch?: string; Key: string }): void {
  if (input.IfNoneMatch !== undefined && existing) throw S3Errors.preconditionFailed('If-None-Match');
  if (input.IfMatch !== undefined) {
    if (!existing) throw S3Errors.noSuchKey(input.Key);
    if (!etagListed(input.IfMatch, existing.etag)) throw S3Errors.preconditionFailed('If-Match');
  }
}

/**
 * The object version a read (or a tagging call) names, once the caller may use its bucket. A
 * delete marker is "not found" when it is the latest version, and a version no read may name.
 */
export function namedVersion(store: S3Store, ctx: RequestContext, find: FindObject, bucketName: string, key: string, versionId: string | undefined): ObjectRow {
  const bucket = ownedBucket(store, ctx, bucketName);
  checkKey(key);
  const found = find(bucket.name, key, versionId);
  const m = found.marker;
  if (m) {
    if (versionId !== undefined) throw S3DataErrors.deleteMarkerMethod(m.versionId, new Date(m.lastModified), ctx.method ?? 'GET');
    throw S3DataErrors.noSuchKeyMarker(key, m.versionId);
  }
  if (!found.row) throw versionId !== undefined && versionId !== 'null' ? S3DataErrors.noSuchVersion(key, versionId) : S3Errors.noSuchKey(key);
  return found.row;
}
