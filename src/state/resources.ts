/**
 * A thin table of resources: one row per (account, region, id) holding the resource's AWS
 * attributes as JSON, plus an insertion sequence that gives listings a stable order for
 * pagination. Stores build on it; it holds no business rules.
 *
 * Listings can be narrowed in SQL (`getMany` by IDs, `listWhere` by a top-level attribute), so a
 * Describe* with IDs or a selective filter parses the rows it answers, not every row of the
 * region. An attribute asked for often has an index on its expression (`attributeIndexSql`),
 * which SQLite uses only when the query spells the expression the same way, as `listWhere` does.
 */
import type Database from 'better-sqlite3';
import type { Db } from './db.js';
import type { Scope } from './scope.js';

export function resourceTableSql(table: string): string {
  return `CREATE TABLE ${table} (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    account TEXT NOT NULL, region TEXT NOT NULL, id TEXT NOT NULL,
    data TEXT NOT NULL,
    UNIQUE (account, region, id));`;
}

/** The SQL of a top-level attribute of a row's JSON (the spelling its index must use too). */
function attributeSql(attribute: string): string {
  if (!/^[A-Za-z][A-Za-z0-9]*$/.test(attribute)) throw new Error(`not a top-level attribute name: ${attribute}`);
  return `json_extract(data, '$.${attribute}')`;
}

/** An index on one top-level attribute of a resource table, for `listWhere` (in a migration). */
export function attributeIndexSql(table: string, attribute: string): string {
  return `CREATE INDEX ${table}_by_${attribute.toLowerCase()} ON ${table} (account, region, ${attributeSql(attribute)});`;
}

export class ResourceTable<T extends object> {
  private readonly stmts;
  private readonly byAttribute = new Map<string, Database.Statement>();

  constructor(
    private readonly db: Db,
    readonly table: string,
  ) {
    this.stmts = {
      insert: db.prepare(`INSERT INTO ${table} (account, region, id, data) VALUES (?, ?, ?, ?)`),
      update: db.prepare(`UPDATE ${table} SET data = ? WHERE account = ? AND region = ? AND id = ?`),
      get: db.prepare(`SELECT data FROM ${table} WHERE account = ? AND region = ? AND id = ?`),
      del: db.prepare(`DELETE FROM ${table} WHERE account = ? AND region = ? AND id = ?`),
      list: db.prepare(`SELECT data FROM ${table} WHERE account = ? AND region = ? ORDER BY seq`),
      count: db.prepare(`SELECT count(*) AS n FROM ${table} WHERE account = ? AND region = ?`),
      scopeOf: db.prepare(`SELECT account, region FROM ${table} WHERE id = ? LIMIT 1`),
      everywhere: db.prepare(`SELECT account, region, data FROM ${table} ORDER BY seq`),
      many: db.prepare(`SELECT data FROM ${table} WHERE account = ? AND region = ? AND id IN (SELECT value FROM json_each(?)) ORDER BY seq`),
    };
  }

  /** The rows of these IDs that exist, in insertion order. */
  getMany(scope: Scope, ids: string[]): T[] {
    return (this.stmts.many.all(scope.account, scope.region, JSON.stringify(ids)) as { data: string }[]).map((r) => JSON.parse(r.data) as T);
  }

  /** The rows whose top-level `attribute` is one of `values`, in insertion order. */
  listWhere(scope: Scope, attribute: string, values: string[]): T[] {
    let stmt = this.byAttribute.get(attribute);
    if (!stmt) {
      stmt = this.db.prepare(
        `SELECT data FROM ${this.table} WHERE account = ? AND region = ? AND ${attributeSql(attribute)} IN (SELECT value FROM json_each(?)) ORDER BY seq`,
      );
      this.byAttribute.set(attribute, stmt);
    }
    return (stmt.all(scope.account, scope.region, JSON.stringify(values)) as { data: string }[]).map((r) => JSON.parse(r.data) as T);
  }

  insert(scope: Scope, id: string, value: T): void {
    this.stmts.insert.run(scope.account, scope.region, id, JSON.stringify(value));
  }

  update(scope: Scope, id: string, value: T): void {
    this.stmts.update.run(JSON.stringify(value), scope.account, scope.region, id);
  }

  get(scope: Scope, id: string): T | undefined {
    const row = this.stmts.get.get(scope.account, scope.region, id) as { data: string } | undefined;
    return row ? (JSON.parse(row.data) as T) : undefined;
  }

  delete(scope: Scope, id: string): boolean {
    return this.stmts.del.run(scope.account, scope.region, id).changes > 0;
  }

  list(scope: Scope): T[] {
    return (this.stmts.list.all(scope.account, scope.region) as { data: string }[]).map((r) => JSON.parse(r.data) as T);
  }

  /** The account and region holding `id` (resource IDs are unique across them), for callers that know only the ID. */
  scopeOf(id: string): Scope | undefined {
    const row = this.stmts.scopeOf.get(id) as { account: string; region: string } | undefined;
    return row && { account: row.account, region: row.region };
  }

  /** Every row of every account and region: what a supervisor reconciles. */
  everywhere(): { scope: Scope; row: T }[] {
    return (this.stmts.everywhere.all() as { account: string; region: string; data: string }[]).map((r) => ({
      scope: { account: r.account, region: r.region },
      row: JSON.parse(r.data) as T,
    }));
  }

  count(scope: Scope): number {
    return (this.stmts.count.get(scope.account, scope.region) as { n: number }).n;
  }
}
