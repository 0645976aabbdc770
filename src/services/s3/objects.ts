/**
 * PutObject, GetObject, HeadObject, DeleteObject. A PUT streams the body into a temporary blob
 * while computing its MD5 (the ETag) and any checksum the client asked for, checks them, makes
 * the blob durable and only then commits the row (./ingest.ts), so a failed or killed upload
 * leaves nothing. A GET or HEAD answers a whole object, a byte range, or one part of a multipart
 * object (?partNumber=). The rules shared with the other object operations (limits, refused
 * headers, conditional requests, which version a read names) are in ./object-rules.ts.
 */
import type { S3Operations } from '../../models/generated/s3.js';
import { type RequestContext, type OpHandler } from '../service.js';
import { ownedBucket } from './access.js';
import type { BlobStore } from './blobs.js';
import { checksumRequest, type ChecksumFields } from './checksums.js';
import type { FindObject, Versioning } from './commit.js';
import { S3DataErrors } from './data-errors.js';
import { contentMd5, keep, receive } from './ingest.js';
import {
  checkContentLength,
  checkKey,
  checkMetadata,
  checkPartNumber,
  checkReadConditions,
  checksumFields,
  checkStorageClass,
  checkWriteIfNoneMatch,
  contentAttributes,
  DEFAULT_CHECKSUM,
  MAX_PUT_BYTES,
  namedVersion,
  parseTaggingHeader,
  checkRedirectLocation,
  wholeSeconds,
  writeConditions,
  type Conditions,
} from './object-rules.js';
import { S3Errors } from './errors.js';
import { checkReadable, restoreHeader } from './archive.js';
import { checkLockedPutIntegrity, type ObjectLocks } from './object-lock.js';
import { lockFields } from './object-lock-rules.js';
import { seal, plainBody } from './sse-c.js';
import { encryptionFields, readKey, SseErrors, writeEncryption, type BucketEncryption } from './sse.js';
import type { ObjectRow, S3Store } from './store.js';

type Op<K extends keyof S3Operations> = OpHandler<S3Operations, K>;

export function objectHandlers(store: S3Store, blobs: BlobStore, v: Versioning, encryptionOf: (bucket: string) => BucketEncryption, locks: ObjectLocks) {
  const PutObject: Op<'PutObject'> = async (ctx, input) => {
    const bucket = ownedBucket(store, ctx, input.Bucket);
    checkKey(input.Key);
    checkRedirectLocation(input.WebsiteRedirectLocation);
    checkStorageClass(input.StorageClass);
    const tags = parseTaggingHeader(input.Tagging);
    checkMetadata(input.Metadata);
    checkContentLength(ctx, input.ContentLength, MAX_PUT_BYTES);
    const md5Expected = contentMd5(input.ContentMD5);
    const wanted = checksumRequest(input as ChecksumFields, input.ChecksumAlgorithm, input.Trailer, input.ContentMD5);
    // Fail fast before taking the body; checked again atomically when the row is written.
    checkWriteIfNoneMatch(input.IfNoneMatch);
    checkLockedPutIntegrity(ctx, input);
    const lock = locks.forWrite(bucket.name, input, ctx.now());
    const { encryption, key } = writeEncryption(input, encryptionOf(bucket.name), ctx);
    // Looked up only for a conditional write: most writes have no conditions.
    if (input.IfNoneMatch !== undefined || input.IfMatch !== undefined) writeConditions(store.object(bucket.name, input.Key), input);
    const sealing = seal(encryption, key);
    // Like AWS, an object sent without a checksum gets a CRC64NVME one (cheaper than the MD5 kumo
    // computes anyway for the ETag; see bench/s3.ts).
    const got = await receive(blobs, input.Body, {
      wanted,
      fallback: DEFAULT_CHECKSUM,
      md5Expected,
      maxBytes: MAX_PUT_BYTES,
      trailers: ctx.trailers,
      cipher: sealing.cipher,
    });
    const { pending, checksum } = got;
    const row: ObjectRow = {
      bucket: bucket.name,
      key: input.Key,
      blob: pending.id,
      size: pending.size,
      etag: sealing.etag(got.md5),
      lastModified: wholeSeconds(ctx.now()),
      attrs: { ...contentAttributes(input), Checksum: checksum, Tags: tags, Encryption: sealing.encryption, Lock: lock },
    };
    const done = await keep(blobs, pending, () => store.transaction(() => v.commit(row, (old) => writeConditions(old, input))));
    return { ETag: row.etag, VersionId: done.versionId, ...checksumFields(checksum, 'FULL_OBJECT'), ...encryptionFields(sealing.encryption, true) };
  };

  const GetObject: Op<'GetObject'> = (ctx, input) => {
    const obj = readable(store, ctx, input.Bucket, input.Key, input.VersionId, input, v.find);
    checkReadable(obj, ctx.now());
    const key = readKey(obj.attrs.Encryption, input);
    const chosen = selection(obj, input.PartNumber, input.Range);
    return {
      ...describe(obj, input.ChecksumMode === 'ENABLED' && !chosen.ranged, chosen, v.versionIdOf(obj), ctx.now()),
      Body: plainBody(blobs, obj, key, chosen.start, chosen.end),
      ...responseOverrides(input),
    };
  };

  // A HEAD answers what the same GET would, without the body: a Range or a part is 206 with
  // its Content-Range, as on S3.
  const HeadObject: Op<'HeadObject'> = (ctx, input) => {
    const obj = readable(store, ctx, input.Bucket, input.Key, input.VersionId, input, v.find);
    readKey(obj.attrs.Encryption, input);
    const chosen = selection(obj, input.PartNumber, input.Range);
    return describe(obj, input.ChecksumMode === 'ENABLED' && !chosen.ranged, chosen, v.versionIdOf(obj), ctx.now());
  };

  const DeleteObject: Op<'DeleteObject'> = async (ctx, input) => {
    const bucket = ownedBucket(store, ctx, input.Bucket);
    checkKey(input.Key);
    const conditional = input as { IfMatch?: string; IfMatchLastModifiedTime?: string; IfMatchSize?: string };
    if (conditional.IfMatch !== undefined || conditional.IfMatchLastModifiedTime !== undefined || conditional.IfMatchSize !== undefined) {
      throw S3Errors.notImplementedHeader('If-Match');
    }
    if (input.MFA !== undefined) throw S3Errors.notImplementedHeader('x-amz-mfa');
    const r = store.transaction(() => v.remove(bucket.name, input.Key, input.VersionId, ctx.now(), input.BypassGovernanceRetention === true));
    await blobs.release(r.freed);
    return { VersionId: r.versionId, DeleteMarker: r.deleteMarker };
  };

  return { PutObject, GetObject, HeadObject, DeleteObject };
}

