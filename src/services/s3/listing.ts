/**
 * ListObjectsV2: keys in UTF-8 byte order from the row after `StartAfter` or the continuation
 * token, narrowed by Prefix, folded into CommonPrefixes at the Delimiter, at most MaxKeys
 * entries (keys plus prefixes) per page. With `encoding-type=url`, keys and prefixes are
 * encoded as S3 does (see urlEncode).
 */
import type { S3Operations } from '../../models/generated/s3.js';
import { decodeToken, encodeToken } from '../../state/pagination.js';
import { type OpHandler } from '../service.js';
import { ownedBucket, ownerOf } from './access.js';
import { S3Errors } from './errors.js';
import type { S3Store } from './store.js';

type Op<K extends keyof S3Operations> = OpHandler<S3Operations, K>;

// S3's encoding-type=url is form-style: '/' and RFC 3986's unreserved characters stay, a space
// becomes '+' (so a literal '+' must be %2B), everything else is %XX of its UTF-8 bytes. botocore
// decodes these with unquote_plus.
export const urlEncode = (s: string) =>
  encodeURIComponent(s)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%2F/g, '/')
    .replace(/%20/g, '+');

export interface ListedObject {
  key: string;
  lastModified: string;
  etag: string;
  size: number;
  storageClass?: string;
  checksum?: string;
  checksumType?: string;
}

/**
 * One page of keys after `after` under `prefix`, folded at `delimiter`: at most `limit` entries
 * (keys plus common prefixes). `last` is where the next page starts (past a whole common prefix).
 */
export function walk(store: S3Store, bucket: string, after: string, prefix: string, delimiter: string | undefined, limit: number) {
  const contents: ListedObject[] = [];
  const prefixes: string[] = [];
  let truncated = false;
  let last = '';
  // max-keys=0 asks for no entries, and S3 then says nothing is left (IsTruncated false).
  for (const o of limit === 0 ? [] : store.iterate(bucket, after, prefix)) {
    if (!o.key.startsWith(prefix)) break;
    let common: string | undefined;
    if (delimiter) {
      const i = o.key.indexOf(delimiter, prefix.length);
      if (i >= 0) common = o.key.slice(0, i + delimiter.length);
    }
    if (common !== undefined && prefixes[prefixes.length - 1] === common) continue;
    if (contents.length + prefixes.length >= limit) {
      truncated = true;
      break;
    }
    if (common !== undefined) {
      prefixes.push(common);
      last = common + '\u{10FFFF}';
    } else {
      contents.push({
        key: o.key,
        lastModified: o.lastModified,
        etag: o.etag,
        size: o.size,
        storageClass: o.attrs.StorageClass,
        checksum: o.attrs.Checksum?.algorithm,
        checksumType: o.attrs.Checksum ? (o.attrs.ChecksumType ?? 'FULL_OBJECT') : undefined,
      });
      last = o.key;
    }
  }
  return { contents, prefixes, truncated, last };
}

/** A page-size argument (max-keys, max-uploads, max-parts): 1000 by default, never negative. */
export function pageSize(value: number | undefined, name: string, parameter: string): number {
  const max = value ?? 1000;
  if (max < 0) throw S3Errors.invalidArgument(`Argument ${name} must be an integer between 0 and 2147483647`, parameter, String(max));
  return max;
}

/**
 * The arguments every key listing shares (ListObjects, ListObjectsV2, ListObjectVersions,
 * ListMultipartUploads), checked as S3 checks them. A page holds at most `limit` entries whatever
 * `max` asked; `enc` encodes keys and prefixes for the answer as encoding-type asks.
 */
export function listingArgs(
  input: { EncodingType?: string; Prefix?: string; Delimiter?: string },
  maxValue: number | undefined,
  maxName: [name: string, parameter: string] = ['maxKeys', 'max-keys'],
) {
  const max = pageSize(maxValue, ...maxName);
  if (input.EncodingType !== undefined && input.EncodingType !== 'url') {
    throw S3Errors.invalidArgument('Invalid Encoding Method specified in Request', 'encoding-type', input.EncodingType);
  }
  const enc = input.EncodingType === 'url' ? urlEncode : (s: string) => s;
  return { max, limit: Math.min(max, 1000), prefix: input.Prefix ?? '', delimiter: input.Delimiter || undefined, enc };
}

/** One Contents entry of ListObjects or ListObjectsV2; `owner` when the listing shows it. */
export function contentsEntry(c: ListedObject, enc: (s: string) => string, owner?: { ID: string; DisplayName: string }) {
  return {
    Key: enc(c.key),
    LastModified: c.lastModified,
    ETag: c.etag,
    Size: c.size,
    StorageClass: c.storageClass ?? 'STANDARD',
    ChecksumAlgorithm: c.checksum ? [c.checksum] : undefined,
    Owner: owner,
  };
}

export function listingHandlers(store: S3Store) {
  const ListObjectsV2: Op<'ListObjectsV2'> = (ctx, input) => {
    const bucket = ownedBucket(store, ctx, input.Bucket);
    const { max, limit, prefix, delimiter, enc } = listingArgs(input, input.MaxKeys);
    let after = input.StartAfter ?? '';
    if (input.ContinuationToken !== undefined) {
      try {
        after = decodeToken(input.ContinuationToken);
      } catch {
        throw S3Errors.invalidArgument('The continuation token provided is incorrect', 'continuation-token', input.ContinuationToken);
      }
    }
    const { contents, prefixes, truncated, last } = walk(store, bucket.name, after, prefix, delimiter, limit);
    const owner = input.FetchOwner ? ownerOf(bucket.account) : undefined;
    return {
      Name: bucket.name,
      Prefix: enc(prefix),
      Delimiter: delimiter !== undefined ? enc(delimiter) : undefined,
      MaxKeys: max,
      EncodingType: input.EncodingType,
      KeyCount: contents.length + prefixes.length,
      IsTruncated: truncated,
      ContinuationToken: input.ContinuationToken,
      NextContinuationToken: truncated ? encodeToken(last) : undefined,
      StartAfter: input.StartAfter !== undefined ? enc(input.StartAfter) : undefined,
      Contents: contents.map((c) => contentsEntry(c, enc, owner)),
      CommonPrefixes: prefixes.map((p) => ({ Prefix: enc(p) })),
    };
  };

  return { ListObjectsV2 };
}
