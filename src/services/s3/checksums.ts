/**
 * The checksums S3 computes over object bytes, all streaming: CRC32, CRC32C, CRC64NVME, MD5,
 * SHA-1, SHA-256 and SHA-512 (MD5 is also the ETag). CRC32 comes from zlib; CRC32C and CRC64NVME
 * are table-driven here (reflected polynomials 0x82F63B78 and 0x9A6C9329AC4BC9B5). S3 carries them
 * base64-encoded, big-endian.
 *
 * `checksumRequest` works out which one a PUT asks for: a value in an x-amz-checksum-* header, or
 * one announced by x-amz-trailer to follow an aws-chunked body, cross-checked against the SDK's
 * x-amz-sdk-checksum-algorithm. The XXHASH family is S3's too but not computed here yet, so it is
 * NotImplemented rather than silently unchecked.
 */
import { createHash, type Hash } from 'node:crypto';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { AwsError } from '../../protocol/errors.js';
import { S3Errors } from './errors.js';

export type ChecksumAlgorithm = 'CRC32' | 'CRC32C' | 'CRC64NVME' | 'MD5' | 'SHA1' | 'SHA256' | 'SHA512';
export const CHECKSUM_ALGORITHMS: ChecksumAlgorithm[] = ['CRC32', 'CRC32C', 'CRC64NVME', 'MD5', 'SHA1', 'SHA256', 'SHA512'];
const UNIMPLEMENTED = ['XXHASH3', 'XXHASH64', 'XXHASH128'] as const;
const ALL_NAMES = [...CHECKSUM_ALGORITHMS, ...UNIMPLEMENTED];
const DIGEST_BYTES: Record<ChecksumAlgorithm, number> = { CRC32: 4, CRC32C: 4, CRC64NVME: 8, MD5: 16, SHA1: 20, SHA256: 32, SHA512: 64 };

/** The x-amz-checksum-* members of PutObject/UploadPart input, keyed by algorithm. */
export type ChecksumFields = { [K in `Checksum${ChecksumAlgorithm | (typeof UNIMPLEMENTED)[number]}`]?: string };

export interface Digest {
  update(chunk: Buffer): void;
  /** Base64 of the big-endian digest, as S3's x-amz-checksum-* headers carry it. */
  base64(): string;
}

const CRC32C_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

// CRC64NVME, reflected polynomial 0x9A6C9329AC4BC9B5, kept as two 32-bit halves for speed.
const CRC64_HI = new Uint32Array(256);
const CRC64_LO = new Uint32Array(256);
(() => {
  const polyHi = 0x9a6c9329;
  const polyLo = 0xac4bc9b5;
  for (let i = 0; i < 256; i++) {
    let hi = 0;
    let lo = i;
    for (let k = 0; k < 8; k++) {
      const bit = lo & 1;
      lo = ((lo >>> 1) | ((hi & 1) << 31)) >>> 0;
      hi = hi >>> 1;
      if (bit) {
        hi = (hi ^ polyHi) >>> 0;
        lo = (lo ^ polyLo) >>> 0;
      }
    }
    CRC64_HI[i] = hi;
    CRC64_LO[i] = lo;
  }
})();

class Crc32 implements Digest {
  private v = 0;
  update(chunk: Buffer) {
    this.v = zlibCrc32(chunk, this.v);
  }
  base64() {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(this.v >>> 0);
    return b.toString('base64');
  }
}

class Crc32c implements Digest {
  private v = 0xffffffff;
  update(chunk: Buffer) {
    let c = this.v;
    for (let i = 0; i < chunk.length; i++) c = CRC32C_TABLE[(c ^ chunk[i]) & 0xff] ^ (c >>> 8);
    this.v = c >>> 0;
  }
  base64() {
    const b = Buffer.alloc(4);
    b.writeUInt32BE((this.v ^ 0xffffffff) >>> 0);
    return b.toString('base64');
  }
}

