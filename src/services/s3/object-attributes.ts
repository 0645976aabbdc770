/**
 * GetObjectAttributes: what HEAD says of an object, chosen by x-amz-object-attributes (ETag,
 * Checksum, ObjectParts, StorageClass, ObjectSize) and answered in the body. The ETag comes
 * without its quotes, as on S3. ObjectParts lists the part sizes of a multipart object (kumo keeps
 * no per-part checksums once an upload is complete), paged by x-amz-max-parts and
 * x-amz-part-number-marker; an object made in one piece has none.
 */
import type { S3Operations } from '../../models/generated/s3.js';
import { type OpHandler } from '../service.js';
import type { Versioning } from './commit.js';
import { S3Errors } from './errors.js';
import { checksumFields, namedVersion } from './object-rules.js';
import { readKey } from './sse.js';
import type { S3Store } from './store.js';

type Op<K extends keyof S3Operations> = OpHandler<S3Operations, K>;

const ATTRIBUTES = ['ETag', 'Checksum', 'ObjectParts', 'StorageClass', 'ObjectSize'];
const DEFAULT_MAX_PARTS = 1000;

export function objectAttributesHandlers(store: S3Store, v: Versioning) {
  const GetObjectAttributes: Op<'GetObjectAttributes'> = (ctx, input) => {
    const wanted = new Set(input.ObjectAttributes);
    for (const a of wanted) if (!ATTRIBUTES.includes(a)) throw S3Errors.invalidArgument('Invalid attribute name specified.', 'x-amz-object-attributes', a);
    const obj = namedVersion(store, ctx, v.find, input.Bucket, input.Key, input.VersionId);
    readKey(obj.attrs.Encryption, input);
    const a = obj.attrs;
    const out: S3Operations['GetObjectAttributes']['output'] = { LastModified: new Date(obj.lastModified), VersionId: v.versionIdOf(obj) };
    if (wanted.has('ETag')) out.ETag = obj.etag.replace(/^"|"$/g, '');
    if (wanted.has('Checksum') && a.Checksum) out.Checksum = checksumFields(a.Checksum, a.ChecksumType ?? 'FULL_OBJECT');
    if (wanted.has('StorageClass')) out.StorageClass = a.StorageClass ?? 'STANDARD';
    if (wanted.has('ObjectSize')) out.ObjectSize = obj.size;
    if (wanted.has('ObjectParts') && a.Parts) {
      const marker = input.PartNumberMarker ?? 0;
      const max = input.MaxParts ?? DEFAULT_MAX_PARTS;
      const after = a.Parts.map((Size, i) => ({ PartNumber: i + 1, Size })).filter((p) => p.PartNumber > marker);
      const page = after.slice(0, max);
      out.ObjectParts = {
        TotalPartsCount: a.Parts.length,
        PartNumberMarker: marker,
        NextPartNumberMarker: page.length ? page[page.length - 1].PartNumber : marker,
        MaxParts: max,
        IsTruncated: after.length > page.length,
        Parts: page,
      };
    }
    return out;
  };

  return { GetObjectAttributes };
}
