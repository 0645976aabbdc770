/**
 * Access control lists: canned ACLs, x-amz-grant-* headers and AccessControlPolicy documents all
 * become one Acl value (owner account + grants), stored per bucket and per object in
 * ./access-store.ts. Grantees are canonical users (kumo derives an account's canonical id, see
 * ./access.ts) or S3's groups; grants by e-mail address cannot be resolved here, as in most AWS
 * regions today. Whether a grant is "public" follows S3: AllUsers or AuthenticatedUsers.
 */
import type { AccessControlPolicy, Grants } from '../../models/generated/s3.js';
import { AwsError } from '../../protocol/errors.js';
import { canonicalId, ownerOf } from './access.js';
import { S3Errors } from './errors.js';

export type Permission = 'FULL_CONTROL' | 'READ' | 'WRITE' | 'READ_ACP' | 'WRITE_ACP';
const PERMISSIONS: Permission[] = ['FULL_CONTROL', 'READ', 'WRITE', 'READ_ACP', 'WRITE_ACP'];

export interface AclGrant {
  /** A canonical user id, or a group URI. */
  id?: string;
  uri?: string;
  permission: Permission;
}

export interface Acl {
  /** The owning account (its canonical id is derived). */
  owner: string;
  grants: AclGrant[];
}

export const GROUPS = {
  AllUsers: 'http://acs.amazonaws.com/groups/global/AllUsers',
  AuthenticatedUsers: 'http://acs.amazonaws.com/groups/global/AuthenticatedUsers',
  LogDelivery: 'http://acs.amazonaws.com/groups/s3/LogDelivery',
};
const KNOWN_GROUPS = new Set(Object.values(GROUPS));

export const CANNED_ACLS = [
  'private',
  'public-read',
  'public-read-write',
  'authenticated-read',
  'aws-exec-read',
  'bucket-owner-read',
  'bucket-owner-full-control',
  'log-delivery-write',
];

const aclNotSupported = () => new AwsError('AccessControlListNotSupported', 'The bucket does not allow ACLs', 400);
export const S3AclErrors = {
  aclNotSupported,
  malformedAcl: () =>
    new AwsError('MalformedACLError', 'The XML you provided was not well-formed or did not validate against our published schema', 400),
  invalidBucketAclWithOwnership: () =>
    new AwsError('InvalidBucketAclWithObjectOwnership', "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting", 400),
  unresolvableEmail: () =>
    new AwsError('UnresolvableGrantByEmailAddress', 'The e-mail address you provided does not match any account on record.', 400),
};

export function privateAcl(owner: string): Acl {
  return { owner, grants: [{ id: canonicalId(owner), permission: 'FULL_CONTROL' }] };
}

/** The grants a canned ACL stands for; `bucketOwner` matters only for objects. */
export function cannedAcl(name: string, owner: string, bucketOwner: string): Acl {
  const acl = privateAcl(owner);
  const add = (g: AclGrant) => acl.grants.push(g);
  switch (name) {
    case 'private':
      break;
    case 'public-read':
      add({ uri: GROUPS.AllUsers, permission: 'READ' });
      break;
    case 'public-read-write':
      add({ uri: GROUPS.AllUsers, permission: 'READ' });
      add({ uri: GROUPS.AllUsers, permission: 'WRITE' });
      break;
    case 'authenticated-read':
      add({ uri: GROUPS.AuthenticatedUsers, permission: 'READ' });
      break;
    case 'bucket-owner-read':
      if (bucketOwner !== owner) add({ id: canonicalId(bucketOwner), permission: 'READ' });
      break;
    case 'bucket-owner-full-control':
      if (bucketOwner !== owner) add({ id: canonicalId(bucketOwner), permission: 'FULL_CONTROL' });
      break;
    case 'log-delivery-write':
      add({ uri: GROUPS.LogDelivery, permission: 'WRITE' });
      add({ uri: GROUPS.LogDelivery, permission: 'READ_ACP' });
      break;
    case 'aws-exec-read':
      throw S3Errors.notImplementedHeader('x-amz-acl');
    default:
      throw S3Errors.invalidArgument('', 'x-amz-acl', name);
  }
  return acl;
}

const GRANT_HEADERS: [string, Permission, string][] = [
  ['GrantFullControl', 'FULL_CONTROL', 'x-amz-grant-full-control'],
  ['GrantRead', 'READ', 'x-amz-grant-read'],
  ['GrantWrite', 'WRITE', 'x-amz-grant-write'],
  ['GrantReadACP', 'READ_ACP', 'x-amz-grant-read-acp'],
  ['GrantWriteACP', 'WRITE_ACP', 'x-amz-grant-write-acp'],
];

/** `id="…", uri="…"` lists of the x-amz-grant-* headers. */
function parseGrantHeader(value: string, permission: Permission, header: string): AclGrant[] {
  const out: AclGrant[] = [];
  for (const part of value.split(',')) {
    const m = /^\s*(id|uri|emailAddress)\s*=\s*"?([^"]*)"?\s*$/i.exec(part);
    if (!m) throw S3Errors.invalidArgument('Invalid argument.', header, value);
    const kind = m[1].toLowerCase();
    if (kind === 'emailaddress') throw S3AclErrors.unresolvableEmail();
    if (kind === 'id') {
      if (!/^[0-9a-f]{64}$/.test(m[2])) throw S3Errors.invalidArgument('Invalid id', 'CanonicalUser/ID', m[2]);
      out.push({ id: m[2], permission });
    } else {
      if (!KNOWN_GROUPS.has(m[2])) throw S3Errors.invalidArgument('Invalid group uri', 'Group/URI', m[2]);
      out.push({ uri: m[2], permission });
    }
  }
  return out;
}

