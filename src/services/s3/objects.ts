/**
 * PutObject, GetObject, HeadObject, DeleteObject. A PUT streams the body into a temporary blob
 * while computing its MD5 (the ETag) and any checksum the client asked for, checks them, makes
 * the blob durable and only then commits the row, so a failed or killed upload leaves nothing.
 */
import { createHash } from 'node:crypto';
import { createReadStream, closeSync } from 'node:fs';
import { Readable } from 'node:stream';
import type { S3Operations } from '../../models/generated/s3.js';
import type { RequestContext } from '../service.js';
import { ownedBucket } from './access.js';
import type { BlobStore } from './blobs.js';
import { CHECKSUM_ALGORITHMS, newDigest, type ChecksumAlgorithm, type Digest } from './checksums.js';
import { S3Errors } from './errors.js';
import type { ObjectRow, S3Store } from './store.js';

type Op<K extends keyof S3Operations> = (
  ctx: RequestContext,
  input: S3Operations[K]['input'],
) => S3Operations[K]['output'] | Promise<S3Operations[K]['output']>;

export const MAX_KEY_BYTES = 1024;
export const MAX_METADATA_BYTES = 2048;
export const MAX_OBJECT_BYTES = 5 * 1024 ** 4;

type ChecksumFields = { [K in `Checksum${ChecksumAlgorithm}`]?: string };

function checkKey(key: string): void {
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) throw S3Errors.keyTooLong();
}

function refuseUnsupported(input: S3Operations['PutObject']['input']): void {
  if (input.ACL && input.ACL !== 'private') throw S3Errors.notImplementedHeader('x-amz-acl');
  if (input.GrantRead || input.GrantFullControl || input.GrantReadACP || input.GrantWriteACP) throw S3Errors.notImplementedHeader('x-amz-grant-*');
  if (input.Tagging) throw S3Errors.notImplementedHeader('x-amz-tagging');
  if (input.SSECustomerKey || input.SSECustomerAlgorithm) throw S3Errors.notImplementedHeader('x-amz-server-side-encryption-customer-algorithm');
  if (input.SSEKMSKeyId || (input.ServerSideEncryption && input.ServerSideEncryption !== 'AES256')) {
    throw S3Errors.notImplementedHeader('x-amz-server-side-encryption');
  }
  if (input.ObjectLockMode || input.ObjectLockRetainUntilDate || input.ObjectLockLegalHoldStatus) throw S3Errors.notImplementedHeader('x-amz-object-lock-mode');
  if (input.WebsiteRedirectLocation) throw S3Errors.notImplementedHeader('x-amz-website-redirect-location');
}

/** Which checksum the client wants checked and stored, and the value it sent (if up front). */
function requestedChecksum(input: S3Operations['PutObject']['input'], ctx: RequestContext) {
  const fields = input as ChecksumFields;
  const given = CHECKSUM_ALGORITHMS.filter((a) => fields[`Checksum${a}`] !== undefined);
  if (given.length > 1) throw S3Errors.invalidArgument('Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.');
  const named = input.ChecksumAlgorithm?.toUpperCase();
  if (named && !CHECKSUM_ALGORITHMS.includes(named as ChecksumAlgorithm)) {
    throw S3Errors.invalidArgument('Checksum algorithm provided is unsupported.', 'x-amz-sdk-checksum-algorithm', input.ChecksumAlgorithm);
  }
  const algorithm = (given[0] ?? named) as ChecksumAlgorithm | undefined;
  if (!algorithm) return undefined;
  if (named && given[0] && named !== given[0]) {
    throw S3Errors.invalidArgument(`Value for x-amz-sdk-checksum-algorithm header is invalid.`);
  }
  return { algorithm, value: fields[`Checksum${algorithm}`], trailers: ctx.trailers };
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
    if (input.ContentLength !== undefined && input.ContentLength > MAX_OBJECT_BYTES) throw S3Errors.entityTooLarge();
    const md5Expected = contentMd5(input.ContentMD5);
    const wanted = requestedChecksum(input, ctx);
    const md5 = createHash('md5');
    const digest: Digest | undefined = wanted ? newDigest(wanted.algorithm) : undefined;
    const body = input.Body ?? Readable.from([]);
    const pending = await blobs.writeTemp(body, (chunk) => {
      md5.update(chunk);
      digest?.update(chunk);
    });
    let promoted = false;
    try {
      const md5Raw = md5.digest();
      if (md5Expected && !md5Raw.equals(md5Expected)) throw S3Errors.badDigest();
      let checksum: ObjectRow['attrs']['Checksum'];
      if (wanted && digest) {
        const actual = digest.base64();
        const claimed = wanted.value ?? wanted.trailers?.get(`x-amz-checksum-${wanted.algorithm.toLowerCase()}`);
        if (claimed !== undefined && claimed !== actual) throw S3Errors.badChecksum(wanted.algorithm);
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
        if (input.IfNoneMatch !== undefined && old && (input.IfNoneMatch === '*' || input.IfNoneMatch === old.etag)) {
          throw S3Errors.preconditionFailed('If-None-Match');
        }
        store.putObject(row);
        return old;
      });
      if (previous && previous.blob !== row.blob) blobs.remove(previous.blob);
      const out: S3Operations['PutObject']['output'] & ChecksumFields = { ETag: row.etag };
      if (checksum) out[`Checksum${checksum.algorithm as ChecksumAlgorithm}`] = checksum.value;
      if (input.ServerSideEncryption) out.ServerSideEncryption = input.ServerSideEncryption;
      return out;
    } catch (e) {
      if (promoted) blobs.remove(pending.id);
      else blobs.discard(pending);
      throw e;
    }
  };

  const GetObject: Op<'GetObject'> = (ctx, input) => {
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
    const obj = readable(store, ctx, input.Bucket, input.Key, input);
    if (input.PartNumber !== undefined) throw S3Errors.notImplementedHeader('partNumber');
    return { ...headers(obj, input.ChecksumMode === 'ENABLED'), ContentLength: obj.size };
  };

  const DeleteObject: Op<'DeleteObject'> = (ctx, input) => {
    const bucket = ownedBucket(store, ctx, input.Bucket);
    checkKey(input.Key);
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
  if (c.IfNoneMatch !== undefined && etagMatches(c.IfNoneMatch)) throw S3Errors.notModified();
  if (c.IfModifiedSince !== undefined && c.IfNoneMatch === undefined && modified <= new Date(c.IfModifiedSince).getTime()) {
    throw S3Errors.notModified();
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
