/**
 * Object versions in SQLite. `s3_objects` keeps, per key, the current version when it is an object
 * (so GET, HEAD and listings stay one-table lookups); `s3_versions` keeps every other version: the
 * noncurrent ones and all delete markers. A version moves to `s3_versions` the moment it stops
 * being current, taking the next `seq`, so within a key a higher seq is always newer and the
 * current object (when there is one) is newer than all of them. A version's ID lives in the
 * object's attrs (`VersionId`; absent means the "null" version), so the object table and its
 * existing rows need no change.
 */
import type { Db, Migration } from '../../state/db.js';
import type { ObjectAttributes, ObjectRow } from './store.js';

export type VersioningStatus = 'Enabled' | 'Suspended';

export interface VersionRow extends ObjectRow {
  versionId: string;
  seq: number;
  deleteMarker: boolean;
}

export const versionMigrations: Migration = {
  version: 2,
  up: `CREATE TABLE s3_bucket_versioning (bucket TEXT PRIMARY KEY, status TEXT NOT NULL);
    CREATE TABLE s3_versions (
      bucket TEXT NOT NULL, key TEXT NOT NULL, version_id TEXT NOT NULL, seq INTEGER NOT NULL,
      delete_marker INTEGER NOT NULL, blob TEXT, size INTEGER NOT NULL, etag TEXT NOT NULL,
      last_modified TEXT NOT NULL, attrs TEXT NOT NULL,
      PRIMARY KEY (bucket, key, version_id)) WITHOUT ROWID;
    CREATE INDEX s3_versions_by_seq ON s3_versions (bucket, key, seq);
    CREATE INDEX s3_versions_by_blob ON s3_versions (blob);`,
};

interface RawVersion {
  bucket: string;
  key: string;
  version_id: string;
  seq: number;
  delete_marker: number;
  blob: string | null;
  size: number;
  etag: string;
  last_modified: string;
  attrs: string;
}

const toVersion = (r: RawVersion): VersionRow => ({
  bucket: r.bucket,
  key: r.key,
  versionId: r.version_id,
  seq: r.seq,
  deleteMarker: r.delete_marker === 1,
  blob: r.blob ?? '',
  size: r.size,
  etag: r.etag,
  lastModified: r.last_modified,
  attrs: JSON.parse(r.attrs) as ObjectAttributes,
});

export const versionOf = (o: ObjectRow): string => o.attrs.VersionId ?? 'null';

export class VersionStore {
  private readonly q;

  constructor(readonly db: Db) {
    this.q = {
      status: db.prepare('SELECT status FROM s3_bucket_versioning WHERE bucket = ?'),
      setStatus: db.prepare(
        'INSERT INTO s3_bucket_versioning (bucket, status) VALUES (?, ?) ON CONFLICT (bucket) DO UPDATE SET status = excluded.status',
      ),
      version: db.prepare('SELECT * FROM s3_versions WHERE bucket = ? AND key = ? AND version_id = ?'),
      newest: db.prepare('SELECT * FROM s3_versions WHERE bucket = ? AND key = ? ORDER BY seq DESC LIMIT 1'),
      nextSeq: db.prepare('SELECT COALESCE(MAX(seq), 0) + 1 AS n FROM s3_versions'),
      insert: db.prepare(
        `INSERT INTO s3_versions (bucket, key, version_id, seq, delete_marker, blob, size, etag, last_modified, attrs)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      remove: db.prepare('DELETE FROM s3_versions WHERE bucket = ? AND key = ? AND version_id = ?'),
      updateAttrs: db.prepare('UPDATE s3_versions SET attrs = ? WHERE bucket = ? AND key = ? AND version_id = ?'),
      from: db.prepare('SELECT * FROM s3_versions WHERE bucket = ? AND key >= ? ORDER BY key, seq DESC'),
      blobUsed: db.prepare('SELECT 1 FROM s3_versions WHERE blob = ? LIMIT 1'),
      any: db.prepare('SELECT 1 FROM s3_versions WHERE bucket = ? LIMIT 1'),
      forget: db.prepare('DELETE FROM s3_bucket_versioning WHERE bucket = ?'),
    };
  }

  /** undefined: the bucket has never had versioning enabled. */
  status(bucket: string): VersioningStatus | undefined {
    return (this.q.status.get(bucket) as { status: VersioningStatus } | undefined)?.status;
  }

  setStatus(bucket: string, status: VersioningStatus): void {
    this.q.setStatus.run(bucket, status);
  }

  forgetBucket(bucket: string): void {
    this.q.forget.run(bucket);
  }

  version(bucket: string, key: string, versionId: string): VersionRow | undefined {
    const r = this.q.version.get(bucket, key, versionId) as RawVersion | undefined;
    return r ? toVersion(r) : undefined;
  }

  newest(bucket: string, key: string): VersionRow | undefined {
    const r = this.q.newest.get(bucket, key) as RawVersion | undefined;
    return r ? toVersion(r) : undefined;
  }

  /** Files `o` as noncurrent (or as a delete marker, with no blob). */
  insert(o: ObjectRow, deleteMarker: boolean): void {
    const seq = (this.q.nextSeq.get() as { n: number }).n;
    this.q.insert.run(o.bucket, o.key, versionOf(o), seq, deleteMarker ? 1 : 0, deleteMarker ? null : o.blob, o.size, o.etag, o.lastModified, JSON.stringify(o.attrs));
  }

  remove(bucket: string, key: string, versionId: string): void {
    this.q.remove.run(bucket, key, versionId);
  }

  updateAttrs(bucket: string, key: string, versionId: string, attrs: ObjectAttributes): void {
    this.q.updateAttrs.run(JSON.stringify(attrs), bucket, key, versionId);
  }

  /** Noncurrent versions and markers from `fromKey` on, by key then newest first, lazily. */
  *iterate(bucket: string, fromKey: string): Generator<VersionRow> {
    for (const r of this.q.from.iterate(bucket, fromKey) as Iterable<RawVersion>) yield toVersion(r);
  }

  blobInUse(id: string): boolean {
    return this.q.blobUsed.get(id) !== undefined;
  }

  hasVersions(bucket: string): boolean {
    return this.q.any.get(bucket) !== undefined;
  }
}
