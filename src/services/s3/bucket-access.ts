/**
 * The access sub-resources of a bucket and its objects: policy (and its public status), ACLs,
 * Block Public Access and Object Ownership. Who may call these is decided by ./authorize.ts; the
 * handlers validate, apply S3's cross-checks between the settings, and store them.
 */
import type { S3Operations } from '../../models/generated/s3.js';
import { AwsError } from '../../protocol/errors.js';
import { malformedXml } from '../../protocol/xml-decode.js';
import { type OpHandler, type RequestContext } from '../service.js';
import { ownedBucket } from './access.js';
import { aclGrantsOthers, aclToWire, requestedAcl, S3AclErrors, type AclInput } from './acl.js';
import { OWNERSHIPS, type Authorizer, type Ownership, type PublicAccessBlock, type StoredPolicy } from './authorize.js';
import type { FindObject } from './commit.js';
import { S3Errors } from './errors.js';
import { namedVersion } from './object-rules.js';
import { parsePolicy, policyIsPublic } from './policy.js';

type Op<K extends keyof S3Operations> = OpHandler<S3Operations, K>;

const notFound = (code: string, message: string, bucket: string) => new AwsError(code, message, 404, { fields: { BucketName: bucket } });

export function bucketAccessHandlers(auth: Authorizer, find: FindObject) {
  const { store, acc } = auth;

  const PutBucketPolicy: Op<'PutBucketPolicy'> = (ctx, input) => {
    const bucket = ownedBucket(store, ctx, input.Bucket);
    const statements = parsePolicy(input.Policy ?? '', bucket.name);
    if (auth.pab(bucket.name).BlockPublicPolicy && policyIsPublic(statements)) throw S3Errors.accessDenied();
    acc.put(bucket.name, 'policy', { text: input.Policy, statements } satisfies StoredPolicy);
    return {};
  };

  const policyOf = (bucket: string): StoredPolicy => {
    const p = acc.get<StoredPolicy>(bucket, 'policy');
    if (!p) throw notFound('NoSuchBucketPolicy', 'The bucket policy does not exist', bucket);
    return p;
  };

  const GetBucketPolicy: Op<'GetBucketPolicy'> = (ctx, input) => ({ Policy: policyOf(ownedBucket(store, ctx, input.Bucket).name).text });

  const DeleteBucketPolicy: Op<'DeleteBucketPolicy'> = (ctx, input) => {
    acc.delete(ownedBucket(store, ctx, input.Bucket).name, 'policy');
    return {};
  };

  const GetBucketPolicyStatus: Op<'GetBucketPolicyStatus'> = (ctx, input) => {
    const p = policyOf(ownedBucket(store, ctx, input.Bucket).name);
    return { PolicyStatus: { IsPublic: policyIsPublic(p.statements) } };
  };

  const PutBucketAcl: Op<'PutBucketAcl'> = (ctx, input) => {
    const bucket = ownedBucket(store, ctx, input.Bucket);
    const acl = requestedAcl(input as AclInput, bucket.account, bucket.account, 'bucket');
    if (!acl) throw new AwsError('MissingSecurityHeader', 'Your request was missing a required header', 400, { fields: { MissingHeaderName: 'x-amz-acl' } });
    // With ACLs off only "bucket owner full control" is taken, even `private` is refused.
    auth.checkRequestedAcl(bucket, acl, input as AclInput);
    if (aclGrantsOthers(acl, bucket.account)) acc.put(bucket.name, 'acl', acl);
    else acc.delete(bucket.name, 'acl');
    return {};
  };

  const GetBucketAcl: Op<'GetBucketAcl'> = (ctx, input) => {
    const bucket = ownedBucket(store, ctx, input.Bucket);
    return aclToWire(auth.bucketAcl(bucket));
  };

  // ACLs are kept per key (see provider.ts), but the version a call names must exist, as on S3.
  const existingObject = (ctx: RequestContext, bucket: string, key: string, versionId: string | undefined) =>
    namedVersion(store, ctx, find, bucket, key, versionId);

  const PutObjectAcl: Op<'PutObjectAcl'> = (ctx, input) => {
    const bucket = ownedBucket(store, ctx, input.Bucket);
    existingObject(ctx, bucket.name, input.Key, input.VersionId);
    if (auth.ownership(bucket.name) === 'BucketOwnerEnforced') {
      const acl = requestedAcl(input as AclInput, bucket.account, bucket.account, 'object');
      if (!acl || input.ACL !== 'bucket-owner-full-control') throw S3AclErrors.aclNotSupported();
      return {};
    }
    const owner = auth.objectAcl(bucket, input.Key).owner;
    const acl = requestedAcl(input as AclInput, owner, bucket.account, 'object');
    if (!acl) throw new AwsError('MissingSecurityHeader', 'Your request was missing a required header', 400, { fields: { MissingHeaderName: 'x-amz-acl' } });
    auth.checkRequestedAcl(bucket, acl, input as AclInput);
    if (owner === bucket.account && !aclGrantsOthers(acl, bucket.account)) acc.deleteObjectAcl(bucket.name, input.Key);
    else acc.putObjectAcl(bucket.name, input.Key, acl);
    return {};
  };

  const GetObjectAcl: Op<'GetObjectAcl'> = (ctx, input) => {
    const bucket = ownedBucket(store, ctx, input.Bucket);
    existingObject(ctx, bucket.name, input.Key, input.VersionId);
    return aclToWire(auth.objectAcl(bucket, input.Key));
  };

  const PutPublicAccessBlock: Op<'PutPublicAccessBlock'> = (ctx, input) => {
    const bucket = ownedBucket(store, ctx, input.Bucket);
    const c = input.PublicAccessBlockConfiguration ?? {};
    const config: PublicAccessBlock = {
      BlockPublicAcls: c.BlockPublicAcls ?? false,
      IgnorePublicAcls: c.IgnorePublicAcls ?? false,
      BlockPublicPolicy: c.BlockPublicPolicy ?? false,
      RestrictPublicBuckets: c.RestrictPublicBuckets ?? false,
    };
    acc.put(bucket.name, 'pab', config);
    return {};
  };

  const GetPublicAccessBlock: Op<'GetPublicAccessBlock'> = (ctx, input) => {
    const bucket = ownedBucket(store, ctx, input.Bucket);
    const config = acc.get<PublicAccessBlock>(bucket.name, 'pab');
    if (!config) throw notFound('NoSuchPublicAccessBlockConfiguration', 'The public access block configuration was not found', bucket.name);
    return { PublicAccessBlockConfiguration: config };
  };

  const DeletePublicAccessBlock: Op<'DeletePublicAccessBlock'> = (ctx, input) => {
    acc.delete(ownedBucket(store, ctx, input.Bucket).name, 'pab');
    return {};
  };

  const PutBucketOwnershipControls: Op<'PutBucketOwnershipControls'> = (ctx, input) => {
    const bucket = ownedBucket(store, ctx, input.Bucket);
    const rules = input.OwnershipControls?.Rules ?? [];
    if (rules.length !== 1 || !OWNERSHIPS.includes(rules[0].ObjectOwnership as Ownership)) throw malformedXml();
    const ownership = rules[0].ObjectOwnership as Ownership;
    // ACLs can only be turned off once the bucket ACL grants nobody but the owner.
    if (ownership === 'BucketOwnerEnforced' && aclGrantsOthers(auth.bucketAcl(bucket), bucket.account)) throw S3AclErrors.invalidBucketAclWithOwnership();
    acc.put(bucket.name, 'ownership', ownership);
    return {};
  };

  const GetBucketOwnershipControls: Op<'GetBucketOwnershipControls'> = (ctx, input) => {
    const bucket = ownedBucket(store, ctx, input.Bucket);
    const ownership = acc.get<Ownership>(bucket.name, 'ownership');
    if (!ownership) throw notFound('OwnershipControlsNotFoundError', 'The bucket ownership controls were not found', bucket.name);
    return { OwnershipControls: { Rules: [{ ObjectOwnership: ownership }] } };
  };

  const DeleteBucketOwnershipControls: Op<'DeleteBucketOwnershipControls'> = (ctx, input) => {
    acc.delete(ownedBucket(store, ctx, input.Bucket).name, 'ownership');
    return {};
  };

  return {
    PutBucketPolicy,
    GetBucketPolicy,
    DeleteBucketPolicy,
    GetBucketPolicyStatus,
    PutBucketAcl,
    GetBucketAcl,
    PutObjectAcl,
    GetObjectAcl,
    PutPublicAccessBlock,
    GetPublicAccessBlock,
    DeletePublicAccessBlock,
    PutBucketOwnershipControls,
    GetBucketOwnershipControls,
    DeleteBucketOwnershipControls,
  };
}
