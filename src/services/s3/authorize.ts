/**
 * Who may do what, in one place. Every S3 handler is wrapped by `guard`: before it runs, the
 * operation is mapped to its IAM action and resource (RULES) and decided for the caller (the
 * bucket's account, another account, or anonymous) from, in order:
 *
 *   1. the bucket policy: an explicit Deny wins over everything (the owner keeps its policy ops);
 *   2. Block Public Access: RestrictPublicBuckets confines a bucket with a public policy to its
 *      own account, IgnorePublicAcls drops AllUsers/AuthenticatedUsers grants;
 *   3. the owner's account is allowed; anyone else needs a policy Allow or an ACL grant, and ACLs
 *      count only while Object Ownership is not BucketOwnerEnforced.
 *
 * After a handler succeeds, `guard` keeps the side tables in step: a new bucket gets AWS's
 * defaults (Block Public Access on, ACLs off), an object written with an ACL keeps it, and deleted
 * buckets and objects lose theirs. Handlers keep calling ownedBucket (./access.ts), which lets
 * through the bucket this module granted, so an unwrapped handler still serves only the owner.
 */
import type { RequestContext, Handler } from '../service.js';
import { denyKeys, grantBucket } from './access.js';
import { aclAllows, aclGrantsOthers, aclIsPublic, privateAcl, requestedAcl, hasAclInput, S3AclErrors, type Acl, type AclInput, type Permission } from './acl.js';
import type { AccessStore } from './access-store.js';
import { S3Errors } from './errors.js';
import { evaluatePolicy, policyIsPublic, type Statement } from './policy.js';
import { conditionKeys } from './policy-keys.js';
import type { BucketRow, S3Store } from './store.js';
import { AwsError } from '../../protocol/errors.js';

export type Ownership = 'BucketOwnerEnforced' | 'BucketOwnerPreferred' | 'ObjectWriter';
export const OWNERSHIPS: Ownership[] = ['BucketOwnerEnforced', 'BucketOwnerPreferred', 'ObjectWriter'];

export interface PublicAccessBlock {
  BlockPublicAcls?: boolean;
  IgnorePublicAcls?: boolean;
  BlockPublicPolicy?: boolean;
  RestrictPublicBuckets?: boolean;
}

export interface StoredPolicy {
  text: string;
  statements: Statement[];
}

interface Rule {
  action: string;
  level: 'bucket' | 'object';
  /** The ACL permission that also grants it, and whose ACL (the bucket's or the object's). */
  acl?: Permission;
  aclOn?: 'bucket' | 'object';
}

const B = (action: string, acl?: Permission): Rule => ({ action, level: 'bucket', acl, aclOn: 'bucket' });
const O = (action: string, acl?: Permission, aclOn: 'bucket' | 'object' = 'object'): Rule => ({ action, level: 'object', acl, aclOn });

/** Operation → IAM action (S3's "actions, resources and condition keys" table). */
const RULES: Record<string, Rule> = {
  HeadBucket: B('s3:ListBucket', 'READ'),
  ListObjects: B('s3:ListBucket', 'READ'),
  ListObjectsV2: B('s3:ListBucket', 'READ'),
  ListObjectVersions: B('s3:ListBucketVersions', 'READ'),
  ListMultipartUploads: B('s3:ListBucketMultipartUploads', 'READ'),
  GetBucketAcl: B('s3:GetBucketAcl', 'READ_ACP'),
  PutBucketAcl: B('s3:PutBucketAcl', 'WRITE_ACP'),
  DeleteBucketPolicy: B('s3:DeleteBucketPolicy'),
  DeletePublicAccessBlock: B('s3:PutBucketPublicAccessBlock'),
  PutPublicAccessBlock: B('s3:PutBucketPublicAccessBlock'),
  GetPublicAccessBlock: B('s3:GetBucketPublicAccessBlock'),
  DeleteBucketOwnershipControls: B('s3:PutBucketOwnershipControls'),
  DeleteBucketCors: B('s3:PutBucketCORS'),
  PutBucketCors: B('s3:PutBucketCORS'),
  GetBucketCors: B('s3:GetBucketCORS'),
  PutBucketLifecycleConfiguration: B('s3:PutLifecycleConfiguration'),
  GetBucketLifecycleConfiguration: B('s3:GetLifecycleConfiguration'),
  DeleteBucketLifecycle: B('s3:PutLifecycleConfiguration'),
  DeleteBucketTagging: B('s3:PutBucketTagging'),
  PutObjectLockConfiguration: B('s3:PutBucketObjectLockConfiguration'),
  GetObjectLockConfiguration: B('s3:GetBucketObjectLockConfiguration'),
  PutObject: O('s3:PutObject', 'WRITE', 'bucket'),
  CopyObject: O('s3:PutObject', 'WRITE', 'bucket'),
  CreateMultipartUpload: O('s3:PutObject', 'WRITE', 'bucket'),
  UploadPart: O('s3:PutObject', 'WRITE', 'bucket'),
  UploadPartCopy: O('s3:PutObject', 'WRITE', 'bucket'),
  CompleteMultipartUpload: O('s3:PutObject', 'WRITE', 'bucket'),
  AbortMultipartUpload: O('s3:AbortMultipartUpload', 'WRITE', 'bucket'),
  ListParts: O('s3:ListMultipartUploadParts', 'READ', 'bucket'),
  GetObject: O('s3:GetObject', 'READ'),
  HeadObject: O('s3:GetObject', 'READ'),
  GetObjectAttributes: O('s3:GetObject', 'READ'),
  DeleteObject: O('s3:DeleteObject', 'WRITE', 'bucket'),
  GetObjectAcl: O('s3:GetObjectAcl', 'READ_ACP'),
  PutObjectAcl: O('s3:PutObjectAcl', 'WRITE_ACP'),
  GetObjectTagging: O('s3:GetObjectTagging', 'READ'),
  PutObjectTagging: O('s3:PutObjectTagging'),
  DeleteObjectTagging: O('s3:DeleteObjectTagging'),
};

