/**
 * Who may touch a bucket. Buckets are private to the account that owns them: anonymous callers
 * and other accounts get AccessDenied (bucket policies and ACLs come later), but, as on AWS,
 * anyone may learn that a bucket name does not exist. The canonical user
 * ID S3 shows as Owner is derived from the account, so it is stable.
 */
import { createHash } from 'node:crypto';
import type { RequestContext } from '../service.js';
import { S3Errors } from './errors.js';
import type { BucketRow, S3Store } from './store.js';

export function canonicalId(account: string): string {
  return createHash('sha256').update(`kumo-canonical-user:${account}`).digest('hex');
}

export function ownerOf(account: string) {
  return { ID: canonicalId(account), DisplayName: account };
}

/** The bucket, if it exists and the caller may use it; AWS's errors otherwise. */
export function ownedBucket(store: S3Store, ctx: RequestContext, name: string): BucketRow {
  const bucket = store.bucket(name);
  // Whether a bucket exists is public on AWS (anyone gets NoSuchBucket); its contents are not.
  if (!bucket) throw S3Errors.noSuchBucket(name);
  if (bucket.account !== ctx.account) throw S3Errors.accessDenied();
  return bucket;
}
