/**
 * PutObject, GetObject, HeadObject, DeleteObject. A PUT streams the body into a temporary blob
 * while computing its MD5 (the ETag) and any checksum the client asked for, checks them, makes
 * the blob durable and only then commits the row, so a failed or killed upload leaves nothing.
 */
import { createReadStream, closeSync } from 'node:fs';
import { Readable } from 'node:stream';
import type { S3Operations } from '../../models/generated/s3.js';
import { type RequestContext, type OpHandler } from '../service.js';
import { ownedBucket } from './access.js';
import type { BlobStore } from './blobs.js';
import { checksumRequest, type ChecksumAlgorithm, type ChecksumFields } from './checksums.js';
import type { FindObject, Versioning } from './commit.js';
import { S3DataErrors } from './data-errors.js';
import { contentMd5, receive } from './ingest.js';
import { checkStorageClass } from './storage-class.js';
import { parseTaggingHeader } from './tagging.js';
import { S3Errors } from './errors.js';
import type { ObjectRow, S3Store } from './store.js';

type Op<K extends keyof S3Operations> = OpHandler<S3Operations, K>;

export const MAX_KEY_BYTES = 1024;
/** What AWS stores for objects uploaded without a checksum. */
export const DEFAULT_CHECKSUM = 'CRC64NVME' as const;
export const MAX_METADATA_BYTES = 2048;
/** The largest object a single PUT may carry (bigger ones need multipart upload). */
export const MAX_PUT_BYTES = 5 * 1024 ** 3;

export function checkKey(key: string): void {
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) throw S3Errors.keyTooLong();
}

/** The PUT-like headers kumo does not support (PutObject, CreateMultipartUpload, CopyObject). */
export type Unsupported = Pick<
  S3Operations['PutObject']['input'],
  | 'ACL'
  | 'GrantRead'
  | 'GrantFullControl'
  | 'GrantReadACP'
  | 'GrantWriteACP'
  | 'Tagging'
  | 'SSECustomerKey'
  | 'SSECustomerAlgorithm'
  | 'SSEKMSKeyId'
  | 'ServerSideEncryption'
  | 'ObjectLockMode'
  | 'ObjectLockRetainUntilDate'
  | 'ObjectLockLegalHoldStatus'
  | 'WebsiteRedirectLocation'
>;

export function refuseUnsupported(input: Unsupported): void {
  // x-amz-acl and x-amz-grant-* are checked and recorded by ./authorize.ts around the handlers.
  if (input.SSECustomerKey || input.SSECustomerAlgorithm) throw S3Errors.notImplementedHeader('x-amz-server-side-encryption-customer-algorithm');
  if (input.SSEKMSKeyId || (input.ServerSideEncryption && input.ServerSideEncryption !== 'AES256')) {
    throw S3Errors.notImplementedHeader('x-amz-server-side-encryption');
  }
  if (input.ObjectLockMode || input.ObjectLockRetainUntilDate || input.ObjectLockLegalHoldStatus) throw S3Errors.notImplementedHeader('x-amz-object-lock-mode');
  if (input.WebsiteRedirectLocation) throw S3Errors.notImplementedHeader('x-amz-website-redirect-location');
}

export function metadataSize(meta: Record<string, string> | undefined): number {
  return Object.entries(meta ?? {}).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v), 0);
}

