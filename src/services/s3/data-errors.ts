/** S3's error codes for multipart uploads, copies, batch deletes, versions and storage classes. */
import { AwsError } from '../../protocol/errors.js';

const e = (code: string, message: string, status: number, fields: Record<string, string> = {}, headers: Record<string, string> = {}) =>
  new AwsError(code, message, status, { fields, headers });

export const S3DataErrors = {
  noSuchUpload: (uploadId: string) =>
    e('NoSuchUpload', 'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.', 404, { UploadId: uploadId }),
  invalidPart: (uploadId: string, partNumber: number, etag: string) =>
    e('InvalidPart', "One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.", 400, {
      UploadId: uploadId,
      PartNumber: String(partNumber),
      ETag: etag,
    }),
  invalidPartOrder: (uploadId: string) =>
    e('InvalidPartOrder', 'The list of parts was not in ascending order. Parts must be ordered by part number.', 400, { UploadId: uploadId }),
  entityTooSmall: (size: number, partNumber: number, etag: string) =>
    e('EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed object size.', 400, {
      ProposedSize: String(size),
      MinSizeAllowed: String(5 * 1024 * 1024),
      PartNumber: String(partNumber),
      ETag: etag,
    }),
  malformedXml: () => e('MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema', 400),
  invalidRequest: (message: string) => e('InvalidRequest', message, 400),
  invalidPartNumber: (requested: number, count: number) =>
    e('InvalidPartNumber', 'The requested partnumber is not satisfiable', 416, { PartNumberRequested: String(requested), ActualPartCount: String(count) }),
  invalidStorageClass: (requested: string) =>
    e('InvalidStorageClass', 'The storage class you specified is not valid', 400, { StorageClassRequested: requested }),
  noSuchVersion: (key: string, versionId: string) =>
    e('NoSuchVersion', 'The specified version does not exist.', 404, { Key: key, VersionId: versionId }),
  /** GET/HEAD naming a delete marker's version: 405, and the headers say what it is. */
  deleteMarkerMethod: (versionId: string, lastModified: Date, method: string) =>
    e('MethodNotAllowed', 'The specified method is not allowed against this resource.', 405, { Method: method, ResourceType: 'DeleteMarker' }, {
      'x-amz-delete-marker': 'true',
      'x-amz-version-id': versionId,
      'last-modified': lastModified.toUTCString(),
      allow: 'DELETE',
    }),
  noSuchKeyMarker: (key: string, versionId: string) =>
    e('NoSuchKey', 'The specified key does not exist.', 404, { Key: key }, { 'x-amz-delete-marker': 'true', 'x-amz-version-id': versionId }),
  missingContentMd5: () => e('InvalidRequest', 'Missing required header for this request: Content-MD5', 400),
  invalidTag: (message: string) => e('InvalidTag', message, 400),
  badTagging: () => e('InvalidArgument', 'The header \'x-amz-tagging\' shall be encoded as UTF-8 then URLEncoded URL query parameters without tag name duplicates.', 400),
};
