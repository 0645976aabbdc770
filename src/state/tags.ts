/**
 * Tags for every resource of every service, keyed by (account, region, resource id or ARN).
 * EC2's CreateTags/DescribeTags, ELB's AddTags and RDS's AddTagsToResource all meet here.
 */
import type { Db, Migration } from './db.js';
import type { Scope } from './scope.js';

export interface Tag {
  Key: string;
  Value: string;
}

export interface TagRow {
  resourceId: string;
  resourceType: string;
  key: string;
  value: string;
}

export const tagMigrations: Migration[] = [
  {
    version: 1,
    up: `CREATE TABLE tags (
      account TEXT NOT NULL, region TEXT NOT NULL, resource_id TEXT NOT NULL,
      resource_type TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
      PRIMARY KEY (account, region, resource_id, key));
      CREATE INDEX tags_by_key ON tags (account, region, key);`,
  },
];

export class TagStore {
  private readonly stmts;

  constructor(db: Db) {
    this.stmts = {
      put: db.prepare(
        `INSERT INTO tags (account, region, resource_id, resource_type, key, value) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (account, region, resource_id, key) DO UPDATE SET value = excluded.value`,
      ),
      del: db.prepare('DELETE FROM tags WHERE account = ? AND region = ? AND resource_id = ? AND key = ?'),
      delValue: db.prepare('DELETE FROM tags WHERE account = ? AND region = ? AND resource_id = ? AND key = ? AND value = ?'),
      delAll: db.prepare('DELETE FROM tags WHERE account = ? AND region = ? AND resource_id = ?'),
      forResource: db.prepare('SELECT key, value FROM tags WHERE account = ? AND region = ? AND resource_id = ? ORDER BY key'),
      all: db.prepare(
        'SELECT resource_id AS resourceId, resource_type AS resourceType, key, value FROM tags WHERE account = ? AND region = ? ORDER BY resource_id, key',
      ),
      allOfType: db.prepare(
        'SELECT resource_id AS resourceId, key, value FROM tags WHERE account = ? AND region = ? AND resource_type = ?',
      ),
      ofResources: db.prepare(
        'SELECT resource_id AS resourceId, key, value FROM tags WHERE account = ? AND region = ? AND resource_id IN (SELECT value FROM json_each(?))',
      ),
      tagged: db.prepare(
        `SELECT DISTINCT resource_id AS id FROM tags WHERE account = ? AND region = ? AND key = ? AND resource_type = ?
           AND value IN (SELECT value FROM json_each(?))`,
      ),
    };
  }

  put(scope: Scope, resourceId: string, resourceType: string, tags: Tag[]): void {
    for (const t of tags) this.stmts.put.run(scope.account, scope.region, resourceId, resourceType, t.Key, t.Value ?? '');
  }

  /** Removes the named keys; a tag given with a value is removed only if its value matches. */
  remove(scope: Scope, resourceId: string, tags: { Key: string; Value?: string }[]): void {
    for (const t of tags) {
      if (t.Value === undefined) this.stmts.del.run(scope.account, scope.region, resourceId, t.Key);
      else this.stmts.delValue.run(scope.account, scope.region, resourceId, t.Key, t.Value);
    }
  }

  removeAll(scope: Scope, resourceId: string): void {
    this.stmts.delAll.run(scope.account, scope.region, resourceId);
  }

  get(scope: Scope, resourceId: string): Tag[] {
    return (this.stmts.forResource.all(scope.account, scope.region, resourceId) as { key: string; value: string }[]).map(
      (r) => ({ Key: r.key, Value: r.value }),
    );
  }

  /** All tags of one resource type at once, for listings (one query instead of one per row). */
  byResource(scope: Scope, resourceType: string): Map<string, Tag[]> {
    return grouped(this.stmts.allOfType.all(scope.account, scope.region, resourceType) as { resourceId: string; key: string; value: string }[]);
  }

  /** The tags of these resources, for a listing narrowed to them. */
  ofResources(scope: Scope, ids: string[]): Map<string, Tag[]> {
    return grouped(this.stmts.ofResources.all(scope.account, scope.region, JSON.stringify(ids)) as { resourceId: string; key: string; value: string }[]);
  }

  /** The resources of a type carrying tag `key` with one of `values` (a `tag:<key>` filter). */
  tagged(scope: Scope, resourceType: string, key: string, values: string[]): string[] {
    return (this.stmts.tagged.all(scope.account, scope.region, key, resourceType, JSON.stringify(values)) as { id: string }[]).map((r) => r.id);
  }

  all(scope: Scope): TagRow[] {
    return this.stmts.all.all(scope.account, scope.region) as TagRow[];
  }
}

function grouped(rows: { resourceId: string; key: string; value: string }[]): Map<string, Tag[]> {
  const out = new Map<string, Tag[]>();
  for (const r of rows) {
    let list = out.get(r.resourceId);
    if (!list) out.set(r.resourceId, (list = []));
    list.push({ Key: r.key, Value: r.value });
  }
  for (const list of out.values()) list.sort((a, b) => (a.Key < b.Key ? -1 : a.Key > b.Key ? 1 : 0));
  return out;
}
