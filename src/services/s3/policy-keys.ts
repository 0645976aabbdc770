/**
 * The condition keys of S3 bucket policies, as kumo supplies them for a request (the set kumo
 * accepts in a policy is policy.ts's CONDITION_KEYS): global aws:* keys about the caller and the
 * connection, and S3's own about the request (prefix, ACL and grant headers, encryption, copy
 * source, storage class, object lock, tags requested and existing).
 */
import type { RequestContext } from '../service.js';
import { parseTaggingHeader, type Tag } from './object-rules.js';
import type { EvalContext } from './policy.js';
import type { ObjectRow } from './store.js';

/**
 * The request facts a bucket policy may test (policy.ts CONDITION_KEYS), for one request:
 * `existing` is the object the request names, looked up only if asked (s3:ExistingObjectTag/*).
 */
export function conditionKeys(ctx: RequestContext, input: Record<string, unknown>, resourceAccount: string, existing: () => ObjectRow | undefined): EvalContext['keys'] {
  const h = ctx.headers ?? {};
  const one = (v: unknown) => (v === undefined || v === null ? undefined : [String(v)]);
  const now = ctx.now();
  const account = ctx.account;
  return withExistingTags({
    'aws:securetransport': ['false'],
    'aws:sourceip': one(ctx.sourceIp),
    'aws:principalaccount': account ? [account] : undefined,
    'aws:principalarn': account ? [`arn:aws:iam::${account}:root`] : undefined,
    'aws:principaltype': [account ? 'Account' : 'Anonymous'],
    'aws:userid': [account || 'anonymous'],
    'aws:currenttime': [now.toISOString()],
    'aws:epochtime': [String(Math.floor(now.getTime() / 1000))],
    'aws:referer': one(h.referer),
    'aws:useragent': one(h['user-agent']),
    's3:prefix': one(input.Prefix),
    's3:delimiter': one(input.Delimiter),
    's3:max-keys': one(input.MaxKeys),
    's3:x-amz-acl': one(input.ACL),
    's3:authtype': account ? [h.authorization ? 'REST-HEADER' : 'REST-QUERY-STRING'] : undefined,
    's3:signatureversion': account ? [ctx.signatureVersion ?? 'AWS4-HMAC-SHA256'] : undefined,
    's3:x-amz-content-sha256': one(h['x-amz-content-sha256']),
    's3:x-amz-server-side-encryption': one(input.ServerSideEncryption),
    's3:x-amz-server-side-encryption-aws-kms-key-id': one(input.SSEKMSKeyId),
    's3:x-amz-server-side-encryption-customer-algorithm': one(input.SSECustomerAlgorithm),
    's3:x-amz-grant-read': one(input.GrantRead),
    's3:x-amz-grant-write': one(input.GrantWrite),
    's3:x-amz-grant-read-acp': one(input.GrantReadACP),
    's3:x-amz-grant-write-acp': one(input.GrantWriteACP),
    's3:x-amz-grant-full-control': one(input.GrantFullControl),
    's3:x-amz-copy-source': one(input.CopySource),
    's3:x-amz-metadata-directive': one(input.MetadataDirective),
    's3:x-amz-storage-class': one(input.StorageClass),
    's3:x-amz-website-redirect-location': one(input.WebsiteRedirectLocation),
    's3:versionid': one(input.VersionId),
    's3:if-match': one(input.IfMatch),
    's3:if-none-match': one(input.IfNoneMatch),
    's3:resourceaccount': [resourceAccount],
    ...lockKeys(input, now),
    ...requestTagKeys(input),
  }, existing);
}

/** s3:object-lock-*: what a write or a retention call asks of the lock. */
function lockKeys(input: Record<string, unknown>, now: Date): EvalContext['keys'] {
  const retention = input.Retention as { Mode?: string; RetainUntilDate?: Date | string } | undefined;
  const mode = (input.ObjectLockMode as string | undefined) ?? retention?.Mode;
  const untilRaw = (input.ObjectLockRetainUntilDate as Date | string | undefined) ?? retention?.RetainUntilDate;
  const until = untilRaw !== undefined ? new Date(untilRaw) : undefined;
  const hold = (input.ObjectLockLegalHoldStatus as string | undefined) ?? (input.LegalHold as { Status?: string } | undefined)?.Status;
  const valid = until !== undefined && !Number.isNaN(until.getTime());
  return {
    's3:object-lock-mode': mode !== undefined ? [mode] : undefined,
    's3:object-lock-retain-until-date': valid ? [until.toISOString()] : undefined,
    's3:object-lock-remaining-retention-days': valid ? [String(Math.max(0, Math.ceil((until.getTime() - now.getTime()) / 86_400_000)))] : undefined,
    's3:object-lock-legal-hold': hold !== undefined ? [hold] : undefined,
  };
}

/** s3:RequestObjectTagKeys and s3:RequestObjectTag/<key>: the tags a write or PutObjectTagging sets. */
function requestTagKeys(input: Record<string, unknown>): EvalContext['keys'] {
  const out: EvalContext['keys'] = {};
  let requested: Tag[] | undefined;
  try {
    requested = typeof input.Tagging === 'string' ? parseTaggingHeader(input.Tagging) : (input.Tagging as { TagSet?: Tag[] } | undefined)?.TagSet;
  } catch {
    // A malformed header is the handler's to refuse; a policy sees no tags in it.
  }
  if (requested) {
    out['s3:requestobjecttagkeys'] = requested.map((t) => t.Key);
    for (const t of requested) out[`s3:requestobjecttag/${t.Key.toLowerCase()}`] = [t.Value];
  }
  return out;
}

/**
 * s3:ExistingObjectTag/<key>: the named object's tags, read only when a policy asks. Keys are
 * lower-cased like every condition key, so tag keys match without regard to case.
 */
function withExistingTags(keys: EvalContext['keys'], existing: () => ObjectRow | undefined): EvalContext['keys'] {
  const prefix = 's3:existingobjecttag/';
  return new Proxy(keys, {
    get(target, prop) {
      if (typeof prop === 'string' && prop.startsWith(prefix) && !(prop in target)) {
        const tag = (existing()?.attrs.Tags ?? []).find((t) => t.Key.toLowerCase() === prop.slice(prefix.length));
        return tag ? [tag.Value] : undefined;
      }
      return target[prop as string];
    },
  });
}
