/**
 * Multipart uploads in SQLite: one row per upload in progress, one per part received, each part
 * pointing at its own blob. Completing an upload writes the object's single blob and row and
 * deletes these rows in one transaction; aborting deletes them. A completed upload leaves one
 * small row with the answer it got, so that a client retrying its CompleteMultipartUpload (its
 * answer lost on the way) is answered the same again, as S3 does. These tables and the versioning
 * ones (./versions-store.ts) are the `s3-data` migration component, numbered apart from `s3`.
 */
import type { Db, Migration } from '../../state/db.js';
import type { ObjectAttributes } from './store.js';

export interface UploadAttributes extends ObjectAttributes {
  ChecksumAlgorithm?: string;
  ChecksumType?: 'COMPOSITE' | 'FULL_OBJECT';
  /** The account that initiated the upload (ListParts/ListMultipartUploads show it). */
  Owner?: string;
}

export interface UploadRow {
  uploadId: string;
  bucket: string;
  key: string;
  initiated: string;
  attrs: UploadAttributes;
}

export interface PartRow {
  uploadId: string;
  partNumber: number;
  blob: string;
  size: number;
  etag: string;
  lastModified: string;
  checksum?: string;
  /** SSE-C uploads: the IV the part's bytes were encrypted with (./sse-c.ts). */
  iv?: string;
}

export const multipartMigrations: Migration[] = [
  {
    version: 1,
    up: `CREATE TABLE s3_uploads (
        upload_id TEXT PRIMARY KEY, bucket TEXT NOT NULL, key TEXT NOT NULL, initiated TEXT NOT NULL,
        attrs TEXT NOT NULL);
      CREATE INDEX s3_uploads_by_key ON s3_uploads (bucket, key, upload_id);
      CREATE TABLE s3_parts (
        upload_id TEXT NOT NULL REFERENCES s3_uploads (upload_id) ON DELETE CASCADE,
        part_number INTEGER NOT NULL, blob TEXT NOT NULL, size INTEGER NOT NULL, etag TEXT NOT NULL,
        last_modified TEXT NOT NULL, checksum TEXT,
        PRIMARY KEY (upload_id, part_number)) WITHOUT ROWID;
      CREATE INDEX s3_parts_by_blob ON s3_parts (blob);`,
  },
];

/** Version 3 of `s3-data`: the answers of completed uploads, at most one per key. */
export const completedUploadsMigration: Migration = {
  version: 3,
  up: `CREATE TABLE s3_completed_uploads (
      upload_id TEXT PRIMARY KEY, bucket TEXT NOT NULL, key TEXT NOT NULL, result TEXT NOT NULL);
    CREATE INDEX s3_completed_uploads_by_key ON s3_completed_uploads (bucket, key);`,
};

/** Version 4 of `s3-data`: the IV of each part of an SSE-C upload. */
export const partIvMigration: Migration = { version: 4, up: 'ALTER TABLE s3_parts ADD COLUMN iv TEXT;' };

export interface CompletedUpload {
  uploadId: string;
  bucket: string;
  key: string;
  /** CompleteMultipartUpload's output, as it was answered. */
  result: Record<string, unknown>;
}

interface RawUpload {
  upload_id: string;
  bucket: string;
  key: string;
  initiated: string;
  attrs: string;
}

interface RawPart {
  upload_id: string;
  part_number: number;
  blob: string;
  size: number;
  etag: string;
  last_modified: string;
  checksum: string | null;
  iv: string | null;
}

const toUpload = (r: RawUpload): UploadRow => ({
  uploadId: r.upload_id,
  bucket: r.bucket,
  key: r.key,
  initiated: r.initiated,
  attrs: JSON.parse(r.attrs) as UploadAttributes,
});

const toPart = (r: RawPart): PartRow => ({
  uploadId: r.upload_id,
  partNumber: r.part_number,
  blob: r.blob,
  size: r.size,
  etag: r.etag,
  lastModified: r.last_modified,
  checksum: r.checksum ?? undefined,
  iv: r.iv ?? undefined,
});

export class UploadStore {
  private readonly q;

