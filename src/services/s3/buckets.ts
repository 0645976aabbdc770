/**
 * CreateBucket, ListBuckets, HeadBucket, DeleteBucket, GetBucketLocation. Bucket names follow
 * AWS's general-purpose naming rules; a bucket's region is its LocationConstraint (us-east-1 when
 * absent), and a request signed for another region must name it, as AWS requires. A bucket can
 * only be deleted empty (no objects, noncurrent versions or delete markers); its incomplete
 * multipart uploads go with it. Its access configuration is dropped by ./authorize.ts.
 */
import type { S3Operations } from '../../models/generated/s3.js';
import { regionInfo } from '../../state/regions.js';
import { encodeToken, decodeToken } from '../../state/pagination.js';
import { type OpHandler } from '../service.js';
import { mayUse, ownedBucket, ownerOf } from './access.js';
import { S3Errors } from './errors.js';
import type { BlobStore } from './blobs.js';
import type { ObjectLocks } from './object-lock.js';
import type { S3Store } from './store.js';
import type { UploadStore } from './uploads-store.js';
import type { VersionStore } from './versions-store.js';

type Op<K extends keyof S3Operations> = OpHandler<S3Operations, K>;

export function validBucketName(name: string): boolean {
  if (name.length < 3 || name.length > 63) return false;
  if (!/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(name)) return false;
  if (name.includes('..') || name.includes('.-') || name.includes('-.')) return false;
  if (/^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$/.test(name)) return false;
  if (/^(xn--|sthree-|amzn-s3-demo-)/.test(name)) return false;
  if (/(-s3alias|--ol-s3|\.mrap|--x-s3|--table-s3)$/.test(name)) return false;
  return true;
}

/** Bucket features kumo does not have yet are refused, never silently left out. */
function refuseUnsupportedBucket(input: S3Operations['CreateBucket']['input']): void {
  // ACLs and ObjectOwnership are validated and recorded by ./authorize.ts around this handler.
  const config = input.CreateBucketConfiguration;
  if (config?.Location || config?.Bucket) throw S3Errors.notImplemented('directory buckets');
}

export function bucketHandlers(store: S3Store, versions: VersionStore, uploads: UploadStore, blobs: BlobStore, locks: ObjectLocks) {
  const CreateBucket: Op<'CreateBucket'> = (ctx, input) => {
    if (!ctx.account) throw S3Errors.accessDenied();
    const name = input.Bucket;
    if (!validBucketName(name)) throw S3Errors.invalidBucketName(name);
    refuseUnsupportedBucket(input);
    const constraint = input.CreateBucketConfiguration?.LocationConstraint;
    if (constraint !== undefined && constraint !== '') {
      if (constraint === 'us-east-1' || (!regionInfo(constraint) && constraint !== 'EU')) throw S3Errors.invalidLocation(constraint);
      if (ctx.region !== 'us-east-1' && ctx.region !== constraint) throw S3Errors.illegalLocationFor(constraint, ctx.region);
    } else if (ctx.region !== 'us-east-1') {
      throw S3Errors.illegalLocation();
    }
    const region = constraint === 'EU' ? 'eu-west-1' : constraint || 'us-east-1';
    const existing = store.bucket(name);
    if (existing) {
      if (existing.account !== ctx.account) throw S3Errors.bucketExists(name);
      // us-east-1 keeps its legacy behaviour: re-creating your own bucket succeeds.
      if (existing.region === 'us-east-1' && region === 'us-east-1') return { Location: `/${name}` };
      throw S3Errors.bucketOwnedByYou(name);
    }
    store.transaction(() => {
      store.insertBucket({ name, account: ctx.account, region, created: ctx.now().toISOString() });
      // Object Lock comes with versioning, on for good.
      if (input.ObjectLockEnabledForBucket) {
        versions.setStatus(name, 'Enabled');
        locks.enable(name);
      }
    });
    return { Location: `/${name}` };
  };

  const ListBuckets: Op<'ListBuckets'> = (ctx, input) => {
    if (!ctx.account) throw S3Errors.accessDenied();
    let buckets = store.bucketsOf(ctx.account);
    if (input.Prefix) buckets = buckets.filter((b) => b.name.startsWith(input.Prefix!));
    if (input.BucketRegion) buckets = buckets.filter((b) => b.region === input.BucketRegion);
    if (input.ContinuationToken) {
      let after: string;
      try {
        after = decodeToken(input.ContinuationToken);
      } catch {
        throw S3Errors.invalidArgument('The continuation token provided is incorrect', 'continuation-token', input.ContinuationToken);
      }
      buckets = buckets.filter((b) => b.name > after);
    }
    const max = input.MaxBuckets;
    if (max !== undefined && (max < 1 || max > 10000)) throw S3Errors.invalidArgument('MaxBuckets must be between 1 and 10000', 'max-buckets', String(max));
    const page = max !== undefined ? buckets.slice(0, max) : buckets;
    const truncated = page.length < buckets.length;
    return {
      Buckets: page.map((b) => ({ Name: b.name, CreationDate: b.created, BucketRegion: b.region })),
      Owner: ownerOf(ctx.account),
      Prefix: input.Prefix,
      ContinuationToken: truncated ? encodeToken(page[page.length - 1].name) : undefined,
    };
  };

  const HeadBucket: Op<'HeadBucket'> = (ctx, input) => {
    const bucket = store.bucket(input.Bucket);
    if (!bucket) throw S3Errors.notFound();
    if (!mayUse(ctx, bucket)) throw S3Errors.accessDenied();
    return { BucketRegion: bucket.region, AccessPointAlias: false };
  };

  const DeleteBucket: Op<'DeleteBucket'> = async (ctx, input) => {
    const bucket = ownedBucket(store, ctx, input.Bucket);
    const partBlobs = store.transaction(() => {
      if (!store.isEmpty(bucket.name) || versions.hasVersions(bucket.name)) throw S3Errors.bucketNotEmpty(bucket.name);
      const parts = uploads.forgetBucket(bucket.name);
      versions.forgetBucket(bucket.name);
      store.deleteBucket(bucket.name);
      return parts;
    });
    await blobs.release(partBlobs);
    return {};
  };

  const GetBucketLocation: Op<'GetBucketLocation'> = (ctx, input) => {
    const bucket = ownedBucket(store, ctx, input.Bucket);
    return { LocationConstraint: bucket.region === 'us-east-1' ? '' : bucket.region };
  };

  return { CreateBucket, ListBuckets, HeadBucket, DeleteBucket, GetBucketLocation };
}