/** The object, after access and conditional-request checks. */
function readable(store: S3Store, ctx: RequestContext, bucketName: string, key: string, versionId: string | undefined, c: Conditions, find: FindObject): ObjectRow {
  const obj = namedVersion(store, ctx, find, bucketName, key, versionId);
  // S3 serves SSE-KMS objects only to SigV4 requests.
  const kind = obj.attrs.Encryption?.kind;
  if ((kind === 'aws:kms' || kind === 'aws:kms:dsse') && ctx.signatureVersion === 'AWS') throw SseErrors.kmsNeedsSigV4();
  checkReadConditions(obj, c);
  return obj;
}

/**
 * S3 answers a metadata value with non-ASCII characters in RFC 2047's encoded-word form (its UTF-8
 * bytes in base64), as its documentation says; ASCII values go as they are.
 */
function asciiMetadata(meta: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(meta)) out[k] = /[^\x00-\x7f]/.test(v) ? `=?UTF-8?B?${Buffer.from(v, 'utf8').toString('base64')}?=` : v;
  return out;
}

/** The bytes a read answers: the whole object, a Range, or one part (?partNumber=). */
interface Selection {
  start: number;
  end: number;
  ranged: boolean;
  part: boolean;
}

function selection(obj: ObjectRow, partNumber: number | undefined, rangeHeader: string | undefined): Selection {
  const part = partRange(obj, partNumber, rangeHeader);
  const range = part ?? parseRange(rangeHeader, obj.size);
  return { start: range?.start ?? 0, end: range?.end ?? obj.size - 1, ranged: range !== undefined, part: part !== undefined };
}

/** The headers of a GET or HEAD: the object's, and the size and status of the bytes chosen. */
function describe(obj: ObjectRow, withChecksum: boolean, chosen: Selection, versionId: string | undefined, now: Date) {
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
    Metadata: a.Metadata && asciiMetadata(a.Metadata),
    AcceptRanges: 'bytes',
    // Every object on AWS is encrypted at rest (SSE-S3 unless another kind) and says so.
    ...encryptionFields(a.Encryption),
    StorageClass: a.StorageClass && a.StorageClass !== 'STANDARD' ? a.StorageClass : undefined,
    VersionId: versionId,
    TagCount: a.Tags?.length || undefined,
    WebsiteRedirectLocation: a.WebsiteRedirectLocation,
    Restore: restoreHeader(obj, now),
    ...lockFields(a.Lock),
    ContentLength: chosen.ranged ? chosen.end - chosen.start + 1 : obj.size,
    ContentRange: chosen.ranged ? `bytes ${chosen.start}-${chosen.end}/${obj.size}` : undefined,
    PartsCount: chosen.part ? (a.Parts?.length ?? 1) : undefined,
    StatusCode: chosen.ranged ? 206 : 200,
  };
  return withChecksum ? { ...out, ...checksumFields(a.Checksum, a.ChecksumType ?? 'FULL_OBJECT') } : out;
}

/**
 * The byte range of `?partNumber=n`: a part of a multipart object (by its recorded part sizes), or
 * part 1 = the whole of any other object. AWS refuses partNumber together with Range.
 */
function partRange(obj: ObjectRow, partNumber: number | undefined, range: string | undefined): { start: number; end: number } | undefined {
  if (partNumber === undefined) return undefined;
  if (range !== undefined) throw S3DataErrors.invalidRequest('Cannot specify both Range header and partNumber query parameter');
  checkPartNumber(partNumber);
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