  constructor(readonly db: Db) {
    this.q = {
      upload: db.prepare('SELECT * FROM s3_uploads WHERE upload_id = ?'),
      insertUpload: db.prepare('INSERT INTO s3_uploads (upload_id, bucket, key, initiated, attrs) VALUES (?, ?, ?, ?, ?)'),
      deleteUpload: db.prepare('DELETE FROM s3_uploads WHERE upload_id = ?'),
      uploadsFrom: db.prepare(
        `SELECT * FROM s3_uploads WHERE bucket = ? AND key >= ? AND (key > ? OR (key = ? AND upload_id > ?))
         ORDER BY key, upload_id`,
      ),
      part: db.prepare('SELECT * FROM s3_parts WHERE upload_id = ? AND part_number = ?'),
      partsFrom: db.prepare('SELECT * FROM s3_parts WHERE upload_id = ? AND part_number > ? ORDER BY part_number'),
      upsertPart: db.prepare(
        `INSERT INTO s3_parts (upload_id, part_number, blob, size, etag, last_modified, checksum, iv) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (upload_id, part_number) DO UPDATE SET blob = excluded.blob, size = excluded.size,
           etag = excluded.etag, last_modified = excluded.last_modified, checksum = excluded.checksum, iv = excluded.iv`,
      ),
      blobUsed: db.prepare('SELECT 1 FROM s3_parts WHERE blob = ? LIMIT 1'),
      anyUpload: db.prepare('SELECT 1 FROM s3_uploads WHERE bucket = ? LIMIT 1'),
      completed: db.prepare('SELECT upload_id, bucket, key, result FROM s3_completed_uploads WHERE upload_id = ?'),
      forgetCompletedAt: db.prepare('DELETE FROM s3_completed_uploads WHERE bucket = ? AND key = ?'),
      insertCompleted: db.prepare('INSERT INTO s3_completed_uploads (upload_id, bucket, key, result) VALUES (?, ?, ?, ?)'),
      forgetCompletedIn: db.prepare('DELETE FROM s3_completed_uploads WHERE bucket = ?'),
    };
  }

  upload(uploadId: string): UploadRow | undefined {
    const r = this.q.upload.get(uploadId) as RawUpload | undefined;
    return r ? toUpload(r) : undefined;
  }

  insertUpload(u: UploadRow): void {
    this.q.insertUpload.run(u.uploadId, u.bucket, u.key, u.initiated, JSON.stringify(u.attrs));
  }

  /** Deletes the upload and its part rows; returns the blobs they pointed at. */
  deleteUpload(uploadId: string): string[] {
    const blobs = this.parts(uploadId).map((p) => p.blob);
    this.q.deleteUpload.run(uploadId);
    return blobs;
  }

  /** Deletes every upload of a bucket; returns the part blobs they pointed at. */
  deleteUploadsOf(bucket: string): string[] {
    const ids = [...this.iterate(bucket, '', '', '\u{10FFFF}')].map((u) => u.uploadId);
    return ids.flatMap((id) => this.deleteUpload(id));
  }

  /** Uploads in (key, upload id) order (upload IDs sort by creation time), after the marker, lazily. */
  *iterate(bucket: string, from: string, afterKey: string, afterUploadId: string): Generator<UploadRow> {
    for (const r of this.q.uploadsFrom.iterate(bucket, from, afterKey, afterKey, afterUploadId) as Iterable<RawUpload>) yield toUpload(r);
  }

  part(uploadId: string, partNumber: number): PartRow | undefined {
    const r = this.q.part.get(uploadId, partNumber) as RawPart | undefined;
    return r ? toPart(r) : undefined;
  }

  parts(uploadId: string, after = 0): PartRow[] {
    return (this.q.partsFrom.all(uploadId, after) as RawPart[]).map(toPart);
  }

  putPart(p: PartRow): void {
    this.q.upsertPart.run(p.uploadId, p.partNumber, p.blob, p.size, p.etag, p.lastModified, p.checksum ?? null, p.iv ?? null);
  }

  blobInUse(id: string): boolean {
    return this.q.blobUsed.get(id) !== undefined;
  }

  hasUploads(bucket: string): boolean {
    return this.q.anyUpload.get(bucket) !== undefined;
  }

  completed(uploadId: string): CompletedUpload | undefined {
    const r = this.q.completed.get(uploadId) as { upload_id: string; bucket: string; key: string; result: string } | undefined;
    return r ? { uploadId: r.upload_id, bucket: r.bucket, key: r.key, result: JSON.parse(r.result) as Record<string, unknown> } : undefined;
  }

  /** Records a completion; an earlier completion at the same key can no longer be repeated. */
  recordCompleted(c: Omit<CompletedUpload, 'result'> & { result: object }): void {
    this.q.forgetCompletedAt.run(c.bucket, c.key);
    this.q.insertCompleted.run(c.uploadId, c.bucket, c.key, JSON.stringify(c.result));
  }

  /** Deletes every upload of a bucket, and what its completed ones answered. */
  forgetBucket(bucket: string): string[] {
    this.q.forgetCompletedIn.run(bucket);
    return this.deleteUploadsOf(bucket);
  }

  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }
}
