/**
 * Bucket configuration: lifecycle rules (carried out by ./lifecycle.ts), website configuration
 * (served by ./website.ts), bucket tags and transfer acceleration (a setting only). Each is validated as S3 validates it, so a
 * configuration AWS would refuse is refused here too.
 */
import type { RoutingRules, Rules, S3Operations, TagSet } from '../../models/generated/s3.js';
import { AwsError } from '../../protocol/errors.js';
import { malformedXml } from '../../protocol/xml-decode.js';
import { type OpHandler } from '../service.js';
import { ownedBucket } from './access.js';
import type { AccessStore } from './access-store.js';
import { S3Errors } from './errors.js';
import { withIds } from './lifecycle-rules.js';
import { sortedTags } from './object-rules.js';
import type { S3Store } from './store.js';

type Op<K extends keyof S3Operations> = OpHandler<S3Operations, K>;

const invalidRequest = (message: string) => new AwsError('InvalidRequest', message, 400);
const invalidArg = (message: string) => S3Errors.invalidArgument(message);
const notFound = (code: string, message: string, bucket: string) => new AwsError(code, message, 404, { fields: { BucketName: bucket } });
const count = (...xs: unknown[]) => xs.filter((x) => x !== undefined).length;

const TRANSITION_CLASSES = ['GLACIER', 'STANDARD_IA', 'ONEZONE_IA', 'INTELLIGENT_TIERING', 'DEEP_ARCHIVE', 'GLACIER_IR'];
const MIN_OBJECT_SIZES = ['varies_by_storage_class', 'all_storage_classes_128K'];

function midnight(d: Date | string): boolean {
  const t = new Date(d);
  return !Number.isNaN(t.getTime()) && t.getTime() % 86_400_000 === 0;
}

export function validateLifecycle(rules: Rules): void {
  if (rules.length === 0) throw malformedXml();
  if (rules.length > 1000) throw invalidArg('Lifecycle configuration cannot have more than 1000 rules');
  const ids = new Set<string>();
  for (const r of rules) {
    if (r.ID !== undefined) {
      if (r.ID.length > 255) throw invalidArg('ID length should not exceed allowed limit of 255');
      if (ids.has(r.ID)) throw invalidArg('RuleId must be unique. Found same ID for more than one rule');
      ids.add(r.ID);
    }
    if (r.Status !== 'Enabled' && r.Status !== 'Disabled') throw malformedXml();
    if (count(r.Prefix, r.Filter) !== 1) throw malformedXml();
    const f = r.Filter;
    if (f && count(f.Prefix, f.Tag, f.And, f.ObjectSizeGreaterThan, f.ObjectSizeLessThan) > 1) throw malformedXml();
    const tagged = f?.Tag !== undefined || (f?.And?.Tags?.length ?? 0) > 0;
    if (count(r.Expiration, r.Transitions?.length ? 1 : undefined, r.NoncurrentVersionTransitions?.length ? 1 : undefined, r.NoncurrentVersionExpiration, r.AbortIncompleteMultipartUpload) === 0) {
      throw invalidRequest('At least one action needs to be specified in a rule');
    }
    const e = r.Expiration;
    if (e) {
      if (count(e.Date, e.Days, e.ExpiredObjectDeleteMarker) !== 1) throw malformedXml();
      if (e.Days !== undefined && e.Days <= 0) throw invalidArg("'Days' for Expiration action must be a positive integer");
      if (e.Date !== undefined && !midnight(e.Date)) throw invalidArg("'Date' must be at midnight GMT");
      if (e.ExpiredObjectDeleteMarker !== undefined && tagged) throw invalidRequest('ExpiredObjectDeleteMarker cannot be specified with object tagging.');
    }
    for (const t of r.Transitions ?? []) {
      if (count(t.Date, t.Days) !== 1) throw malformedXml();
      if (!t.StorageClass || !TRANSITION_CLASSES.includes(t.StorageClass)) throw malformedXml();
      if (t.Days !== undefined && t.Days < 0) throw invalidArg("'Days' in Transition action must be nonnegative");
      if (t.Days !== undefined && t.Days < 30 && (t.StorageClass === 'STANDARD_IA' || t.StorageClass === 'ONEZONE_IA')) {
        throw invalidArg(`'Days' in Transition action must be greater than or equal to 30 for storageClass '${t.StorageClass}'`);
      }
      if (t.Date !== undefined && !midnight(t.Date)) throw invalidArg("'Date' must be at midnight GMT");
    }
    for (const t of r.NoncurrentVersionTransitions ?? []) {
      if (!t.StorageClass || !TRANSITION_CLASSES.includes(t.StorageClass)) throw malformedXml();
      if (t.NoncurrentDays === undefined || t.NoncurrentDays < 0) throw invalidArg("'NoncurrentDays' in NoncurrentVersionTransition action must be nonnegative");
    }
    const nve = r.NoncurrentVersionExpiration;
    if (nve && (nve.NoncurrentDays === undefined || nve.NoncurrentDays <= 0)) throw invalidArg("'NoncurrentDays' for NoncurrentVersionExpiration action must be a positive integer");
    const abort = r.AbortIncompleteMultipartUpload;
    if (abort) {
      if (abort.DaysAfterInitiation === undefined || abort.DaysAfterInitiation <= 0) throw invalidArg("'DaysAfterInitiation' for AbortIncompleteMultipartUpload action must be a positive integer");
      if (tagged) throw invalidRequest('AbortIncompleteMultipartUpload cannot be specified with Tags.');
    }
  }
}

