/**
 * DeleteObjects: up to 1000 keys (or versions) in one request, all in one transaction (one commit,
 * one flush). Keys that name no version are removed together (in a bucket never versioned, by one
 * statement); each version named is removed in a savepoint of its own, so that one refused
 * (Object Lock, say) undoes only itself. Answered one by one, in the order asked (Deleted, or an
 * Error entry for that key); Quiet mode answers only the errors. Inline bodies go in the same
 * transaction; files once the commit is on disk, after the answer. A key the caller may not
 * delete (./authorize.ts decides each) is an AccessDenied entry. As on AWS the body must come
 * with Content-MD5 or an x-amz-checksum-* header, and both are checked against the bytes received.
 */
import { createHash } from 'node:crypto';
import type { S3Operations } from '../../models/generated/s3.js';
import { RAW_PAYLOAD } from '../../protocol/rest-xml.js';
import { isAwsError } from '../../protocol/errors.js';
import { type OpHandler } from '../service.js';
import { keyDenied, ownedBucket } from './access.js';
import type { BlobStore } from './blobs.js';
import { checksumRequest, newDigest, type ChecksumFields } from './checksums.js';
import type { Removal, RemoveKeys, RemoveObject } from './commit.js';
import { S3DataErrors } from './data-errors.js';
import { S3Errors } from './errors.js';
import { contentMd5 } from './ingest.js';
import { MAX_KEY_BYTES } from './object-rules.js';
import type { S3Store } from './store.js';

type Op<K extends keyof S3Operations> = OpHandler<S3Operations, K>;
type Output = S3Operations['DeleteObjects']['output'];
type Deleted = NonNullable<Output['Deleted']>[number];
type Failed = NonNullable<Output['Errors']>[number];

export const MAX_DELETE_KEYS = 1000;

export function batchDeleteHandlers(store: S3Store, blobs: BlobStore, remove: RemoveObject, removeKeys: RemoveKeys) {
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
    type Answer = { deleted: Deleted } | { error: Failed };
    const answers: Answer[] = new Array(objects.length);
    const refuse = (i: number, Code: string, Message: string) => {
      answers[i] = { error: { Key: objects[i].Key, VersionId: objects[i].VersionId, Code, Message } };
    };
    const plain: number[] = [];
    const versioned: number[] = [];
    objects.forEach((o, i) => {
      if (Buffer.byteLength(o.Key, 'utf8') > MAX_KEY_BYTES) refuse(i, 'KeyTooLongError', 'Your key is too long');
      else if (keyDenied(ctx, o.Key)) refuse(i, 'AccessDenied', 'Access Denied');
      else (o.VersionId === undefined ? plain : versioned).push(i);
    });
    const freed: string[] = [];
    const done = (i: number, r: Removal) => {
      freed.push(...r.freed);
      const o = objects[i];
      answers[i] = { deleted: { Key: o.Key, VersionId: o.VersionId, DeleteMarker: r.deleteMarker || undefined, DeleteMarkerVersionId: r.deleteMarker ? r.versionId : undefined } };
    };
    const now = ctx.now();
    // A transaction inside a transaction is a savepoint: a refused version undoes only itself.
    const removeVersion = store.transactional((key: string, versionId: string) =>
      remove(bucket.name, key, versionId, now, input.BypassGovernanceRetention === true),
    );
    let files: string[] = [];
    store.transaction(() => {
      const removed = removeKeys(bucket.name, plain.map((i) => objects[i].Key), now);
      plain.forEach((i, n) => done(i, removed[n]));
      for (const i of versioned) {
        try {
          done(i, removeVersion(objects[i].Key, objects[i].VersionId!));
        } catch (e) {
          if (!isAwsError(e)) throw e;
          refuse(i, e.code, e.message);
        }
      }
      files = blobs.releaseInline(freed);
    });
    // Not waited for: a file a crash leaves behind is collected at the next start.
    void blobs.releaseFiles(files).catch(() => {});
    const deleted: Deleted[] = [];
    const errors: Failed[] = [];
    for (const a of answers) {
      if ('error' in a) errors.push(a.error);
      else if (!input.Delete.Quiet) deleted.push(a.deleted);
    }
    return { Deleted: deleted, Errors: errors };
  };

  return { DeleteObjects };
}
