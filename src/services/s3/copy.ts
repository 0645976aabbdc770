/**
 * CopyObject. The source's bytes are streamed into a new blob (so the copy's ETag is the MD5 of
 * its bytes even when the source was multipart, as on AWS for copies up to 5 GiB), then committed
 * like a PUT. Metadata comes from the source (MetadataDirective COPY, the default) or from the
 * request (REPLACE); copying an object onto itself must change something, as AWS requires.
 */
import type { S3Operations } from '../../models/generated/s3.js';
import { type OpHandler } from '../service.js';
import { ownedBucket } from './access.js';
import type { BlobStore } from './blobs.js';
import type { ChecksumAlgorithm, ChecksumFields } from './checksums.js';
import { CHECKSUM_ALGORITHMS } from './checksums.js';
import { copySource, sourceStream } from './copy-source.js';
import { S3DataErrors } from './data-errors.js';
import { S3Errors } from './errors.js';
import { receive } from './ingest.js';
import type { Versioning } from './commit.js';
import { checkKey, DEFAULT_CHECKSUM, MAX_METADATA_BYTES, MAX_PUT_BYTES, metadataSize, refuseUnsupported, stripAwsChunked } from './objects.js';
import { checkStorageClass } from './storage-class.js';
import { parseTaggingHeader } from './tagging.js';
import type { ObjectAttributes, ObjectRow, S3Store } from './store.js';

type Op<K extends keyof S3Operations> = OpHandler<S3Operations, K>;

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

export function copyHandlers(store: S3Store, blobs: BlobStore, v: Versioning) {
  const lookup = sourceLookup(v);
  const CopyObject: Op<'CopyObject'> = async (ctx, input) => {
    const bucket = ownedBucket(store, ctx, input.Bucket);
    checkKey(input.Key);
    refuseUnsupported(input);
    checkStorageClass(input.StorageClass);
    const directive = input.MetadataDirective ?? 'COPY';
    if (directive !== 'COPY' && directive !== 'REPLACE') throw S3Errors.invalidArgument('Unknown metadata directive.', 'x-amz-metadata-directive', directive);
    if (input.TaggingDirective !== undefined && input.TaggingDirective !== 'COPY' && input.TaggingDirective !== 'REPLACE') {
      throw S3Errors.invalidArgument('Unknown tagging directive.', 'x-amz-tagging-directive', input.TaggingDirective);
    }
    const tags = input.TaggingDirective === 'REPLACE' ? parseTaggingHeader(input.Tagging ?? '') : undefined;
    if (directive === 'REPLACE' && metadataSize(input.Metadata) > MAX_METADATA_BYTES) throw S3Errors.metadataTooLarge();
    let algorithm: ChecksumAlgorithm | undefined;
    if (input.ChecksumAlgorithm !== undefined) {
      const upper = input.ChecksumAlgorithm.toUpperCase();
      if (!(CHECKSUM_ALGORITHMS as string[]).includes(upper)) throw S3Errors.notImplementedHeader('x-amz-checksum-algorithm');
      algorithm = upper as ChecksumAlgorithm;
    }
    const { source, parsed } = copySource(store, ctx, input, lookup);
    if (
      parsed.bucket === bucket.name &&
      parsed.key === input.Key &&
      parsed.versionId === undefined &&
      directive === 'COPY' &&
      input.StorageClass === undefined &&
      algorithm === undefined
    ) {
      throw S3DataErrors.invalidRequest(
        "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
      );
    }
    if (source.size > MAX_PUT_BYTES) {
      throw S3DataErrors.invalidRequest(`The specified copy source is larger than the maximum allowable size for a copy source: ${MAX_PUT_BYTES}`);
    }
    const sourceAlgorithm = source.attrs.Checksum?.algorithm as ChecksumAlgorithm | undefined;
    const got = await receive(blobs, sourceStream(blobs, source), { fallback: algorithm ?? sourceAlgorithm ?? DEFAULT_CHECKSUM, maxBytes: MAX_PUT_BYTES });
    const kept: ObjectAttributes =
      directive === 'REPLACE'
        ? {
            ContentType: input.ContentType,
            ContentEncoding: stripAwsChunked(input.ContentEncoding),
            ContentLanguage: input.ContentLanguage,
            ContentDisposition: input.ContentDisposition,
            CacheControl: input.CacheControl,
            Expires: input.Expires ? new Date(input.Expires).toUTCString() : undefined,
            Metadata: input.Metadata,
          }
        : {
            ContentType: source.attrs.ContentType,
            ContentEncoding: source.attrs.ContentEncoding,
            ContentLanguage: source.attrs.ContentLanguage,
            ContentDisposition: source.attrs.ContentDisposition,
            CacheControl: source.attrs.CacheControl,
            Expires: source.attrs.Expires,
            Metadata: source.attrs.Metadata,
          };
    const row: ObjectRow = {
      bucket: bucket.name,
      key: input.Key,
      blob: got.pending.id,
      size: got.pending.size,
      etag: `"${got.md5.toString('hex')}"`,
      lastModified: new Date(Math.floor(ctx.now().getTime() / 1000) * 1000).toISOString(),
      attrs: {
        ...kept,
        StorageClass: input.StorageClass,
        Checksum: got.checksum,
        Tags: input.TaggingDirective === 'REPLACE' ? (tags?.length ? tags : undefined) : source.attrs.Tags,
      } as ObjectAttributes,
    };
    await blobs.promote(got.pending);
    let result: ReturnType<Versioning['commit']>;
    try {
      result = store.transaction(() => v.commit(row, () => undefined));
    } catch (e) {
      blobs.remove(got.pending.id);
      throw e;
    }
    for (const b of result.freed) blobs.remove(b);
    const checksumFields: ChecksumFields & { ChecksumType?: string } = got.checksum
      ? { [`Checksum${got.checksum.algorithm}`]: got.checksum.value, ChecksumType: 'FULL_OBJECT' }
      : {};
    return {
      CopyObjectResult: { ETag: row.etag, LastModified: row.lastModified, ...checksumFields },
      CopySourceVersionId: (source as { versionId?: string }).versionId,
      VersionId: result.versionId,
      ServerSideEncryption: 'AES256',
    };
  };

  return { CopyObject };
}
