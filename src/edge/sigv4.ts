/**
 * AWS Signature Version 4, verified: the Authorization header form and the presigned query-string
 * form. We rebuild the canonical request from what arrived (S3 paths are encoded once, every other
 * service's twice, as the SDKs sign them), derive the signing key from the caller's secret and
 * compare signatures in constant time. The outcome carries the seed signature and signing key so
 * aws-chunked bodies can check their chunk signatures against it.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export const ALGORITHM = 'AWS4-HMAC-SHA256';
export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

export interface SignedRequest {
  method: string;
  rawPath: string;
  rawQuery: string;
  /** Lower-case header name → the values received, in order. */
  headers: Map<string, string[]>;
  /** S3: the bucket the Host header names (SigV2 signs it as part of the resource). */
  hostBucket?: string;
}

export interface SignatureParts {
  accessKeyId: string;
  date: string; // YYYYMMDD
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
  amzDate: string; // YYYYMMDDTHHMMSSZ
  presigned: boolean;
  expiresSeconds?: number;
}

/** A signature that cannot be read; `presigned` when the fault is in the query string. */
export class SigV4FormatError extends Error {
  constructor(
    message: string,
    readonly presigned = false,
  ) {
    super(message);
  }
}

/** The longest a presigned URL may live: the signing key is good for seven days. */
export const MAX_EXPIRES_SECONDS = 604800;

export function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function hmac(key: Buffer | string, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

const keyCache = new Map<string, Buffer>();
export function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  const id = `${secret}\0${date}\0${region}\0${service}`;
  let key = keyCache.get(id);
  if (!key) {
    key = hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), service), 'aws4_request');
    if (keyCache.size > 1000) keyCache.clear();
    keyCache.set(id, key);
  }
  return key;
}

/** Reads the signature parts from the Authorization header or the query string; undefined if unsigned. */
export function parseSignature(req: SignedRequest, query: [string, string][]): SignatureParts | undefined {
  const auth = req.headers.get('authorization')?.[0];
  if (auth !== undefined) {
    if (!auth.startsWith(`${ALGORITHM} `)) throw new SigV4FormatError('unsupported authorization mechanism');
    const fields = new Map<string, string>();
    for (const part of auth.slice(ALGORITHM.length + 1).split(',')) {
      const eq = part.indexOf('=');
      if (eq < 0) throw new SigV4FormatError(`malformed Authorization field '${part.trim()}'`);
      fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
    }
    const credential = fields.get('Credential');
    const signedHeaders = fields.get('SignedHeaders');
    const signature = fields.get('Signature');
    if (!credential || !signedHeaders || !signature) {
      throw new SigV4FormatError('Authorization header requires Credential, SignedHeaders and Signature');
    }
    const amzDate = req.headers.get('x-amz-date')?.[0] ?? fromHttpDate(req.headers.get('date')?.[0]);
    if (!amzDate) throw new SigV4FormatError('missing X-Amz-Date');
    return { ...splitCredential(credential), signedHeaders: signedHeaders.split(';'), signature, amzDate, presigned: false };
  }
  const q = new Map(query);
  if (!q.has('X-Amz-Signature') && !q.has('X-Amz-Credential')) return undefined;
  // S3's wording: its clients are the ones that build presigned URLs by hand.
  const malformed = (message: string) => new SigV4FormatError(message, true);
  if (q.get('X-Amz-Algorithm') !== ALGORITHM) throw malformed(`X-Amz-Algorithm only supports "${ALGORITHM}"`);
  const credential = q.get('X-Amz-Credential');
  const signature = q.get('X-Amz-Signature');
  const amzDate = q.get('X-Amz-Date');
  const signed = q.get('X-Amz-SignedHeaders');
  if (!credential || !signature || !amzDate || !signed) {
    throw malformed(
      'Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.',
    );
  }
  const raw = q.get('X-Amz-Expires');
  const expires = raw === undefined ? undefined : Number(raw);
  if (expires !== undefined) {
    if (!/^-?[0-9]+$/.test(raw!)) throw malformed('X-Amz-Expires should be a number');
    if (expires < 0) throw malformed('X-Amz-Expires must be non-negative');
    if (expires > MAX_EXPIRES_SECONDS) {
      throw malformed(
        `X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less than ${MAX_EXPIRES_SECONDS} seconds`,
      );
    }
  }
  return {
    ...splitCredential(credential, true),
    signedHeaders: signed.split(';'),
    signature,
    amzDate,
    presigned: true,
    expiresSeconds: expires,
  };
}

