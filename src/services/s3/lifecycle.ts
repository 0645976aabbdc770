/**
 * Lifecycle that runs: each bucket's rules (./lifecycle-rules.ts) applied on kumo's clock by the
 * shared reconcile loop (../../runtime/reconciler.ts), one row per bucket with rules. A pass plans
 * what is due in a bucket (current versions to expire or move to another storage class,
 * noncurrent versions and lone delete markers to remove or move, incomplete uploads to abort)
 * and the step carries it out, one transaction per object, re-checking that the object is still
 * the one planned for. The loop looks every ten minutes (actions fall due at midnights, and a
 * look reads every object of a bucket with rules), whenever a bucket's rules change and
 * whenever the clock is advanced (`POST /_kumo/clock`, which waits for it), so a test makes
 * days pass and sees objects go. Expiring a current version is a DELETE of it: a delete marker
 * in a versioned bucket, as on S3.
 *
 * Also here: x-amz-expiration on the answers of reads and writes of objects a rule will expire.
 */
import { Reconciler } from '../../runtime/reconciler.js';
import type { Rules } from '../../models/generated/s3.js';
import type { Handler } from '../service.js';
import type { AccessStore } from './access-store.js';
import type { BlobStore } from './blobs.js';
import type { Versioning } from './commit.js';
import {
  currentClass,
  currentExpiry,
  expirationHeader,
  loneMarkerExpires,
  noncurrentClass,
  noncurrentExpired,
  uploadAborted,
} from './lifecycle-rules.js';
import { isLocked } from './object-lock-rules.js';
import type { ObjectRow, S3Store } from './store.js';
import type { UploadStore } from './uploads-store.js';
import { versionOf, type VersionStore } from './versions-store.js';

export interface StoredLifecycle {
  rules: Rules;
  size: string;
}

interface BucketRules {
  bucket: string;
  rules: Rules;
}

/** One thing due in a bucket (an expiry names the object it planned for, to re-check at apply time). */
type Action =
  | { kind: 'expire'; key: string; etag: string; lastModified: string }
  | { kind: 'remove-version'; key: string; versionId: string }
  | { kind: 'class'; key: string; versionId?: string; storageClass: string }
  | { kind: 'abort'; uploadId: string };

const LOOK_EVERY_MS = 10 * 60_000;

export interface LifecycleDeps {
  store: S3Store;
  versions: VersionStore;
  uploads: UploadStore;
  acc: AccessStore;
  blobs: BlobStore;
  v: Versioning;
  now: () => Date;
  log: (line: string) => void;
}

export class Lifecycle {
  private readonly loop: Reconciler<BucketRules>;
  private timer: NodeJS.Timeout | undefined;
  /**
   * What the last step of each bucket set out to do. A plan that is the same again made no
   * progress (a step that failed, say): it waits for the next minute or clock advance rather
   * than spin.
   */
  private readonly tried = new Map<string, string>();

  constructor(private readonly d: LifecycleDeps) {
    this.loop = new Reconciler<BucketRules>({
      name: 's3 lifecycle',
      desired: () => d.acc.allOf<StoredLifecycle>('lifecycle').map((c) => ({ bucket: c.bucket, rules: c.value.rules })),
      key: (row) => row.bucket,
      plan: (row) => {
        const due = this.due(row);
        const signature = JSON.stringify(due);
        if (due.length === 0 || this.tried.get(row.bucket) === signature) return undefined;
        this.tried.set(row.bucket, signature);
        return async () => this.apply(row.bucket, due);
      },
      log: d.log,
    });
  }

  start(): void {
    this.timer = setInterval(() => this.catchUp(), LOOK_EVERY_MS);
    this.timer.unref();
    void this.loop.start();
  }

  /** Rules changed, or the clock moved: look now. Resolves once what was due is done. */
  async catchUp(): Promise<void> {
    this.tried.clear();
    this.loop.wake();
    await this.loop.drain();
  }

  wake(): void {
    this.loop.wake();
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.loop.close();
  }

  /** The rules that cover the current version at `key`, as x-amz-expiration says them. */
  /** Whether the bucket has lifecycle rules at all (most do not: nothing to look up per answer). */
  hasRules(bucket: string): boolean {
    return this.d.acc.get<StoredLifecycle>(bucket, 'lifecycle') !== undefined;
  }

  expirationOf(row: ObjectRow): string | undefined {
    const stored = this.d.acc.get<StoredLifecycle>(row.bucket, 'lifecycle');
    if (!stored) return undefined;
    const e = currentExpiry(stored.rules, { key: row.key, size: row.size, tags: row.attrs.Tags }, row.lastModified);
    return e ? expirationHeader(e) : undefined;
  }