export function objectHandlers(store: S3Store, blobs: BlobStore, v: Versioning) {
  const PutObject: Op<'PutObject'> = async (ctx, input) => {
    const bucket = ownedBucket(store, ctx, input.Bucket);
    checkKey(input.Key);
    refuseUnsupported(input);
    checkStorageClass(input.StorageClass);
    const tags = parseTaggingHeader(input.Tagging);
    if (metadataSize(input.Metadata) > MAX_METADATA_BYTES) throw S3Errors.metadataTooLarge();
    // An aws-chunked body (ctx.trailers set) declares its length in x-amz-decoded-content-length,
    // and its Content-Length counts the framing; the stream itself is bounded below.
    const chunked = ctx.trailers !== undefined;
    if (!chunked && input.ContentLength === undefined) throw S3Errors.missingContentLength();
    if (!chunked && input.ContentLength! > MAX_PUT_BYTES) throw S3Errors.entityTooLarge(input.ContentLength!, MAX_PUT_BYTES);
    const md5Expected = contentMd5(input.ContentMD5);
    const wanted = checksumRequest(input as ChecksumFields, input.ChecksumAlgorithm, input.Trailer, input.ContentMD5);
    // Fail fast before taking the body; checked again atomically when the row is written.
    if (input.IfNoneMatch !== undefined && input.IfNoneMatch !== '*') throw S3Errors.notImplementedHeader('If-None-Match');
    writeConditions(store.object(bucket.name, input.Key), input);
    // Like AWS, an object sent without a checksum gets a CRC64NVME one (cheaper than the MD5 kumo
    // computes anyway for the ETag; see bench/s3.ts).
    const got = await receive(blobs, input.Body, { wanted, fallback: DEFAULT_CHECKSUM, md5Expected, maxBytes: MAX_PUT_BYTES, trailers: ctx.trailers });
    const { pending, checksum } = got;
    let promoted = false;
    try {
      const row: ObjectRow = {
        bucket: bucket.name,
        key: input.Key,
        blob: pending.id,
        size: pending.size,
        etag: `"${got.md5.toString('hex')}"`,
        lastModified: new Date(Math.floor(ctx.now().getTime() / 1000) * 1000).toISOString(),
        attrs: {
          ...contentAttributes(input),
          Checksum: checksum,
          Tags: tags,
        },
      };
      await blobs.promote(pending);
      promoted = true;
      const done = store.transaction(() => v.commit(row, (old) => writeConditions(old, input)));
      for (const b of done.freed) blobs.remove(b);
      const out: S3Operations['PutObject']['output'] & ChecksumFields = { ETag: row.etag, VersionId: done.versionId };
      if (checksum) {
        out[`Checksum${checksum.algorithm as ChecksumAlgorithm}`] = checksum.value;
        out.ChecksumType = 'FULL_OBJECT';
      }
      out.ServerSideEncryption = 'AES256';
      return out;
    } catch (e) {
      if (promoted) blobs.remove(pending.id);
      else blobs.discard(pending);
      throw e;
    }
  };

  const GetObject: Op<'GetObject'> = (ctx, input) => {
    const obj = readable(store, ctx, input.Bucket, input.Key, input.VersionId, input, v.find);
    const part = partRange(obj, input.PartNumber, input.Range);
    const range = part ?? parseRange(input.Range, obj.size);
    const fd = blobs.open(obj.blob);
    const start = range?.start ?? 0;
    const end = range?.end ?? obj.size - 1;
    const body =
      obj.size === 0 || end < start
        ? (closeSync(fd), Readable.from([]))
        : createReadStream('', { fd, start, end, highWaterMark: 1024 * 1024 });
    return {
      ...headers(obj, input.ChecksumMode === 'ENABLED' && !range),
      Body: body,
      ContentLength: range ? end - start + 1 : obj.size,
      ContentRange: range ? `bytes ${start}-${end}/${obj.size}` : undefined,
      StatusCode: range ? 206 : 200,
      PartsCount: part ? (obj.attrs.Parts?.length ?? 1) : undefined,
      VersionId: v.versionIdOf(obj),
      TagCount: obj.attrs.Tags?.length || undefined,
      ...responseOverrides(input),
    };
  };

  const HeadObject: Op<'HeadObject'> = (ctx, input) => {
    const obj = readable(store, ctx, input.Bucket, input.Key, input.VersionId, input, v.find);
    const part = partRange(obj, input.PartNumber, input.Range);
    const VersionId = v.versionIdOf(obj);
    if (!part) return { ...headers(obj, input.ChecksumMode === 'ENABLED'), ContentLength: obj.size, VersionId };
    return {
      ...headers(obj, false),
      VersionId,
      ContentLength: part.end - part.start + 1,
      ContentRange: `bytes ${part.start}-${part.end}/${obj.size}`,
      PartsCount: obj.attrs.Parts?.length ?? 1,
      StatusCode: 206,
    };
  };

  const DeleteObject: Op<'DeleteObject'> = (ctx, input) => {
    const bucket = ownedBucket(store, ctx, input.Bucket);
    checkKey(input.Key);
    const conditional = input as { IfMatch?: string; IfMatchLastModifiedTime?: string; IfMatchSize?: string };
    if (conditional.IfMatch !== undefined || conditional.IfMatchLastModifiedTime !== undefined || conditional.IfMatchSize !== undefined) {
      throw S3Errors.notImplementedHeader('If-Match');
    }
    if (input.MFA !== undefined) throw S3Errors.notImplementedHeader('x-amz-mfa');
    const r = store.transaction(() => v.remove(bucket.name, input.Key, input.VersionId, ctx.now()));
    for (const b of r.freed) blobs.remove(b);
    return { VersionId: r.versionId, DeleteMarker: r.deleteMarker };
  };

  return { PutObject, GetObject, HeadObject, DeleteObject };
}

