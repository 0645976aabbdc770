/**
 * Tables of S3's access and bucket configuration (component `s3-access`, its own migrations so
 * they never clash with the object model's): one row per (bucket, kind) holding a JSON document
 * (policy, acl, public-access-block, ownership, cors, lifecycle, website, tagging), and one row
 * per object whose owner or ACL differs from the default (owned by the bucket owner, private).
 * Rows are removed when their bucket or object goes (see ./authorize.ts), not by foreign keys,
 * so a rebuild of the object tables by a later migration cannot cascade into them.
 *
 * Every request reads several of a bucket's documents (policy, Block Public Access, ownership,
 * lifecycle, logging…), so they are kept parsed in memory, frozen, as read outside any
 * transaction (what a transaction reads may be rolled back); this store is their only writer (a
 * write drops what was kept), and `forget` drops them all after a wipe.
 */
import type { Db, Migration } from '../../state/db.js';

export type ConfigKind = 'policy' | 'acl' | 'pab' | 'ownership' | 'cors' | 'lifecycle' | 'website' | 'tagging' | 'encryption' | 'object-lock' | 'logging' | 'accelerate';

export const accessMigrations: Migration[] = [
  {
    version: 1,
    up: `CREATE TABLE s3_bucket_config (
        bucket TEXT NOT NULL, kind TEXT NOT NULL, value TEXT NOT NULL,
        PRIMARY KEY (bucket, kind)) WITHOUT ROWID;
      CREATE TABLE s3_object_acl (
        bucket TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
        PRIMARY KEY (bucket, key)) WITHOUT ROWID;
      -- Buckets made before access control existed get AWS's defaults for new buckets.
      INSERT INTO s3_bucket_config (bucket, kind, value)
        SELECT name, 'pab', '{"BlockPublicAcls":true,"IgnorePublicAcls":true,"BlockPublicPolicy":true,"RestrictPublicBuckets":true}' FROM s3_buckets;
      INSERT INTO s3_bucket_config (bucket, kind, value)
        SELECT name, 'ownership', '"BucketOwnerEnforced"' FROM s3_buckets;`,
  },
];

/** Buckets whose documents are kept; past it, the memory starts over (it is only a cache). */
const CACHED_BUCKETS = 10_000;

function frozen<T>(v: T): T {
  if (v && typeof v === 'object' && !Object.isFrozen(v)) {
    for (const x of Object.values(v)) frozen(x);
    Object.freeze(v);
  }
  return v;
}

export class AccessStore {
  private readonly q;
  /** bucket → kind → the parsed document, or undefined for none. */
  private readonly docs = new Map<string, Map<ConfigKind, unknown>>();

  constructor(readonly db: Db) {
    this.q = {
      get: db.prepare('SELECT value FROM s3_bucket_config WHERE bucket = ? AND kind = ?'),
      put: db.prepare(
        'INSERT INTO s3_bucket_config (bucket, kind, value) VALUES (?, ?, ?) ON CONFLICT (bucket, kind) DO UPDATE SET value = excluded.value',
      ),
      delete: db.prepare('DELETE FROM s3_bucket_config WHERE bucket = ? AND kind = ?'),
      ofKind: db.prepare('SELECT bucket, value FROM s3_bucket_config WHERE kind = ? ORDER BY bucket'),
      dropBucket: db.prepare('DELETE FROM s3_bucket_config WHERE bucket = ?'),
      dropObjects: db.prepare('DELETE FROM s3_object_acl WHERE bucket = ?'),
      objectAcl: db.prepare('SELECT value FROM s3_object_acl WHERE bucket = ? AND key = ?'),
      putObjectAcl: db.prepare(
        'INSERT INTO s3_object_acl (bucket, key, value) VALUES (?, ?, ?) ON CONFLICT (bucket, key) DO UPDATE SET value = excluded.value',
      ),
      deleteObjectAcl: db.prepare('DELETE FROM s3_object_acl WHERE bucket = ? AND key = ?'),
      anyObjectAcl: db.prepare('SELECT 1 FROM s3_object_acl WHERE bucket = ? LIMIT 1'),
    };
  }

  /** The document, frozen: a caller that wants to change it makes a copy and puts that. */
  get<T>(bucket: string, kind: ConfigKind): T | undefined {
    let docs = this.docs.get(bucket);
    if (docs?.has(kind)) return docs.get(kind) as T | undefined;
    const row = this.q.get.get(bucket, kind) as { value: string } | undefined;
    const value = row ? frozen(JSON.parse(row.value) as T) : undefined;
    // Inside a transaction what is read may yet be rolled back: not kept.
    if (this.db.inTransaction) return value;
    if (!docs) {
      if (this.docs.size >= CACHED_BUCKETS) this.docs.clear();
      this.docs.set(bucket, (docs = new Map()));
    }
    docs.set(kind, value);
    return value;
  }

  put(bucket: string, kind: ConfigKind, value: unknown): void {
    this.q.put.run(bucket, kind, JSON.stringify(value));
    this.docs.get(bucket)?.delete(kind);
  }

  /** Every bucket that has a configuration of this kind, with it. */
  allOf<T>(kind: ConfigKind): { bucket: string; value: T }[] {
    return (this.q.ofKind.all(kind) as { bucket: string; value: string }[]).map((r) => ({ bucket: r.bucket, value: JSON.parse(r.value) as T }));
  }

  delete(bucket: string, kind: ConfigKind): void {
    this.q.delete.run(bucket, kind);
    this.docs.get(bucket)?.delete(kind);
  }

  /** Everything kept for a bucket, when the bucket itself is deleted. */
  dropBucket(bucket: string): void {
    this.q.dropBucket.run(bucket);
    this.q.dropObjects.run(bucket);
    this.docs.delete(bucket);
  }

  /** The tables were emptied under this store (a reset): nothing read before holds. */
  forget(): void {
    this.docs.clear();
  }

  objectAcl<T>(bucket: string, key: string): T | undefined {
    const row = this.q.objectAcl.get(bucket, key) as { value: string } | undefined;
    return row ? (JSON.parse(row.value) as T) : undefined;
  }

  putObjectAcl(bucket: string, key: string, value: unknown): void {
    this.q.putObjectAcl.run(bucket, key, JSON.stringify(value));
  }

  deleteObjectAcl(bucket: string, key: string): void {
    this.q.deleteObjectAcl.run(bucket, key);
  }

  /** Whether any object of the bucket has an ACL row (most buckets never have one). */
  hasObjectAcls(bucket: string): boolean {
    return this.q.anyObjectAcl.get(bucket) !== undefined;
  }
}