/** Most bucket sub-resources are s3:<Operation> on the bucket ARN, readable by nobody else by ACL. */
function ruleFor(op: string, input: Record<string, unknown>): Rule {
  const rule = RULES[op] ?? (input.Key !== undefined ? O(`s3:${op}`) : B(`s3:${op}`));
  // Acting on a named version is its own permission (s3:GetObjectVersion, s3:DeleteObjectVersion, …).
  if (input.VersionId !== undefined && rule.level === 'object' && /Object(Acl|Tagging)?$/.test(rule.action)) {
    return { ...rule, action: rule.action.replace('Object', 'ObjectVersion') };
  }
  return rule;
}

/** Weakening a GOVERNANCE lock (x-amz-bypass-governance-retention) is a permission of its own. */
const BYPASS = O('s3:BypassGovernanceRetention');

const POLICY_OPS = new Set(['GetBucketPolicy', 'PutBucketPolicy', 'DeleteBucketPolicy']);
/** Objects written by these take the writer's ACL. */
const OBJECT_WRITES = new Set(['PutObject', 'CopyObject', 'CompleteMultipartUpload']);

export class Authorizer {
  constructor(
    readonly store: S3Store,
    readonly acc: AccessStore,
  ) {}

  ownership(bucket: string): Ownership {
    // No ownership controls at all (deleted) behaves as ObjectWriter, ACLs on.
    return this.acc.get<Ownership>(bucket, 'ownership') ?? 'ObjectWriter';
  }

  pab(bucket: string): PublicAccessBlock {
    return this.acc.get<PublicAccessBlock>(bucket, 'pab') ?? {};
  }

  bucketAcl(bucket: BucketRow): Acl {
    return this.acc.get<Acl>(bucket.name, 'acl') ?? privateAcl(bucket.account);
  }

  objectAcl(bucket: BucketRow, key: string): Acl {
    if (this.ownership(bucket.name) === 'BucketOwnerEnforced') return privateAcl(bucket.account);
    return this.acc.objectAcl<Acl>(bucket.name, key) ?? privateAcl(bucket.account);
  }

  /** Whether the caller may perform `rule` on the bucket (and key). */
  allowed(ctx: RequestContext, bucket: BucketRow, rule: Rule, op: string, input: Record<string, unknown>): boolean {
    const key = input.Key as string | undefined;
    const account = ctx.account;
    const isOwner = account === bucket.account;
    const policy = this.acc.get<StoredPolicy>(bucket.name, 'policy');
    const resource = `arn:aws:s3:::${bucket.name}${rule.level === 'object' && key !== undefined ? `/${key}` : ''}`;
    const verdict = policy ? evaluatePolicy(policy.statements, { account, action: rule.action, resource, keys: conditionKeys(ctx, input, bucket.account, () => (rule.level === 'object' && key !== undefined ? this.store.object(bucket.name, key) : undefined)) }) : undefined;
    // The owner's root user can always manage the policy, even one that denies it (AWS's lock-out escape).
    if (verdict?.result === 'deny' && !(isOwner && POLICY_OPS.has(op))) return false;
    const pab = this.pab(bucket.name);
    const restricted = pab.RestrictPublicBuckets === true && policy !== undefined && policyIsPublic(policy.statements);
    if (!isOwner && restricted) return false;
    const acl = this.aclFor(bucket, rule, key);
    const aclAllow = acl !== undefined && aclAllows(acl, account, rule.acl!, pab.IgnorePublicAcls === true);
    if (isOwner) {
      // With ACLs on, an object another account wrote is theirs: the bucket owner reads it only if granted.
      if (rule.aclOn === 'object' && acl && acl.owner !== bucket.account && rule.acl !== undefined) return aclAllow || verdict?.result === 'allow';
      return true;
    }
    return verdict?.result === 'allow' || aclAllow;
  }

