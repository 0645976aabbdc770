/**
 * Server access logging: PutBucketLogging / GetBucketLogging, and the delivery of log objects to
 * the target bucket. The edge tells the service of every answered request (Service.requestDone);
 * a request naming a bucket with logging on becomes one line (./access-log-format.ts), kept in
 * memory per source bucket and delivered as one object per bucket every few seconds, when kumo's
 * clock is advanced, and when kumo stops. Delivery is the log service's write, not a request: it
 * needs no permission, is logged nowhere, and is stored as any PutObject (durable once written,
 * SSE-S3). As on S3, delivery is best effort: lines not yet delivered when kumo is killed are lost.
 *
 * Keys: SimplePrefix `<prefix>YYYY-MM-DD-HH-MM-SS-<unique>`, PartitionedPrefix
 * `<prefix><account>/<region>/<bucket>/YYYY/MM/DD/YYYY-MM-DD-HH-MM-SS-<unique>`.
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { splitS3Path } from '../../protocol/rest-xml.js';
import type { LoggingEnabled, S3Operations } from '../../models/generated/s3.js';
import { AwsError } from '../../protocol/errors.js';
import { type OpHandler, type RequestFacts } from '../service.js';
import { ownedBucket } from './access.js';
import type { AccessStore } from './access-store.js';
import { logLine } from './access-log-format.js';
import type { BlobStore } from './blobs.js';
import { S3Errors } from './errors.js';
import type { Versioning } from './commit.js';
import { keep, receive } from './ingest.js';
import { DEFAULT_CHECKSUM, MAX_PUT_BYTES, wholeSeconds } from './object-rules.js';
import type { S3Store } from './store.js';

type Op<K extends keyof S3Operations> = OpHandler<S3Operations, K>;

const DELIVER_EVERY_MS = 5_000;
/** Past this many pending lines for one bucket, they are delivered without waiting. */
const MAX_PENDING_LINES = 10_000;

const invalidTarget = (message: string, target: string) => new AwsError('InvalidTargetBucketForLogging', message, 400, { fields: { TargetBucket: target } });

export class AccessLogs {
  private readonly pending = new Map<string, string[]>();
  private timer: NodeJS.Timeout | undefined;
  private delivering: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: S3Store,
    private readonly acc: AccessStore,
    private readonly blobs: BlobStore,
    private readonly v: Versioning,
    private readonly now: () => Date,
    private readonly log: (line: string) => void,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.deliver(), DELIVER_EVERY_MS);
    this.timer.unref();
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.deliver();
  }

  /** One answered request; a line for its bucket's log if logging is on there. */
  record(f: RequestFacts): void {
    let target: { bucket?: string; key?: string };
    try {
      target = splitS3Path({ method: f.method, rawPath: f.rawPath, query: f.query, headers: f.headers, hostBucket: f.hostBucket });
    } catch {
      return;
    }
    const name = target.bucket;
    if (name === undefined) return;
    if (!this.acc.get<LoggingEnabled>(name, 'logging')) return;
    const bucket = this.store.bucket(name);
    if (!bucket) return;
    const obj = target.key !== undefined && /^(GET|HEAD|PUT)$/.test(f.method) ? this.store.object(name, target.key) : undefined;
    // The request's time on kumo's clock (which a test may have moved), when it arrived.
    const time = new Date(this.now().getTime() - f.totalMs);
    const line = logLine({ ...f, time }, { bucket: name, owner: bucket.account, key: target.key, objectSize: obj?.size, versionId: obj?.attrs.VersionId });
    const lines = this.pending.get(name) ?? [];
    lines.push(line);
    this.pending.set(name, lines);
    if (lines.length >= MAX_PENDING_LINES) void this.deliver();
  }

  /** Delivers every bucket's pending lines; one delivery at a time. */
  deliver(): Promise<void> {
    this.delivering = this.delivering.then(async () => {
      const batches = [...this.pending];
      this.pending.clear();
      for (const [source, lines] of batches) {
        try {
          await this.deliverOne(source, lines);
        } catch (e) {
          this.log(`s3 access log for ${source}: ${(e as Error)?.stack ?? String(e)}`);
        }
      }
    });
    return this.delivering;
  }

  private async deliverOne(source: string, lines: string[]): Promise<void> {
    const config = this.acc.get<LoggingEnabled>(source, 'logging');
    const bucket = this.store.bucket(source);
    if (!config || !bucket || !this.store.bucket(config.TargetBucket)) return;
    const at = this.now();
    const key = logKey(config, bucket.account, bucket.region, source, at);
    const got = await receive(this.blobs, Readable.from([Buffer.from(lines.join('\n') + '\n')]), { fallback: DEFAULT_CHECKSUM, maxBytes: MAX_PUT_BYTES });
    const row = {
      bucket: config.TargetBucket,
      key,
      blob: got.pending.id,
      size: got.pending.size,
      etag: `"${got.md5.toString('hex')}"`,
      lastModified: wholeSeconds(at),
      attrs: { ContentType: 'text/plain', Checksum: got.checksum },
    };
    await keep(this.blobs, got.pending, () => this.store.transaction(() => this.v.commit(row, () => undefined)));
  }
}

