/**
 * Amazon S3 (rest-xml wire family): the operation table. Metadata lives in SQLite
 * (./store.ts, ./uploads-store.ts, ./versions-store.ts, and ./access-store.ts for access and
 * bucket configuration), bytes in files (./blobs.ts, written through ./ingest.ts). Handlers by
 * resource: ./buckets.ts, ./objects.ts, ./object-attributes.ts, ./copy.ts (with
 * ./copy-source.ts), ./batch-delete.ts, ./tagging.ts, ./listing.ts, ./listing-v1.ts, ./versions-handlers.ts (over ./commit.ts, which
 * decides what a write or delete does in a versioned bucket), ./multipart.ts,
 * ./multipart-complete.ts, ./multipart-listing.ts, ./bucket-access.ts, ./cors.ts,
 * ./bucket-config.ts and ./bucket-encryption.ts; the rules all object operations share are in
 * ./object-rules.ts, encryption's in ./sse.ts and ./sse-c.ts. Every handler runs inside
 * ./authorize.ts's guard, which decides access. Before authentication (./admission.ts) website
 * hosts are answered by ./website.ts, CORS preflights by ./cors.ts, and a bucket's region binds
 * the signature.
 *
 * Differences from AWS:
 * - Access (./authorize.ts): bucket policies, ACLs, Block Public Access and Object Ownership are
 *   evaluated for the owner, other accounts and anonymous callers. Callers are account root users
 *   only (no IAM users, roles or identity policies); account-level Block Public Access
 *   (s3control), access points and e-mail grantees do not exist; policy condition keys are the
 *   ones listed in ./policy.ts (others are refused as MalformedPolicy); DeleteObjects is denied
 *   whole if any key is denied (AWS reports per key). An object an anonymous caller writes
 *   (public-read-write bucket) is owned by the bucket owner. Denials are always AccessDenied
 *   with no explanation of which policy denied. Object ACLs are per key, not per version (a
   version ID on Get/PutObjectAcl must name an existing version, and then the key's ACL is used).
 * - Lifecycle configuration and bucket tags are stored and returned, not acted on: nothing
 *   expires or transitions. Website configuration is served on website hosts (./website.ts), over
 *   http on kumo's own port only.
 * - Encryption (./sse.ts, ./sse-c.ts, ./bucket-encryption.ts): SSE-S3 and SSE-KMS are labels
 *   (kumo has no KMS; those bytes are stored as they came, and a KMS key named by alias is
 *   answered as an alias ARN, not resolved to its key). SSE-C bytes are really encrypted
 *   (AES-256-CTR under the customer's key, only its MD5 kept) and are taken over plain http,
 *   which S3 refuses. An SSE-C multipart object has no full-object checksum (its parts are joined
 *   encrypted), so FULL_OBJECT checksums are NotImplemented on SSE-C uploads. SSE-C ETags are
 *   not the MD5 of the data, as on S3, but kumo's own derivation.
 * - Object lock, MFA delete, x-amz-website-redirect-location, conditional deletes (If-Match on
 *   DeleteObject) and directory buckets are refused (NotImplemented).
 * - A request signed for another region than its bucket's is AuthorizationHeaderMalformed (400,
 *   with <Region> and x-amz-bucket-region), as AWS answers it on the bucket's regional endpoint;
 *   kumo has one endpoint, so there is no 301 PermanentRedirect. GetBucketLocation answers from
 *   any region. A scope naming a region AWS does not have expects us-east-1 when no bucket says
 *   otherwise. Every x-amz-* header of a signed request must be signed (HeadersNotSigned).
 * - Signature Version 2 (header and query string, ../../edge/sigv2.ts) is taken for buckets in the
 *   regions that launched before 2014, whenever the bucket was created (AWS: only buckets created
 *   before June 2020); `KUMO_S3_SIGV2=off` refuses it everywhere. A SigV2 request naming no
 *   bucket acts in us-east-1, as on the global endpoint.
 * - Completing a multipart upload concatenates its parts into one file (one sequential rewrite of
 *   the bytes before the answer; no whitespace keep-alive while it runs). Incomplete uploads never
 *   expire; deleting a bucket aborts its incomplete uploads. ListMultipartUploads answers keys
 *   as stored even with encoding-type=url. A repeated CompleteMultipartUpload is answered the
 *   first one's result for as long as the object it made is the key's current one (S3 does not
 *   say for how long it remembers).
 * - A part sent without the checksum its upload was created with gets it computed by kumo rather
 *   than refused.
 * - Version IDs are 32 random URL-safe characters. ListObjectVersions answers all Version entries,
 *   then all DeleteMarker entries (AWS interleaves them; SDKs read them as two lists anyway).
 *   Deleting a version that does not exist succeeds and changes nothing.
 * - Storage classes are labels (every object is on the same disk); GLACIER, DEEP_ARCHIVE and
 *   OUTPOSTS, whose objects need a restore, are NotImplemented.
 * - Objects sent without a checksum get a full-object CRC64NVME, as on AWS. The XXHASH checksum
 *   family is NotImplemented; the others are verified and stored. PutObjectTagging does not
 *   insist on Content-MD5.
 */
