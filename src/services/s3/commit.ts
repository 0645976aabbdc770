/**
 * How writes and deletes change what is stored at a key, by the bucket's versioning state:
 * never versioned (overwrite, delete for good), Enabled (every write is a new version; a plain
 * delete adds a delete marker) or Suspended (writes and markers take the "null" version, which
 * replaces any earlier "null" one). Every function here runs inside the caller's transaction and
 * returns the blob files that no row references any more, for the caller to delete afterwards.
 */
import { randomBytes } from 'node:crypto';
import { S3Errors } from './errors.js';
import { checkRemovable } from './object-lock-rules.js';
import { wholeSeconds } from './object-rules.js';
import type { ObjectAttributes, ObjectRow, S3Store } from './store.js';
import { versionOf, type VersionRow, type VersionStore } from './versions-store.js';

export interface Committed {
  freed: string[];
  /** The new version's ID, when the bucket is (or was) versioned. */
  versionId?: string;
}

/** Commits `row` at its key; `check` first sees the current object (conditional writes). */
export type CommitObject = (row: ObjectRow, check: (existing: ObjectRow | undefined) => void) => Committed;

/** What deleting a key (or one version of it) did, for DeleteObject(s)'s answer. */
export interface Removal {
  freed: string[];
  versionId?: string;
  deleteMarker?: boolean;
}

/** `bypassGovernance`: x-amz-bypass-governance-retention, from a caller allowed it (./authorize.ts). */
export type RemoveObject = (bucket: string, key: string, versionId: string | undefined, now: Date, bypassGovernance?: boolean) => Removal;

/**
 * Deletes of many keys at once, none naming a version (DeleteObjects): what each did, in the
 * order given. Nothing here refuses a key, so no key needs undoing on its own.
 */
export type RemoveKeys = (bucket: string, keys: string[], now: Date) => Removal[];

/** The version a read names: an object, or a delete marker (which reads refuse). */
export interface Found {
  row?: ObjectRow;
  marker?: VersionRow;
}

export type FindObject = (bucket: string, key: string, versionId: string | undefined) => Found;

export interface Versioning {
  commit: CommitObject;
  remove: RemoveObject;
  removeKeys: RemoveKeys;
  find: FindObject;
  /** The x-amz-version-id to answer for `row`: only in buckets that have been versioned. */
  versionIdOf: (row: ObjectRow) => string | undefined;
}

// AWS's version IDs are 32 URL-safe characters; kumo's are random ones of the same shape.
const newVersionId = () => randomBytes(24).toString('base64url');
const VERSION_ID = /^[A-Za-z0-9_.-]{32}$/;

function checkVersionId(versionId: string): void {
  if (versionId !== 'null' && !VERSION_ID.test(versionId)) throw S3Errors.invalidArgument('Invalid version id specified', 'versionId', versionId);
}

