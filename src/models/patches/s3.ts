/**
 * S3 output roots. rest-xml writes an output structure without a payload member as one XML
 * element whose name the full model gives (`xmlName`) and the minified model lost. `kumoTextRoot`
 * is kumo's own trait for GetBucketLocation, whose body is a bare <LocationConstraint> element
 * with the region as its text (botocore and the SDKs special-case it the same way).
 */
import type { ModelPatch } from './index.js';

const roots: Record<string, string> = {
  ListBuckets: 'ListAllMyBucketsResult',
  ListObjects: 'ListBucketResult',
  ListObjectsV2: 'ListBucketResult',
  ListObjectVersions: 'ListVersionsResult',
  ListMultipartUploads: 'ListMultipartUploadsResult',
  ListParts: 'ListPartsResult',
  CreateMultipartUpload: 'InitiateMultipartUploadResult',
  CompleteMultipartUpload: 'CompleteMultipartUploadResult',
  DeleteObjects: 'DeleteResult',
  GetObjectTagging: 'Tagging',
  GetBucketTagging: 'Tagging',
  GetBucketVersioning: 'VersioningConfiguration',
  GetBucketAcl: 'AccessControlPolicy',
  GetObjectAcl: 'AccessControlPolicy',
  GetBucketCors: 'CORSConfiguration',
  GetBucketLifecycleConfiguration: 'LifecycleConfiguration',
  GetBucketWebsite: 'WebsiteConfiguration',
  GetBucketLocation: 'LocationConstraint',
  GetObjectAttributes: 'GetObjectAttributesResponse',
};

const operations: Record<string, unknown> = {};
for (const [op, root] of Object.entries(roots)) {
  operations[op] = { output: { locationName: root } };
}
(operations['GetBucketLocation'] as { output: Record<string, unknown> }).output.kumoTextRoot = 'LocationConstraint';

// Checksums and conditional writes that arrived after the last aws-sdk v2 model; current SDKs
// send and expect them. `Trailer` (x-amz-trailer) is kumo's own member: S3 reads it to learn which
// checksum an aws-chunked body carries at its end, whether or not an SDK names the algorithm.
const header = (locationName: string) => ({ location: 'header', locationName });
const newChecksums = Object.fromEntries(
  ['CRC64NVME', 'MD5', 'SHA512', 'XXHASH3', 'XXHASH64', 'XXHASH128'].map((a) => [`Checksum${a}`, header(`x-amz-checksum-${a.toLowerCase()}`)]),
);
const checksumType = { ChecksumType: header('x-amz-checksum-type') };
operations['PutObject'] = {
  input: { members: { ...newChecksums, IfMatch: header('If-Match'), Trailer: header('x-amz-trailer') } },
  output: { members: { ...newChecksums, ...checksumType } },
};
operations['UploadPart'] = { input: { members: { ...newChecksums, Trailer: header('x-amz-trailer') } }, output: { members: newChecksums } };
for (const op of ['GetObject', 'HeadObject']) operations[op] = { ...(operations[op] as object), output: { members: { ...newChecksums, ...checksumType } } };
// A ranged GET answers 206; the model has no member for it, so kumo adds one.
(operations['GetObject'] as { output: { members: Record<string, unknown> } }).output.members.StatusCode = { location: 'statusCode', type: 'integer' };

// S3 answers PutBucketPolicy with 204 No Content; the model leaves the default 200.
operations['PutBucketPolicy'] = { http: { responseCode: 204 } };