export interface AclInput {
  ACL?: string;
  GrantFullControl?: string;
  GrantRead?: string;
  GrantWrite?: string;
  GrantReadACP?: string;
  GrantWriteACP?: string;
  AccessControlPolicy?: AccessControlPolicy;
}

export function hasAclInput(input: AclInput): boolean {
  return input.ACL !== undefined || input.AccessControlPolicy !== undefined || GRANT_HEADERS.some(([k]) => input[k as keyof AclInput] !== undefined);
}

/** The ACL a request asks for (canned, grant headers or a document), or undefined if none. */
export function requestedAcl(input: AclInput, owner: string, bucketOwner: string, level: 'bucket' | 'object'): Acl | undefined {
  const headerGrants = GRANT_HEADERS.filter(([k]) => input[k as keyof AclInput] !== undefined);
  const ways = [input.ACL !== undefined, headerGrants.length > 0, input.AccessControlPolicy !== undefined].filter(Boolean).length;
  if (ways === 0) return undefined;
  if (ways > 1) {
    if (input.AccessControlPolicy) throw new AwsError('UnexpectedContent', 'This request does not support content', 400);
    throw new AwsError('InvalidRequest', 'Specifying both Canned ACLs and Header Grants is not allowed', 400);
  }
  if (input.ACL !== undefined) {
    if (level === 'bucket' && (input.ACL === 'bucket-owner-read' || input.ACL === 'bucket-owner-full-control')) return privateAcl(owner);
    return cannedAcl(input.ACL, owner, bucketOwner);
  }
  if (headerGrants.length) {
    return { owner, grants: headerGrants.flatMap(([k, perm, header]) => parseGrantHeader(input[k as keyof AclInput] as string, perm, header)) };
  }
  return fromDocument(input.AccessControlPolicy!, owner);
}

function fromDocument(doc: AccessControlPolicy, owner: string): Acl {
  if (!doc.Owner?.ID) throw S3AclErrors.malformedAcl();
  if (doc.Owner.ID !== canonicalId(owner)) throw S3Errors.accessDenied();
  const grants: AclGrant[] = [];
  for (const g of doc.Grants ?? []) {
    const p = g.Permission as Permission;
    if (!g.Grantee || !PERMISSIONS.includes(p)) throw S3AclErrors.malformedAcl();
    switch (g.Grantee.Type) {
      case 'CanonicalUser':
        if (!g.Grantee.ID || !/^[0-9a-f]{64}$/.test(g.Grantee.ID)) throw S3Errors.invalidArgument('Invalid id', 'CanonicalUser/ID', g.Grantee.ID ?? '');
        grants.push({ id: g.Grantee.ID, permission: p });
        break;
      case 'Group':
        if (!g.Grantee.URI || !KNOWN_GROUPS.has(g.Grantee.URI)) throw S3Errors.invalidArgument('Invalid group uri', 'Group/URI', g.Grantee.URI ?? '');
        grants.push({ uri: g.Grantee.URI, permission: p });
        break;
      case 'AmazonCustomerByEmail':
        throw S3AclErrors.unresolvableEmail();
      default:
        throw S3AclErrors.malformedAcl();
    }
  }
  return { owner, grants };
}

export function aclIsPublic(acl: Acl): boolean {
  return acl.grants.some((g) => g.uri === GROUPS.AllUsers || g.uri === GROUPS.AuthenticatedUsers);
}

/** Whether the ACL grants anything to someone other than its owner (for BucketOwnerEnforced). */
export function aclGrantsOthers(acl: Acl, bucketOwner: string): boolean {
  return acl.grants.some((g) => g.id !== canonicalId(bucketOwner));
}

/** Whether `acl` gives `account` ('' = anonymous) the permission; public grants may be ignored. */
export function aclAllows(acl: Acl, account: string, permission: Permission, ignorePublic: boolean): boolean {
  const me = account ? canonicalId(account) : undefined;
  return acl.grants.some((g) => {
    if (g.permission !== permission && g.permission !== 'FULL_CONTROL') return false;
    if (g.id !== undefined) return g.id === me;
    if (ignorePublic && (g.uri === GROUPS.AllUsers || g.uri === GROUPS.AuthenticatedUsers)) return false;
    return g.uri === GROUPS.AllUsers || (g.uri === GROUPS.AuthenticatedUsers && account !== '');
  });
}

/** The ACL as GetBucketAcl/GetObjectAcl answer it. */
export function aclToWire(acl: Acl): { Owner: { ID: string; DisplayName: string }; Grants: Grants } {
  const owner = ownerOf(acl.owner);
  return {
    Owner: owner,
    Grants: acl.grants.map((g) => ({
      Grantee: g.id !== undefined ? { Type: 'CanonicalUser', ID: g.id, ...(g.id === owner.ID ? { DisplayName: owner.DisplayName } : {}) } : { Type: 'Group', URI: g.uri },
      Permission: g.permission,
    })),
  };
}
