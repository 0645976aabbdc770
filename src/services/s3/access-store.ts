/**
 * Tables of S3's access and bucket configuration (component `s3-access`, its own migrations so
 * they never clash with the object model's): one row per (bucket, kind) holding a JSON document
 * (policy, acl, public-access-block, ownership, cors, lifecycle, website, tagging), and one row
 * per object whose owner or ACL differs from the default (owned by the bucket owner, private).
 * Rows are removed when their bucket or object goes (see ./authorize.ts), not by foreign keys,
 * so a rebuild of the object tables by a later migration cannot cascade into them.
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

export class AccessStore {
  private readonly q;

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
    };
  }

  get<T>(bucket: string, kind: ConfigKind): T | undefined {
    const row = this.q.get.get(bucket, kind) as { value: string } | undefined;
    return row ? (JSON.parse(row.value) as T) : undefined;
  }

  put(bucket: string, kind: ConfigKind, value: unknown): void {
    this.q.put.run(bucket, kind, JSON.stringify(value));
  }

  /** Every bucket that has a configuration of this kind, with it. */
  allOf<T>(kind: ConfigKind): { bucket: string; value: T }[] {
    return (this.q.ofKind.all(kind) as { bucket: string; value: string }[]).map((r) => ({ bucket: r.bucket, value: JSON.parse(r.value) as T }));
  }

  delete(bucket: string, kind: ConfigKind): void {
    this.q.delete.run(bucket, kind);
  }

  /** Everything kept for a bucket, when the bucket itself is deleted. */
  dropBucket(bucket: string): void {
    this.q.dropBucket.run(bucket);
    this.q.dropObjects.run(bucket);
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
}
