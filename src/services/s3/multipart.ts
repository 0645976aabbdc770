/**
 * Multipart uploads, begun and fed: CreateMultipartUpload, UploadPart, UploadPartCopy and
 * AbortMultipartUpload. Each part streams into its own blob (tmp → fsync → rename) and only then
 * gets its row, replacing any earlier part of the same number; so a part that was answered 200
 * survives a crash and one that was not leaves nothing. Of two sends of one part that overlap,
 * the one that began later is the part (./part-sends.ts). Completion is in ./multipart-complete.ts,
 * ListParts and ListMultipartUploads in ./multipart-listing.ts.
 */
import { randomBytes, type Cipher } from 'node:crypto';
import type { S3Operations } from '../../models/generated/s3.js';
import { type OpHandler, type RequestContext } from '../service.js';
import { ownedBucket } from './access.js';
import type { BlobStore } from './blobs.js';
import { CHECKSUM_ALGORITHMS, checksumRequest, type ChecksumAlgorithm, type ChecksumFields } from './checksums.js';
import type { Versioning } from './commit.js';
import { copySource, sourceLookup } from './copy-source.js';
import { S3DataErrors } from './data-errors.js';
import { S3Errors } from './errors.js';
import { contentMd5, keep, receive, type Received } from './ingest.js';
import { PartSends } from './part-sends.js';
import { plainBytes, seal } from './sse-c.js';
import { encryptionFields, partKey, writeEncryption, type BucketEncryption, type CustomerKey } from './sse.js';
import {
  checkContentLength,
  checkKey,
  checkMetadata,
  checkPartNumber,
  checksumFields,
  checkStorageClass,
  contentAttributes,
  parseTaggingHeader,
  checkRedirectLocation,
  wholeSeconds,
} from './object-rules.js';
import type { ObjectLocks } from './object-lock.js';
import type { S3Store } from './store.js';
import type { UploadRow, UploadStore } from './uploads-store.js';

type Op<K extends keyof S3Operations> = OpHandler<S3Operations, K>;

export const MAX_PART_BYTES = 5 * 1024 ** 3;

/** Upload IDs sort by creation time (ListMultipartUploads orders by key, then initiation). */
function newUploadId(now: Date): string {
  return now.getTime().toString(36).padStart(10, '0') + randomBytes(24).toString('base64url');
}

/** The upload, if it exists for this bucket and key; NoSuchUpload otherwise. */
export function liveUpload(store: S3Store, uploads: UploadStore, ctx: RequestContext, bucketName: string, key: string, uploadId: string): UploadRow {
  const bucket = ownedBucket(store, ctx, bucketName);
  checkKey(key);
  const upload = uploads.upload(uploadId);
  if (!upload || upload.bucket !== bucket.name || upload.key !== key) throw S3DataErrors.noSuchUpload(uploadId);
  return upload;
}

// Full-object CRCs can be combined across parts, digests cannot: S3 allows each algorithm only the
// checksum types it can compute.
const FULL_OBJECT_ONLY = ['CRC64NVME'];
const COMPOSITE_ONLY = ['SHA1', 'SHA256'];

