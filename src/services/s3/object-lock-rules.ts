/**
 * What a version's Object Lock allows (./object-lock.ts keeps the locks): whether it may be
 * deleted for good, whether lifecycle must pass it by, and the headers reads answer about it.
 */
import { AwsError } from '../../protocol/errors.js';
import { S3Errors } from './errors.js';
import type { VersionLock } from './store.js';

export const MODES = ['GOVERNANCE', 'COMPLIANCE'];

export const LockErrors = {
  missingConfig: () => new AwsError('InvalidRequest', 'Bucket is missing Object Lock Configuration', 400),
  protectedVersion: () => new AwsError('AccessDenied', 'Access Denied because object protected by object lock.', 403),
  pastDate: () => S3Errors.invalidArgument('The retain until date must be in the future!'),
  noObjectConfig: () => new AwsError('NoSuchObjectLockConfiguration', 'The specified object does not have a ObjectLock configuration', 404),
  versioningLocked: () =>
    new AwsError('InvalidBucketState', 'An Object Lock configuration is present on this bucket, so the versioning state cannot be changed.', 409),
};

/** Whether a version may be deleted for good now; AWS's refusal otherwise. */
export function checkRemovable(lock: VersionLock | undefined, now: Date, bypassGovernance: boolean): void {
  if (!lock) return;
  if (lock.LegalHold === 'ON') throw LockErrors.protectedVersion();
  if (lock.RetainUntil === undefined || new Date(lock.RetainUntil) <= now) return;
  if (lock.Mode === 'COMPLIANCE' || !bypassGovernance) throw LockErrors.protectedVersion();
}

/** Whether anything keeps the version now (lifecycle passes such versions by). */
export function isLocked(lock: VersionLock | undefined, now: Date): boolean {
  return lock?.LegalHold === 'ON' || (lock?.RetainUntil !== undefined && new Date(lock.RetainUntil) > now);
}

/** The x-amz-object-lock-* headers GET and HEAD answer for a version. */
export function lockFields(lock: VersionLock | undefined) {
  return {
    ObjectLockMode: lock?.RetainUntil ? lock.Mode : undefined,
    ObjectLockRetainUntilDate: lock?.RetainUntil ? new Date(lock.RetainUntil) : undefined,
    ObjectLockLegalHoldStatus: lock?.LegalHold,
  };
}

