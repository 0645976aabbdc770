/**
 * DeleteObjects: up to 1000 keys (or versions) in one request, all in one transaction (one commit,
 * one flush), each key in a savepoint of its own so that one refused key (Object Lock, say) undoes
 * only itself; answered one by one (Deleted, or an Error entry for that key). Quiet mode answers
 * only the errors. The files of deleted objects go once the commit is on disk. A key the caller may not delete (./authorize.ts decides each) is an
 * AccessDenied entry. As on AWS the body must come with Content-MD5 or an x-amz-checksum-*
 * header, and both are checked against the bytes received.
 */
import { createHash } from 'node:crypto';
import type { S3Operations } from '../../models/generated/s3.js';
import { RAW_PAYLOAD } from '../../protocol/rest-xml.js';
import { isAwsError } from '../../protocol/errors.js';
import { type OpHandler } from '../service.js';
import { keyDenied, ownedBucket } from './access.js';
import type { BlobStore } from './blobs.js';
import { checksumRequest, newDigest, type ChecksumFields } from './checksums.js';
import type { RemoveObject } from './commit.js';
import { S3DataErrors } from './data-errors.js';
import { S3Errors } from './errors.js';
import { contentMd5 } from './ingest.js';
import { MAX_KEY_BYTES } from './object-rules.js';
import type { S3Store } from './store.js';

type Op<K extends keyof S3Operations> = OpHandler<S3Operations, K>;

export const MAX_DELETE_KEYS = 1000;

export function batchDeleteHandlers(store: S3Store, blobs: BlobStore, remove: RemoveObject) {
  const DeleteObjects: Op<'DeleteObjects'> = async (ctx, input) => {
    const bucket = ownedBucket(store, ctx, input.Bucket);
    const fields = input as ChecksumFields & { ContentMD5?: string };
    const raw = (input as unknown as Record<symbol, Buffer | undefined>)[RAW_PAYLOAD] ?? Buffer.alloc(0);
    const md5 = contentMd5(fields.ContentMD5);
    const wanted = checksumRequest(fields, input.ChecksumAlgorithm, undefined, fields.ContentMD5);
    if (!md5 && !wanted) throw S3DataErrors.missingContentMd5();
    if (md5 && !createHash('md5').update(raw).digest().equals(md5)) throw S3Errors.badDigest();
    if (wanted) {
      const d = newDigest(wanted.algorithm);
      d.update(raw);
      if (d.base64() !== wanted.value) throw S3Errors.badChecksum(wanted.algorithm);
    }
    const objects = input.Delete?.Objects;
    if (!objects || objects.length === 0 || objects.length > MAX_DELETE_KEYS) throw S3DataErrors.malformedXml();
    const deleted: NonNullable<S3Operations['DeleteObjects']['output']['Deleted']> = [];
    const errors: NonNullable<S3Operations['DeleteObjects']['output']['Errors']> = [];
    const freed: string[] = [];
    const now = ctx.now();
    // A transaction inside a transaction is a savepoint: one refused key undoes only itself.
    const removeOne = store.transactional((key: string, versionId: string | undefined) =>
      remove(bucket.name, key, versionId, now, input.BypassGovernanceRetention === true),
    );
    store.transaction(() => {
      for (const o of objects) {
        if (Buffer.byteLength(o.Key, 'utf8') > MAX_KEY_BYTES) {
          errors.push({ Key: o.Key, VersionId: o.VersionId, Code: 'KeyTooLongError', Message: 'Your key is too long' });
          continue;
        }
        if (keyDenied(ctx, o.Key)) {
          errors.push({ Key: o.Key, VersionId: o.VersionId, Code: 'AccessDenied', Message: 'Access Denied' });
          continue;
        }
        try {
          const r = removeOne(o.Key, o.VersionId);
          freed.push(...r.freed);
          deleted.push({
            Key: o.Key,
            VersionId: o.VersionId,
            DeleteMarker: r.deleteMarker || undefined,
            DeleteMarkerVersionId: r.deleteMarker ? r.versionId : undefined,
          });
        } catch (e) {
          if (!isAwsError(e)) throw e;
          errors.push({ Key: o.Key, VersionId: o.VersionId, Code: e.code, Message: e.message });
        }
      }
    });
    await blobs.release(freed);
    return { Deleted: input.Delete.Quiet ? [] : deleted, Errors: errors };
  };

  return { DeleteObjects };
}
