/**
 * The bytes of SSE-C objects: AES-256 in counter mode under the customer's key, so any byte range
 * can be decrypted without reading what comes before it. The stored file is one or more segments
 * (one for a PUT or copy, one per part for a multipart object, joined as they are), each with its
 * own random IV kept in the object's attrs; the key itself is never stored. The MD5 of the
 * plaintext (which a client could compare with data it holds) is not the ETag of such an object,
 * as on S3.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes, type Cipher } from 'node:crypto';
import { Readable } from 'node:stream';
import { bufferStream, type BlobStore } from './blobs.js';
import { etagOf } from './object-rules.js';
import type { Encryption, CustomerKey } from './sse.js';
import type { ObjectRow } from './store.js';

const BLOCK = 16;

export function newIv(): Buffer {
  return randomBytes(BLOCK);
}

export function encryptor(key: Buffer, iv: Buffer): Cipher {
  return createCipheriv('aes-256-ctr', key, iv);
}

/** The counter block `blocks` blocks after `iv` (CTR increments the whole 128-bit block). */
function ivAt(iv: Buffer, blocks: number): Buffer {
  const n = (BigInt(`0x${iv.toString('hex')}`) + BigInt(blocks)) % (1n << 128n);
  return Buffer.from(n.toString(16).padStart(32, '0'), 'hex');
}

/** An SSE-C object's ETag: not the plaintext's MD5 (S3's is not either), but stable for these bytes. */
export function encryptedEtag(plainMd5: Buffer, iv: Buffer): string {
  return `"${createHash('md5').update(plainMd5).update(iv).digest('hex')}"`;
}

export interface Segment {
  size: number;
  iv: string;
}

/** An SSE-C object's segments: its parts (or the whole object) with their IVs. */
export function segmentsOf(obj: ObjectRow, ivs: string[]): Segment[] {
  const sizes = obj.attrs.Parts ?? [obj.size];
  return sizes.map((size, i) => ({ size, iv: ivs[i] }));
}

/** Plaintext bytes [start, end] of a blob stored as encrypted segments. */
export function decryptedRange(blobs: BlobStore, blob: string, segments: Segment[], key: Buffer, start: number, end: number): Readable {
  // Each segment's file range is opened now, like BlobStore.read, so an overwrite cannot tear it.
  const pieces: { bytes: Readable; skip: number }[] = [];
  let offset = 0;
  for (const seg of segments) {
    const from = Math.max(start, offset);
    const to = Math.min(end, offset + seg.size - 1);
    if (from <= to) {
      const within = from - offset;
      const skip = within % BLOCK;
      const decipher = createDecipheriv('aes-256-ctr', key, ivAt(Buffer.from(seg.iv, 'hex'), Math.floor(within / BLOCK)));
      // Decrypting starts at the block boundary; the bytes before `from` in that block are dropped.
      pieces.push({ bytes: blobs.read(blob, from - skip, to).pipe(decipher), skip });
    }
    offset += seg.size;
  }
  return Readable.from(join(pieces));
}

async function* join(pieces: { bytes: Readable; skip: number }[]): AsyncGenerator<Buffer> {
  for (const piece of pieces) {
    let skip = piece.skip;
    for await (const chunk of piece.bytes) {
      const c = chunk as Buffer;
      if (skip >= c.length) {
        skip -= c.length;
        continue;
      }
      yield skip ? c.subarray(skip) : c;
      skip = 0;
    }
  }
}

/**
 * How a write stores its bytes under the encryption chosen for it: through a cipher under a fresh
 * IV for SSE-C (recorded in `encryption`), as they come for the others.
 */
export interface Sealing {
  cipher?: Cipher;
  encryption: Encryption;
  /** SSE-C: the IV of this write's one segment. */
  iv?: string;
  etag(plainMd5: Buffer): string;
}

export function seal(encryption: Encryption, key: CustomerKey | undefined): Sealing {
  if (!key || encryption.kind !== 'SSE-C') return { encryption, etag: etagOf };
  const iv = newIv();
  return {
    cipher: encryptor(key.key, iv),
    encryption: { ...encryption, ivs: [iv.toString('hex')] },
    iv: iv.toString('hex'),
    etag: (md5) => encryptedEtag(md5, iv),
  };
}

/** Bytes [start, end] of an object as its owner wrote them: decrypted with `key` if SSE-C. */
export function plainBytes(blobs: BlobStore, obj: ObjectRow, key: CustomerKey | undefined, start: number, end: number): Readable {
  const b = plainBody(blobs, obj, key, start, end);
  return Buffer.isBuffer(b) ? bufferStream(b) : b;
}

/** The same for an answer's body, where small stored bytes come as one Buffer (no stream to pipe). */
export function plainBody(blobs: BlobStore, obj: ObjectRow, key: CustomerKey | undefined, start: number, end: number): Buffer | Readable {
  const e = obj.attrs.Encryption;
  if (!key || e?.kind !== 'SSE-C') return blobs.body(obj.blob, start, end);
  return decryptedRange(blobs, obj.blob, segmentsOf(obj, e.ivs), key.key, start, end);
}
