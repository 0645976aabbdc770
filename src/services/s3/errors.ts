/** S3's error codes, statuses and the extra fields its error bodies carry. */
import { AwsError } from '../../protocol/errors.js';
import type { AuthErrorCodes } from '../service.js';

/**
 * S3 still takes Signature Version 2 for buckets in the regions that launched before 2014 (and
 * created before June 2020, which every kumo bucket counts as); newer regions never took it.
 */
export const SIGV2_REGIONS = new Set(['us-east-1', 'us-west-1', 'us-west-2', 'eu-west-1', 'ap-northeast-1', 'ap-southeast-1', 'ap-southeast-2', 'sa-east-1']);

/** S3's words on authentication; `sigV2`: whether SigV2 is taken at all (kumo's setting). */
export const s3AuthErrors = (sigV2: boolean): AuthErrorCodes => ({
  ...(sigV2 ? { sigV2: { allowedIn: (region: string) => SIGV2_REGIONS.has(region) } } : {}),
  unknownKey: { code: 'InvalidAccessKeyId', status: 403, message: 'The AWS Access Key Id you provided does not exist in our records.' },
  missing: 'anonymous',
  skew: { code: 'RequestTimeTooSkewed', status: 403 },
  expired: { code: 'AccessDenied', status: 403 },
  wrongRegion,
  malformedQuery: { code: 'AuthorizationQueryParametersError', status: 400 },
  unsignedHeaders: { code: 'AccessDenied', status: 403, message: 'There were headers present in the request which were not signed', field: 'HeadersNotSigned' },
});

/**
 * The region the request should have been signed for: the bucket's, or us-east-1 (where the
 * global endpoint answers) when no bucket decides. SDKs that follow region redirects (boto3,
 * the aws CLI) read <Region> or x-amz-bucket-region and sign again.
 */
function wrongRegion(region: string, bucketRegion: string | undefined, presigned: boolean): AwsError {
  const expected = bucketRegion ?? 'us-east-1';
  const headers: Record<string, string> = bucketRegion ? { 'x-amz-bucket-region': bucketRegion } : {};
  const opts = { fields: { Region: expected }, headers };
  if (presigned) {
    return new AwsError(
      'AuthorizationQueryParametersError',
      `Error parsing the X-Amz-Credential parameter; the region '${region}' is wrong; expecting '${expected}'`,
      400,
      opts,
    );
  }
  return new AwsError('AuthorizationHeaderMalformed', `The authorization header is malformed; the region '${region}' is wrong; expecting '${expected}'`, 400, opts);
}

const e = (code: string, message: string, status: number, fields: Record<string, string> = {}) =>
  new AwsError(code, message, status, { fields });

export const S3Errors = {
  noSuchBucket: (bucket: string) => e('NoSuchBucket', 'The specified bucket does not exist', 404, { BucketName: bucket }),
  noSuchKey: (key: string) => e('NoSuchKey', 'The specified key does not exist.', 404, { Key: key }),
  notFound: () => e('NotFound', 'Not Found', 404),
  accessDenied: () => e('AccessDenied', 'Access Denied', 403),
  bucketExists: (bucket: string) =>
    e('BucketAlreadyExists', 'The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.', 409, { BucketName: bucket }),
  bucketOwnedByYou: (bucket: string) =>
    e('BucketAlreadyOwnedByYou', 'Your previous request to create the named bucket succeeded and you already own it.', 409, { BucketName: bucket }),
  bucketNotEmpty: (bucket: string) => e('BucketNotEmpty', 'The bucket you tried to delete is not empty', 409, { BucketName: bucket }),
  invalidBucketName: (bucket: string) => e('InvalidBucketName', 'The specified bucket is not valid.', 400, { BucketName: bucket }),
  illegalLocation: () =>
    e('IllegalLocationConstraintException', 'The unspecified location constraint is incompatible for the region specific endpoint this request was sent to.', 400),
  illegalLocationFor: (constraint: string, region: string) =>
    e('IllegalLocationConstraintException', `The ${constraint} location constraint is incompatible for the region specific endpoint this request was sent to (${region}).`, 400),
  invalidLocation: (constraint: string) =>
    e('InvalidLocationConstraint', 'The specified location-constraint is not valid', 400, { LocationConstraint: constraint }),
  keyTooLong: () => e('KeyTooLongError', 'Your key is too long', 400),
  metadataTooLarge: () => e('MetadataTooLarge', 'Your metadata headers exceed the maximum allowed metadata size.', 400),
  badDigest: (what = 'Content-MD5') => e('BadDigest', `The ${what} you specified did not match what we received.`, 400),
  badChecksum: (alg: string) => e('BadDigest', `The ${alg} you specified did not match the calculated checksum.`, 400),
  invalidDigest: () => e('InvalidDigest', 'The Content-MD5 you specified is not valid.', 400),
  invalidChecksum: (alg: string) => e('InvalidRequest', `Value for x-amz-checksum-${alg.toLowerCase()} header is invalid.`, 400),
  preconditionFailed: (condition: string) =>
    e('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', 412, { Condition: condition }),
  /** A 304 still names the representation the client already has (RFC 7232 §4.1). */
  notModified: (etag: string, lastModified: Date) =>
    new AwsError('NotModified', 'Not Modified', 304, { headers: { etag, 'last-modified': lastModified.toUTCString() } }),
  invalidRange: (size: number, range: string) =>
    e('InvalidRange', 'The requested range is not satisfiable', 416, { RangeRequested: range, ActualObjectSize: String(size) }),
  invalidArgument: (message: string, name?: string, value?: string) =>
    e('InvalidArgument', message, 400, name ? { ArgumentName: name, ArgumentValue: value ?? '' } : {}),
  notImplementedHeader: (header: string) =>
    e('NotImplemented', 'A header you provided implies functionality that is not implemented', 501, { Header: header }),
  notImplemented: (what: string) => e('NotImplemented', `kumo does not implement ${what} yet.`, 501),
  missingRequestBody: () => e('MissingRequestBodyError', 'Request Body is empty', 400),
  missingContentLength: () => e('MissingContentLength', 'You must provide the Content-Length HTTP header.', 411),
  entityTooLarge: (proposed: number, max: number) =>
    e('EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size', 400, { ProposedSize: String(proposed), MaxSizeAllowed: String(max) }),
};