interface Website {
  RedirectAllRequestsTo?: { HostName: string; Protocol?: string };
  IndexDocument?: { Suffix: string };
  ErrorDocument?: { Key: string };
  RoutingRules?: RoutingRules;
}

export function validateWebsite(w: Website): void {
  const protocolOk = (p: string | undefined) => p === undefined || p === 'http' || p === 'https';
  if (w.RedirectAllRequestsTo) {
    if (w.IndexDocument || w.ErrorDocument || w.RoutingRules) throw invalidRequest('RedirectAllRequestsTo cannot be provided in conjunction with other Routing Rules.');
    if (!w.RedirectAllRequestsTo.HostName) throw malformedXml();
    if (!protocolOk(w.RedirectAllRequestsTo.Protocol)) throw invalidRequest('Invalid protocol, protocol can be http or https. If not defined the protocol will be selected automatically.');
    return;
  }
  if (!w.IndexDocument) throw invalidArg('A value for IndexDocument Suffix must be provided if RedirectAllRequestsTo is empty');
  const suffix = w.IndexDocument.Suffix ?? '';
  if (suffix === '' || suffix.includes('/')) throw invalidArg('The IndexDocument Suffix is not well formed');
  if (w.ErrorDocument && !w.ErrorDocument.Key) throw invalidArg('The ErrorDocument Key is not well formed');
  for (const rule of w.RoutingRules ?? []) {
    const r = rule.Redirect;
    if (!r || count(r.HostName, r.HttpRedirectCode, r.Protocol, r.ReplaceKeyPrefixWith, r.ReplaceKeyWith) === 0) throw malformedXml();
    if (r.ReplaceKeyPrefixWith !== undefined && r.ReplaceKeyWith !== undefined) throw invalidRequest('You can only define ReplaceKeyPrefix or ReplaceKey but not both.');
    if (r.HttpRedirectCode !== undefined && !/^3[0-9]{2}$/.test(r.HttpRedirectCode)) throw invalidRequest('The provided HTTP redirect code is not valid. It should be a string containing a number from 301 to 399.');
    if (!protocolOk(r.Protocol)) throw invalidRequest('Invalid protocol, protocol can be http or https. If not defined the protocol will be selected automatically.');
    const c = rule.Condition;
    if (c && c.HttpErrorCodeReturnedEquals !== undefined && !/^[45][0-9]{2}$/.test(c.HttpErrorCodeReturnedEquals)) {
      throw invalidRequest('The provided HTTP error code is not valid. Valid codes are 4XX or 5XX.');
    }
  }
}

const invalidTag = (message: string) => new AwsError('InvalidTag', message, 400);
const TAG_CHARS = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;

export function validateTags(tags: TagSet): void {
  if (tags.length > 50) throw invalidTag('Bucket tag count cannot be greater than 50');
  const seen = new Set<string>();
  for (const t of tags) {
    if (t.Key === undefined || t.Value === undefined) throw malformedXml();
    if (t.Key.length < 1 || t.Key.length > 128) throw invalidTag('The TagKey you have provided is too long, max 128');
    if (t.Value.length > 256) throw invalidTag('The TagValue you have provided is too long, max 256');
    if (!TAG_CHARS.test(t.Key)) throw invalidTag('The TagKey you have provided is invalid');
    if (!TAG_CHARS.test(t.Value)) throw invalidTag('The TagValue you have provided is invalid');
    if (t.Key.toLowerCase().startsWith('aws:')) throw invalidTag('System tags cannot be added/updated by requester');
    if (seen.has(t.Key)) throw invalidTag('Cannot provide multiple Tags with the same key');
    seen.add(t.Key);
  }
}

