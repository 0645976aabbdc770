/**
 * Who is calling: verifies SigV4 (header or presigned), or S3's SigV2 where the service takes it
 * (./sigv2.ts), against the configured keys and answers
 * each service's own error codes for unknown keys, bad signatures, stale dates, expired
 * presigned URLs, a credential scope naming the wrong region and (S3) x-amz-* headers the
 * signature does not cover. With auth off, any well-formed or absent signature is accepted
 * and the caller is the first configured key's account.
 *
 * kumo serves every region on one endpoint, so the scope's region is where the request acts; a
 * scope is wrong when it names a region kumo does not know (AWS's commercial regions, see
 * state/regions.ts) or, for a resource that lives in one region (an S3 bucket), another region.
 */
import { createHmac } from 'node:crypto';
import type { Credential } from '../config.js';
import { AwsError } from '../protocol/errors.js';
import { regionInfo } from '../state/regions.js';
import type { AuthErrorCodes, Signer } from '../services/service.js';
import type { ChunkVerifier } from '../protocol/aws-chunked.js';
import { looksLikeSigV2, parseSigV2, signedAt, SigV2FormatError, stringToSignV2, verifyV2, type SigV2Parts } from './sigv2.js';
import {
  constantTimeEqual,
  EMPTY_SHA256,
  MAX_EXPIRES_SECONDS,
  parseAmzDate,
  parseSignature,
  sha256Hex,
  signingKey,
  SigV4FormatError,
  verify,
  type SignatureParts,
  type SignedRequest,
} from './sigv4.js';

const SKEW_MS = 15 * 60 * 1000;

export interface Caller {
  account: string;
  accessKeyId?: string;
  region?: string;
  /** Present when the body is aws-chunked with signed chunks. */
  chunkVerifier?: ChunkVerifier;
  /** The payload hash the client declared (S3), to check against the body as it streams. */
  declaredPayloadHash?: string;
  /** How the request was signed, as S3's s3:signatureversion condition key names it. */
  signatureVersion?: 'AWS' | 'AWS4-HMAC-SHA256';
}

export interface AuthSettings {
  enabled: boolean;
  credentials: Map<string, Credential>;
  defaultAccount: string;
  now(): Date;
}

/**
 * `errors` are the service's own words for each failure. `body` is the body read whole (forms),
 * or undefined when it streams to the operation: then its hash is the one the client declares
 * (x-amz-content-sha256, required on a signed header, UNSIGNED-PAYLOAD by default on a presigned
 * URL), checked later as the body flows. `resourceRegion` says where the resource the request
 * names lives, if it is bound to a region (asked only of signed requests: it may cost a lookup).
 */
export function authenticate(
  settings: AuthSettings,
  errors: AuthErrorCodes,
  req: SignedRequest,
  query: [string, string][],
  body: Buffer | undefined,
  resourceRegion: () => string | undefined = () => undefined,
): Caller {
  if (looksLikeSigV2(req, query)) return authenticateV2(settings, errors, req, query, resourceRegion);
  let parts: SignatureParts | undefined;
  try {
    parts = signatureParts(req, query, errors);
  } catch (e) {
    if (!settings.enabled) return { account: settings.defaultAccount };
    throw e;
  }
  if (!parts) {
    if (!settings.enabled || errors.missing === 'anonymous') return { account: settings.enabled ? '' : settings.defaultAccount };
    throw new AwsError(errors.missing.code, errors.missing.message, errors.missing.status);
  }
  const cred = settings.credentials.get(parts.accessKeyId);
  if (!settings.enabled) {
    return { account: cred?.account ?? settings.defaultAccount, accessKeyId: parts.accessKeyId, region: parts.region };
  }
  checkRegion(parts, errors, resourceRegion());
  if (!cred) throw new AwsError(errors.unknownKey.code, errors.unknownKey.message, errors.unknownKey.status);
  checkTime(settings.now(), parts, errors);
  const payloadHash = payloadHashFor(req, query, parts, body);
  if (!verify(req, parts, cred.secretAccessKey, payloadHash)) {
    throw new AwsError(
      errors.badSignature?.code ?? 'SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
      errors.badSignature?.status ?? 403,
    );
  }
  checkSignedHeaders(req, parts, errors);
  const caller: Caller = { account: cred.account, accessKeyId: cred.accessKeyId, region: parts.region, signatureVersion: 'AWS4-HMAC-SHA256' };
  if (payloadHash.startsWith('STREAMING-AWS4-HMAC-SHA256')) caller.chunkVerifier = chunkVerifier(cred, parts);
  else if (/^[0-9a-f]{64}$/.test(payloadHash) && body === undefined) caller.declaredPayloadHash = payloadHash;
  return caller;
}

const UNSUPPORTED_MECHANISM = () =>
  new AwsError('InvalidRequest', 'The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.', 400);

/**
 * SigV2 (S3 only, where the service's rule allows it for the resource's region). A presigned URL
 * is good until its Expires; a signed header's Date (or x-amz-date) must be within 15 minutes.
 */
