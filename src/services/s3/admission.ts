/**
 * What S3 says of a request before it is authenticated (Service.beforeAuth), in the edge's order:
 *
 * - a website host (./website.ts) is answered from the bucket's website configuration, as an
 *   anonymous caller: website endpoints are never signed;
 * - an OPTIONS request is a CORS preflight (./cors.ts), which browsers send unsigned and no S3 API
 *   model describes;
 * - a multipart form POSTed to a bucket is a browser upload (./post-object.ts), signed by the
 *   policy document it carries rather than as a request;
 * - a bucket lives in one region, so a signature for another is refused (AuthorizationHeaderMalformed,
 *   naming the right one) rather than served. Requests that name no existing bucket may be signed
 *   for any region, and so may the ones whose purpose is to work from anywhere: CreateBucket (its
 *   handler checks the location), GetBucketLocation (how clients find a bucket's region in the
 *   first place) and ListBuckets;
 * - whatever answers a request with an Origin its bucket's CORS rules allow carries their
 *   Access-Control-* headers.
 */
import { isAwsError } from '../../protocol/errors.js';
import { splitS3Path, type RestXmlCodec } from '../../protocol/rest-xml.js';
import type { WireRequest } from '../../protocol/types.js';
import type { Admission } from '../service.js';
import type { Cors } from './cors.js';
import type { S3Store } from './store.js';
import { isBrowserUpload, type BrowserUploads } from './post-object.js';
import { websiteBucket, type Website } from './website.js';

const ANY_REGION = new Set(['CreateBucket', 'GetBucketLocation', 'ListBuckets']);

export function s3BeforeAuth(store: S3Store, codec: RestXmlCodec, cors: Cors, website: Website, uploads: BrowserUploads) {
  const signingRegion = (req: WireRequest): string | undefined => {
    const operation = codec.operationName(req);
    if (!operation || ANY_REGION.has(operation)) return undefined;
    const bucket = safeTarget(req)?.bucket;
    return bucket === undefined ? undefined : store.bucket(bucket)?.region;
  };

  return (req: WireRequest): Admission => {
    const responseHeaders = () => cors.responseHeaders(req);
    const site = websiteBucket(req.headers.host ?? '');
    if (site !== undefined) {
      return { answer: { operation: 'Website', respond: (ctx) => website.serve(site, req, ctx) }, responseHeaders };
    }
    if (req.method === 'OPTIONS') return { answer: { operation: 'Preflight', respond: () => cors.preflight(req) }, responseHeaders };
    const target = safeTarget(req);
    if (target && isBrowserUpload(req, target)) {
      const bucket = target.bucket!;
      return { answer: { operation: 'PostObject', respond: (ctx, body, signer) => uploads.upload(bucket, req, ctx, body, signer) }, responseHeaders };
    }
    return { signingRegion: () => signingRegion(req), responseHeaders };
  };
}

/** The bucket and key a request names; undefined when its path does not decode (the codec's error to answer, after authentication). */
function safeTarget(req: WireRequest): { bucket?: string; key?: string } | undefined {
  try {
    return splitS3Path(req);
  } catch (e) {
    if (isAwsError(e)) return undefined;
    throw e;
  }
}
