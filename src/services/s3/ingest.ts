/**
 * Taking bytes into a blob, as every object write does (PutObject, CopyObject, UploadPart,
 * UploadPartCopy, CompleteMultipartUpload). `receive` takes them in (held in memory when small,
 * else streamed to a temporary file, ./blobs.ts) while their MD5 (the ETag) and the checksum the
 * client declared are computed, then checks Content-MD5 and the declared checksum; whatever fails
 * leaves nothing behind. `keep` then makes the blob durable and commits its row: a file is renamed
 * and flushed before the row exists, small bytes are written in the row's own transaction, so a
 * write that was answered survives a crash and one that was not leaves nothing.
 */
import { createHash } from 'node:crypto';
import type { Cipher } from 'node:crypto';
import { Readable } from 'node:stream';
import { incompleteBody } from '../../protocol/aws-chunked.js';
import { isAwsError } from '../../protocol/errors.js';
import { BlobTooLarge, type BlobStore, type PendingBlob } from './blobs.js';
import { claimedChecksum, newDigest, type ChecksumAlgorithm, type ChecksumRequest, type Digest } from './checksums.js';
import { S3Errors } from './errors.js';

export interface Received {
  pending: PendingBlob;
  md5: Buffer;
  /** The declared checksum (verified), or the one computed because none was declared. */
  checksum?: { algorithm: ChecksumAlgorithm; value: string };
}

export interface ReceiveOptions {
  wanted?: ChecksumRequest;
  /** Computed (not checked) when the client declared no checksum. */
  fallback?: ChecksumAlgorithm;
  md5Expected?: Buffer;
  maxBytes: number;
  trailers?: Map<string, string>;
  /** Encrypts the bytes on their way to the file (SSE-C); digests are of the bytes as sent. */
  cipher?: Cipher;
}

export async function receive(blobs: BlobStore, body: Readable | undefined, o: ReceiveOptions): Promise<Received> {
  const md5 = createHash('md5');
  const algorithm = o.wanted?.algorithm ?? o.fallback;
  const digest: Digest | undefined = algorithm ? newDigest(algorithm) : undefined;
  const pending = await blobs
    .writePending(
      body ?? Readable.from([]),
      (chunk) => {
        md5.update(chunk);
        digest?.update(chunk);
      },
      o.maxBytes,
      o.cipher,
    )
    .catch((e: unknown) => {
      if (e instanceof BlobTooLarge) throw S3Errors.entityTooLarge(e.size, o.maxBytes);
      throw clientGone(e) ? incompleteBody() : e;
    });
  try {
    const md5Raw = md5.digest();
    if (o.md5Expected && !md5Raw.equals(o.md5Expected)) throw S3Errors.badDigest();
    if (!algorithm || !digest) return { pending, md5: md5Raw };
    const actual = digest.base64();
    if (o.wanted && claimedChecksum(o.wanted, o.trailers) !== actual) throw S3Errors.badChecksum(o.wanted.algorithm);
    return { pending, md5: md5Raw, checksum: { algorithm, value: actual } };
  } catch (e) {
    blobs.discard(pending);
    throw e;
  }
}

/**
 * Makes a received blob durable, then runs `commit` (one transaction writing the row that refers
 * to it). If either fails, the blob goes; the blobs the commit freed go once it is on disk (the
 * answer does not wait for their removal).
 */
export async function keep<T extends { freed: string[] }>(blobs: BlobStore, pending: PendingBlob, commit: () => T): Promise<T> {
  let done: T;
  let promoted = false;
  try {
    await blobs.promote(pending);
    promoted = true;
    done = blobs.commitWith(pending, commit);
  } catch (e) {
    if (promoted) blobs.drop(pending.id);
    else blobs.discard(pending);
    throw e;
  }
  // A file left by a failed removal is unreferenced: the next start collects it.
  void blobs.release(done.freed).catch(() => {});
  return done;
}

/** The client closed the connection mid-body: its fault, not an internal error. */
export function clientGone(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return !isAwsError(e) && (code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE');
}

export function contentMd5(value: string | undefined): Buffer | undefined {
  if (value === undefined) return undefined;
  const raw = Buffer.from(value, 'base64');
  if (raw.length !== 16 || raw.toString('base64') !== value.trim()) throw S3Errors.invalidDigest();
  return raw;
}