function authenticateV2(
  settings: AuthSettings,
  errors: AuthErrorCodes,
  req: SignedRequest,
  query: [string, string][],
  resourceRegion: () => string | undefined,
): Caller {
  const rule = errors.sigV2;
  if (!rule) {
    if (!settings.enabled) return { account: settings.defaultAccount };
    throw UNSUPPORTED_MECHANISM();
  }
  let parts: SigV2Parts;
  try {
    parts = parseSigV2(req, query);
  } catch (e) {
    if (!settings.enabled) return { account: settings.defaultAccount };
    if (e instanceof SigV2FormatError) throw new AwsError(e.code, e.message, e.status, { fields: e.fields });
    throw e;
  }
  const cred = settings.credentials.get(parts.accessKeyId);
  // SigV2 names no region: the request acts where its bucket is (the global endpoint's us-east-1 otherwise).
  const region = resourceRegion() ?? 'us-east-1';
  if (!settings.enabled) return { account: cred?.account ?? settings.defaultAccount, accessKeyId: parts.accessKeyId, region };
  if (!rule.allowedIn(region)) throw UNSUPPORTED_MECHANISM();
  if (!cred) throw new AwsError(errors.unknownKey.code, errors.unknownKey.message, errors.unknownKey.status);
  const now = settings.now();
  if (parts.presigned) {
    if (now.getTime() > parts.expires! * 1000) {
      throw new AwsError(errors.expired.code, 'Request has expired', errors.expired.status, {
        fields: { Expires: new Date(parts.expires! * 1000).toISOString(), ServerTime: now.toISOString() },
      });
    }
  } else {
    const at = signedAt(req);
    if (!at) throw new AwsError('AccessDenied', 'AWS authentication requires a valid Date or x-amz-date header', 403);
    if (Math.abs(now.getTime() - at.getTime()) > SKEW_MS) {
      throw new AwsError('RequestTimeTooSkewed', 'The difference between the request time and the current time is too large.', 403, {
        fields: { RequestTime: req.headers.get('x-amz-date')?.[0] ?? req.headers.get('date')?.[0] ?? '', ServerTime: now.toISOString(), MaxAllowedSkewMilliseconds: String(SKEW_MS) },
      });
    }
  }
  const toSign = stringToSignV2(req, query, parts, req.hostBucket);
  if (!verifyV2(cred.secretAccessKey, toSign, parts.signature)) {
    throw new AwsError(
      'SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
      403,
      {
        fields: {
          AWSAccessKeyId: parts.accessKeyId,
          StringToSign: toSign,
          SignatureProvided: parts.signature,
          StringToSignBytes: [...Buffer.from(toSign, 'utf8')].map((b) => b.toString(16).padStart(2, '0')).join(' '),
        },
      },
    );
  }
  return { account: cred.account, accessKeyId: cred.accessKeyId, region, signatureVersion: 'AWS' };
}

function signatureParts(req: SignedRequest, query: [string, string][], errors: AuthErrorCodes): SignatureParts | undefined {
  try {
    return parseSignature(req, query);
  } catch (e) {
    if (e instanceof SigV4FormatError) {
      const q = errors.malformedQuery;
      if (e.presigned && q) throw new AwsError(q.code, e.message, q.status);
      const auth = req.headers.get('authorization')?.[0] ?? '';
      if (auth && !auth.startsWith('AWS4-HMAC-SHA256 ')) throw UNSUPPORTED_MECHANISM();
      throw new AwsError('IncompleteSignature', `The request signature is malformed: ${e.message}`, 400);
    }
    throw e;
  }
}

function checkTime(now: Date, parts: SignatureParts, errors: AuthErrorCodes): void {
  const signedAt = parseAmzDate(parts.amzDate);
  if (!signedAt || !parts.amzDate.startsWith(parts.date)) {
    throw new AwsError('IncompleteSignature', `Invalid X-Amz-Date '${parts.amzDate}' for credential date ${parts.date}.`, 400);
  }
  const nowMs = now.getTime();
  if (parts.presigned) {
    const expires = (parts.expiresSeconds ?? MAX_EXPIRES_SECONDS) * 1000;
    if (nowMs > signedAt.getTime() + expires) {
      const e = errors.expired;
      throw new AwsError(e.code, 'Request has expired', e.status, {
        fields: { Expires: new Date(signedAt.getTime() + expires).toISOString(), ServerTime: now.toISOString() },
      });
    }
    if (signedAt.getTime() - nowMs > SKEW_MS) {
      throw new AwsError('AccessDenied', 'Request is not valid yet', 403);
    }
    return;
  }
  const early = nowMs - signedAt.getTime() > SKEW_MS;
  const late = signedAt.getTime() - nowMs > SKEW_MS;
  if (!early && !late) return;
  const e = errors.skew;
  if (e.code === 'RequestTimeTooSkewed') {
    throw new AwsError(e.code, 'The difference between the request time and the current time is too large.', e.status, {
      fields: { RequestTime: parts.amzDate, ServerTime: now.toISOString().replace(/\.[0-9]{3}Z$/, 'Z'), MaxAllowedSkewMilliseconds: String(SKEW_MS) },
    });
  }
  if (e.code === 'RequestExpired') throw new AwsError(e.code, 'Request has expired.', e.status);
  // AWS's own wording, which users paste into searches; the future case reads differently.
  throw new AwsError(
    e.code,
    early
      ? `Signature expired: ${parts.amzDate} is now earlier than ${toAmz(new Date(nowMs - SKEW_MS))} (${toAmz(now)} - 15 min.)`
      : `Signature not yet current: ${parts.amzDate} is still later than ${toAmz(new Date(nowMs + SKEW_MS))} (${toAmz(now)} + 15 min.)`,
    e.status,
  );
}

