/**
 * A bucket's default encryption: PutBucketEncryption, GetBucketEncryption, DeleteBucketEncryption.
 * Since 2023 every bucket has one: SSE-S3 (AES256) until told otherwise, and Delete returns to it,
 * so Get always answers a rule. What a write without encryption headers gets is decided from it
 * by ./sse.ts.
 */
import type { S3Operations, ServerSideEncryptionConfiguration } from '../../models/generated/s3.js';
import { malformedXml } from '../../protocol/xml-decode.js';
import { type OpHandler } from '../service.js';
import { ownedBucket } from './access.js';
import type { AccessStore } from './access-store.js';
import { S3Errors } from './errors.js';
import { S3_DEFAULT_ENCRYPTION, type BucketEncryption } from './sse.js';
import type { S3Store } from './store.js';

type Op<K extends keyof S3Operations> = OpHandler<S3Operations, K>;

const ALGORITHMS = ['AES256', 'aws:kms', 'aws:kms:dsse'];

/** The bucket's default encryption, S3's own when none was set. */
export function bucketEncryption(acc: AccessStore, bucket: string): BucketEncryption {
  return acc.get<BucketEncryption>(bucket, 'encryption') ?? S3_DEFAULT_ENCRYPTION;
}

function parseConfiguration(config: ServerSideEncryptionConfiguration | undefined): BucketEncryption {
  const rules = config?.Rules ?? [];
  if (rules.length !== 1) throw malformedXml();
  const rule = rules[0];
  const by = rule.ApplyServerSideEncryptionByDefault;
  if (!by) throw malformedXml();
  if (!ALGORITHMS.includes(by.SSEAlgorithm)) throw malformedXml();
  if (by.KMSMasterKeyID !== undefined && by.SSEAlgorithm === 'AES256') {
    throw S3Errors.invalidArgument('a KMSMasterKeyID is not applicable if the default sse algorithm is not aws:kms or aws:kms:dsse', 'ApplyServerSideEncryptionByDefault');
  }
  const out: BucketEncryption = { algorithm: by.SSEAlgorithm as BucketEncryption['algorithm'], bucketKey: rule.BucketKeyEnabled ?? false };
  if (by.KMSMasterKeyID !== undefined) out.kmsKeyId = by.KMSMasterKeyID;
  return out;
}

export function bucketEncryptionHandlers(store: S3Store, acc: AccessStore) {
  const PutBucketEncryption: Op<'PutBucketEncryption'> = (ctx, input) => {
    const bucket = ownedBucket(store, ctx, input.Bucket);
    acc.put(bucket.name, 'encryption', parseConfiguration(input.ServerSideEncryptionConfiguration));
    return {};
  };

  const GetBucketEncryption: Op<'GetBucketEncryption'> = (ctx, input) => {
    const e = bucketEncryption(acc, ownedBucket(store, ctx, input.Bucket).name);
    const byDefault = e.kmsKeyId !== undefined ? { SSEAlgorithm: e.algorithm, KMSMasterKeyID: e.kmsKeyId } : { SSEAlgorithm: e.algorithm };
    return { ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: byDefault, BucketKeyEnabled: e.bucketKey }] } };
  };

  const DeleteBucketEncryption: Op<'DeleteBucketEncryption'> = (ctx, input) => {
    acc.delete(ownedBucket(store, ctx, input.Bucket).name, 'encryption');
    return {};
  };

  return { PutBucketEncryption, GetBucketEncryption, DeleteBucketEncryption };
}
