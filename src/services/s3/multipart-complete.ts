/**
 * CompleteMultipartUpload (uploads are begun and fed in ./multipart.ts).
 *
 * Completion concatenates the chosen parts into one new blob (streamed, fsynced, renamed), then in
 * one transaction writes the object row and deletes the upload's rows; the part blobs go after.
 * So an object is always one file, whatever made it, and reads, ranges and copies need no part
 * bookkeeping; the price is one sequential rewrite of the bytes at completion. The part sizes are
 * kept on the object for GET ?partNumber=. The ETag is AWS's: the MD5 of the parts' binary MD5s,
 * then "-<count>". A FULL_OBJECT checksum is computed over the bytes while they are concatenated;
 * a COMPOSITE one is the checksum of the parts' binary checksums, then "-<count>".
 *
 * A Complete sent again after it succeeded (a client whose answer was lost retries) is answered
 * what the first one was, as S3 does, for as long as the object it made is still the key's
 * current one; after that the upload is gone (NoSuchUpload).
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { S3Operations } from '../../models/generated/s3.js';
import { isAwsError } from '../../protocol/errors.js';
import { type OpHandler } from '../service.js';
import type { BlobStore } from './blobs.js';
import { newDigest, type ChecksumAlgorithm, type ChecksumFields } from './checksums.js';
import type { Versioning } from './commit.js';
import { S3DataErrors } from './data-errors.js';
import { S3Errors } from './errors.js';
import { keep } from './ingest.js';
import { liveUpload } from './multipart.js';
import { checksumFields, checkWriteIfNoneMatch, DEFAULT_CHECKSUM, MAX_PARTS, wholeSeconds, writeConditions } from './object-rules.js';
import { encryptionFields, partKey, type Encryption } from './sse.js';
import type { ObjectRow, S3Store } from './store.js';
import type { PartRow, UploadStore } from './uploads-store.js';

type Op<K extends keyof S3Operations> = OpHandler<S3Operations, K>;

export const MIN_PART_BYTES = 5 * 1024 * 1024;

const unquote = (etag: string) => etag.trim().replace(/^"|"$/g, '');

export function completeHandlers(store: S3Store, uploads: UploadStore, blobs: BlobStore, v: Versioning) {
  /** The answer of an earlier successful Complete of this upload, if it may be repeated. */
  function repeated(bucket: string, key: string, uploadId: string): Record<string, unknown> | undefined {
    const done = uploads.completed(uploadId);
    if (!done || done.bucket !== bucket || done.key !== key) return undefined;
    const current = v.find(bucket, key, undefined).row;
    if (!current || current.etag !== done.result.ETag || v.versionIdOf(current) !== done.result.VersionId) return undefined;
    return done.result;
  }

  // A retry may also arrive while the first Complete is still joining the parts: whichever
  // commits first wins, and the other finds the upload gone and answers the same.
  const CompleteMultipartUpload: Op<'CompleteMultipartUpload'> = async (ctx, input) => {
    try {
      return await complete(ctx, input);
    } catch (e) {
      const again = isAwsError(e) && e.code === 'NoSuchUpload' ? repeated(input.Bucket, input.Key, input.UploadId) : undefined;
      if (again) return again;
      throw e;
    }
  };

  const complete: Op<'CompleteMultipartUpload'> = async (ctx, input) => {
    const upload = liveUpload(store, uploads, ctx, input.Bucket, input.Key, input.UploadId);
    // The key is optional here (the parts are already encrypted), but if given it must be the upload's.
    const enc = upload.attrs.Encryption;
    if (input.SSECustomerAlgorithm !== undefined || input.SSECustomerKey !== undefined) partKey(enc, input);
    const sealed = enc?.kind === 'SSE-C';
    const extra = input as ChecksumFields & { IfMatch?: string; MpuObjectSize?: string; ChecksumType?: string };
    checkWriteIfNoneMatch(input.IfNoneMatch);
    const requested = input.MultipartUpload?.Parts ?? [];
    if (requested.length === 0 || requested.length > MAX_PARTS) throw S3DataErrors.malformedXml();
    const algorithm = upload.attrs.ChecksumAlgorithm as ChecksumAlgorithm | undefined;
    const type = upload.attrs.ChecksumType;
    const chosen: PartRow[] = [];
    let previous = 0;
    for (const p of requested) {
      if (p.PartNumber === undefined || p.ETag === undefined) throw S3DataErrors.malformedXml();
      if (p.PartNumber <= previous) throw S3DataErrors.invalidPartOrder(upload.uploadId);
      previous = p.PartNumber;
      const part = uploads.part(upload.uploadId, p.PartNumber);
      if (!part || unquote(part.etag) !== unquote(p.ETag)) throw S3DataErrors.invalidPart(upload.uploadId, p.PartNumber, p.ETag);
      if (algorithm) {
        const claimed = (p as ChecksumFields)[`Checksum${algorithm}`];
        if (claimed === undefined && type === 'COMPOSITE') {
          throw S3DataErrors.invalidRequest(
            `The upload was created using a ${algorithm.toLowerCase()} checksum. The complete request must include the checksum for each part. It was missing for part ${p.PartNumber} in the request.`,
          );
        }
        if (claimed !== undefined && claimed !== part.checksum) throw S3DataErrors.invalidPart(upload.uploadId, p.PartNumber, p.ETag);
      }
      chosen.push(part);
    }
    chosen.forEach((part, i) => {
      if (i < chosen.length - 1 && part.size < MIN_PART_BYTES) throw S3DataErrors.entityTooSmall(part.size, part.partNumber, part.etag);
    });
    const total = chosen.reduce((n, p) => n + p.size, 0);
    if (extra.MpuObjectSize !== undefined && Number(extra.MpuObjectSize) !== total) {
      throw S3DataErrors.invalidRequest(`The provided 'x-amz-mp-object-size' header value ${extra.MpuObjectSize} does not match what was computed: ${total}`);
    }
    const etagHash = createHash('md5');
    for (const p of chosen) etagHash.update(Buffer.from(unquote(p.etag), 'hex'));
    const etag = `"${etagHash.digest('hex')}-${chosen.length}"`;
    // Checked before the bytes are rewritten, and again atomically with the commit.
    const conditions = { IfNoneMatch: input.IfNoneMatch, IfMatch: extra.IfMatch, Key: upload.key };
    writeConditions(store.object(upload.bucket, upload.key), conditions);

    // Without a checksum algorithm the object still gets AWS's default full-object CRC64NVME,
    // computed while the parts are concatenated.
    // SSE-C parts are joined as stored (encrypted, each under its own IV): no full-object checksum
    // can be computed over them, so such an object has none unless its parts' (COMPOSITE) one.
    const full = algorithm ? (type === 'FULL_OBJECT' ? newDigest(algorithm) : undefined) : sealed ? undefined : newDigest(DEFAULT_CHECKSUM);
    const pending = await blobs.writePending(Readable.from(concat(blobs, chosen)), (chunk) => full?.update(chunk)).catch((e: unknown) => {
      // A concurrent Complete or Abort removed the parts while they were being read.
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' && !uploads.upload(upload.uploadId)) throw S3DataErrors.noSuchUpload(upload.uploadId);
      throw e;
    });
    let checksum: ObjectRow['attrs']['Checksum'];
    if (!algorithm) checksum = full ? { algorithm: DEFAULT_CHECKSUM, value: full.base64() } : undefined;
    else if (full) checksum = { algorithm, value: full.base64() };
    else if (algorithm) {
      const d = newDigest(algorithm);
      for (const p of chosen) d.update(Buffer.from(p.checksum ?? '', 'base64'));
      checksum = { algorithm, value: `${d.base64()}-${chosen.length}` };
    }
    const claimedFull = algorithm ? extra[`Checksum${algorithm}`] : undefined;
    if (claimedFull !== undefined && checksum && claimedFull.split('-')[0] !== checksum.value.split('-')[0]) {
      blobs.discard(pending);
      throw S3Errors.badChecksum(algorithm!);
    }
    const { Owner: _owner, ChecksumAlgorithm: _alg, ChecksumType: _type, ...attrs } = upload.attrs;
    const row: ObjectRow = {
      bucket: upload.bucket,
      key: upload.key,
      blob: pending.id,
      size: total,
      etag,
      lastModified: wholeSeconds(ctx.now()),
      attrs: {
        ...attrs,
        Checksum: checksum,
        ChecksumType: algorithm ? type : checksum ? 'FULL_OBJECT' : undefined,
        Parts: chosen.map((p) => p.size),
        Encryption: sealed ? ({ ...enc, ivs: chosen.map((p) => p.iv ?? '') } as Encryption) : enc,
      },
    };
    const keyPath = upload.key.split('/').map(encodeURIComponent).join('/');
    const answer = (versionId: string | undefined): S3Operations['CompleteMultipartUpload']['output'] & ChecksumFields & { ChecksumType?: string } => ({
      Location: `http://${ctx.host}/${upload.bucket}/${keyPath}`,
      Bucket: upload.bucket,
      Key: upload.key,
      ETag: etag,
      ...encryptionFields(enc),
      VersionId: versionId,
      ...checksumFields(checksum, row.attrs.ChecksumType),
    });
    const done = await keep(blobs, pending, () =>
      store.transaction(() => {
        if (!uploads.upload(upload.uploadId)) throw S3DataErrors.noSuchUpload(upload.uploadId);
        const r = v.commit(row, (existing) => writeConditions(existing, conditions));
        uploads.recordCompleted({ uploadId: upload.uploadId, bucket: upload.bucket, key: upload.key, result: answer(r.versionId) });
        // The parts' files go with the bytes the commit replaced.
        return { ...r, freed: [...uploads.deleteUpload(upload.uploadId), ...r.freed] };
      }),
    );
    return answer(done.versionId);
  };

  return { CompleteMultipartUpload };
}

async function* concat(blobs: BlobStore, parts: { blob: string; size: number }[]): AsyncGenerator<Buffer> {
  // Each part is opened when its turn comes: a part removed meanwhile fails with ENOENT.
  for (const p of parts) {
    for await (const chunk of blobs.read(p.blob, 0, p.size - 1)) yield chunk as Buffer;
  }
}
