/**
 * The source of CopyObject and UploadPartCopy: `x-amz-copy-source` names it as
 * `[/]bucket/url-encoded-key[?versionId=id]`; the caller must be allowed to read it, and the
 * `x-amz-copy-source-if-*` conditions must hold (all failures are 412 on a copy, even the ones a
 * GET would answer 304). A version named by ID must exist and not be a delete marker. The bytes
 * are read with BlobStore.read, from a descriptor opened before the copy starts, so a concurrent
 * overwrite of the source cannot tear the copy. An SSE-C source must come with its key.
 */
import { checkReadable } from './archive.js';
import type { RequestContext } from '../service.js';
import { ownedBucket } from './access.js';
import type { Versioning } from './commit.js';
import { S3DataErrors } from './data-errors.js';
import { S3Errors } from './errors.js';
import { failedCondition } from './object-rules.js';
import { readKey, type CustomerKey } from './sse.js';
import type { ObjectRow, S3Store } from './store.js';

export interface CopySourceConditions {
  CopySource: string;
  CopySourceIfMatch?: string;
  CopySourceIfNoneMatch?: string;
  CopySourceIfModifiedSince?: Date | string;
  CopySourceIfUnmodifiedSince?: Date | string;
  CopySourceSSECustomerAlgorithm?: string;
  CopySourceSSECustomerKey?: Buffer;
  CopySourceSSECustomerKeyMD5?: string;
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

/** Finds a source version (versioning supplies its own lookup). */
export type SourceLookup = (bucket: string, key: string, versionId: string | undefined) => (ObjectRow & { versionId?: string }) | undefined;

/** Copy sources by version: a delete marker named by ID is InvalidRequest, as on AWS. */
export function sourceLookup(v: Versioning): SourceLookup {
  return (bucket, key, versionId) => {
    const found = v.find(bucket, key, versionId);
    if (found.marker && versionId !== undefined) {
      throw S3DataErrors.invalidRequest('The source of a copy request may not specifically refer to a delete marker by version id.');
    }
    if (!found.row && versionId !== undefined && versionId !== 'null') throw S3DataErrors.noSuchVersion(key, versionId);
    return found.row ? { ...found.row, versionId: v.versionIdOf(found.row) } : undefined;
  };
}

/** The object a copy reads, after access and x-amz-copy-source-if-* checks (all 412 on a copy). */
export function copySource(
  store: S3Store,
  ctx: RequestContext,
  c: CopySourceConditions,
  lookup: SourceLookup,
): { source: ObjectRow & { versionId?: string }; parsed: ParsedSource; sourceKey?: CustomerKey } {
  const parsed = parseCopySource(c.CopySource);
  const bucket = ownedBucket(store, ctx, parsed.bucket);
  const source = lookup(bucket.name, parsed.key, parsed.versionId);
  if (!source) throw S3Errors.noSuchKey(parsed.key);
  const failed = failedCondition(source, {
    IfMatch: c.CopySourceIfMatch,
    IfNoneMatch: c.CopySourceIfNoneMatch,
    IfModifiedSince: c.CopySourceIfModifiedSince,
    IfUnmodifiedSince: c.CopySourceIfUnmodifiedSince,
  });
  if (failed) throw S3Errors.preconditionFailed(`x-amz-copy-source-${failed}`);
  checkReadable(source, ctx.now());
  // An SSE-C source is read with its key, given in the x-amz-copy-source-server-side-encryption-customer-* headers.
  const sourceKey = readKey(
    source.attrs.Encryption,
    { SSECustomerAlgorithm: c.CopySourceSSECustomerAlgorithm, SSECustomerKey: c.CopySourceSSECustomerKey, SSECustomerKeyMD5: c.CopySourceSSECustomerKeyMD5 },
    'x-amz-copy-source-server-side-encryption-customer',
  );
  return { source, parsed, sourceKey };
}
