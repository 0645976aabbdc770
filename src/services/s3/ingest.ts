/**
 * Taking a request body into a temporary blob, as PutObject and UploadPart both do: the bytes
 * stream to a file while their MD5 (the ETag) and the checksum the client declared are computed;
 * then Content-MD5 and the declared checksum are checked. Whatever fails leaves no file behind;
 * on success the caller owns the pending blob (promote it, then commit its row, or discard it).
 */
import { createHash } from 'node:crypto';
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
}

export async function receive(blobs: BlobStore, body: Readable | undefined, o: ReceiveOptions): Promise<Received> {
  const md5 = createHash('md5');
  const algorithm = o.wanted?.algorithm ?? o.fallback;
  const digest: Digest | undefined = algorithm ? newDigest(algorithm) : undefined;
  const pending = await blobs
    .writeTemp(
      body ?? Readable.from([]),
      (chunk) => {
        md5.update(chunk);
        digest?.update(chunk);
      },
      o.maxBytes,
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