  private aclFor(bucket: BucketRow, rule: Rule, key: string | undefined): Acl | undefined {
    if (rule.acl === undefined || this.ownership(bucket.name) === 'BucketOwnerEnforced') return undefined;
    if (rule.aclOn === 'object' && key !== undefined) {
      if (!this.store.object(bucket.name, key)) return undefined;
      return this.objectAcl(bucket, key);
    }
    return this.bucketAcl(bucket);
  }

  /** Refuses an ACL a write asks for when the bucket would not take it (ACLs off, public blocked). */
  checkRequestedAcl(bucket: BucketRow, acl: Acl | undefined, input: AclInput): void {
    if (!acl) return;
    if (this.ownership(bucket.name) === 'BucketOwnerEnforced') {
      // Only "bucket owner full control" passes, as the canned ACL or its equivalent grants.
      const ok = input.ACL === 'bucket-owner-full-control' || (input.ACL === undefined && !aclGrantsOthers(acl, bucket.account) && acl.owner === bucket.account);
      if (!ok) throw S3AclErrors.aclNotSupported();
    }
    if (this.pab(bucket.name).BlockPublicAcls && aclIsPublic(acl)) throw S3Errors.accessDenied();
  }
}

export const DEFAULT_PAB: PublicAccessBlock = { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true };

/** Wraps every handler of the table with the access decision and its bookkeeping. */
export function guard<T extends Record<string, Handler>>(auth: Authorizer, handlers: T): T {
  const out: Record<string, Handler> = {};
  for (const [op, handler] of Object.entries(handlers)) {
    out[op] = async (ctx, input: Record<string, unknown>) => {
      if (op === 'CreateBucket') return createBucket(auth, ctx, input, handler);
      const name = input.Bucket as string | undefined;
      const bucket = name !== undefined ? auth.store.bucket(name) : undefined;
      // No bucket: the handler answers (NoSuchBucket is public knowledge on AWS).
      if (!bucket) return handler(ctx, input);
      before(auth, ctx, bucket, op, input);
      grantBucket(ctx, bucket.name);
      const result = await handler(ctx, input);
      after(auth, ctx, bucket, op, input);
      return result;
    };
  }
  return out as T;
}

function before(auth: Authorizer, ctx: RequestContext, bucket: BucketRow, op: string, input: Record<string, unknown>): void {
  if (input.ExpectedBucketOwner !== undefined && input.ExpectedBucketOwner !== bucket.account) throw S3Errors.accessDenied();
  const isOwner = ctx.account === bucket.account;
  if (op === 'DeleteObjects') {
    // Each key is decided on its own; the refused ones are AccessDenied entries of the result.
    const keys = ((input.Delete as { Objects?: { Key: string }[] } | undefined)?.Objects ?? []).map((o) => o.Key);
    const denied = new Set<string>();
    for (const Key of keys) {
      if (!auth.allowed(ctx, bucket, O('s3:DeleteObject', 'WRITE', 'bucket'), op, { ...input, Key })) denied.add(Key);
      else if (input.BypassGovernanceRetention === true && !auth.allowed(ctx, bucket, BYPASS, op, { ...input, Key })) denied.add(Key);
    }
    denyKeys(ctx, denied);
    return;
  }
  const rule = ruleFor(op, input);
  if (!auth.allowed(ctx, bucket, rule, op, input)) throw S3Errors.accessDenied();
  if (input.BypassGovernanceRetention === true && !auth.allowed(ctx, bucket, BYPASS, op, input)) throw S3Errors.accessDenied();
  // Another account may be allowed the policy operations, and still only the owner may use them.
  if (POLICY_OPS.has(op) && !isOwner) {
    throw new AwsError('MethodNotAllowed', 'The specified method is not allowed against this resource.', 405, {
      fields: { Method: ctx.method ?? 'GET', ResourceType: 'BUCKET' },
    });
  }
  if (OBJECT_WRITES.has(op) && hasAclInput(input as AclInput)) {
    if (!auth.allowed(ctx, bucket, O('s3:PutObjectAcl', 'WRITE', 'bucket'), op, input)) throw S3Errors.accessDenied();
    auth.checkRequestedAcl(bucket, requestedAcl(input as AclInput, writerOf(auth, ctx, bucket, input), bucket.account, 'object'), input as AclInput);
  }
  // Without s3:ListBucket, a missing key must not be told apart from a forbidden one.
  if ((op === 'GetObject' || op === 'HeadObject') && !isOwner && !auth.store.object(bucket.name, input.Key as string)) {
    if (!auth.allowed(ctx, bucket, B('s3:ListBucket', 'READ'), 'ListObjectsV2', {})) throw S3Errors.accessDenied();
  }
}

