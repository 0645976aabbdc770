/**
 * S3's metadata tables. Bucket names are global (one namespace for all accounts); objects are
 * rows keyed by (bucket, key) pointing at a blob file. Keys compare as UTF-8 bytes (SQLite's
 * BINARY collation), which is S3's listing order.
 */
import type { RestoreState } from './archive.js';
import { transact, type Db, type Migration } from '../../state/db.js';
import type { Encryption } from './sse.js';

export interface BucketRow {
  name: string;
  account: string;
  region: string;
  created: string;
}

export interface ObjectAttributes {
  ContentType?: string;
  ContentEncoding?: string;
  ContentLanguage?: string;
  ContentDisposition?: string;
  CacheControl?: string;
  Expires?: string;
  Metadata?: Record<string, string>;
  StorageClass?: string;
  Checksum?: { algorithm: string; value: string };
  /** COMPOSITE for a multipart object whose checksum is over its parts' checksums. */
  ChecksumType?: 'COMPOSITE' | 'FULL_OBJECT';
  /** Part sizes of an object made by multipart upload, for GET/HEAD ?partNumber=. */
  Parts?: number[];
  /** Object tags (x-amz-tagging, PutObjectTagging), in the order given. */
  Tags?: { Key: string; Value: string }[];
  /** The version's ID in a versioned bucket; absent for the "null" version. */
  VersionId?: string;
  /** How the object is encrypted (./sse.ts); absent: SSE-S3, as for objects written before it was recorded. */
  Encryption?: Encryption;
  /** A restore of an archived version (./archive.ts). */
  Restore?: RestoreState;
  /** x-amz-website-redirect-location: where the website endpoint redirects a reader. */
  WebsiteRedirectLocation?: string;
  /** Object Lock on this version (./object-lock.ts): retention and legal hold. */
  Lock?: VersionLock;
}

export interface VersionLock {
  Mode?: 'GOVERNANCE' | 'COMPLIANCE';
  /** ISO 8601; the version may not be deleted before it (COMPLIANCE; GOVERNANCE without bypass). */
  RetainUntil?: string;
  LegalHold?: 'ON' | 'OFF';
}

export interface ObjectRow {
  bucket: string;
  key: string;
  blob: string;
  size: number;
  etag: string;
  lastModified: string;
  attrs: ObjectAttributes;
}

export const s3Migrations: Migration[] = [
  {
    version: 1,
    up: `CREATE TABLE s3_buckets (
        name TEXT PRIMARY KEY, account TEXT NOT NULL, region TEXT NOT NULL, created TEXT NOT NULL);
      CREATE INDEX s3_buckets_by_account ON s3_buckets (account, name);
      CREATE TABLE s3_objects (
        bucket TEXT NOT NULL REFERENCES s3_buckets (name), key TEXT NOT NULL,
        blob TEXT NOT NULL, size INTEGER NOT NULL, etag TEXT NOT NULL, last_modified TEXT NOT NULL,
        attrs TEXT NOT NULL,
        PRIMARY KEY (bucket, key)) WITHOUT ROWID;
      CREATE INDEX s3_objects_by_blob ON s3_objects (blob);`,
  },
];

interface RawObject {
  bucket: string;
  key: string;
  blob: string;
  size: number;
  etag: string;
  last_modified: string;
  attrs: string;
}

const toObject = (r: RawObject): ObjectRow => ({
  bucket: r.bucket,
  key: r.key,
  blob: r.blob,
  size: r.size,
  etag: r.etag,
  lastModified: r.last_modified,
  attrs: JSON.parse(r.attrs) as ObjectAttributes,
});

export class S3Store {
  private readonly q;
  /**
   * Buckets by name, as read outside any transaction: every request looks its bucket up, often
   * more than once. This store is the only writer of the table; `forget` after a wipe.
   */
  private readonly buckets = new Map<string, BucketRow>();

