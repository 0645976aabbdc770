/**
 * Empties every table but the migration record, in one transaction (for /_kumo/reset). Tables are
 * emptied in whatever order SQLite lists them, so foreign keys (S3 objects → buckets) are checked
 * at commit, when everything is gone, rather than statement by statement.
 */
import type { Db } from './db.js';

export function wipeAll(db: Db): void {
  const tables = db
    .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name != 'schema_migrations'")
    .all() as { name: string }[];
  db.transaction(() => {
    // Only lasts until this transaction ends.
    db.pragma('defer_foreign_keys = ON');
    for (const { name } of tables) db.exec(`DELETE FROM "${name}"`);
  })();
}
