/**
 * CopyObject. The source's bytes are streamed into a new blob (so the copy's ETag is the MD5 of
 * its bytes even when the source was multipart, as on AWS for copies up to 5 GiB), then committed
 * like a PUT. Metadata comes from the source (MetadataDirective COPY, the default) or from the
 * request (REPLACE), and so do tags (TaggingDirective); the copy's encryption comes from the
 * request or the bucket's default, whatever the source's (any kind to any kind, SSE-C with the
 * source's and the copy's keys). Copying an object onto itself must change something, as AWS
 * requires.
 */
import type { S3Operations } from '../../models/generated/s3.js';
import { type OpHandler } from '../service.js';
import { ownedBucket } from './access.js';
import type { BlobStore } from './blobs.js';
import { CHECKSUM_ALGORITHMS, type ChecksumAlgorithm } from './checksums.js';
import type { Versioning } from './commit.js';
import { copySource, sourceLookup } from './copy-source.js';
import { S3DataErrors } from './data-errors.js';
import { S3Errors } from './errors.js';
import { keep, receive } from './ingest.js';
import {
  checkKey,
  checkMetadata,
  checksumFields,
  checkStorageClass,
  contentAttributes,
  DEFAULT_CHECKSUM,
  MAX_PUT_BYTES,
  parseTaggingHeader,
  checkRedirectLocation,
  wholeSeconds,
} from './object-rules.js';
import { plainBytes, seal } from './sse-c.js';
import { encryptionFields, writeEncryption, type BucketEncryption } from './sse.js';
import type { ObjectLocks } from './object-lock.js';
import type { ObjectAttributes, ObjectRow, S3Store } from './store.js';

type Op<K extends keyof S3Operations> = OpHandler<S3Operations, K>;

const DIRECTIVES = ['COPY', 'REPLACE'];

/** The content headers and metadata a COPY directive takes from the source. */
function copiedContent(a: ObjectAttributes): ObjectAttributes {
  const { ContentType, ContentEncoding, ContentLanguage, ContentDisposition, CacheControl, Expires, Metadata } = a;
  return { ContentType, ContentEncoding, ContentLanguage, ContentDisposition, CacheControl, Expires, Metadata };
}

export function copyHandlers(store: S3Store, blobs: BlobStore, v: Versioning, encryptionOf: (bucket: string) => BucketEncryption, locks: ObjectLocks) {
  const lookup = sourceLookup(v);
  const CopyObject: Op<'CopyObject'> = async (ctx, input) => {
    const bucket = ownedBucket(store, ctx, input.Bucket);
    checkKey(input.Key);
    checkRedirectLocation(input.WebsiteRedirectLocation);
    checkStorageClass(input.StorageClass);
    const directive = input.MetadataDirective ?? 'COPY';
    if (!DIRECTIVES.includes(directive)) throw S3Errors.invalidArgument('Unknown metadata directive.', 'x-amz-metadata-directive', directive);
    if (input.TaggingDirective !== undefined && !DIRECTIVES.includes(input.TaggingDirective)) {
      throw S3Errors.invalidArgument('Unknown tagging directive.', 'x-amz-tagging-directive', input.TaggingDirective);
    }
    const tags = input.TaggingDirective === 'REPLACE' ? parseTaggingHeader(input.Tagging ?? '') : undefined;
    if (directive === 'REPLACE') checkMetadata(input.Metadata);
    let algorithm: ChecksumAlgorithm | undefined;
    if (input.ChecksumAlgorithm !== undefined) {
      const upper = input.ChecksumAlgorithm.toUpperCase();
      if (!(CHECKSUM_ALGORITHMS as string[]).includes(upper)) throw S3Errors.notImplementedHeader('x-amz-checksum-algorithm');
      algorithm = upper as ChecksumAlgorithm;
    }
    // The copy is encrypted as its request (or its bucket's default) says, not as its source was.
    // The copy is a new version: locked as the request or the bucket's default says, never as its source.
    const lock = locks.forWrite(bucket.name, input, ctx.now());
    const { encryption, key } = writeEncryption(input, encryptionOf(bucket.name), ctx);
    const { source, parsed, sourceKey } = copySource(store, ctx, input, lookup);
    const changesEncryption = input.ServerSideEncryption !== undefined || input.SSECustomerAlgorithm !== undefined || input.SSEKMSKeyId !== undefined;
    if (
      parsed.bucket === bucket.name &&
      parsed.key === input.Key &&
      parsed.versionId === undefined &&
      directive === 'COPY' &&
      input.StorageClass === undefined &&
      algorithm === undefined &&
      !changesEncryption
    ) {
      throw S3DataErrors.invalidRequest(
        "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
      );
    }
    if (source.size > MAX_PUT_BYTES) {
      throw S3DataErrors.invalidRequest(`The specified copy source is larger than the maximum allowable size for a copy source: ${MAX_PUT_BYTES}`);
    }
    const sourceAlgorithm = source.attrs.Checksum?.algorithm as ChecksumAlgorithm | undefined;
    const sealing = seal(encryption, key);
    const got = await receive(blobs, plainBytes(blobs, source, sourceKey, 0, source.size - 1), {
      fallback: algorithm ?? sourceAlgorithm ?? DEFAULT_CHECKSUM,
      maxBytes: MAX_PUT_BYTES,
      cipher: sealing.cipher,
    });
    const row: ObjectRow = {
      bucket: bucket.name,
      key: input.Key,
      blob: got.pending.id,
      size: got.pending.size,
      etag: sealing.etag(got.md5),
      lastModified: wholeSeconds(ctx.now()),
      attrs: {
        ...(directive === 'REPLACE' ? contentAttributes(input) : copiedContent(source.attrs)),
        StorageClass: input.StorageClass,
        Checksum: got.checksum,
        Tags: input.TaggingDirective === 'REPLACE' ? (tags?.length ? tags : undefined) : source.attrs.Tags,
        Encryption: sealing.encryption,
        Lock: lock,
        // Never copied from the source, whatever the directive (S3's rule).
        WebsiteRedirectLocation: input.WebsiteRedirectLocation,
      },
    };
    const done = await keep(blobs, got.pending, () => store.transaction(() => v.commit(row, () => undefined)));
    return {
      CopyObjectResult: { ETag: row.etag, LastModified: row.lastModified, ...checksumFields(got.checksum, 'FULL_OBJECT') },
      CopySourceVersionId: source.versionId,
      VersionId: done.versionId,
      ...encryptionFields(sealing.encryption, true),
    };
  };

  return { CopyObject };
}
