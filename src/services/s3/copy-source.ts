/**
 * The source of CopyObject and UploadPartCopy: `x-amz-copy-source` names it as
 * `[/]bucket/url-encoded-key[?versionId=id]`; the caller must be allowed to read it, and the
 * `x-amz-copy-source-if-*` conditions must hold (all failures are 412 on a copy, even the ones a
 * GET would answer 304). The bytes are read from an open descriptor, so a concurrent overwrite of
 * the source cannot tear the copy.
 */
import { createReadStream, closeSync } from 'node:fs';
import { Readable } from 'node:stream';
import type { RequestContext } from '../service.js';
import { ownedBucket } from './access.js';
import type { BlobStore } from './blobs.js';
import { S3Errors } from './errors.js';
import type { ObjectRow, S3Store } from './store.js';

export interface CopySourceConditions {
  CopySource: string;
  CopySourceIfMatch?: string;
  CopySourceIfNoneMatch?: string;
  CopySourceIfModifiedSince?: Date | string;
  CopySourceIfUnmodifiedSince?: Date | string;
  CopySourceSSECustomerAlgorithm?: string;
  CopySourceSSECustomerKey?: Buffer;
}

export interface ParsedSource {
  bucket: string;
  key: string;
  versionId?: string;
}

export function parseCopySource(raw: string): ParsedSource {
  let s = raw;
  let versionId: string | undefined;
  const q = s.indexOf('?');
  if (q >= 0) {
    const params = new URLSearchParams(s.slice(q + 1));
    versionId = params.get('versionId') ?? undefined;
    s = s.slice(0, q);
  }
  let decoded: string;
  try {
    decoded = decodeURIComponent(s);
  } catch {
    throw S3Errors.invalidArgument('Invalid copy source encoding', 'x-amz-copy-source', raw);
  }
  if (decoded.startsWith('/')) decoded = decoded.slice(1);
  const slash = decoded.indexOf('/');
  if (slash <= 0 || slash === decoded.length - 1) {
    throw S3Errors.invalidArgument('Invalid copy source object key', 'x-amz-copy-source', raw);
  }
  return { bucket: decoded.slice(0, slash), key: decoded.slice(slash + 1), versionId };
}

/** The object a copy reads, after access and x-amz-copy-source-if-* checks. */
export function copySource(
  store: S3Store,
  ctx: RequestContext,
  c: CopySourceConditions,
  lookup: (bucket: string, key: string, versionId: string | undefined) => (ObjectRow & { versionId?: string }) | undefined,
): { source: ObjectRow & { versionId?: string }; parsed: ParsedSource } {
  if (c.CopySourceSSECustomerAlgorithm || c.CopySourceSSECustomerKey) {
    throw S3Errors.notImplementedHeader('x-amz-copy-source-server-side-encryption-customer-algorithm');
  }
  const parsed = parseCopySource(c.CopySource);
  const bucket = ownedBucket(store, ctx, parsed.bucket);
  const source = lookup(bucket.name, parsed.key, parsed.versionId);
  if (!source) throw S3Errors.noSuchKey(parsed.key);
  const modified = new Date(source.lastModified).getTime();
  const matches = (list: string) => list.split(',').some((t) => t.trim() === '*' || t.trim() === source.etag || `"${t.trim()}"` === source.etag);
  const ifMatchHeld = c.CopySourceIfMatch !== undefined && matches(c.CopySourceIfMatch);
  if (c.CopySourceIfMatch !== undefined && !ifMatchHeld) throw S3Errors.preconditionFailed('x-amz-copy-source-If-Match');
  if (c.CopySourceIfUnmodifiedSince !== undefined && !ifMatchHeld && modified > new Date(c.CopySourceIfUnmodifiedSince).getTime()) {
    throw S3Errors.preconditionFailed('x-amz-copy-source-If-Unmodified-Since');
  }
  const noneMatchHeld = c.CopySourceIfNoneMatch !== undefined && !matches(c.CopySourceIfNoneMatch);
  if (c.CopySourceIfNoneMatch !== undefined && !noneMatchHeld) throw S3Errors.preconditionFailed('x-amz-copy-source-If-None-Match');
  if (c.CopySourceIfModifiedSince !== undefined && !noneMatchHeld && modified <= new Date(c.CopySourceIfModifiedSince).getTime()) {
    throw S3Errors.preconditionFailed('x-amz-copy-source-If-Modified-Since');
  }
  return { source, parsed };
}

/** Bytes [start, end] of the source, streamed from a descriptor opened now. */
export function sourceStream(blobs: BlobStore, source: ObjectRow, start = 0, end = source.size - 1): Readable {
  const fd = blobs.open(source.blob);
  if (source.size === 0 || end < start) {
    closeSync(fd);
    return Readable.from([]);
  }
  return createReadStream('', { fd, start, end, highWaterMark: 1024 * 1024 });
}