/** PUT's conditional headers: If-None-Match: * (create only) and If-Match: <etag> (replace only that). */
export function writeConditions(existing: ObjectRow | undefined, input: { IfNoneMatch?: string; IfMatch?: string; Key: string }): void {
  if (input.IfNoneMatch !== undefined && existing) throw S3Errors.preconditionFailed('If-None-Match');
  if (input.IfMatch !== undefined) {
    if (!existing) throw S3Errors.noSuchKey(input.Key);
    const tags = input.IfMatch.split(',').map((t) => t.trim());
    if (!tags.some((t) => t === '*' || t === existing.etag || `"${t}"` === existing.etag)) throw S3Errors.preconditionFailed('If-Match');
  }
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
}) {
  return {
    ContentType: input.ContentType,
    ContentEncoding: stripAwsChunked(input.ContentEncoding),
    ContentLanguage: input.ContentLanguage,
    ContentDisposition: input.ContentDisposition,
    CacheControl: input.CacheControl,
    Expires: input.Expires ? new Date(input.Expires).toUTCString() : undefined,
    Metadata: input.Metadata,
    StorageClass: input.StorageClass,
  };
}

export function stripAwsChunked(encoding: string | undefined): string | undefined {
  if (!encoding) return undefined;
  const rest = encoding
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s && s !== 'aws-chunked');
  return rest.length ? rest.join(',') : undefined;
}

interface Conditions {
  IfMatch?: string;
  IfNoneMatch?: string;
  IfModifiedSince?: Date | string;
  IfUnmodifiedSince?: Date | string;
}

/** The object, after access and conditional-request checks (in AWS's order of precedence). */
function readable(store: S3Store, ctx: RequestContext, bucketName: string, key: string, versionId: string | undefined, c: Conditions, find: FindObject): ObjectRow {
  const bucket = ownedBucket(store, ctx, bucketName);
  checkKey(key);
  const found = find(bucket.name, key, versionId);
  // A delete marker is "not found" when it is the latest version, and a version no read may name.
  if (found.marker) {
    const m = found.marker;
    if (versionId !== undefined) throw S3DataErrors.deleteMarkerMethod(m.versionId, new Date(m.lastModified));
    throw S3DataErrors.noSuchKeyMarker(key, m.versionId);
  }
  const obj = found.row;
  if (!obj) throw versionId !== undefined && versionId !== 'null' ? S3DataErrors.noSuchVersion(key, versionId) : S3Errors.noSuchKey(key);
  const modified = new Date(obj.lastModified).getTime();
  const etagMatches = (list: string) => list.split(',').some((t) => t.trim() === '*' || t.trim() === obj.etag || `"${t.trim()}"` === obj.etag);
  const ifMatchHeld = c.IfMatch !== undefined && etagMatches(c.IfMatch);
  if (c.IfMatch !== undefined && !ifMatchHeld) throw S3Errors.preconditionFailed('If-Match');
  if (c.IfUnmodifiedSince !== undefined && !ifMatchHeld && modified > new Date(c.IfUnmodifiedSince).getTime()) {
    throw S3Errors.preconditionFailed('If-Unmodified-Since');
  }
  if (c.IfNoneMatch !== undefined && etagMatches(c.IfNoneMatch)) throw S3Errors.notModified(obj.etag, new Date(modified));
  if (c.IfModifiedSince !== undefined && c.IfNoneMatch === undefined && modified <= new Date(c.IfModifiedSince).getTime()) {
    throw S3Errors.notModified(obj.etag, new Date(modified));
  }
  return obj;
}

