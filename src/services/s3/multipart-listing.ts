/**
 * ListParts and ListMultipartUploads: the parts of one upload in part-number order, and a
 * bucket's incomplete uploads in (key, initiation) order, folded into CommonPrefixes at the
 * Delimiter as ListObjectsV2 folds keys. Both page by markers, as on AWS.
 */
import type { S3Operations } from '../../models/generated/s3.js';
import { type OpHandler } from '../service.js';
import { ownedBucket, ownerOf } from './access.js';
import { listingArgs, pageSize } from './listing.js';
import { liveUpload } from './multipart.js';
import type { S3Store } from './store.js';
import type { UploadStore } from './uploads-store.js';

type Op<K extends keyof S3Operations> = OpHandler<S3Operations, K>;

export function multipartListingHandlers(store: S3Store, uploads: UploadStore) {
  const ListParts: Op<'ListParts'> = (ctx, input) => {
    const upload = liveUpload(store, uploads, ctx, input.Bucket, input.Key, input.UploadId);
    const max = pageSize(input.MaxParts, 'max-parts', 'max-parts');
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
    const { max, limit, prefix, delimiter } = listingArgs(input, input.MaxUploads, ['max-uploads', 'max-uploads']);
    const keyMarker = input.KeyMarker ?? '';
    // Without an upload-id-marker, the key marker's own uploads are all skipped, as on AWS.
    const idMarker = input.UploadIdMarker && keyMarker ? input.UploadIdMarker : '\u{10FFFF}';
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

  return { ListParts, ListMultipartUploads };
}