function logKey(config: LoggingEnabled, account: string, region: string, bucket: string, at: Date): string {
  const iso = at.toISOString();
  const stamp = `${iso.slice(0, 10)}-${iso.slice(11, 13)}-${iso.slice(14, 16)}-${iso.slice(17, 19)}`;
  const name = `${stamp}-${randomBytes(8).toString('hex').toUpperCase()}`;
  if (config.TargetObjectKeyFormat?.PartitionedPrefix) {
    return `${config.TargetPrefix}${account}/${region}/${bucket}/${iso.slice(0, 4)}/${iso.slice(5, 7)}/${iso.slice(8, 10)}/${name}`;
  }
  return `${config.TargetPrefix}${name}`;
}

export function loggingHandlers(store: S3Store, acc: AccessStore) {
  const PutBucketLogging: Op<'PutBucketLogging'> = (ctx, input) => {
    const bucket = ownedBucket(store, ctx, input.Bucket);
    const enabled = input.BucketLoggingStatus?.LoggingEnabled;
    if (!enabled) {
      acc.delete(bucket.name, 'logging');
      return {};
    }
    const target = store.bucket(enabled.TargetBucket);
    if (!target) throw invalidTarget('The target bucket for logging does not exist', enabled.TargetBucket);
    if (target.account !== bucket.account) throw invalidTarget('The owner for the bucket to be logged and the target bucket must be the same.', enabled.TargetBucket);
    if (target.region !== bucket.region) {
      throw new AwsError('CrossLocationLoggingProhibited', 'Cross S3 location logging not allowed. ', 403, {
        fields: { TargetBucketLocation: target.region, SourceBucketLocation: bucket.region },
      });
    }
    const format = enabled.TargetObjectKeyFormat;
    if (format?.PartitionedPrefix && format.SimplePrefix) throw new AwsError('MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema', 400);
    const source = format?.PartitionedPrefix?.PartitionDateSource;
    if (source !== undefined && source !== 'EventTime' && source !== 'DeliveryTime') throw S3Errors.invalidArgument('Invalid PartitionDateSource', 'PartitionDateSource', source);
    acc.put(bucket.name, 'logging', { ...enabled, TargetPrefix: enabled.TargetPrefix ?? '' });
    return {};
  };

  const GetBucketLogging: Op<'GetBucketLogging'> = (ctx, input) => {
    const bucket = ownedBucket(store, ctx, input.Bucket);
    return { LoggingEnabled: acc.get<LoggingEnabled>(bucket.name, 'logging') };
  };

  return { PutBucketLogging, GetBucketLogging };
}