function splitCredential(credential: string, presigned = false) {
  const parts = credential.split('/');
  if (parts.length !== 5 || parts[4] !== 'aws4_request' || !/^[0-9]{8}$/.test(parts[1])) {
    throw new SigV4FormatError(`malformed credential '${credential}'`, presigned);
  }
  const [accessKeyId, date, region, service] = parts;
  return { accessKeyId, date, region, service };
}

function fromHttpDate(v: string | undefined): string | undefined {
  if (!v) return undefined;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? undefined : toAmzDate(d);
}

export function toAmzDate(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.[0-9]{3}/, '');
}

export function parseAmzDate(s: string): Date | undefined {
  const m = /^([0-9]{4})([0-9]{2})([0-9]{2})T([0-9]{2})([0-9]{2})([0-9]{2})Z$/.exec(s);
  if (!m) return undefined;
  const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]));
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** RFC 3986 percent-encoding, as SigV4 defines it. */
export function uriEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Percent-decoding that leaves a malformed escape as it is (the signature then will not match). */
export function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

export function canonicalUri(rawPath: string, service: string): string {
  const segments = rawPath.split('/').map((seg) => uriEncode(safeDecode(seg)));
  if (service === 's3') return segments.join('/') || '/';
  return segments.map(uriEncode).join('/') || '/';
}

export function canonicalQuery(rawQuery: string, presigned: boolean): string {
  if (!rawQuery) return '';
  const pairs: [string, string][] = [];
  for (const part of rawQuery.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const k = safeDecode((eq < 0 ? part : part.slice(0, eq)).replace(/\+/g, '%20'));
    const v = eq < 0 ? '' : safeDecode(part.slice(eq + 1).replace(/\+/g, '%20'));
    if (presigned && k === 'X-Amz-Signature') continue;
    pairs.push([uriEncode(k), uriEncode(v)]);
  }
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

export function canonicalHeaders(req: SignedRequest, names: string[]): string {
  let out = '';
  for (const name of names) {
    const values = req.headers.get(name) ?? [];
    out += `${name}:${values.map((v) => v.trim().replace(/\s+/g, ' ')).join(',')}\n`;
  }
  return out;
}

export function stringToSign(parts: SignatureParts, canonicalRequest: string): string {
  const scope = `${parts.date}/${parts.region}/${parts.service}/aws4_request`;
  return `${ALGORITHM}\n${parts.amzDate}\n${scope}\n${sha256Hex(canonicalRequest)}`;
}

export function canonicalRequest(req: SignedRequest, parts: SignatureParts, payloadHash: string): string {
  return [
    req.method,
    canonicalUri(req.rawPath, parts.service),
    canonicalQuery(req.rawQuery, parts.presigned),
    canonicalHeaders(req, parts.signedHeaders),
    parts.signedHeaders.join(';'),
    payloadHash,
  ].join('\n');
}

/** True when `parts.signature` is the signature of `req` under `secret`. */
export function verify(req: SignedRequest, parts: SignatureParts, secret: string, payloadHash: string): boolean {
  const key = signingKey(secret, parts.date, parts.region, parts.service);
  const expected = createHmac('sha256', key).update(stringToSign(parts, canonicalRequest(req, parts, payloadHash))).digest('hex');
  return constantTimeEqual(expected, parts.signature);
}

export function constantTimeEqual(a: string, b: string): boolean {
  const ba = Buffer.from(a);
  const bb = Buffer.from(b);
  return ba.length === bb.length && timingSafeEqual(ba, bb);
}
