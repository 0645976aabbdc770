/**
 * PuTTY's private key file (`.ppk`, format 2, unencrypted), which CreateKeyPair returns for
 * KeyFormat=ppk. Layout and MAC follow PuTTY's documentation (Appendix C): the public blob as
 * OpenSSH sends it, a private blob (rsa: mpint d, p, q, iqmp with p the larger prime; ed25519:
 * string of the 32-byte private key), both base64 in 64-character lines, and an HMAC-SHA-1 over
 * algorithm, encryption, comment and both blobs keyed by SHA-1("putty-private-key-file-mac-key").
 */
import { createHash, createHmac, type KeyObject } from 'node:crypto';
import { mpint, sshString, type PublicKeyInfo } from './material.js';

const MAC_KEY_LABEL = 'putty-private-key-file-mac-key';

export function toPpk(privateKey: KeyObject, pub: PublicKeyInfo, comment: string): string {
  const algorithm = pub.type === 'rsa' ? 'ssh-rsa' : 'ssh-ed25519';
  const priv = pub.type === 'rsa' ? rsaPrivateBlob(privateKey) : sshString(b64u(privateKey.export({ format: 'jwk' }).d!));
  const encryption = 'none';
  const macInput = Buffer.concat([sshString(algorithm), sshString(encryption), sshString(comment), sshString(pub.blob), sshString(priv)]);
  const mac = createHmac('sha1', createHash('sha1').update(MAC_KEY_LABEL).digest()).update(macInput).digest('hex');
  const pubLines = lines(pub.blob);
  const privLines = lines(priv);
  return [
    `PuTTY-User-Key-File-2: ${algorithm}`,
    `Encryption: ${encryption}`,
    `Comment: ${comment}`,
    `Public-Lines: ${pubLines.length}`,
    ...pubLines,
    `Private-Lines: ${privLines.length}`,
    ...privLines,
    `Private-MAC: ${mac}`,
  ].join('\n');
}

function rsaPrivateBlob(key: KeyObject): Buffer {
  const jwk = key.export({ format: 'jwk' });
  let p = toBig(jwk.p!);
  let q = toBig(jwk.q!);
  if (p < q) [p, q] = [q, p];
  const iqmp = modInverse(q, p);
  return Buffer.concat([b64u(jwk.d!), fromBig(p), fromBig(q), fromBig(iqmp)].map((b) => sshString(mpint(b))));
}

const b64u = (s: string) => Buffer.from(s, 'base64url');
const toBig = (s: string) => BigInt(`0x${b64u(s).toString('hex')}`);

function fromBig(n: bigint): Buffer {
  const hex = n.toString(16);
  return Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex');
}

function modInverse(a: bigint, m: bigint): bigint {
  let [r0, r1] = [a % m, m];
  let [s0, s1] = [1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  return ((s0 % m) + m) % m;
}

function lines(b: Buffer): string[] {
  return b.toString('base64').match(/.{1,64}/g) ?? [];
}
