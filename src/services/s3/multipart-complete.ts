/**
 * Multipart uploads, second half: CompleteMultipartUpload, ListParts and ListMultipartUploads.
 *
 * Completion concatenates the chosen parts into one new blob (streamed, fsynced, renamed), then in
 * one transaction writes the object row and deletes the upload's rows; the part blobs go after.
 * So an object is always one file, whatever made it, and reads, ranges and copies need no part
 * bookkeeping; the price is one sequential rewrite of the bytes at completion. The part sizes are
 * kept on the object for GET ?partNumber=. The ETag is AWS's: the MD5 of the parts' binary MD5s,
 * then "-<count>". A FULL_OBJECT checksum is computed over the bytes while they are concatenated;
 * a COMPOSITE one is the checksum of the parts' binary checksums, then "-<count>".
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import type { S3Operations } from '../../models/generated/s3.js';
import { type OpHandler } from '../service.js';
import { ownedBucket, ownerOf } from './access.js';
import type { BlobStore } from './blobs.js';
import { newDigest, type ChecksumAlgorithm, type ChecksumFields } from './checksums.js';
import type { CommitObject } from './commit.js';
import { S3DataErrors } from './data-errors.js';
import { S3Errors } from './errors.js';
import { liveUpload, MAX_PARTS } from './multipart.js';
import { DEFAULT_CHECKSUM, writeConditions } from './objects.js';
import type { ObjectRow, S3Store } from './store.js';
import type { PartRow, UploadStore } from './uploads-store.js';

type Op<K extends keyof S3Operations> = OpHandler<S3Operations, K>;

export const MIN_PART_BYTES = 5 * 1024 * 1024;

const unquote = (etag: string) => etag.trim().replace(/^"|"$/g, '');

export function completeHandlers(store: S3Store, uploads: UploadStore, blobs: BlobStore, commitRow: CommitObject) {
  const CompleteMultipartUpload: Op<'CompleteMultipartUpload'> = async (ctx, input) => {
    const upload = liveUpload(store, uploads, ctx, input.Bucket, input.Key, input.UploadId);
    if (input.SSECustomerKey || input.SSECustomerAlgorithm) throw S3Errors.notImplementedHeader('x-amz-server-side-encryption-customer-algorithm');
    const extra = input as ChecksumFields & { IfMatch?: string; MpuObjectSize?: string; ChecksumType?: string };
    if (input.IfNoneMatch !== undefined && input.IfNoneMatch !== '*') throw S3Errors.notImplementedHeader('If-None-Match');
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
    writeConditions(store.object(upload.bucket, upload.key), { IfNoneMatch: input.IfNoneMatch, IfMatch: extra.IfMatch, Key: upload.key });

    // Without a checksum algorithm the object still gets AWS's default full-object CRC64NVME,
    // computed while the parts are concatenated.
    const full = algorithm ? (type === 'FULL_OBJECT' ? newDigest(algorithm) : undefined) : newDigest(DEFAULT_CHECKSUM);
    const paths = chosen.map((p) => blobs.pathOf(p.blob));
    const pending = await blobs.writeTemp(Readable.from(concat(paths)), (chunk) => full?.update(chunk)).catch((e: unknown) => {
      // A concurrent Complete or Abort removed the parts while they were being read.
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' && !uploads.upload(upload.uploadId)) throw S3DataErrors.noSuchUpload(upload.uploadId);
      throw e;
    });
    let checksum: ObjectRow['attrs']['Checksum'];
    if (!algorithm) checksum = { algorithm: DEFAULT_CHECKSUM, value: full!.base64() };
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
      lastModified: new Date(Math.floor(ctx.now().getTime() / 1000) * 1000).toISOString(),
      attrs: { ...attrs, Checksum: checksum, ChecksumType: algorithm ? type : 'FULL_OBJECT', Parts: chosen.map((p) => p.size) },
    };
    await blobs.promote(pending);
    let result: { freed: string[]; versionId?: string; partBlobs: string[] };
    try {
      result = store.transaction(() => {
        if (!uploads.upload(upload.uploadId)) throw S3DataErrors.noSuchUpload(upload.uploadId);
        const r = commitRow(row, (existing) => writeConditions(existing, { IfNoneMatch: input.IfNoneMatch, IfMatch: extra.IfMatch, Key: upload.key }));
        return { ...r, partBlobs: uploads.deleteUpload(upload.uploadId) };
      });
    } catch (e) {
      blobs.remove(pending.id);
      throw e;
    }
    for (const b of result.partBlobs) blobs.remove(b);
    for (const b of result.freed) blobs.remove(b);
    const keyPath = upload.key.split('/').map(encodeURIComponent).join('/');
    const out: S3Operations['CompleteMultipartUpload']['output'] & ChecksumFields & { ChecksumType?: string } = {
      Location: `http://${ctx.host}/${upload.bucket}/${keyPath}`,
      Bucket: upload.bucket,
      Key: upload.key,
      ETag: etag,
      ServerSideEncryption: 'AES256',
      VersionId: result.versionId,
    };
    if (checksum) {
      out[`Checksum${checksum.algorithm as ChecksumAlgorithm}`] = checksum.value;
      out.ChecksumType = row.attrs.ChecksumType;
    }
    return out;
  };

  const ListParts: Op<'ListParts'> = (ctx, input) => {
    const upload = liveUpload(store, uploads, ctx, input.Bucket, input.Key, input.UploadId);
    const max = input.MaxParts ?? 1000;
    if (max < 0) throw S3Errors.invalidArgument('Argument max-parts must be an integer between 0 and 2147483647', 'max-parts', String(max));
    const marker = input.PartNumberMarker ?? 0;
    const all = uploads.parts(upload.uploadId, marker);
    const page = all.slice(0, Math.min(max, 1000));
    const truncated = all.length > page.length;
    const owner = ownerOf(upload.attrs.Owner ?? ctx.account);
    const alg = upload.attrs.ChecksumAlgorithm;
    return {
      Bucket: upload.bucket,
      Key: upload.key,
      UploadId: upload.uploadId,
      PartNumberMarker: marker,
      NextPartNumberMarker: page.length ? page[page.length - 1].partNumber : marker,
      MaxParts: max,
      IsTruncated: truncated,
      Parts: page.map((p) => ({
        PartNumber: p.partNumber,
        LastModified: p.lastModified,
        ETag: p.etag,
        Size: p.size,
        ...(alg && p.checksum ? { [`Checksum${alg}`]: p.checksum } : {}),
      })),
      Initiator: owner,
      Owner: owner,
      StorageClass: upload.attrs.StorageClass ?? 'STANDARD',
      ChecksumAlgorithm: alg,
      ...(upload.attrs.ChecksumType ? { ChecksumType: upload.attrs.ChecksumType } : {}),
    };
  };

  const ListMultipartUploads: Op<'ListMultipartUploads'> = (ctx, input) => {
    const bucket = ownedBucket(store, ctx, input.Bucket);
    const max = input.MaxUploads ?? 1000;
    if (max < 0) throw S3Errors.invalidArgument('Argument max-uploads must be an integer between 0 and 2147483647', 'max-uploads', String(max));
    if (input.EncodingType !== undefined && input.EncodingType !== 'url') {
      throw S3Errors.invalidArgument('Invalid Encoding Method specified in Request', 'encoding-type', input.EncodingType);
    }
    const prefix = input.Prefix ?? '';
    const delimiter = input.Delimiter || undefined;
    const keyMarker = input.KeyMarker ?? '';
    // Without an upload-id-marker, the key marker's own uploads are all skipped, as on AWS.
    const idMarker = input.UploadIdMarker && keyMarker ? input.UploadIdMarker : '\u{10FFFF}';
    const limit = Math.min(max, 1000);
    const list: S3Operations['ListMultipartUploads']['output']['Uploads'] = [];
    const prefixes: string[] = [];
    let truncated = false;
    let nextKey = '';
    let nextId = '';
    for (const u of limit === 0 ? [] : uploads.iterate(bucket.name, prefix > keyMarker ? prefix : keyMarker, keyMarker, idMarker)) {
      if (!u.key.startsWith(prefix)) {
        if (u.key > prefix) break;
        continue;
      }
      let common: string | undefined;
      if (delimiter) {
        const i = u.key.indexOf(delimiter, prefix.length);
        if (i >= 0) common = u.key.slice(0, i + delimiter.length);
      }
      if (common !== undefined && (prefixes[prefixes.length - 1] === common || (keyMarker && common <= keyMarker))) continue;
      if (list.length + prefixes.length >= limit) {
        truncated = true;
        break;
      }
      if (common !== undefined) {
        prefixes.push(common);
        nextKey = common;
        nextId = '';
      } else {
        const owner = ownerOf(u.attrs.Owner ?? bucket.account);
        list.push({
          UploadId: u.uploadId,
          Key: u.key,
          Initiated: u.initiated,
          StorageClass: u.attrs.StorageClass ?? 'STANDARD',
          Owner: owner,
          Initiator: owner,
          ChecksumAlgorithm: u.attrs.ChecksumAlgorithm,
        });
        nextKey = u.key;
        nextId = u.uploadId;
      }
    }
    return {
      Bucket: bucket.name,
      KeyMarker: keyMarker,
      UploadIdMarker: input.UploadIdMarker ?? '',
      NextKeyMarker: truncated ? nextKey : undefined,
      NextUploadIdMarker: truncated ? nextId : undefined,
      Prefix: prefix,
      Delimiter: delimiter,
      MaxUploads: max,
      EncodingType: input.EncodingType,
      IsTruncated: truncated,
      Uploads: list,
      CommonPrefixes: prefixes.map((p) => ({ Prefix: p })),
    };
  };

  return { CompleteMultipartUpload, ListParts, ListMultipartUploads };
}

async function* concat(paths: string[]): AsyncGenerator<Buffer> {
  for (const p of paths) {
    for await (const chunk of createReadStream(p, { highWaterMark: 1024 * 1024 })) yield chunk as Buffer;
  }
}
