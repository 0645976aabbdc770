/**
 * Server-side encryption of objects, as S3 decides, reports and enforces it. Every write ends with
 * one of:
 *
 * - SSE-S3 (`AES256`): what S3 does to every object since 2023 unless told otherwise, and what a
 *   bucket's default encryption (./bucket-encryption.ts) says when it says nothing else;
 * - SSE-KMS / DSSE-KMS (`aws:kms`, `aws:kms:dsse`): the key (as an ARN; the account's `aws/s3`
 *   key when none is named), the encryption context and the bucket-key flag are recorded and
 *   answered. kumo has no KMS: these bytes are stored as SSE-S3's are;
 * - SSE-C: the bytes are stored encrypted with the customer's key (./sse-c.ts) and kumo keeps only
 *   the key's MD5, as S3 does; every read, copy and part upload must bring the same key.
 *
 * The request's headers win over the bucket's default; SSE-C excludes the other two.
 */
import { createHash } from 'node:crypto';
import { AwsError } from '../../protocol/errors.js';
import type { RequestContext } from '../service.js';
import { S3Errors } from './errors.js';

export type KmsKind = 'aws:kms' | 'aws:kms:dsse';

export type Encryption =
  | { kind: 'AES256'; bucketKey?: boolean }
  | { kind: KmsKind; keyId: string; context?: string; bucketKey?: boolean }
  /** `ivs`: one initialization vector per segment of the stored bytes (one per part; ./sse-c.ts). */
  | { kind: 'SSE-C'; keyMd5: string; ivs: string[] };

/** A bucket's default encryption (PutBucketEncryption), or S3's own default. */
export interface BucketEncryption {
  algorithm: 'AES256' | KmsKind;
  kmsKeyId?: string;
  bucketKey: boolean;
}

export const S3_DEFAULT_ENCRYPTION: BucketEncryption = { algorithm: 'AES256', bucketKey: false };

export interface CustomerKeyInput {
  SSECustomerAlgorithm?: string;
  SSECustomerKey?: Buffer | string;
  SSECustomerKeyMD5?: string;
}

export interface WriteEncryptionInput extends CustomerKeyInput {
  ServerSideEncryption?: string;
  SSEKMSKeyId?: string;
  SSEKMSEncryptionContext?: string;
  BucketKeyEnabled?: boolean;
}

export interface CustomerKey {
  key: Buffer;
  md5: string;
}

const invalidArgument = (message: string, name: string, value = '') => S3Errors.invalidArgument(message, name, value);

export const SseErrors = {
  notEncryptedWithKey: () => new AwsError('InvalidRequest', 'The encryption parameters are not applicable to this object.', 400),
  keyRequired: () =>
    new AwsError('InvalidRequest', 'The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object.', 400),
  wrongKey: () => new AwsError('AccessDenied', 'Requests specifying Server Side Encryption with Customer provided keys must provide the correct secret key.', 403),
  kmsNeedsSigV4: () => new AwsError('InvalidArgument', 'Requests specifying Server Side Encryption with AWS KMS managed keys require AWS Signature Version 4.', 400),
  uploadKeyMismatch: () =>
    new AwsError('InvalidRequest', 'The provided encryption parameters did not match the ones used originally.', 400),
};

/**
 * The customer-provided key of a request (or of its copy source, `names` saying which headers),
 * checked as S3 checks it; undefined when the request carries none.
 */
export function customerKey(input: CustomerKeyInput, names = 'x-amz-server-side-encryption-customer'): CustomerKey | undefined {
  const { SSECustomerAlgorithm: algorithm, SSECustomerKey: raw, SSECustomerKeyMD5: md5 } = input;
  if (algorithm === undefined && raw === undefined && md5 === undefined) return undefined;
  if (algorithm === undefined) {
    throw invalidArgument('Requests specifying Server Side Encryption with Customer provided keys must provide a valid encryption algorithm.', `${names}-algorithm`);
  }
  if (algorithm !== 'AES256') {
    throw new AwsError('InvalidEncryptionAlgorithmError', 'The Encryption request you specified is not valid. Supported value: AES256.', 400, {
      fields: { ArgumentName: `${names}-algorithm`, ArgumentValue: algorithm },
    });
  }
  if (raw === undefined) {
    throw invalidArgument('Requests specifying Server Side Encryption with Customer provided keys must provide an appropriate secret key.', `${names}-key`);
  }
  const key = Buffer.isBuffer(raw) ? raw : Buffer.from(raw, 'base64');
  if (key.length !== 32) throw invalidArgument('The secret key was invalid for the specified algorithm.', `${names}-key`);
  const actual = createHash('md5').update(key).digest('base64');
  if (md5 !== undefined && md5 !== actual) {
    throw invalidArgument('The calculated MD5 hash of the key did not match the hash that was provided.', `${names}-key-MD5`);
  }
  return { key, md5: actual };
}