export function bucketConfigHandlers(store: S3Store, acc: AccessStore, lifecycleChanged: () => void = () => {}) {
  const PutBucketLifecycleConfiguration: Op<'PutBucketLifecycleConfiguration'> = (ctx, input) => {
    const bucket = ownedBucket(store, ctx, input.Bucket);
    const size = input.TransitionDefaultMinimumObjectSize ?? 'all_storage_classes_128K';
    if (!MIN_OBJECT_SIZES.includes(size)) throw S3Errors.invalidArgument('Invalid TransitionDefaultMinimumObjectSize', 'x-amz-transition-default-minimum-object-size', size);
    const rules = input.LifecycleConfiguration.Rules ?? [];
    validateLifecycle(rules);
    // S3 names the rules sent without an ID.
    acc.put(bucket.name, 'lifecycle', { rules: withIds(rules), size });
    lifecycleChanged();
    return { TransitionDefaultMinimumObjectSize: size };
  };

  const GetBucketLifecycleConfiguration: Op<'GetBucketLifecycleConfiguration'> = (ctx, input) => {
    const bucket = ownedBucket(store, ctx, input.Bucket);
    const stored = acc.get<{ rules: Rules; size: string }>(bucket.name, 'lifecycle');
    if (!stored) throw notFound('NoSuchLifecycleConfiguration', 'The lifecycle configuration does not exist', bucket.name);
    return { Rules: stored.rules, TransitionDefaultMinimumObjectSize: stored.size };
  };

  const DeleteBucketLifecycle: Op<'DeleteBucketLifecycle'> = (ctx, input) => {
    acc.delete(ownedBucket(store, ctx, input.Bucket).name, 'lifecycle');
    return {};
  };

  const PutBucketWebsite: Op<'PutBucketWebsite'> = (ctx, input) => {
    const bucket = ownedBucket(store, ctx, input.Bucket);
    const config = (input.WebsiteConfiguration ?? {}) as Website;
    validateWebsite(config);
    acc.put(bucket.name, 'website', config);
    return {};
  };

  const GetBucketWebsite: Op<'GetBucketWebsite'> = (ctx, input) => {
    const bucket = ownedBucket(store, ctx, input.Bucket);
    const config = acc.get<Website>(bucket.name, 'website');
    if (!config) throw notFound('NoSuchWebsiteConfiguration', 'The specified bucket does not have a website configuration', bucket.name);
    return config;
  };

  const DeleteBucketWebsite: Op<'DeleteBucketWebsite'> = (ctx, input) => {
    acc.delete(ownedBucket(store, ctx, input.Bucket).name, 'website');
    return {};
  };

  const PutBucketTagging: Op<'PutBucketTagging'> = (ctx, input) => {
    const bucket = ownedBucket(store, ctx, input.Bucket);
    const tags = input.Tagging?.TagSet ?? [];
    validateTags(tags);
    if (tags.length === 0) acc.delete(bucket.name, 'tagging');
    else acc.put(bucket.name, 'tagging', tags);
    return {};
  };

  const GetBucketTagging: Op<'GetBucketTagging'> = (ctx, input) => {
    const bucket = ownedBucket(store, ctx, input.Bucket);
    const tags = acc.get<TagSet>(bucket.name, 'tagging');
    if (!tags) throw notFound('NoSuchTagSet', 'The TagSet does not exist', bucket.name);
    return { TagSet: sortedTags(tags) };
  };

  const DeleteBucketTagging: Op<'DeleteBucketTagging'> = (ctx, input) => {
    acc.delete(ownedBucket(store, ctx, input.Bucket).name, 'tagging');
    return {};
  };

  // Transfer acceleration is a setting only: kumo has no edge locations to route through.
  const PutBucketAccelerateConfiguration: Op<'PutBucketAccelerateConfiguration'> = (ctx, input) => {
    const bucket = ownedBucket(store, ctx, input.Bucket);
    const status = input.AccelerateConfiguration?.Status;
    if (status !== 'Enabled' && status !== 'Suspended') throw malformedXml();
    if (bucket.name.includes('.')) throw invalidRequest('S3 Transfer Acceleration is not supported for buckets with periods (.) in their names');
    acc.put(bucket.name, 'accelerate', status);
    return {};
  };

  const GetBucketAccelerateConfiguration: Op<'GetBucketAccelerateConfiguration'> = (ctx, input) => {
    const bucket = ownedBucket(store, ctx, input.Bucket);
    return { Status: acc.get<string>(bucket.name, 'accelerate') };
  };

  return {
    PutBucketAccelerateConfiguration,
    GetBucketAccelerateConfiguration,
    PutBucketLifecycleConfiguration,
    GetBucketLifecycleConfiguration,
    DeleteBucketLifecycle,
    PutBucketWebsite,
    GetBucketWebsite,
    DeleteBucketWebsite,
    PutBucketTagging,
    GetBucketTagging,
    DeleteBucketTagging,
  };
}
