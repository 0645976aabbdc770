/**
 * kumo's own certificate authority: one CA key and self-signed CA certificate per data dir,
 * made the first time something asks for it and kept (`<data-dir>/ca/ca.pem`, `ca.key` 0600), so
 * a user who trusts it once (`GET /_kumo/ca.pem`) trusts every certificate kumo issues, across
 * restarts. ACM's RequestCertificate issues its leaf certificates here; other services that serve
 * TLS of their own reuse it.
 *
 *   ensure()  → ca.key + ca.pem (once; concurrent callers share the one generation)
 *   issue()   → a fresh key of the asked algorithm and a certificate for the names, signed by the CA
 *   inspect() → what a PEM certificate says (subject, issuer, names, validity, key), for any cert
 *
 * Keys are made by Node's crypto; the X.509 signing is the `openssl` tool's (Node cannot write a
 * certificate), run on files in a private scratch directory that is removed after each use.
 */
import { execFile } from 'node:child_process';
import { generateKeyPair, randomBytes, X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** ACM's key algorithms kumo can make. */
export type KeyAlgorithm = 'RSA_2048' | 'RSA_3072' | 'RSA_4096' | 'EC_prime256v1' | 'EC_secp384r1' | 'EC_secp521r1';
export const KEY_ALGORITHMS: KeyAlgorithm[] = ['RSA_2048', 'RSA_3072', 'RSA_4096', 'EC_prime256v1', 'EC_secp384r1', 'EC_secp521r1'];

/** ACM's certificates last 395 days. */
const LEAF_DAYS = 395;
const CA_DAYS = 3650;

export interface IssuedCertificate {
  certificatePem: string;
  privateKeyPem: string;
}

export interface CertificateFacts {
  subject: string;
  issuer: string;
  /** Colon-separated hex bytes, as ACM writes serials. */
  serial: string;
  notBefore: Date;
  notAfter: Date;
  /** The DNS names of the subjectAltName extension, else the subject's CN. */
  names: string[];
  commonName?: string;
  keyAlgorithm: string;
  signatureAlgorithm: string;
  selfSigned: boolean;
}

function openssl(args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('openssl', args, { cwd, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) reject(new Error(`openssl ${args[0]}: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
  });
}

/** A private key (PEM), made on libuv's thread pool: an RSA key would hold the event loop 0.1-0.3 s. */
function newKey(algorithm: KeyAlgorithm): Promise<string> {
  const [kind, size] = algorithm.split('_') as ['RSA' | 'EC', string];
  const encoding = { privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } } as const;
  return new Promise((resolve, reject) => {
    const done = (err: Error | null, _pub: string, key: string) => (err ? reject(err) : resolve(key));
    if (kind === 'RSA') generateKeyPair('rsa', { modulusLength: Number(size), ...encoding }, done);
    else generateKeyPair('ec', { namedCurve: size, ...encoding }, done);
  });
}

/** A subject (`/O=…/CN=…`) for openssl's -subj, with its separators escaped. */
const subj = (parts: [string, string][]) => parts.map(([k, v]) => `/${k}=${v.replace(/[/\\+=,]/g, (c) => `\\${c}`)}`).join('');

export class CertificateAuthority {
  private ready: Promise<void> | undefined;

  /** `dir`: `<data-dir>/ca`. */
  constructor(private readonly dir: string) {}

  get certificatePath(): string {
    return join(this.dir, 'ca.pem');
  }

  private get keyPath(): string {
    return join(this.dir, 'ca.key');
  }

  /** Makes the CA the first time; later calls (and later kumos on the data dir) find it. */
  ensure(): Promise<void> {
    this.ready ??= this.create().catch((e) => {
      this.ready = undefined;
      throw e;
    });
    return this.ready;
  }

  /** The CA certificate (PEM), once ensure() made it. */
  async certificate(): Promise<string> {
    await this.ensure();
    return readFileSync(this.certificatePath, 'utf8');
  }

  private async create(): Promise<void> {
    if (existsSync(this.certificatePath) && existsSync(this.keyPath)) return;
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    await this.scratch(async (tmp) => {
      writeFileSync(join(tmp, 'ca.key'), await newKey('RSA_2048'), { mode: 0o600 });
      // The random tag tells one kumo's CA from another's in a trust store.
      const name = `kumo local certificate authority ${randomBytes(4).toString('hex')}`;
      await openssl(
        [
          'req', '-x509', '-new', '-key', 'ca.key', '-sha256', '-days', String(CA_DAYS), '-subj', subj([['O', 'kumo'], ['CN', name]]),
          '-addext', 'basicConstraints=critical,CA:TRUE,pathlen:0', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
          '-addext', 'subjectKeyIdentifier=hash', '-out', 'ca.pem',
        ],
        tmp,
      );
      // The key first: a ca.pem without its key would be taken for a finished CA.
      renameSync(join(tmp, 'ca.key'), this.keyPath);
      chmodSync(this.keyPath, 0o600);
      renameSync(join(tmp, 'ca.pem'), this.certificatePath);
    });
  }

  /** A new key and a certificate for `names` (the first is the subject's CN), signed by the CA. */
  async issue(names: string[], algorithm: KeyAlgorithm = 'RSA_2048', days = LEAF_DAYS): Promise<IssuedCertificate> {
    await this.ensure();
    const privateKeyPem = await newKey(algorithm);
    const certificatePem = await this.scratch(async (tmp) => {
      writeFileSync(join(tmp, 'leaf.key'), privateKeyPem, { mode: 0o600 });
      writeFileSync(
        join(tmp, 'leaf.ext'),
        [
          'basicConstraints=critical,CA:FALSE',
          `keyUsage=critical,digitalSignature${algorithm.startsWith('RSA') ? ',keyEncipherment' : ''}`,
          'extendedKeyUsage=serverAuth,clientAuth',
          'subjectKeyIdentifier=hash',
          'authorityKeyIdentifier=keyid',
          `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}`,
          '',
        ].join('\n'),
      );
      await openssl(['req', '-new', '-key', 'leaf.key', '-subj', subj([['CN', names[0]!]]), '-out', 'leaf.csr'], tmp);
      await openssl(
        [
          'x509', '-req', '-in', 'leaf.csr', '-CA', this.certificatePath, '-CAkey', this.keyPath, '-set_serial', `0x${randomBytes(16).toString('hex').replace(/^[89a-f]/, '7')}`,
          '-days', String(days), '-sha256', '-extfile', 'leaf.ext', '-out', 'leaf.pem',
        ],
        tmp,
      );
      return readFileSync(join(tmp, 'leaf.pem'), 'utf8');
    });
    return { certificatePem, privateKeyPem };
  }

  private async scratch<T>(fn: (dir: string) => Promise<T>): Promise<T> {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const tmp = mkdtempSync(join(this.dir, '.work-'));
    try {
      return await fn(tmp);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
}

/** PEM blocks of one kind (`CERTIFICATE`) in a text, in order. */
export function pemBlocks(text: string, label = 'CERTIFICATE'): string[] {
  const re = new RegExp(`-----BEGIN ${label}-----[\\s\\S]+?-----END ${label}-----`, 'g');
  return [...text.matchAll(re)].map((m) => `${m[0]}\n`);
}

/** What a certificate says; throws on anything that is not one PEM certificate. */
export function inspect(pem: string): CertificateFacts {
  const cert = new X509Certificate(pem);
  const cn = /(?:^|\n)CN=([^\n]*)/.exec(cert.subject)?.[1];
  const names = (cert.subjectAltName ?? '')
    .split(/,\s*/)
    .filter((s) => s.startsWith('DNS:'))
    .map((s) => s.slice(4));
  return {
    subject: cert.subject.split('\n').join(','),
    issuer: cert.issuer.split('\n').join(','),
    serial: cert.serialNumber.toLowerCase().replace(/^(?:00)+(?=..)/, '').match(/../g)!.join(':'),
    notBefore: new Date(cert.validFrom),
    notAfter: new Date(cert.validTo),
    names: names.length ? names : cn ? [cn] : [],
    commonName: cn,
    keyAlgorithm: keyAlgorithmOf(cert.publicKey),
    signatureAlgorithm: signatureAlgorithmOf(cert),
    selfSigned: cert.subject === cert.issuer && cert.verify(cert.publicKey),
  };
}

/** ACM's name of a key's algorithm (`RSA_2048`, `EC_prime256v1`). */
export function keyAlgorithmOf(key: KeyObject): string {
  const d = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'rsa') return `RSA_${d.modulusLength}`;
  if (key.asymmetricKeyType === 'ec') return `EC_${d.namedCurve}`;
  return String(key.asymmetricKeyType).toUpperCase();
}

/** Signature algorithm OIDs (DER content bytes, hex) → ACM's spelling. */
const SIGNATURE_OIDS: Record<string, string> = {
  '2a864886f70d010105': 'SHA1WITHRSA',
  '2a864886f70d01010b': 'SHA256WITHRSA',
  '2a864886f70d01010c': 'SHA384WITHRSA',
  '2a864886f70d01010d': 'SHA512WITHRSA',
  '2a8648ce3d040302': 'SHA256WITHECDSA',
  '2a8648ce3d040303': 'SHA384WITHECDSA',
  '2a8648ce3d040304': 'SHA512WITHECDSA',
};

/** Node does not say how a certificate is signed: the outer signatureAlgorithm, read from the DER. */
function signatureAlgorithmOf(cert: X509Certificate): string {
  const der = cert.raw;
  /** The element at `at`: where its content starts and ends. */
  const element = (at: number) => {
    let len = der[at + 1]!;
    let start = at + 2;
    if (len & 0x80) {
      const n = len & 0x7f;
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + der[start + i]!;
      start += n;
    }
    return { start, end: start + len };
  };
  const outer = element(0);
  const tbs = element(outer.start);
  const algorithm = element(tbs.end);
  const oid = element(algorithm.start);
  return SIGNATURE_OIDS[der.subarray(oid.start, oid.end).toString('hex')] ?? 'OTHER';
}

/** Whether `keyPem` is the private key of `certPem`. */
export function keyMatches(certPem: string, keyPem: string): boolean {
  try {
    return new X509Certificate(certPem).checkPrivateKey(createPrivateKey(keyPem));
  } catch {
    return false;
  }
}
