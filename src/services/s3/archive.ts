/**
 * Archived storage classes (GLACIER, DEEP_ARCHIVE) and RestoreObject. An archived object is
 * listed and answers HEAD, but its bytes cannot be read (GET, copies, Select) until a restore has
 * completed, and only until the restored copy expires, as on S3. A restore takes the time its
 * tier takes on S3 (below), counted on kumo's clock, which a test advances with
 * `POST /_kumo/clock`; its state is derived from that clock when asked, so nothing runs in the
 * background: `{ requested, readyAt, days }` in the version's attrs is all there is.
 */
import type { S3Operations } from '../../models/generated/s3.js';
import { AwsError } from '../../protocol/errors.js';
import { malformedXml } from '../../protocol/xml-decode.js';
import { type OpHandler } from '../service.js';
import { patchAttrs, type Versioning } from './commit.js';
import { S3Errors } from './errors.js';
import { dueAfterDays } from './lifecycle-rules.js';
import { namedVersion } from './object-rules.js';
import type { ObjectAttributes, ObjectRow, S3Store } from './store.js';
import type { VersionStore } from './versions-store.js';

type Op<K extends keyof S3Operations> = OpHandler<S3Operations, K>;

export const ARCHIVED_CLASSES = new Set(['GLACIER', 'DEEP_ARCHIVE']);

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
/** How long a restore takes, by class and tier (the low end of S3's published ranges). */
const RESTORE_TIME: Record<string, Record<string, number>> = {
  GLACIER: { Expedited: MINUTE, Standard: 3 * HOUR, Bulk: 5 * HOUR },
  DEEP_ARCHIVE: { Standard: 12 * HOUR, Bulk: 48 * HOUR },
};

export interface RestoreState {
  requested: string;
  readyAt: string;
  days: number;
}

const invalidState = (storageClass: string, message = "The operation is not valid for the object's storage class") =>
  new AwsError('InvalidObjectState', message, 403, { fields: { StorageClass: storageClass } });

/** Where a restore stands at `now`: under way, or done with its copy until `expiry`; undefined if none (or expired). */
export function restoreOf(attrs: ObjectAttributes, now: Date): { ongoing: true } | { ongoing: false; expiry: Date } | undefined {
  const r = attrs.Restore;
  if (!r) return undefined;
  if (new Date(r.readyAt) > now) return { ongoing: true };
  const expiry = dueAfterDays(r.readyAt, r.days);
  return expiry > now ? { ongoing: false, expiry } : undefined;
}

/** Refuses to read an archived version that has no restored copy now. */
export function checkReadable(obj: ObjectRow, now: Date): void {
  const cls = obj.attrs.StorageClass ?? 'STANDARD';
  if (!ARCHIVED_CLASSES.has(cls)) return;
  const r = restoreOf(obj.attrs, now);
  if (!r || r.ongoing) throw invalidState(cls);
}

/** The x-amz-restore header GET and HEAD answer. */
export function restoreHeader(obj: ObjectRow, now: Date): string | undefined {
  const r = restoreOf(obj.attrs, now);
  if (!r) return undefined;
  return r.ongoing ? 'ongoing-request="true"' : `ongoing-request="false", expiry-date="${r.expiry.toUTCString()}"`;
}

export function restoreHandlers(store: S3Store, versions: VersionStore, v: Versioning) {
  const RestoreObject: Op<'RestoreObject'> = (ctx, input) => {
    const obj = namedVersion(store, ctx, v.find, input.Bucket, input.Key, input.VersionId);
    const cls = obj.attrs.StorageClass ?? 'STANDARD';
    if (!ARCHIVED_CLASSES.has(cls)) throw invalidState(cls, "Restore is not allowed for the object's current storage class");
    const req = input.RestoreRequest;
    if (req?.Type !== undefined || req?.SelectParameters || req?.OutputLocation) throw S3Errors.notImplemented('restores of type SELECT');
    if (req?.Days === undefined) throw malformedXml();
    if (!Number.isInteger(req.Days) || req.Days < 1) throw S3Errors.invalidArgument('Days must be a positive integer', 'Days', String(req.Days));
    const tier = req.GlacierJobParameters?.Tier ?? req.Tier ?? 'Standard';
    const takes = RESTORE_TIME[cls][tier];
    if (takes === undefined) throw S3Errors.invalidArgument(`The ${tier} tier is not available for the ${cls} storage class`, 'Tier', tier);
    const now = ctx.now();
    const state = restoreOf(obj.attrs, now);
    if (state?.ongoing) throw new AwsError('RestoreAlreadyInProgress', 'Object restore is already in progress', 409);
    // A restored copy's days are counted again from now; a new restore takes its tier's time.
    const Restore: RestoreState = state
      ? { requested: obj.attrs.Restore!.requested, readyAt: now.toISOString(), days: req.Days }
      : { requested: now.toISOString(), readyAt: new Date(now.getTime() + takes).toISOString(), days: req.Days };
    patchAttrs(store, versions, obj, { Restore });
    return { StatusCode: state ? 200 : 202 };
  };
  return { RestoreObject };
}
