/**
 * The checksums S3 computes over object bytes, all streaming: MD5 (the ETag), CRC32, CRC32C,
 * CRC64NVME, SHA-1 and SHA-256. CRC32 comes from zlib; CRC32C and CRC64NVME are table-driven
 * here (reflected polynomials 0x82F63B78 and 0x9A6C9329AC4BC9B5). S3 carries them base64-encoded,
 * big-endian.
 */
import { createHash, type Hash } from 'node:crypto';
import { crc32 as zlibCrc32 } from 'node:zlib';

export type ChecksumAlgorithm = 'CRC32' | 'CRC32C' | 'CRC64NVME' | 'SHA1' | 'SHA256';
export const CHECKSUM_ALGORITHMS: ChecksumAlgorithm[] = ['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256'];

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

class Crc64Nvme implements Digest {
  private hi = 0xffffffff;
  private lo = 0xffffffff;
  update(chunk: Buffer) {
    let hi = this.hi;
    let lo = this.lo;
    for (let i = 0; i < chunk.length; i++) {
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
  }
}

export function headerFor(alg: ChecksumAlgorithm): string {
  return `x-amz-checksum-${alg.toLowerCase()}`;
}
