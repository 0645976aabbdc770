/**
 * Object Lock: a bucket created with it (versioning on, for good) or given it later on a versioned
 * bucket, its default retention, and each version's retention (GOVERNANCE or COMPLIANCE, until a
 * date) and legal hold, kept in the version's attrs (`Lock`). A locked version cannot be deleted:
 * commit.ts's `remove` asks `checkRemovable` before it deletes a version for good (a delete
 * without a version ID only adds a marker, which S3 allows). GOVERNANCE gives way to
 * `x-amz-bypass-governance-retention: true` from a caller allowed s3:BypassGovernanceRetention
 * (./authorize.ts); COMPLIANCE and a legal hold give way to nothing. Lifecycle leaves locked
 * versions alone.
 *
 * Writes (PutObject, CopyObject, CreateMultipartUpload) take the x-amz-object-lock-* headers or
 * the bucket's default retention through `forWrite`.
 */
import type { S3Operations } from '../../models/generated/s3.js';
import { AwsError } from '../../protocol/errors.js';
import { malformedXml } from '../../protocol/xml-decode.js';
import { type OpHandler, type RequestContext } from '../service.js';
import { ownedBucket } from './access.js';
import type { AccessStore } from './access-store.js';
import { patchAttrs, type Versioning } from './commit.js';
import { S3Errors } from './errors.js';
import { namedVersion } from './object-rules.js';
import { LockErrors, MODES } from './object-lock-rules.js';
import type { ObjectRow, S3Store, VersionLock } from './store.js';
import type { VersionStore } from './versions-store.js';

type Op<K extends keyof S3Operations> = OpHandler<S3Operations, K>;
type LockConfig = NonNullable<S3Operations['GetObjectLockConfiguration']['output']['ObjectLockConfiguration']>;

const DAY_MS = 86_400_000;

export interface LockHeaders {
  ObjectLockMode?: string;
  ObjectLockRetainUntilDate?: Date | string;
  ObjectLockLegalHoldStatus?: string;
}

export class ObjectLocks {
  constructor(private readonly acc: AccessStore) {}

  config(bucket: string): LockConfig | undefined {
    return this.acc.get<LockConfig>(bucket, 'object-lock');
  }

  /** A bucket created with Object Lock (its versioning is the caller's to turn on). */
  enable(bucket: string): void {
    this.configure(bucket, { ObjectLockEnabled: 'Enabled' });
  }

  configure(bucket: string, config: LockConfig): void {
    this.acc.put(bucket, 'object-lock', config);
  }

  /** The lock a new version gets: the request's headers, else the bucket's default retention. */
  forWrite(bucket: string, h: LockHeaders, now: Date): VersionLock | undefined {
    const config = this.config(bucket);
    const asked = h.ObjectLockMode !== undefined || h.ObjectLockRetainUntilDate !== undefined || h.ObjectLockLegalHoldStatus !== undefined;
    if (asked && !config) throw LockErrors.missingConfig();
    if (!config) return undefined;
    const lock: VersionLock = {};
    if (h.ObjectLockMode !== undefined || h.ObjectLockRetainUntilDate !== undefined) {
      if (h.ObjectLockMode === undefined || h.ObjectLockRetainUntilDate === undefined) {
        throw S3Errors.invalidArgument('x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied');
      }
      if (!MODES.includes(h.ObjectLockMode)) throw S3Errors.invalidArgument('Unknown wormMode directive.', 'x-amz-object-lock-mode', h.ObjectLockMode);
      const until = new Date(h.ObjectLockRetainUntilDate);
      if (Number.isNaN(until.getTime())) throw S3Errors.invalidArgument('The retain until date is not valid', 'x-amz-object-lock-retain-until-date', String(h.ObjectLockRetainUntilDate));
      if (until <= now) throw LockErrors.pastDate();
      lock.Mode = h.ObjectLockMode as VersionLock['Mode'];
      lock.RetainUntil = until.toISOString();
    } else if (config.Rule?.DefaultRetention) {
      const d = config.Rule.DefaultRetention;
      lock.Mode = d.Mode as VersionLock['Mode'];
      lock.RetainUntil = new Date(now.getTime() + (d.Days ?? 0) * DAY_MS + (d.Years ?? 0) * 365 * DAY_MS).toISOString();
    }
    if (h.ObjectLockLegalHoldStatus !== undefined) {
      if (h.ObjectLockLegalHoldStatus !== 'ON' && h.ObjectLockLegalHoldStatus !== 'OFF') {
        throw S3Errors.invalidArgument("Legal Hold must be either of 'ON' or 'OFF'", 'x-amz-object-lock-legal-hold', h.ObjectLockLegalHoldStatus);
      }
      lock.LegalHold = h.ObjectLockLegalHoldStatus;
    }
    return lock.Mode || lock.LegalHold ? lock : undefined;
  }
}

/**
 * S3 insists on a Content-MD5 or a checksum for a PutObject that sets a lock, so the bytes a lock
 * will keep for years are the ones sent.
 */