// Multipart and copy members from after the last aws-sdk v2 model: CRC64NVME everywhere a part or
// result carries a checksum, the checksum type of an upload, and x-amz-mp-object-size.
const crc64 = { ChecksumCRC64NVME: {} };
const bodyChecksumType = { ChecksumType: {} };
const deep = (op: string, patch: Record<string, unknown>) => {
  operations[op] = mergeInto((operations[op] as Record<string, unknown>) ?? {}, patch);
};
function mergeInto(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  for (const [k, v] of Object.entries(b)) {
    const t = a[k];
    a[k] = t && typeof t === 'object' && v && typeof v === 'object' ? mergeInto(t as Record<string, unknown>, v as Record<string, unknown>) : v;
  }
  return a;
}
deep('CreateMultipartUpload', { input: { members: checksumType }, output: { members: checksumType } });
deep('CompleteMultipartUpload', {
  input: {
    members: {
      ChecksumCRC64NVME: header('x-amz-checksum-crc64nvme'),
      ...checksumType,
      MpuObjectSize: header('x-amz-mp-object-size'),
      IfMatch: header('If-Match'),
      MultipartUpload: { members: { Parts: { member: { members: crc64 } } } },
    },
  },
  output: { members: { ...crc64, ...bodyChecksumType } },
});
deep('ListParts', { output: { members: { ...bodyChecksumType, Parts: { member: { members: crc64 } } } } });
deep('UploadPartCopy', { output: { members: { CopyPartResult: { members: crc64 } } } });
deep('CopyObject', { output: { members: { CopyObjectResult: { members: { ...crc64, ...bodyChecksumType } } } } });
deep('ListMultipartUploads', { output: { members: { Uploads: { member: { members: { ChecksumType: {} } } } } } });
// DeleteObjects must carry Content-MD5 or a checksum of its body; the v2 model lacks both headers.
deep('DeleteObjects', {
  input: {
    members: {
      ContentMD5: header('Content-MD5'),
      ...Object.fromEntries(['CRC32', 'CRC32C', 'SHA1', 'SHA256'].map((a) => [`Checksum${a}`, header(`x-amz-checksum-${a.toLowerCase()}`)])),
      ...newChecksums,
    },
  },
});
// Conditional deletes (If-Match, x-amz-if-match-last-modified-time, x-amz-if-match-size) came
// after the v2 model; kumo reads them so it can refuse them rather than ignore them.
deep('DeleteObject', {
  input: {
    members: {
      IfMatch: header('If-Match'),
      IfMatchLastModifiedTime: header('x-amz-if-match-last-modified-time'),
      IfMatchSize: header('x-amz-if-match-size'),
    },
  },
});
// S3 answers MissingRequestBodyError to an empty PutBucketLifecycleConfiguration, as it does for
// every other configuration PUT; the model alone leaves this one's payload optional.
deep('PutBucketLifecycleConfiguration', { input: { required: ['Bucket', 'LifecycleConfiguration'] } });
// HEAD ?partNumber= answers 206 like a ranged GET.
deep('HeadObject', { output: { members: { StatusCode: { location: 'statusCode', type: 'integer' } } } });

// S3 answers a ranged HEAD as it answers the GET (206, Content-Range), and says how many tags
// the object has; the model has members for neither on HeadObject.
deep('HeadObject', { output: { members: { ContentRange: header('Content-Range'), TagCount: { location: 'header', locationName: 'x-amz-tagging-count', type: 'integer' } } } });
// The v2 model names ExpiresString's header "ExpiresString" (a v2 SDK customization); on the wire
// it is the Expires header, kept as the string it was stored as (current SDKs read it so).
for (const op of ['GetObject', 'HeadObject']) deep(op, { output: { members: { ExpiresString: header('Expires') } } });
// RestoreObject answers 202 when a restore begins and 200 when a restored copy's days are renewed.
deep('RestoreObject', { output: { members: { StatusCode: { location: 'statusCode', type: 'integer' } } } });
// S3 answers PutBucketTagging with 204 No Content.
operations['PutBucketTagging'] = { http: { responseCode: 204 } };

// GetObjectAttributes' checksum carries the newer algorithm and the checksum type too.
deep('GetObjectAttributes', { output: { members: { Checksum: { members: { ...crc64, ...bodyChecksumType } } } } });

export const s3Patch: ModelPatch = { operations };

