/**
 * Who may touch a bucket, as handlers see it. The decision itself (policy, ACLs, Block Public
 * Access) is made before a handler runs by ./authorize.ts, which grants the request its bucket;
 * a handler that was not wrapped still serves only the bucket's own account. As on AWS, anyone
 * may learn that a bucket name does not exist. The canonical user ID S3 shows as Owner is
 * derived from the account, so it is stable.
 */
import { createHash } from 'node:crypto';
import type { RequestContext } from '../service.js';
import { S3Errors } from './errors.js';
import type { BucketRow, S3Store } from './store.js';

/** Requests that ./authorize.ts allowed, and the bucket it allowed them. */
const granted = new WeakMap<RequestContext, string>();

export function grantBucket(ctx: RequestContext, bucket: string): void {
  granted.set(ctx, bucket);
}

/** DeleteObjects: the keys ./authorize.ts refused, each answered AccessDenied in the result. */
const deniedKeys = new WeakMap<RequestContext, Set<string>>();

export function denyKeys(ctx: RequestContext, keys: Set<string>): void {
  deniedKeys.set(ctx, keys);
}

export function keyDenied(ctx: RequestContext, key: string): boolean {
  return deniedKeys.get(ctx)?.has(key) === true;
}

/** Whether the request may use the bucket: its owner's, or allowed by ./authorize.ts. */
export function mayUse(ctx: RequestContext, bucket: BucketRow): boolean {
  return bucket.account === ctx.account || granted.get(ctx) === bucket.name;
}

const canonicalIds = new Map<string, string>();

export function canonicalId(account: string): string {
  let id = canonicalIds.get(account);
  if (id === undefined) {
    id = createHash('sha256').update(`kumo-canonical-user:${account}`).digest('hex');
    // Accounts are few; a flood of made-up ones only starts the memory over.
    if (canonicalIds.size >= 10_000) canonicalIds.clear();
    canonicalIds.set(account, id);
  }
  return id;
}

export function ownerOf(account: string) {
  return { ID: canonicalId(account), DisplayName: account };
}

/** The bucket, if it exists and the caller may use it; AWS's errors otherwise. */
export function ownedBucket(store: S3Store, ctx: RequestContext, name: string): BucketRow {
  const bucket = store.bucket(name);
  // Whether a bucket exists is public on AWS (anyone gets NoSuchBucket); its contents are not.
  if (!bucket) throw S3Errors.noSuchBucket(name);
  if (!mayUse(ctx, bucket)) throw S3Errors.accessDenied();
  return bucket;
}