export function multipartHandlers(store: S3Store, uploads: UploadStore, blobs: BlobStore, v: Versioning, encryptionOf: (bucket: string) => BucketEncryption, locks: ObjectLocks) {
  const lookup = sourceLookup(v);
  const sends = new PartSends();
  const CreateMultipartUpload: Op<'CreateMultipartUpload'> = (ctx, input) => {
    const bucket = ownedBucket(store, ctx, input.Bucket);
    checkKey(input.Key);
    checkRedirectLocation(input.WebsiteRedirectLocation);
    checkMetadata(input.Metadata);
    checkStorageClass(input.StorageClass);
    const tags = parseTaggingHeader(input.Tagging);
    const extra = input as { ChecksumType?: string };
    let algorithm: ChecksumAlgorithm | undefined;
    if (input.ChecksumAlgorithm !== undefined) {
      const upper = input.ChecksumAlgorithm.toUpperCase();
      if (!(CHECKSUM_ALGORITHMS as string[]).includes(upper) || upper === 'MD5' || upper === 'SHA512') {
        if (upper.startsWith('XXHASH') || upper === 'MD5' || upper === 'SHA512') throw S3Errors.notImplementedHeader('x-amz-checksum-algorithm');
        throw S3DataErrors.invalidRequest('Checksum algorithm provided is unsupported. Please try again with any of the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]');
      }
      algorithm = upper as ChecksumAlgorithm;
    }
    let type: 'COMPOSITE' | 'FULL_OBJECT' | undefined;
    if (extra.ChecksumType !== undefined) {
      if (extra.ChecksumType !== 'COMPOSITE' && extra.ChecksumType !== 'FULL_OBJECT') {
        throw S3DataErrors.invalidRequest('Value for x-amz-checksum-type header is invalid.');
      }
      if (!algorithm) throw S3DataErrors.invalidRequest('The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header.');
      type = extra.ChecksumType;
    }
    const { encryption } = writeEncryption(input, encryptionOf(bucket.name), ctx);
    if (algorithm) {
      type ??= FULL_OBJECT_ONLY.includes(algorithm) ? 'FULL_OBJECT' : 'COMPOSITE';
      // The parts of an SSE-C upload are stored encrypted, each on its own; kumo cannot run a
      // checksum over the whole plaintext when they are joined.
      if (type === 'FULL_OBJECT' && encryption.kind === 'SSE-C') throw S3Errors.notImplementedHeader('x-amz-checksum-type');
      if ((type === 'COMPOSITE' && FULL_OBJECT_ONLY.includes(algorithm)) || (type === 'FULL_OBJECT' && COMPOSITE_ONLY.includes(algorithm))) {
        throw S3DataErrors.invalidRequest(`The ${type} checksum type cannot be used with the ${algorithm.toLowerCase()} checksum algorithm.`);
      }
    }
    const now = ctx.now();
    const lock = locks.forWrite(bucket.name, input, now);
    const upload: UploadRow = {
      uploadId: newUploadId(now),
      bucket: bucket.name,
      key: input.Key,
      initiated: wholeSeconds(now),
      attrs: {
        ...contentAttributes(input),
        ChecksumAlgorithm: algorithm,
        ChecksumType: type,
        Owner: ctx.account,
        Tags: tags,
        Encryption: encryption,
        Lock: lock,
      },
    };
    uploads.insertUpload(upload);
    return {
      Bucket: bucket.name,
      Key: input.Key,
      UploadId: upload.uploadId,
      ...encryptionFields(encryption, true),
      ChecksumAlgorithm: algorithm,
      ...(type ? { ChecksumType: type } : {}),
    };
  };

  /**
   * Receives a part's bytes and makes them the part, unless the upload ended meanwhile or a send
   * of the same part that began later was committed first (then these bytes go).
   */
  async function storePart(upload: UploadRow, partNumber: number, ctx: RequestContext, key: CustomerKey | undefined, take: (cipher?: Cipher) => Promise<Received>) {
    const sealing = seal(upload.attrs.Encryption ?? { kind: 'AES256' }, key);
    const ticket = sends.begin(upload.uploadId, partNumber);
    try {
      const got = await take(sealing.cipher);
      const etag = sealing.etag(got.md5);
      const lastModified = wholeSeconds(ctx.now());
      await keep(blobs, got.pending, () =>
        uploads.transaction(() => {
          if (!uploads.upload(upload.uploadId)) throw S3DataErrors.noSuchUpload(upload.uploadId);
          if (ticket.superseded()) return { freed: [got.pending.id] };
          const old = uploads.part(upload.uploadId, partNumber);
          uploads.putPart({
            uploadId: upload.uploadId,
            partNumber,
            blob: got.pending.id,
            size: got.pending.size,
            etag,
            lastModified,
            checksum: got.checksum?.value,
            iv: sealing.iv,
          });
          ticket.committed();
          return { freed: old ? [old.blob] : [] };
        }),
      );
      return { etag, lastModified, checksum: got.checksum };
    } finally {
      ticket.end();
    }
  }

  const UploadPart: Op<'UploadPart'> = async (ctx, input) => {
    const upload = liveUpload(store, uploads, ctx, input.Bucket, input.Key, input.UploadId);
    checkPartNumber(input.PartNumber);
    const key = partKey(upload.attrs.Encryption, input);
    checkContentLength(ctx, input.ContentLength, MAX_PART_BYTES);
    const md5Expected = contentMd5(input.ContentMD5);
    const wanted = checksumRequest(input as ChecksumFields, input.ChecksumAlgorithm, input.Trailer, input.ContentMD5);
    const expected = upload.attrs.ChecksumAlgorithm as ChecksumAlgorithm | undefined;
    if (wanted && wanted.algorithm !== 'MD5' && expected && wanted.algorithm !== expected) {
      throw S3DataErrors.invalidRequest(
        `Checksum Type mismatch occurred, expected checksum Type: ${expected.toLowerCase()}, actual checksum Type: ${wanted.algorithm.toLowerCase()}`,
      );
    }
    const { etag, checksum } = await storePart(upload, input.PartNumber, ctx, key, async (cipher) => {
      // A part of an upload with a checksum algorithm always gets that checksum, so completion can
      // combine them even when a client sent the part without one.
      const got = await receive(blobs, input.Body, { wanted, fallback: expected, md5Expected, maxBytes: MAX_PART_BYTES, trailers: ctx.trailers, cipher });
      if (expected && got.checksum?.algorithm !== expected) {
        blobs.discard(got.pending);
        throw S3DataErrors.invalidRequest(`Checksum Type mismatch occurred, expected checksum Type: ${expected.toLowerCase()}, actual checksum Type: md5`);
      }
      return got;
    });
    return { ETag: etag, ...encryptionFields(upload.attrs.Encryption), ...checksumFields(checksum) };
  };

  const UploadPartCopy: Op<'UploadPartCopy'> = async (ctx, input) => {
    const upload = liveUpload(store, uploads, ctx, input.Bucket, input.Key, input.UploadId);
    checkPartNumber(input.PartNumber);
    const key = partKey(upload.attrs.Encryption, input);
    const { source, sourceKey } = copySource(store, ctx, input, lookup);
    let start = 0;
    let end = source.size - 1;
    if (input.CopySourceRange !== undefined) {
      const m = /^bytes=(\d+)-(\d+)$/.exec(input.CopySourceRange.trim());
      if (!m) throw S3Errors.invalidArgument('The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy', 'x-amz-copy-source-range', input.CopySourceRange);
      start = Number(m[1]);
      end = Number(m[2]);
      if (end < start || end >= source.size) {
        throw S3Errors.invalidArgument(`Range specified is not valid for source object of size: ${source.size}`, 'x-amz-copy-source-range', input.CopySourceRange);
      }
    }
    if (end - start + 1 > MAX_PART_BYTES) throw S3Errors.entityTooLarge(end - start + 1, MAX_PART_BYTES);
    const { etag, lastModified, checksum } = await storePart(upload, input.PartNumber, ctx, key, (cipher) =>
      receive(blobs, plainBytes(blobs, source, sourceKey, start, end), {
        fallback: upload.attrs.ChecksumAlgorithm as ChecksumAlgorithm | undefined,
        maxBytes: MAX_PART_BYTES,
        cipher,
      }),
    );
    return {
      CopyPartResult: { ETag: etag, LastModified: lastModified, ...checksumFields(checksum) },
      CopySourceVersionId: source.versionId,
      ...encryptionFields(upload.attrs.Encryption),
    };
  };

  const AbortMultipartUpload: Op<'AbortMultipartUpload'> = async (ctx, input) => {
    const upload = liveUpload(store, uploads, ctx, input.Bucket, input.Key, input.UploadId);
    const removed = uploads.transaction(() => uploads.deleteUpload(upload.uploadId));
    await blobs.release(removed);
    return {};
  };

  return { CreateMultipartUpload, UploadPart, UploadPartCopy, AbortMultipartUpload };
}