  private due({ bucket, rules }: BucketRules): Action[] {
    const now = this.d.now();
    const actions: Action[] = [];
    const current = new Map<string, ObjectRow>();
    for (const o of this.d.store.iterate(bucket, '', '')) {
      current.set(o.key, o);
      const subject = { key: o.key, size: o.size, tags: o.attrs.Tags };
      const expiry = currentExpiry(rules, subject, o.lastModified);
      if (expiry && expiry.at <= now) {
        actions.push({ kind: 'expire', key: o.key, etag: o.etag, lastModified: o.lastModified });
        continue;
      }
      const cls = currentClass(rules, subject, o.lastModified, now);
      if (cls && cls !== (o.attrs.StorageClass ?? 'STANDARD')) actions.push({ kind: 'class', key: o.key, storageClass: cls });
    }
    // Noncurrent versions come newest first per key: each became noncurrent when the one before it was made.
    const versions = [...this.d.versions.iterate(bucket, '')];
    for (let i = 0; i < versions.length; i++) {
      const ver = versions[i];
      const first = i === 0 || versions[i - 1].key !== ver.key;
      const successor = first ? current.get(ver.key) : versions[i - 1];
      let newer = 0;
      for (let j = i - 1; j >= 0 && versions[j].key === ver.key; j--) if (!versions[j].deleteMarker) newer++;
      const alone = first && !successor && (i + 1 === versions.length || versions[i + 1].key !== ver.key);
      if (ver.deleteMarker && alone) {
        if (loneMarkerExpires(rules, ver.key)) actions.push({ kind: 'remove-version', key: ver.key, versionId: ver.versionId });
        continue;
      }
      // The newest version with no current object is a delete marker (handled above) or current in all but name.
      if (!successor) continue;
      if (isLocked(ver.attrs.Lock, now)) continue;
      const subject = { key: ver.key, size: ver.size, tags: ver.attrs.Tags };
      if (noncurrentExpired(rules, subject, successor.lastModified, newer, now)) {
        actions.push({ kind: 'remove-version', key: ver.key, versionId: ver.versionId });
        continue;
      }
      if (ver.deleteMarker) continue;
      const cls = noncurrentClass(rules, subject, successor.lastModified, newer, now);
      if (cls && cls !== (ver.attrs.StorageClass ?? 'STANDARD')) actions.push({ kind: 'class', key: ver.key, versionId: ver.versionId, storageClass: cls });
    }
    for (const u of this.d.uploads.iterate(bucket, '', '', '')) {
      if (uploadAborted(rules, u.key, u.initiated, now)) actions.push({ kind: 'abort', uploadId: u.uploadId });
    }
    return actions;
  }

  private async apply(bucket: string, actions: Action[]): Promise<void> {
    const { store, versions, uploads, blobs, v, acc } = this.d;
    const now = this.d.now();
    const unreferenced: string[] = [];
    for (const a of actions) {
      let freed: string[];
      try {
        freed = store.transaction((): string[] => {
        if (a.kind === 'expire') {
          const o = store.object(bucket, a.key);
          if (!o || o.etag !== a.etag || o.lastModified !== a.lastModified) return [];
          const r = v.remove(bucket, a.key, undefined, now);
          if (!store.object(bucket, a.key)) acc.deleteObjectAcl(bucket, a.key);
          return r.freed;
        }
        if (a.kind === 'remove-version') return v.remove(bucket, a.key, a.versionId, now).freed;
        if (a.kind === 'abort') return uploads.upload(a.uploadId) ? uploads.deleteUpload(a.uploadId) : [];
        const o = store.object(bucket, a.key);
        if (a.versionId === undefined) {
          if (o) store.putObject({ ...o, attrs: { ...o.attrs, StorageClass: a.storageClass } });
        } else {
          const ver = versions.version(bucket, a.key, a.versionId);
          if (ver && !ver.deleteMarker) versions.updateAttrs(bucket, a.key, a.versionId, { ...ver.attrs, StorageClass: a.storageClass });
        }
        return [];
        });
      } catch (e) {
        this.d.log(`s3 lifecycle ${bucket}: ${a.kind} failed: ${(e as Error)?.stack ?? String(e)}`);
        continue;
      }
      unreferenced.push(...freed);
    }
    await blobs.release(unreferenced);
  }
}

const ANSWERS_EXPIRATION = ['PutObject', 'GetObject', 'HeadObject', 'CopyObject', 'CompleteMultipartUpload'];

/**
 * x-amz-expiration on the answers that name a current version a rule will expire (S3 says it on
 * PUT, GET, HEAD, copies and completed uploads).
 */
export function withExpiration<T extends Record<string, Handler>>(handlers: T, lifecycle: Lifecycle, store: S3Store): T {
  const out: Record<string, Handler> = { ...handlers };
  for (const op of ANSWERS_EXPIRATION) {
    const handler = handlers[op];
    if (!handler) continue;
    out[op] = async (ctx, input: { Bucket: string; Key: string; VersionId?: string }) => {
      const result = (await handler(ctx, input)) as Record<string, unknown> | undefined;
      if (!result || !lifecycle.hasRules(input.Bucket)) return result;
      const row = store.object(input.Bucket, input.Key);
      if (result && row && (input.VersionId === undefined || input.VersionId === versionOf(row))) {
        const expiration = lifecycle.expirationOf(row);
        if (expiration) result.Expiration = expiration;
      }
      return result;
    };
  }
  return out as T;
}