import { join } from 'node:path';
import { loadModel } from '../../models/loader.js';
import type { S3Operations } from '../../models/generated/s3.js';
import { RestXmlCodec } from '../../protocol/rest-xml.js';
import { migrate, type Db } from '../../state/db.js';
import type { Handler, Service } from '../service.js';
import { BlobStore } from './blobs.js';
import { bucketHandlers } from './buckets.js';
import { S3Errors, s3AuthErrors } from './errors.js';
import { listingHandlers } from './listing.js';
import { batchDeleteHandlers } from './batch-delete.js';
import { versioning } from './commit.js';
import { copyHandlers } from './copy.js';
import { listingV1Handlers } from './listing-v1.js';
import { completeHandlers } from './multipart-complete.js';
import { multipartHandlers } from './multipart.js';
import { multipartListingHandlers } from './multipart-listing.js';
import { objectHandlers } from './objects.js';
import { objectAttributesHandlers } from './object-attributes.js';
import { S3Store, s3Migrations } from './store.js';
import { completedUploadsMigration, multipartMigrations, partIvMigration, UploadStore } from './uploads-store.js';
import { taggingHandlers } from './tagging.js';
import { versionHandlers } from './versions-handlers.js';
import { versionMigrations, VersionStore } from './versions-store.js';
import { AccessStore, accessMigrations } from './access-store.js';
import { Authorizer, guard } from './authorize.js';
import { bucketAccessHandlers } from './bucket-access.js';
import { bucketConfigHandlers } from './bucket-config.js';
import { bucketEncryption, bucketEncryptionHandlers } from './bucket-encryption.js';
import { Cors, corsHandlers } from './cors.js';
import { Website } from './website.js';
import { s3BeforeAuth } from './admission.js';

export const S3_NAMESPACE = 'http://s3.amazonaws.com/doc/2006-03-01/';

export interface S3Deps {
  db: Db;
  dataDir: string;
  log?: (line: string) => void;
  /** Take Signature Version 2 where S3 still does (`KUMO_S3_SIGV2=off` turns it off). Default on. */
  sigV2?: boolean;
}

export function createS3Service(deps: S3Deps): Service {
  migrate(deps.db, 's3', s3Migrations);
  migrate(deps.db, 's3-data', [...multipartMigrations, versionMigrations, completedUploadsMigration, partIvMigration]);
  migrate(deps.db, 's3-access', accessMigrations);
  const store = new S3Store(deps.db);
  const uploads = new UploadStore(deps.db);
  const versions = new VersionStore(deps.db);
  const v = versioning(store, versions);
  const acc = new AccessStore(deps.db);
  const auth = new Authorizer(store, acc);
  const cors = new Cors(store, acc);
  const blobs = new BlobStore(join(deps.dataDir, 's3'));
  const removed = blobs.collectGarbage((id) => store.blobInUse(id) || uploads.blobInUse(id) || versions.blobInUse(id));
  if (removed > 0) deps.log?.(`s3: removed ${removed} unreferenced file(s) left by an interrupted run`);
  const encryptionOf = (bucket: string) => bucketEncryption(acc, bucket);
  const table: { [K in keyof S3Operations]: Handler } = {
    ...bucketHandlers(store, versions, uploads, blobs),
    ...objectHandlers(store, blobs, v, encryptionOf),
    ...objectAttributesHandlers(store, v),
    ...listingHandlers(store),
    ...multipartHandlers(store, uploads, blobs, v, encryptionOf),
    ...completeHandlers(store, uploads, blobs, v),
    ...multipartListingHandlers(store, uploads),
    ...copyHandlers(store, blobs, v, encryptionOf),
    ...batchDeleteHandlers(store, blobs, v.remove),
    ...listingV1Handlers(store),
    ...versionHandlers(store, versions),
    ...taggingHandlers(store, versions, v),
    ...bucketAccessHandlers(auth, v.find),
    ...corsHandlers(store, acc),
    ...bucketConfigHandlers(store, acc),
    ...bucketEncryptionHandlers(store, acc),
  };
  const handlers = guard(auth, table);
  const codec = new RestXmlCodec(loadModel('s3-2006-03-01'), S3_NAMESPACE, { emptyPayload: S3Errors.missingRequestBody });
  const website = new Website(store, acc, handlers, codec);
  return {
    name: 's3',
    signingName: 's3',
    codec,
    handlers,
    authErrors: s3AuthErrors(deps.sigV2 ?? true),
    global: true,
    beforeAuth: s3BeforeAuth(store, codec, cors, website),
    reset: () => blobs.wipe(),
  };
}
