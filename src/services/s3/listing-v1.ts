/**
 * ListObjects (version 1), which boto3's bucket.objects.all() and older tools still use: the same
 * walk as ListObjectsV2, paged by Marker (a key, not a token). As on AWS, NextMarker is returned
 * only when a delimiter was given; without one, clients continue from the last key listed. Each
 * entry carries its Owner, as v1 always did.
 */
import type { S3Operations } from '../../models/generated/s3.js';
import { type OpHandler } from '../service.js';
import { ownedBucket, ownerOf } from './access.js';
import { contentsEntry, listingArgs, walk } from './listing.js';
import type { S3Store } from './store.js';

type Op<K extends keyof S3Operations> = OpHandler<S3Operations, K>;

export function listingV1Handlers(store: S3Store) {
  const ListObjects: Op<'ListObjects'> = (ctx, input) => {
    const bucket = ownedBucket(store, ctx, input.Bucket);
    const { max, limit, prefix, delimiter, enc } = listingArgs(input, input.MaxKeys);
    const marker = input.Marker ?? '';
    let after = marker;
    // A marker inside a common prefix (NextMarker is often the prefix itself) continues after the
    // whole prefix, which the previous page already reported.
    if (delimiter && marker.startsWith(prefix)) {
      const i = marker.indexOf(delimiter, prefix.length);
      if (i >= 0) after = marker.slice(0, i + delimiter.length) + '\u{10FFFF}';
    }
    const { contents, prefixes, truncated } = walk(store, bucket.name, after, prefix, delimiter, limit);
    const lastKey = contents[contents.length - 1]?.key ?? '';
    const lastPrefix = prefixes[prefixes.length - 1] ?? '';
    const nextMarker = lastKey > lastPrefix ? lastKey : lastPrefix;
    const owner = ownerOf(bucket.account);
    return {
      Name: bucket.name,
      Prefix: enc(prefix),
      Marker: enc(marker),
      NextMarker: truncated && delimiter ? enc(nextMarker) : undefined,
      Delimiter: delimiter !== undefined ? enc(delimiter) : undefined,
      MaxKeys: max,
      EncodingType: input.EncodingType,
      IsTruncated: truncated,
      Contents: contents.map((c) => contentsEntry(c, enc, owner)),
      CommonPrefixes: prefixes.map((p) => ({ Prefix: enc(p) })),
    };
  };

  return { ListObjects };
}
