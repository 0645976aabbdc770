/**
 * The one SQLite database behind all resource metadata (`<data-dir>/state.db`). WAL with
 * synchronous=FULL as opened: a write that returned has reached the disk, so it survives
 * `kill -9` and power loss alike. kumo itself hands the flush to ./group-commit.ts, which lowers
 * it to NORMAL and flushes for every request that wrote, shared and off the event loop. Each
 * component (a service's store, the core) owns numbered migrations, recorded in
 * `schema_migrations`; they run in order, each in its own transaction.
 */
import Database from 'better-sqlite3';
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

export type Db = Database.Database;

/** SQLite's page cache per connection (KiB). */
export const CACHE_KIB = 2048;

export interface Migration {
  /** 1, 2, 3 … per component, never renumbered once released. */
  version: number;
  up: string | ((db: Db) => void);
}

export function openDatabase(dataDir: string): Db {
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, 'state.db');
  const db = new Database(file);
  // Only kumo's user reads state (SQLite gives the -wal and -shm files the database's mode).
  chmodSync(file, 0o600);
  db.pragma('journal_mode = WAL');
  for (const side of [`${file}-wal`, `${file}-shm`]) if (existsSync(side)) chmodSync(side, 0o600);
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  // better-sqlite3 builds SQLite with a 16 MiB page cache per connection, which fills (and, being
  // malloc'd, stays resident) under small-object traffic whose bodies live in the database. The
  // file's pages stay in the OS page cache anyway, so a miss here costs a read(), not the disk.
  db.pragma(`cache_size = -${CACHE_KIB}`);
  db.pragma('busy_timeout = 5000');
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    component TEXT NOT NULL, version INTEGER NOT NULL, applied_at TEXT NOT NULL,
    PRIMARY KEY (component, version))`);
  return db;
}

export function migrate(db: Db, component: string, migrations: Migration[]): void {
  const applied = new Set(
    (db.prepare('SELECT version FROM schema_migrations WHERE component = ?').all(component) as { version: number }[]).map(
      (r) => r.version,
    ),
  );
  const sorted = [...migrations].sort((a, b) => a.version - b.version);
  sorted.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`${component}: migrations must be numbered 1..n, found ${m.version}`);
  });
  for (const m of sorted) {
    if (applied.has(m.version)) continue;
    db.transaction(() => {
      if (typeof m.up === 'string') db.exec(m.up);
      else m.up(db);
      db.prepare('INSERT INTO schema_migrations (component, version, applied_at) VALUES (?, ?, ?)').run(
        component,
        m.version,
        new Date().toISOString(),
      );
    })();
  }
}

/** One `make(db)` per database, made on first use (a store's statements are prepared once). */
export function perDatabase<T>(make: (db: Db) => T): (db: Db) => T {
  const made = new WeakMap<Db, T>();
  return (db) => {
    let t = made.get(db);
    if (t === undefined) made.set(db, (t = make(db)));
    return t;
  };
}

/**
 * Runs `fn` in a transaction (a savepoint inside another). better-sqlite3's `db.transaction(fn)`
 * builds four wrapper functions each time it is called, so hot paths use this one, made once per
 * database.
 */
export function transact<T>(db: Db, fn: () => T): T {
  return runner(db)(fn) as T;
}

const runner = perDatabase((db) => db.transaction((fn: () => unknown) => fn()));
