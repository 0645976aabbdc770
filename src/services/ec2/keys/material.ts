/**
 * SSH key material for EC2 key pairs, with Node's crypto only: generating RSA (2048-bit, PKCS#1
 * PEM as AWS returns it) and ed25519 (OpenSSH private key format) keys, parsing imported OpenSSH
 * and RFC 4716 public keys, and the fingerprints AWS shows:
 *
 *   created rsa   SHA-1 of the PKCS#8 DER private key, colon hex
 *   imported rsa  MD5 of the SubjectPublicKeyInfo DER public key, colon hex
 *   ed25519       base64 SHA-256 of the OpenSSH public key blob (padded, as EC2 prints it)
 *
 * Only the public half is ever kept; the private key leaves in the CreateKeyPair answer.
 */
import { createHash, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';

export type KeyType = 'rsa' | 'ed25519';

export interface PublicKeyInfo {
  type: KeyType;
  /** The OpenSSH wire blob (`string type, …`), the base64 of which is authorized_keys' 2nd field. */
  blob: Buffer;
  /** RSA modulus size in bits; 256 for ed25519. */
  bits: number;
  key: KeyObject;
}

export interface GeneratedKey {
  privateKeyPem: string;
  /** The private half itself, for the PuTTY encoding (./ppk.ts); never stored. */
  privateKey: KeyObject;
  fingerprint: string;
  publicKey: PublicKeyInfo;
}

const SSH_NAME: Record<KeyType, string> = { rsa: 'ssh-rsa', ed25519: 'ssh-ed25519' };

/** RSA key sizes EC2 accepts on import. */
export const RSA_IMPORT_BITS = [1024, 2048, 4096];

export function generateKey(type: KeyType, comment: string): GeneratedKey {
  if (type === 'rsa') {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 0x10001 });
    const pkcs8 = privateKey.export({ format: 'der', type: 'pkcs8' });
    return {
      privateKeyPem: (privateKey.export({ format: 'pem', type: 'pkcs1' }) as string).trimEnd(),
      privateKey,
      fingerprint: colonHex(createHash('sha1').update(pkcs8).digest()),
      publicKey: describePublic(publicKey),
    };
  }
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const info = describePublic(publicKey);
  const seed = Buffer.from(privateKey.export({ format: 'jwk' }).d!, 'base64url');
  return {
    privateKeyPem: openSshPrivateKey(info.blob, seed, comment),
    privateKey,
    fingerprint: ed25519Fingerprint(info.blob),
    publicKey: info,
  };
}

/** Fingerprint of a key the caller brought (ImportKeyPair). */
export function importedFingerprint(info: PublicKeyInfo): string {
  if (info.type === 'ed25519') return ed25519Fingerprint(info.blob);
  return colonHex(createHash('md5').update(info.key.export({ format: 'der', type: 'spki' })).digest());
}

/** `ssh-rsa AAAA… comment`, as DescribeKeyPairs' PublicKey and authorized_keys show it. */
export function authorizedKeyLine(info: PublicKeyInfo, comment: string): string {
  return `${SSH_NAME[info.type]} ${info.blob.toString('base64')} ${comment}`;
}

/**
 * Parses public key material as ImportKeyPair receives it (the decoded blob parameter), in the
 * three formats EC2 documents: an OpenSSH one-line key (`ssh-rsa AAAA… [comment]`), an RFC 4716
 * `---- BEGIN SSH2 PUBLIC KEY ----` block, or base64 DER (SubjectPublicKeyInfo, RSA or ed25519).
 * Undefined for anything else, which the caller answers with InvalidKey.Format.
 */
export function parsePublicKey(material: Buffer): PublicKeyInfo | undefined {
  const text = material.toString('latin1').trim();
  let blob: Buffer | undefined;
  let declared: string | undefined;
  if (text.startsWith('---- BEGIN SSH2 PUBLIC KEY ----')) {
    blob = rfc4716Blob(text);
  } else if (/^M[A-Za-z0-9+/\s]+={0,2}$/.test(text)) {
    return fromDer(Buffer.from(text.replace(/\s+/g, ''), 'base64'));
  } else {
    const m = /^(ssh-rsa|ssh-ed25519)\s+([A-Za-z0-9+/]+={0,2})(\s.*)?$/s.exec(text);
    if (!m) return undefined;
    declared = m[1];
    blob = Buffer.from(m[2], 'base64');
  }
  if (!blob) return undefined;
  try {
    return parseBlob(blob, declared);
  } catch {
    return undefined;
  }
}

function fromDer(der: Buffer): PublicKeyInfo | undefined {
  try {
    const key = createPublicKey({ key: der, format: 'der', type: 'spki' });
    return key.asymmetricKeyType === 'rsa' || key.asymmetricKeyType === 'ed25519' ? describePublic(key) : undefined;
  } catch {
    return undefined;
  }
}