  constructor(readonly db: Db) {
    this.q = {
      bucket: db.prepare('SELECT name, account, region, created FROM s3_buckets WHERE name = ?'),
      insertBucket: db.prepare('INSERT INTO s3_buckets (name, account, region, created) VALUES (?, ?, ?, ?)'),
      deleteBucket: db.prepare('DELETE FROM s3_buckets WHERE name = ?'),
      bucketsOf: db.prepare('SELECT name, account, region, created FROM s3_buckets WHERE account = ? ORDER BY name'),
      anyObject: db.prepare('SELECT 1 FROM s3_objects WHERE bucket = ? LIMIT 1'),
      object: db.prepare('SELECT * FROM s3_objects WHERE bucket = ? AND key = ?'),
      upsert: db.prepare(
        `INSERT INTO s3_objects (bucket, key, blob, size, etag, last_modified, attrs) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (bucket, key) DO UPDATE SET blob = excluded.blob, size = excluded.size, etag = excluded.etag,
           last_modified = excluded.last_modified, attrs = excluded.attrs`,
      ),
      deleteObject: db.prepare('DELETE FROM s3_objects WHERE bucket = ? AND key = ?'),
      deleteObjects: db.prepare('DELETE FROM s3_objects WHERE bucket = ? AND key IN (SELECT value FROM json_each(?)) RETURNING key, blob'),
      listFrom: db.prepare('SELECT * FROM s3_objects WHERE bucket = ? AND key > ? AND key >= ? ORDER BY key'),
      blobUsed: db.prepare('SELECT 1 FROM s3_objects WHERE blob = ? LIMIT 1'),
    };
  }

  bucket(name: string): BucketRow | undefined {
    const known = this.buckets.get(name);
    if (known) return known;
    const row = this.q.bucket.get(name) as BucketRow | undefined;
    if (row && !this.db.inTransaction) this.buckets.set(name, Object.freeze(row));
    return row;
  }

  insertBucket(b: BucketRow): void {
    this.q.insertBucket.run(b.name, b.account, b.region, b.created);
  }

  deleteBucket(name: string): void {
    this.q.deleteBucket.run(name);
    this.buckets.delete(name);
  }

  /** The tables were emptied under this store (a reset): nothing read before holds. */
  forget(): void {
    this.buckets.clear();
  }

  bucketsOf(account: string): BucketRow[] {
    return this.q.bucketsOf.all(account) as BucketRow[];
  }

  isEmpty(bucket: string): boolean {
    return this.q.anyObject.get(bucket) === undefined;
  }

  object(bucket: string, key: string): ObjectRow | undefined {
    const r = this.q.object.get(bucket, key) as RawObject | undefined;
    return r ? toObject(r) : undefined;
  }

  putObject(o: ObjectRow): void {
    this.q.upsert.run(o.bucket, o.key, o.blob, o.size, o.etag, o.lastModified, JSON.stringify(o.attrs));
  }

  deleteObject(bucket: string, key: string): void {
    this.q.deleteObject.run(bucket, key);
  }

  /** Deletes the objects at `keys` (one statement, however many); the blob of each key that had one. */
  deleteObjects(bucket: string, keys: string[]): Map<string, string> {
    const rows = this.q.deleteObjects.all(bucket, JSON.stringify(keys)) as { key: string; blob: string }[];
    return new Map(rows.map((r) => [r.key, r.blob]));
  }

  /** Objects with key > `after` and key >= `from`, in key order, lazily. */
  *iterate(bucket: string, after: string, from: string): Generator<ObjectRow> {
    for (const r of this.q.listFrom.iterate(bucket, after, from) as Iterable<RawObject>) yield toObject(r);
  }

  blobInUse(id: string): boolean {
    return this.q.blobUsed.get(id) !== undefined;
  }

  transaction<T>(fn: () => T): T {
    return transact(this.db, fn);
  }

  /**
   * `fn` as a transaction, made once to be called many times (inside another transaction each
   * call is a savepoint of its own).
   */
  transactional<A extends unknown[], T>(fn: (...args: A) => T): (...args: A) => T {
    return this.db.transaction(fn) as unknown as (...args: A) => T;
  }
}