// Slicing-by-8 tables for CRC64NVME: table k advances a byte that is k bytes further from the end
// of an 8-byte block, so one block costs eight lookups instead of eight dependent shift-and-lookups.
const SLICE_HI = new Uint32Array(8 * 256);
const SLICE_LO = new Uint32Array(8 * 256);
(() => {
  SLICE_HI.set(CRC64_HI);
  SLICE_LO.set(CRC64_LO);
  for (let k = 1; k < 8; k++) {
    for (let i = 0; i < 256; i++) {
      const h = SLICE_HI[(k - 1) * 256 + i];
      const l = SLICE_LO[(k - 1) * 256 + i];
      const idx = l & 0xff;
      SLICE_LO[k * 256 + i] = (((l >>> 8) | (h << 24)) ^ CRC64_LO[idx]) >>> 0;
      SLICE_HI[k * 256 + i] = ((h >>> 8) ^ CRC64_HI[idx]) >>> 0;
    }
  }
})();

class Crc64Nvme implements Digest {
  private hi = 0xffffffff;
  private lo = 0xffffffff;
  update(chunk: Buffer) {
    let hi = this.hi;
    let lo = this.lo;
    const H = SLICE_HI;
    const L = SLICE_LO;
    let i = 0;
    const blocks = chunk.length - (chunk.length % 8);
    for (; i < blocks; i += 8) {
      lo ^= chunk[i] | (chunk[i + 1] << 8) | (chunk[i + 2] << 16) | (chunk[i + 3] << 24);
      hi ^= chunk[i + 4] | (chunk[i + 5] << 8) | (chunk[i + 6] << 16) | (chunk[i + 7] << 24);
      const a = 7 * 256 + (lo & 0xff);
      const b = 6 * 256 + ((lo >>> 8) & 0xff);
      const c = 5 * 256 + ((lo >>> 16) & 0xff);
      const d = 4 * 256 + (lo >>> 24);
      const e = 3 * 256 + (hi & 0xff);
      const f = 2 * 256 + ((hi >>> 8) & 0xff);
      const g = 256 + ((hi >>> 16) & 0xff);
      const h = hi >>> 24;
      lo = (L[a] ^ L[b] ^ L[c] ^ L[d] ^ L[e] ^ L[f] ^ L[g] ^ L[h]) >>> 0;
      hi = (H[a] ^ H[b] ^ H[c] ^ H[d] ^ H[e] ^ H[f] ^ H[g] ^ H[h]) >>> 0;
    }
    for (; i < chunk.length; i++) {
      const idx = (lo ^ chunk[i]) & 0xff;
      lo = (((lo >>> 8) | (hi << 24)) ^ CRC64_LO[idx]) >>> 0;
      hi = ((hi >>> 8) ^ CRC64_HI[idx]) >>> 0;
    }
    this.hi = hi;
    this.lo = lo;
  }
  base64() {
    const b = Buffer.alloc(8);
    b.writeUInt32BE((this.hi ^ 0xffffffff) >>> 0, 0);
    b.writeUInt32BE((this.lo ^ 0xffffffff) >>> 0, 4);
    return b.toString('base64');
  }
}

class HashDigest implements Digest {
  private readonly h: Hash;
  private result: string | undefined;
  constructor(alg: string) {
    this.h = createHash(alg);
  }
  update(chunk: Buffer) {
    this.h.update(chunk);
  }
  base64() {
    this.result ??= this.h.digest('base64');
    return this.result;
  }
}

export function newDigest(alg: ChecksumAlgorithm): Digest {
  switch (alg) {
    case 'CRC32':
      return new Crc32();
    case 'CRC32C':
      return new Crc32c();
    case 'CRC64NVME':
      return new Crc64Nvme();
    case 'SHA1':
      return new HashDigest('sha1');
    case 'SHA256':
      return new HashDigest('sha256');
    case 'MD5':
      return new HashDigest('md5');
    case 'SHA512':
      return new HashDigest('sha512');
  }
}