function headers(obj: ObjectRow, withChecksum: boolean) {
  const a = obj.attrs;
  const out: Record<string, unknown> = {
    ETag: obj.etag,
    LastModified: new Date(obj.lastModified),
    ContentType: a.ContentType ?? 'binary/octet-stream',
    ContentEncoding: a.ContentEncoding,
    ContentLanguage: a.ContentLanguage,
    ContentDisposition: a.ContentDisposition,
    CacheControl: a.CacheControl,
    ExpiresString: a.Expires,
    Metadata: a.Metadata,
    AcceptRanges: 'bytes',
    // Every object on AWS is encrypted at rest (SSE-S3) and says so.
    ServerSideEncryption: 'AES256',
    StorageClass: a.StorageClass && a.StorageClass !== 'STANDARD' ? a.StorageClass : undefined,
  };
  if (withChecksum && a.Checksum) {
    out[`Checksum${a.Checksum.algorithm}`] = a.Checksum.value;
    out.ChecksumType = a.ChecksumType ?? 'FULL_OBJECT';
  }
  return out;
}

/**
 * The byte range of `?partNumber=n`: a part of a multipart object (by its recorded part sizes), or
 * part 1 = the whole of any other object. AWS refuses partNumber together with Range.
 */
function partRange(obj: ObjectRow, partNumber: number | undefined, range: string | undefined): { start: number; end: number } | undefined {
  if (partNumber === undefined) return undefined;
  if (range !== undefined) throw S3DataErrors.invalidRequest('Cannot specify both Range header and partNumber query parameter');
  if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > 10000) {
    throw S3Errors.invalidArgument('Part number must be an integer between 1 and 10000, inclusive', 'partNumber', String(partNumber));
  }
  const sizes = obj.attrs.Parts ?? [obj.size];
  if (partNumber > sizes.length) throw S3DataErrors.invalidPartNumber(partNumber, sizes.length);
  const start = sizes.slice(0, partNumber - 1).reduce((n, s) => n + s, 0);
  return { start, end: start + sizes[partNumber - 1] - 1 };
}

function responseOverrides(input: S3Operations['GetObject']['input']) {
  const out: Record<string, unknown> = {};
  if (input.ResponseContentType) out.ContentType = input.ResponseContentType;
  if (input.ResponseContentLanguage) out.ContentLanguage = input.ResponseContentLanguage;
  if (input.ResponseContentDisposition) out.ContentDisposition = input.ResponseContentDisposition;
  if (input.ResponseContentEncoding) out.ContentEncoding = input.ResponseContentEncoding;
  if (input.ResponseCacheControl) out.CacheControl = input.ResponseCacheControl;
  if (input.ResponseExpires) out.ExpiresString = new Date(input.ResponseExpires).toUTCString();
  return out;
}

/** `bytes=a-b`, `bytes=a-` or `bytes=-n`; anything else is ignored, as S3 does. */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  let start: number;
  let end: number;
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0) throw S3Errors.invalidRange(size, header);
    start = Math.max(0, size - n);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
    if (m[2] !== '' && Number(m[2]) < start) return undefined;
  }
  if (start >= size) throw S3Errors.invalidRange(size, header);
  return { start, end };
}