export function versioning(store: S3Store, versions: VersionStore): Versioning {
  /** After a version went away: if no object is current, the newest remaining version becomes it. */
  function promoteNewest(bucket: string, key: string): void {
    if (store.object(bucket, key)) return;
    const newest = versions.newest(bucket, key);
    if (!newest || newest.deleteMarker) return;
    versions.remove(bucket, key, newest.versionId);
    const { versionId: _v, seq: _s, deleteMarker: _d, ...row } = newest;
    store.putObject(row);
  }

  /** In a suspended bucket a new "null" version replaces the old one, wherever it is. */
  function dropNullVersion(bucket: string, key: string, current: ObjectRow | undefined, freed: string[]): void {
    if (current) {
      if (versionOf(current) === 'null') freed.push(current.blob);
      else versions.insert(current, false);
      store.deleteObject(bucket, key);
    }
    const old = versions.version(bucket, key, 'null');
    if (old) {
      versions.remove(bucket, key, 'null');
      if (!old.deleteMarker) freed.push(old.blob);
    }
  }

  const commit: CommitObject = (row, check) => {
    const current = store.object(row.bucket, row.key);
    check(current);
    const status = versions.status(row.bucket);
    const freed: string[] = [];
    if (status === undefined) {
      if (current && current.blob !== row.blob) freed.push(current.blob);
      store.putObject(row);
      return { freed };
    }
    if (status === 'Enabled') {
      row.attrs.VersionId = newVersionId();
      if (current) versions.insert(current, false);
    } else {
      delete row.attrs.VersionId;
      dropNullVersion(row.bucket, row.key, current, freed);
    }
    store.putObject(row);
    return { freed, versionId: versionOf(row) };
  };

  const remove: RemoveObject = (bucket, key, versionId, now, bypassGovernance = false) => {
    const status = versions.status(bucket);
    const current = store.object(bucket, key);
    if (versionId === undefined) {
      if (status === undefined) {
        if (current) store.deleteObject(bucket, key);
        return { freed: current ? [current.blob] : [] };
      }
      const marker: ObjectRow = {
        bucket,
        key,
        blob: '',
        size: 0,
        etag: '',
        lastModified: wholeSeconds(now),
        attrs: status === 'Enabled' ? { VersionId: newVersionId() } : {},
      };
      const freed: string[] = [];
      if (status === 'Enabled') {
        if (current) {
          versions.insert(current, false);
          store.deleteObject(bucket, key);
        }
      } else dropNullVersion(bucket, key, current, freed);
      versions.insert(marker, true);
      return { freed, versionId: versionOf(marker), deleteMarker: true };
    }
    checkVersionId(versionId);
    if (status === undefined && versionId !== 'null') throw S3Errors.invalidArgument('Invalid version id specified', 'versionId', versionId);
    if (current && versionOf(current) === versionId) {
      checkRemovable(current.attrs.Lock, now, bypassGovernance);
      store.deleteObject(bucket, key);
      promoteNewest(bucket, key);
      return { freed: [current.blob], versionId: status ? versionId : undefined };
    }
    const old = versions.version(bucket, key, versionId);
    // Deleting a version that does not exist succeeds and changes nothing, as on AWS.
    if (!old) return { freed: [], versionId };
    checkRemovable(old.attrs.Lock, now, bypassGovernance);
    versions.remove(bucket, key, versionId);
    promoteNewest(bucket, key);
    return { freed: old.deleteMarker ? [] : [old.blob], versionId, deleteMarker: old.deleteMarker || undefined };
  };

  // In a bucket never versioned, one statement deletes them all; else a delete marker each.
  const removeKeys: RemoveKeys = (bucket, keys, now) => {
    if (versions.status(bucket) !== undefined) return keys.map((key) => remove(bucket, key, undefined, now));
    const blobs = store.deleteObjects(bucket, keys);
    return keys.map((key) => {
      const blob = blobs.get(key);
      // A key named twice was deleted once.
      blobs.delete(key);
      return { freed: blob === undefined ? [] : [blob] };
    });
  };

  const find: FindObject = (bucket, key, versionId) => {
    const current = store.object(bucket, key);
    if (versionId === undefined) {
      if (current) return { row: current };
      const newest = versions.newest(bucket, key);
      return newest?.deleteMarker ? { marker: newest } : {};
    }
    checkVersionId(versionId);
    if (current && versionOf(current) === versionId) return { row: current };
    const v = versions.version(bucket, key, versionId);
    if (v) return v.deleteMarker ? { marker: v } : { row: v };
    if (versions.status(bucket) === undefined && versionId !== 'null') throw S3Errors.invalidArgument('Invalid version id specified', 'versionId', versionId);
    return {};
  };

  const versionIdOf = (row: ObjectRow) => (versions.status(row.bucket) ? versionOf(row) : undefined);

  return { commit, remove, removeKeys, find, versionIdOf };
}

/** Changes attributes of one version (tags, retention, legal hold), current or not, in place. */
export function patchAttrs(store: S3Store, versions: VersionStore, row: ObjectRow, patch: Partial<ObjectAttributes>): void {
  store.transaction(() => {
    const current = store.object(row.bucket, row.key);
    if (current && versionOf(current) === versionOf(row)) store.putObject({ ...current, attrs: { ...current.attrs, ...patch } });
    else {
      const stored = versions.version(row.bucket, row.key, versionOf(row));
      if (stored) versions.updateAttrs(row.bucket, row.key, versionOf(row), { ...stored.attrs, ...patch });
    }
  });
}