/** Services without words of their own answer as AWS's query services do. */
function checkRegion(parts: SignatureParts, errors: AuthErrorCodes, home: string | undefined): void {
  if (regionInfo(parts.region) && (home === undefined || home === parts.region)) return;
  const wrong = errors.wrongRegion;
  if (wrong) throw wrong(parts.region, home, parts.presigned);
  throw new AwsError('SignatureDoesNotMatch', `Credential should be scoped to a valid region, not '${parts.region}'.`, 403);
}

/**
 * Where the service insists (S3), every x-amz-* header must be among the signed ones. A presigned
 * URL's x-amz-content-sha256 is let through: the payload hash it declares goes into the canonical
 * request, so a value the URL was not signed for is SignatureDoesNotMatch, as on AWS.
 */
function checkSignedHeaders(req: SignedRequest, parts: SignatureParts, errors: AuthErrorCodes): void {
  const rule = errors.unsignedHeaders;
  if (!rule) return;
  const signed = new Set(parts.signedHeaders);
  const unsigned = [...req.headers.keys()].filter(
    (h) => h.startsWith('x-amz-') && !signed.has(h) && !(parts.presigned && h === 'x-amz-content-sha256'),
  );
  if (unsigned.length) throw new AwsError(rule.code, rule.message, rule.status, { fields: { [rule.field]: unsigned.join(', ') } });
}

function toAmz(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.[0-9]{3}/, '');
}

function payloadHashFor(req: SignedRequest, query: [string, string][], parts: SignatureParts, body: Buffer | undefined): string {
  // A body read whole (forms) is hashed as received: trusting a declared x-amz-content-sha256
  // instead would let anyone swap the body under a valid signature.
  if (body !== undefined) return sha256Hex(body);
  // A streamed body's hash is what the client declares; the body is checked against it as it flows.
  const declared = req.headers.get('x-amz-content-sha256')?.[0];
  if (parts.presigned) {
    const q = query.find(([k]) => k === 'X-Amz-Content-Sha256')?.[1];
    if (q) return q;
    return declared ?? 'UNSIGNED-PAYLOAD';
  }
  if (declared) return declared;
  throw new AwsError('InvalidRequest', 'Missing required header for this request: x-amz-content-sha256', 400);
}

function chunkVerifier(cred: Credential, parts: SignatureParts): ChunkVerifier {
  const key = signingKey(cred.secretAccessKey, parts.date, parts.region, parts.service);
  const scope = `${parts.date}/${parts.region}/${parts.service}/aws4_request`;
  let previous = parts.signature;
  const sign = (s: string) => createHmac('sha256', key).update(s).digest('hex');
  return {
    chunk(signature, dataSha256) {
      const expected = sign(`AWS4-HMAC-SHA256-PAYLOAD\n${parts.amzDate}\n${scope}\n${previous}\n${EMPTY_SHA256}\n${dataSha256}`);
      if (!constantTimeEqual(expected, signature)) return false;
      previous = signature;
      return true;
    },
    trailer(signature, canonicalTrailers) {
      const expected = sign(`AWS4-HMAC-SHA256-TRAILER\n${parts.amzDate}\n${scope}\n${previous}\n${sha256Hex(canonicalTrailers)}`);
      return constantTimeEqual(expected, signature);
    },
  };
}

/** The keys lent to services whose requests sign something other than themselves (Service's Signer). */
export function signerFor(settings: AuthSettings): Signer {
  return {
    enabled: settings.enabled,
    defaultAccount: settings.defaultAccount,
    account: (accessKeyId) => settings.credentials.get(accessKeyId)?.account,
    sign(accessKeyId, data, scope) {
      const cred = settings.credentials.get(accessKeyId);
      if (!cred) return undefined;
      if (!scope) return createHmac('sha1', cred.secretAccessKey).update(data, 'utf8').digest('base64');
      return createHmac('sha256', signingKey(cred.secretAccessKey, scope.date, scope.region, scope.service)).update(data, 'utf8').digest('hex');
    },
  };
}
