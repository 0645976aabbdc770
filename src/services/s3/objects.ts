/**
 * PutObject, GetObject, HeadObject, DeleteObject. A PUT streams the body into a temporary blob
 * while computing its MD5 (the ETag) and any checksum the client asked for, checks them, makes
 * the blob durable and only then commits the row, so a failed or killed upload leaves nothing.
 */
import { createHash } from 'node:crypto';
import { createReadStream, closeSync } from 'node:fs';
import { Readable } from 'node:stream';
import type { S3Operations } from '../../models/generated/s3.js';
import { incompleteBody } from '../../protocol/aws-chunked.js';
import { isAwsError } from '../../protocol/errors.js';
import { type RequestContext, type OpHandler } from '../service.js';
import { ownedBucket } from './access.js';
import { BlobTooLarge, type BlobStore } from './blobs.js';
import { checksumRequest, claimedChecksum, newDigest, type ChecksumAlgorithm, type ChecksumFields, type Digest } from './checksums.js';
import { S3Errors } from './errors.js';
import type { ObjectRow, S3Store } from './store.js';

type Op<K extends keyof S3Operations> = OpHandler<S3Operations, K>;

export const MAX_KEY_BYTES = 1024;
export const MAX_METADATA_BYTES = 2048;
/** The largest object a single PUT may carry (bigger ones need multipart upload). */
export const MAX_PUT_BYTES = 5 * 1024 ** 3;

function checkKey(key: string): void {
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) throw S3Errors.keyTooLong();
}

/** Buckets are unversioned, so the only version an object has is "null"; kumo issues no other. */
function checkVersion(versionId: string | undefined): void {
  if (versionId !== undefined && versionId !== 'null') throw S3Errors.invalidArgument('Invalid version id specified', 'versionId', versionId);
}

function refuseUnsupported(input: S3Operations['PutObject']['input']): void {
  // x-amz-acl and x-amz-grant-* are checked and recorded by ./authorize.ts around this handler.
  if (input.Tagging) throw S3Errors.notImplementedHeader('x-amz-tagging');
  if (input.SSECustomerKey || input.SSECustomerAlgorithm) throw S3Errors.notImplementedHeader('x-amz-server-side-encryption-customer-algorithm');
  if (input.SSEKMSKeyId || (input.ServerSideEncryption && input.ServerSideEncryption !== 'AES256')) {
    throw S3Errors.notImplementedHeader('x-amz-server-side-encryption');
  }
  if (input.ObjectLockMode || input.ObjectLockRetainUntilDate || input.ObjectLockLegalHoldStatus) throw S3Errors.notImplementedHeader('x-amz-object-lock-mode');
  if (input.WebsiteRedirectLocation) throw S3Errors.notImplementedHeader('x-amz-website-redirect-location');
}

function contentMd5(value: string | undefined): Buffer | undefined {
  if (value === undefined) return undefined;
  const raw = Buffer.from(value, 'base64');
  if (raw.length !== 16 || raw.toString('base64') !== value.trim()) throw S3Errors.invalidDigest();
  return raw;
}

function metadataSize(meta: Record<string, string> | undefined): number {
  return Object.entries(meta ?? {}).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v), 0);
}

