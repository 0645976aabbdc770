/**
 * Which region a signed S3 request must be scoped to: a bucket lives in one region, and S3 refuses
 * a signature for another (AuthorizationHeaderMalformed, naming the right one) rather than serve
 * it. Requests that name no existing bucket may be signed for any region, and so may the two
 * whose purpose is to work from anywhere: CreateBucket (its handler checks the location) and
 * GetBucketLocation (how clients find a bucket's region in the first place).
 */
import type { RestXmlCodec } from '../../protocol/rest-xml.js';
import { splitS3Path } from '../../protocol/rest-xml.js';
import { isAwsError } from '../../protocol/errors.js';
import type { WireRequest } from '../../protocol/types.js';
import type { S3Store } from './store.js';

const ANY_REGION = new Set(['CreateBucket', 'GetBucketLocation', 'ListBuckets']);

export function bucketSigningRegion(store: S3Store, codec: RestXmlCodec) {
  return (req: WireRequest): string | undefined => {
    const operation = codec.operationName(req);
    if (!operation || ANY_REGION.has(operation)) return undefined;
    let bucket: string | undefined;
    try {
      bucket = splitS3Path(req).bucket;
    } catch (e) {
      // A path that does not decode is the codec's error to answer, after authentication.
      if (isAwsError(e)) return undefined;
      throw e;
    }
    return bucket === undefined ? undefined : store.bucket(bucket)?.region;
  };
}
