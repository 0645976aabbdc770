/**
 * Small blobs kept in state.db instead of files (component `s3-inline`): a body of at most
 * INLINE_MAX bytes is stored in the same transaction as the row that refers to it, so writing it
 * costs no file of its own (no create, flush, rename, directory flush), only its share of the
 * commit's flush; reading it opens no file. Its blob ID is `db-<row id>` (./blobs.ts tells the two
 * kinds apart by that prefix). Row IDs are handed out before the row is written (the object row
 * names its blob), counting up from the largest one stored when kumo started.
 */
import type { Db, Migration } from '../../state/db.js';

/** Bodies up to this size are kept inline. */
export const INLINE_MAX = 64 * 1024;
export const INLINE_PREFIX = 'db-';

export const inlineMigrations: Migration[] = [
  {
    version: 1,
    up: `CREATE TABLE s3_inline_blobs (id INTEGER PRIMARY KEY, bytes BLOB NOT NULL);`,
  },
];

export class InlineStore {
  private readonly q;
  private last: number;

  constructor(readonly db: Db) {
    this.q = {
      insert: db.prepare('INSERT INTO s3_inline_blobs (id, bytes) VALUES (?, ?)'),
      bytes: db.prepare('SELECT bytes FROM s3_inline_blobs WHERE id = ?').pluck(),
      size: db.prepare('SELECT length(bytes) FROM s3_inline_blobs WHERE id = ?').pluck(),
      delete: db.prepare('DELETE FROM s3_inline_blobs WHERE id IN (SELECT value FROM json_each(?))'),
      deleteOne: db.prepare('DELETE FROM s3_inline_blobs WHERE id = ?'),
      ids: db.prepare('SELECT id FROM s3_inline_blobs').pluck(),
    };
    this.last = (db.prepare('SELECT max(id) FROM s3_inline_blobs').pluck().get() as number | null) ?? 0;
  }

  /** An ID no stored row has and none will get from another call. */
  newId(): number {
    return ++this.last;
  }

  insert(id: number, bytes: Buffer): void {
    this.q.insert.run(id, bytes);
  }

  bytes(id: number): Buffer | undefined {
    return this.q.bytes.get(id) as Buffer | undefined;
  }

  size(id: number): number | undefined {
    return this.q.size.get(id) as number | undefined;
  }

  /** One statement for all of them (an overwrite frees one: no JSON to build and parse for it). */
  delete(ids: number[]): void {
    if (ids.length === 1) this.q.deleteOne.run(ids[0]);
    else if (ids.length) this.q.delete.run(JSON.stringify(ids));
  }

  ids(): number[] {
    return this.q.ids.all() as number[];
  }
}