/** The account's `aws/s3` key, which S3 uses when SSE-KMS names no key: stable per account and region. */
export function awsManagedKeyArn(account: string, region: string): string {
  const h = createHash('sha256').update(`aws/s3:${account}:${region}`).digest('hex');
  return `arn:aws:kms:${region}:${account}:key/${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** A key as S3 reports it: an ARN, whether it was named by ID, ARN or alias. */
export function kmsKeyArn(keyId: string, account: string, region: string): string {
  if (keyId.startsWith('arn:')) return keyId;
  if (keyId.startsWith('alias/')) return `arn:aws:kms:${region}:${account}:${keyId}`;
  return `arn:aws:kms:${region}:${account}:key/${keyId}`;
}

const SSE_VALUES = ['AES256', 'aws:kms', 'aws:kms:dsse'];

/**
 * What a write's object will be encrypted with: the request's headers, else the bucket's default.
 * For SSE-C, the key comes back too (the caller encrypts with it; `ivs` is filled as it writes).
 */
export function writeEncryption(
  input: WriteEncryptionInput,
  bucketDefault: BucketEncryption,
  ctx: Pick<RequestContext, 'account' | 'region' | 'signatureVersion'>,
): { encryption: Encryption; key?: CustomerKey } {
  const sse = input.ServerSideEncryption;
  const key = customerKey(input);
  if (key) {
    if (sse !== undefined || input.SSEKMSKeyId !== undefined) {
      throw invalidArgument('Server Side Encryption with Customer provided key is incompatible with the encryption method specified', 'x-amz-server-side-encryption', sse ?? '');
    }
    return { encryption: { kind: 'SSE-C', keyMd5: key.md5, ivs: [] }, key };
  }
  if (sse !== undefined && !SSE_VALUES.includes(sse)) {
    throw invalidArgument('The encryption method specified is not supported', 'x-amz-server-side-encryption', sse);
  }
  if (input.SSEKMSKeyId !== undefined && sse !== 'aws:kms' && sse !== 'aws:kms:dsse') {
    throw invalidArgument('Server Side Encryption with AWS KMS managed key requires HTTP header x-amz-server-side-encryption : aws:kms', 'x-amz-server-side-encryption-aws-kms-key-id', input.SSEKMSKeyId);
  }
  if (input.SSEKMSEncryptionContext !== undefined) checkContext(input.SSEKMSEncryptionContext);
  const algorithm = (sse ?? bucketDefault.algorithm) as BucketEncryption['algorithm'];
  const bucketKey = input.BucketKeyEnabled ?? bucketDefault.bucketKey;
  if (algorithm === 'AES256') return { encryption: bucketKey ? { kind: 'AES256', bucketKey } : { kind: 'AES256' } };
  if (ctx.signatureVersion === 'AWS') throw SseErrors.kmsNeedsSigV4();
  // The bucket's key applies only when the request names no key of its own for the same algorithm.
  const named = input.SSEKMSKeyId ?? (sse === undefined || sse === bucketDefault.algorithm ? bucketDefault.kmsKeyId : undefined);
  const keyId = named ? kmsKeyArn(named, ctx.account, ctx.region) : awsManagedKeyArn(ctx.account, ctx.region);
  return { encryption: { kind: algorithm, keyId, context: input.SSEKMSEncryptionContext, bucketKey: bucketKey || undefined } };
}

/** An encryption context is base64 of a JSON object of strings. */
function checkContext(value: string): void {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(value, 'base64').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed) || !Object.values(parsed).every((v) => typeof v === 'string')) {
    throw invalidArgument('The header \'x-amz-server-side-encryption-context\' shall be Base64-encoded UTF-8 string holding JSON which represents a string-string map', 'x-amz-server-side-encryption-context', value);
  }
}

/**
 * The key a read of this object must use (and checks the request brought the right one): the
 * customer key for SSE-C objects, undefined for the others, which take no key.
 */
export function readKey(stored: Encryption | undefined, input: CustomerKeyInput, names?: string): CustomerKey | undefined {
  const given = customerKey(input, names);
  if (stored?.kind !== 'SSE-C') {
    if (given) throw SseErrors.notEncryptedWithKey();
    return undefined;
  }
  if (!given) throw SseErrors.keyRequired();
  if (given.md5 !== stored.keyMd5) throw SseErrors.wrongKey();
  return given;
}

/** The key a part of a multipart upload must come with: the upload's own, for SSE-C uploads. */
export function partKey(stored: Encryption | undefined, input: CustomerKeyInput): CustomerKey | undefined {
  const given = customerKey(input);
  if (stored?.kind !== 'SSE-C') {
    if (given) throw SseErrors.notEncryptedWithKey();
    return undefined;
  }
  if (!given) {
    throw new AwsError('InvalidRequest', 'The multipart upload initiate requested encryption. Subsequent part requests must include the appropriate encryption parameters.', 400);
  }
  if (given.md5 !== stored.keyMd5) throw SseErrors.uploadKeyMismatch();
  return given;
}

export interface EncryptionFields {
  ServerSideEncryption?: string;
  SSEKMSKeyId?: string;
  SSEKMSEncryptionContext?: string;
  BucketKeyEnabled?: boolean;
  SSECustomerAlgorithm?: string;
  SSECustomerKeyMD5?: string;
}

/** How an answer reports an object's encryption; the KMS context only where S3 echoes it (writes). */
export function encryptionFields(e: Encryption | undefined, withContext = false): EncryptionFields {
  if (!e || e.kind === 'AES256') return { ServerSideEncryption: 'AES256', BucketKeyEnabled: e?.bucketKey || undefined };
  if (e.kind === 'SSE-C') return { SSECustomerAlgorithm: 'AES256', SSECustomerKeyMD5: e.keyMd5 };
  return {
    ServerSideEncryption: e.kind,
    SSEKMSKeyId: e.keyId,
    BucketKeyEnabled: e.bucketKey || undefined,
    SSEKMSEncryptionContext: withContext ? e.context : undefined,
  };
}