export function checkLockedPutIntegrity(ctx: RequestContext, h: LockHeaders & { ContentMD5?: string }): void {
  if (h.ObjectLockMode === undefined && h.ObjectLockRetainUntilDate === undefined && h.ObjectLockLegalHoldStatus === undefined) return;
  const headers = ctx.headers ?? {};
  const checked = h.ContentMD5 !== undefined || headers['x-amz-trailer'] !== undefined || Object.keys(headers).some((k) => k.startsWith('x-amz-checksum-'));
  if (!checked) throw new AwsError('InvalidRequest', 'Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests with Object Lock parameters', 400);
}

export function objectLockHandlers(store: S3Store, versions: VersionStore, v: Versioning, locks: ObjectLocks) {
  const lockedBucket = (ctx: RequestContext, name: string) => {
    const bucket = ownedBucket(store, ctx, name);
    if (!locks.config(bucket.name)) throw LockErrors.missingConfig();
    return bucket;
  };
  const target = (ctx: RequestContext, bucket: string, key: string, versionId: string | undefined): ObjectRow => {
    lockedBucket(ctx, bucket);
    return namedVersion(store, ctx, v.find, bucket, key, versionId);
  };

  const PutObjectLockConfiguration: Op<'PutObjectLockConfiguration'> = (ctx, input) => {
    const bucket = ownedBucket(store, ctx, input.Bucket);
    const config = input.ObjectLockConfiguration;
    if (!config || config.ObjectLockEnabled !== 'Enabled') throw malformedXml();
    const d = config.Rule?.DefaultRetention;
    if (config.Rule && !d) throw malformedXml();
    if (d) {
      if (!d.Mode || !MODES.includes(d.Mode)) throw malformedXml();
      if ((d.Days === undefined) === (d.Years === undefined)) throw malformedXml();
      if ((d.Days ?? d.Years ?? 0) <= 0) throw S3Errors.invalidArgument('Default retention period must be a positive integer value', 'Days', String(d.Days ?? d.Years));
    }
    // A bucket without Object Lock takes it only once its versioning is on.
    if (!locks.config(bucket.name) && versions.status(bucket.name) !== 'Enabled') {
      throw new AwsError('InvalidBucketState', "Versioning must be 'Enabled' on the bucket to apply a Object Lock configuration", 409);
    }
    locks.configure(bucket.name, config);
    return {};
  };

  const GetObjectLockConfiguration: Op<'GetObjectLockConfiguration'> = (ctx, input) => {
    const bucket = ownedBucket(store, ctx, input.Bucket);
    const config = locks.config(bucket.name);
    if (!config) {
      throw new AwsError('ObjectLockConfigurationNotFoundError', 'Object Lock configuration does not exist for this bucket', 404, { fields: { BucketName: bucket.name } });
    }
    return { ObjectLockConfiguration: config };
  };

  const PutObjectRetention: Op<'PutObjectRetention'> = (ctx, input) => {
    const row = target(ctx, input.Bucket, input.Key, input.VersionId);
    const r = input.Retention;
    const now = ctx.now();
    if (!r || (r.Mode === undefined) !== (r.RetainUntilDate === undefined)) throw malformedXml();
    if (r.Mode !== undefined && !MODES.includes(r.Mode)) throw malformedXml();
    const until = r.RetainUntilDate !== undefined ? new Date(r.RetainUntilDate) : undefined;
    if (until && until <= now) throw LockErrors.pastDate();
    const old = row.attrs.Lock;
    const active = old?.RetainUntil !== undefined && new Date(old.RetainUntil) > now;
    if (active) {
      const weaker = !until || until < new Date(old.RetainUntil!) || (old.Mode === 'COMPLIANCE' && r.Mode !== 'COMPLIANCE');
      // COMPLIANCE may only be extended; GOVERNANCE may be weakened with the bypass.
      if (weaker && (old.Mode === 'COMPLIANCE' || !input.BypassGovernanceRetention)) throw LockErrors.protectedVersion();
    }
    const lock: VersionLock = { ...old, Mode: r.Mode as VersionLock['Mode'], RetainUntil: until?.toISOString() };
    patchAttrs(store, versions, row, { Lock: lock.Mode || lock.LegalHold ? lock : undefined });
    return {};
  };

  const GetObjectRetention: Op<'GetObjectRetention'> = (ctx, input) => {
    const lock = target(ctx, input.Bucket, input.Key, input.VersionId).attrs.Lock;
    if (!lock?.RetainUntil) throw LockErrors.noObjectConfig();
    return { Retention: { Mode: lock.Mode, RetainUntilDate: new Date(lock.RetainUntil) } };
  };

  const PutObjectLegalHold: Op<'PutObjectLegalHold'> = (ctx, input) => {
    const row = target(ctx, input.Bucket, input.Key, input.VersionId);
    const status = input.LegalHold?.Status;
    if (status !== 'ON' && status !== 'OFF') throw malformedXml();
    patchAttrs(store, versions, row, { Lock: { ...row.attrs.Lock, LegalHold: status } });
    return {};
  };

  const GetObjectLegalHold: Op<'GetObjectLegalHold'> = (ctx, input) => {
    const lock = target(ctx, input.Bucket, input.Key, input.VersionId).attrs.Lock;
    if (!lock?.LegalHold) throw LockErrors.noObjectConfig();
    return { LegalHold: { Status: lock.LegalHold } };
  };

  return { PutObjectLockConfiguration, GetObjectLockConfiguration, PutObjectRetention, GetObjectRetention, PutObjectLegalHold, GetObjectLegalHold };
}