/** Who owns an object a caller writes: the bucket owner unless ACLs are on and the writer keeps it. */
function writerOf(auth: Authorizer, ctx: RequestContext, bucket: BucketRow, input: Record<string, unknown>): string {
  const ownership = auth.ownership(bucket.name);
  if (!ctx.account || ownership === 'BucketOwnerEnforced') return bucket.account;
  if (ownership === 'BucketOwnerPreferred' && input.ACL === 'bucket-owner-full-control') return bucket.account;
  return ctx.account;
}

function after(auth: Authorizer, ctx: RequestContext, bucket: BucketRow, op: string, input: Record<string, unknown>): void {
  const key = input.Key as string | undefined;
  if (OBJECT_WRITES.has(op) && key !== undefined) {
    const owner = writerOf(auth, ctx, bucket, input);
    const acl = requestedAcl(input as AclInput, owner, bucket.account, 'object') ?? privateAcl(owner);
    // The default (the bucket owner's, private) is no row; most buckets never have any.
    if (owner === bucket.account && !aclGrantsOthers(acl, bucket.account)) {
      if (auth.acc.hasObjectAcls(bucket.name)) auth.acc.deleteObjectAcl(bucket.name, key);
    } else auth.acc.putObjectAcl(bucket.name, key, acl);
  } else if (op === 'DeleteObject' && key !== undefined && input.VersionId === undefined) {
    if (auth.acc.hasObjectAcls(bucket.name) && !auth.store.object(bucket.name, key)) auth.acc.deleteObjectAcl(bucket.name, key);
  } else if (op === 'DeleteObjects') {
    // Every key asked for (a Quiet answer lists none of the deleted ones) whose object is gone.
    if (!auth.acc.hasObjectAcls(bucket.name)) return;
    auth.store.transaction(() => {
      for (const o of (input.Delete as { Objects?: { Key: string }[] } | undefined)?.Objects ?? []) {
        if (!auth.store.object(bucket.name, o.Key)) auth.acc.deleteObjectAcl(bucket.name, o.Key);
      }
    });
  } else if (op === 'DeleteBucket') {
    auth.acc.dropBucket(bucket.name);
  }
}

async function createBucket(auth: Authorizer, ctx: RequestContext, input: Record<string, unknown>, handler: Handler): Promise<unknown> {
  const ownership = (input.ObjectOwnership as Ownership | undefined) ?? 'BucketOwnerEnforced';
  if (!OWNERSHIPS.includes(ownership)) throw S3Errors.invalidArgument('Invalid x-amz-object-ownership header', 'x-amz-object-ownership', ownership);
  const acl = ctx.account ? requestedAcl(input as AclInput, ctx.account, ctx.account, 'bucket') : undefined;
  if (acl && ownership === 'BucketOwnerEnforced' && aclGrantsOthers(acl, ctx.account)) throw S3AclErrors.invalidBucketAclWithOwnership();
  // A new bucket starts with Block Public Access on, so a public ACL cannot come with it.
  if (acl && aclIsPublic(acl)) {
    throw new AwsError('InvalidBucketAclWithBlockPublicAccessError', 'Bucket cannot have public ACLs set with BlockPublicAccess enabled', 400);
  }
  const existed = auth.store.bucket(input.Bucket as string) !== undefined;
  // Whatever a deleted bucket of this name left goes before the handler records the new one's
  // own configuration (Object Lock).
  if (!existed) auth.acc.dropBucket(input.Bucket as string);
  const result = await handler(ctx, input);
  if (!existed) {
    const name = input.Bucket as string;
    auth.acc.put(name, 'pab', DEFAULT_PAB);
    auth.acc.put(name, 'ownership', ownership);
    if (acl && aclGrantsOthers(acl, ctx.account)) auth.acc.put(name, 'acl', acl);
  }
  return result;
}