function rfc4716Blob(text: string): Buffer | undefined {
  const lines = text.split(/\r?\n/).map((l) => l.trim());
  if (lines[lines.length - 1] !== '---- END SSH2 PUBLIC KEY ----') return undefined;
  const body: string[] = [];
  let continued = false;
  for (const line of lines.slice(1, -1)) {
    // Header lines (`Comment: …`) may continue onto the next line with a trailing backslash.
    if (continued || /^[A-Za-z0-9-]+:/.test(line)) {
      continued = line.endsWith('\\');
      continue;
    }
    body.push(line);
  }
  const b64 = body.join('');
  return /^[A-Za-z0-9+/]+={0,2}$/.test(b64) ? Buffer.from(b64, 'base64') : undefined;
}

function parseBlob(blob: Buffer, declared: string | undefined): PublicKeyInfo | undefined {
  const r = new SshReader(blob);
  const name = r.string().toString('latin1');
  if (declared !== undefined && declared !== name) return undefined;
  if (name === 'ssh-rsa') {
    const e = stripMpint(r.string());
    const n = stripMpint(r.string());
    if (!r.done() || n.length === 0 || e.length === 0) return undefined;
    const key = createPublicKey({ format: 'jwk', key: { kty: 'RSA', n: n.toString('base64url'), e: e.toString('base64url') } });
    return { type: 'rsa', blob, bits: key.asymmetricKeyDetails?.modulusLength ?? n.length * 8, key };
  }
  if (name === 'ssh-ed25519') {
    const pub = r.string();
    if (!r.done() || pub.length !== 32) return undefined;
    const key = createPublicKey({ format: 'jwk', key: { kty: 'OKP', crv: 'Ed25519', x: pub.toString('base64url') } });
    return { type: 'ed25519', blob, bits: 256, key };
  }
  return undefined;
}

function describePublic(key: KeyObject): PublicKeyInfo {
  const jwk = key.export({ format: 'jwk' });
  if (jwk.kty === 'RSA') {
    const blob = Buffer.concat([sshString('ssh-rsa'), sshString(mpint(b64u(jwk.e!))), sshString(mpint(b64u(jwk.n!)))]);
    return { type: 'rsa', blob, bits: key.asymmetricKeyDetails?.modulusLength ?? 2048, key };
  }
  const blob = Buffer.concat([sshString('ssh-ed25519'), sshString(b64u(jwk.x!))]);
  return { type: 'ed25519', blob, bits: 256, key };
}

/** PROTOCOL.key: the unencrypted `openssh-key-v1` container OpenSSH writes for ed25519 keys. */
function openSshPrivateKey(publicBlob: Buffer, seed: Buffer, comment: string): string {
  const pub = new SshReader(publicBlob);
  pub.string();
  const pub32 = pub.string();
  const check = randomBytes(4);
  const parts = [
    check,
    check,
    sshString('ssh-ed25519'),
    sshString(pub32),
    sshString(Buffer.concat([seed, pub32])),
    sshString(comment),
  ];
  let priv = Buffer.concat(parts);
  const pad = (8 - (priv.length % 8)) % 8;
  priv = Buffer.concat([priv, Buffer.from(Array.from({ length: pad }, (_, i) => i + 1))]);
  const body = Buffer.concat([
    Buffer.from('openssh-key-v1\0', 'latin1'),
    sshString('none'),
    sshString('none'),
    sshString(Buffer.alloc(0)),
    uint32(1),
    sshString(publicBlob),
    sshString(priv),
  ]);
  const b64 = body.toString('base64').replace(/(.{70})/g, '$1\n').trimEnd();
  return `-----BEGIN OPENSSH PRIVATE KEY-----\n${b64}\n-----END OPENSSH PRIVATE KEY-----`;
}

function ed25519Fingerprint(blob: Buffer): string {
  return createHash('sha256').update(blob).digest('base64');
}

function colonHex(b: Buffer): string {
  return b.toString('hex').replace(/(..)(?!$)/g, '$1:');
}

const b64u = (s: string) => Buffer.from(s, 'base64url');

function uint32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

export function sshString(v: string | Buffer): Buffer {
  const b = typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
  return Buffer.concat([uint32(b.length), b]);
}

/** RFC 4251 mpint of a non-negative big-endian magnitude: a 0 byte in front if the top bit is set. */
export function mpint(magnitude: Buffer): Buffer {
  let i = 0;
  while (i < magnitude.length - 1 && magnitude[i] === 0) i++;
  const m = magnitude.subarray(i);
  return m[0] & 0x80 ? Buffer.concat([Buffer.from([0]), m]) : m;
}

function stripMpint(b: Buffer): Buffer {
  if (b.length > 0 && b[0] & 0x80) throw new Error('negative mpint');
  let i = 0;
  while (i < b.length && b[i] === 0) i++;
  return b.subarray(i);
}

class SshReader {
  private at = 0;
  constructor(private readonly buf: Buffer) {}
  string(): Buffer {
    if (this.at + 4 > this.buf.length) throw new Error('truncated');
    const len = this.buf.readUInt32BE(this.at);
    const start = this.at + 4;
    if (start + len > this.buf.length) throw new Error('truncated');
    this.at = start + len;
    return this.buf.subarray(start, this.at);
  }
  done(): boolean {
    return this.at === this.buf.length;
  }
}