export function objectHandlers(store: S3Store, blobs: BlobStore) {
  const PutObject: Op<'PutObject'> = async (ctx, input) => {
    const bucket = ownedBucket(store, ctx, input.Bucket);
    checkKey(input.Key);
    refuseUnsupported(input);
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
    const md5 = createHash('md5');
    const digest: Digest | undefined = wanted ? newDigest(wanted.algorithm) : undefined;
    const body = input.Body ?? Readable.from([]);
    const pending = await blobs
      .writeTemp(
        body,
        (chunk) => {
          md5.update(chunk);
          digest?.update(chunk);
        },
        MAX_PUT_BYTES,
      )
      .catch((e: unknown) => {
        if (e instanceof BlobTooLarge) throw S3Errors.entityTooLarge(e.size, MAX_PUT_BYTES);
        throw clientGone(e) ? incompleteBody() : e;
      });
    let promoted = false;
    try {
      const md5Raw = md5.digest();
      if (md5Expected && !md5Raw.equals(md5Expected)) throw S3Errors.badDigest();
      let checksum: ObjectRow['attrs']['Checksum'];
      if (wanted && digest) {
        const actual = digest.base64();
        if (claimedChecksum(wanted, ctx.trailers) !== actual) throw S3Errors.badChecksum(wanted.algorithm);
        checksum = { algorithm: wanted.algorithm, value: actual };
      }
      const row: ObjectRow = {
        bucket: bucket.name,
        key: input.Key,
        blob: pending.id,
        size: pending.size,
        etag: `"${md5Raw.toString('hex')}"`,
        lastModified: new Date(Math.floor(ctx.now().getTime() / 1000) * 1000).toISOString(),
        attrs: {
          ContentType: input.ContentType,
          ContentEncoding: stripAwsChunked(input.ContentEncoding),
          ContentLanguage: input.ContentLanguage,
          ContentDisposition: input.ContentDisposition,
          CacheControl: input.CacheControl,
          Expires: input.Expires ? new Date(input.Expires).toUTCString() : undefined,
          Metadata: input.Metadata,
          StorageClass: input.StorageClass,
          Checksum: checksum,
        },
      };
      blobs.promote(pending);
      promoted = true;
      const previous = store.transaction(() => {
        const old = store.object(bucket.name, input.Key);
        writeConditions(old, input);
        store.putObject(row);
        return old;
      });
      if (previous && previous.blob !== row.blob) blobs.remove(previous.blob);
      const out: S3Operations['PutObject']['output'] & ChecksumFields = { ETag: row.etag };
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
    checkVersion(input.VersionId);
    const obj = readable(store, ctx, input.Bucket, input.Key, input);
    if (input.PartNumber !== undefined) throw S3Errors.notImplementedHeader('partNumber');
    const range = parseRange(input.Range, obj.size);
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
      ...responseOverrides(input),
    };
  };

  const HeadObject: Op<'HeadObject'> = (ctx, input) => {
    checkVersion(input.VersionId);
    const obj = readable(store, ctx, input.Bucket, input.Key, input);
    if (input.PartNumber !== undefined) throw S3Errors.notImplementedHeader('partNumber');
    return { ...headers(obj, input.ChecksumMode === 'ENABLED'), ContentLength: obj.size };
  };

  const DeleteObject: Op<'DeleteObject'> = (ctx, input) => {
    const bucket = ownedBucket(store, ctx, input.Bucket);
    checkKey(input.Key);
    checkVersion(input.VersionId);
    const old = store.transaction(() => {
      const o = store.object(bucket.name, input.Key);
      if (o) store.deleteObject(bucket.name, input.Key);
      return o;
    });
    if (old) blobs.remove(old.blob);
    return {};
  };

  return { PutObject, GetObject, HeadObject, DeleteObject };
}

/** PUT's conditional headers: If-None-Match: * (create only) and If-Match: <etag> (replace only that). */
function writeConditions(existing: ObjectRow | undefined, input: S3Operations['PutObject']['input']): void {
  if (input.IfNoneMatch !== undefined && existing) throw S3Errors.preconditionFailed('If-None-Match');
  if (input.IfMatch !== undefined) {
    if (!existing) throw S3Errors.noSuchKey(input.Key);
    const tags = input.IfMatch.split(',').map((t) => t.trim());
    if (!tags.some((t) => t === '*' || t === existing.etag || `"${t}"` === existing.etag)) throw S3Errors.preconditionFailed('If-Match');
  }
}

/** The client closed the connection mid-body: its fault, not an internal error. */
function clientGone(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return !isAwsError(e) && (code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE');
}

function stripAwsChunked(encoding: string | undefined): string | undefined {
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
function readable(store: S3Store, ctx: RequestContext, bucketName: string, key: string, c: Conditions): ObjectRow {
  const bucket = ownedBucket(store, ctx, bucketName);
  checkKey(key);
  const obj = store.object(bucket.name, key);
  if (!obj) throw S3Errors.noSuchKey(key);
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
    out.ChecksumType = 'FULL_OBJECT';
  }
  return out;
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