export function headerFor(alg: string): string {
  return `x-amz-checksum-${alg.toLowerCase()}`;
}

export interface ChecksumRequest {
  algorithm: ChecksumAlgorithm;
  /** The value sent as a header; undefined when it follows the body as a trailer. */
  value?: string;
  /** The trailing header that will carry the value. */
  trailer?: string;
}

const invalidRequest = (message: string) => new AwsError('InvalidRequest', message, 400);

function known(name: string, header: string): ChecksumAlgorithm {
  const upper = name.trim().toUpperCase();
  if ((UNIMPLEMENTED as readonly string[]).includes(upper)) throw S3Errors.notImplementedHeader(header);
  if (!(CHECKSUM_ALGORITHMS as string[]).includes(upper)) {
    throw invalidRequest(`Checksum algorithm provided is unsupported. Please try again with any of the valid types: [${ALL_NAMES.join(', ')}]`);
  }
  return upper as ChecksumAlgorithm;
}

/**
 * The checksum a PUT carries, from its headers; S3's errors for contradictory or malformed ones.
 * The JavaScript SDK sends its MD5 algorithm as Content-MD5 (a header, or a trailer of that name)
 * rather than x-amz-checksum-md5, so Content-MD5 stands in for it when the SDK names MD5.
 */
export function checksumRequest(
  fields: ChecksumFields,
  sdkAlgorithm: string | undefined,
  trailerHeader: string | undefined,
  contentMd5: string | undefined,
): ChecksumRequest | undefined {
  const declared: ChecksumRequest[] = [];
  for (const name of ALL_NAMES) {
    const value = fields[`Checksum${name}`];
    if (value === undefined) continue;
    const algorithm = known(name, headerFor(name));
    const raw = Buffer.from(value, 'base64');
    if (raw.length !== DIGEST_BYTES[algorithm] || raw.toString('base64') !== value.trim()) {
      throw invalidRequest(`Value for ${headerFor(name)} header is invalid.`);
    }
    declared.push({ algorithm, value: value.trim() });
  }
  if (trailerHeader !== undefined) {
    for (const t of trailerHeader.split(',').map((x) => x.trim().toLowerCase()).filter(Boolean)) {
      if (t === 'content-md5') declared.push({ algorithm: 'MD5', trailer: t });
      else if (t.startsWith('x-amz-checksum-')) declared.push({ algorithm: known(t.slice('x-amz-checksum-'.length), 'x-amz-trailer'), trailer: t });
      else throw invalidRequest('The value specified in the x-amz-trailer header is not supported');
    }
  }
  if (!declared.length && contentMd5 !== undefined && sdkAlgorithm?.trim().toUpperCase() === 'MD5') {
    declared.push({ algorithm: 'MD5', value: contentMd5.trim() });
  }
  if (declared.length > 1) throw invalidRequest('Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.');
  if (sdkAlgorithm !== undefined) {
    const named = known(sdkAlgorithm, 'x-amz-sdk-checksum-algorithm');
    if (!declared.length) {
      throw invalidRequest('x-amz-sdk-checksum-algorithm specified, but no corresponding x-amz-checksum-* or x-amz-trailer headers were found.');
    }
    if (declared[0].algorithm !== named) throw invalidRequest('Value for x-amz-sdk-checksum-algorithm header is invalid.');
  }
  return declared[0];
}

/** The claimed value, once the body has been read (trailers arrive with its end). */
export function claimedChecksum(req: ChecksumRequest, trailers: Map<string, string> | undefined): string {
  if (!req.trailer) return req.value!;
  const value = trailers?.get(req.trailer);
  if (value === undefined) {
    throw new AwsError('MalformedTrailerError', 'The request contained trailing data that was not well-formed or did not conform to our published schema.', 400);
  }
  const raw = Buffer.from(value, 'base64');
  if (raw.length !== DIGEST_BYTES[req.algorithm]) throw invalidRequest(`Value for ${req.trailer} trailing header is invalid.`);
  return value;
}
