/**
 * Amazon S3 (rest-xml wire family): the operation table. Metadata lives in SQLite
 * (./store.ts, ./uploads-store.ts, ./versions-store.ts, and ./access-store.ts for access and
 * bucket configuration), bytes in files (./blobs.ts, written through ./ingest.ts). Handlers by
 * resource: ./buckets.ts, ./objects.ts, ./object-attributes.ts, ./copy.ts (with
 * ./copy-source.ts), ./batch-delete.ts, ./tagging.ts, ./listing.ts, ./listing-v1.ts,
 * ./versions-handlers.ts (over ./commit.ts, which decides what a write or delete does in a
 * versioned bucket), ./multipart.ts, ./multipart-complete.ts, ./multipart-listing.ts,
 * ./bucket-access.ts, ./cors.ts, ./bucket-config.ts, ./bucket-encryption.ts, ./object-lock.ts,
 * ./lifecycle.ts (which also runs the rules, on kumo's clock) and ./select/select-object.ts; the
 * rules all object operations share are in ./object-rules.ts, encryption's in ./sse.ts and
 * ./sse-c.ts. Every handler runs inside ./authorize.ts's guard, which decides access. Before
 * authentication (./admission.ts) website hosts are answered by ./website.ts, CORS preflights by
 * ./cors.ts, browser uploads (POST Object) by ./post-object.ts (over ./form-data.ts and
 * ./post-policy.ts), and a bucket's region binds the signature.
 *
 * Differences from AWS:
 * - Access (./authorize.ts): bucket policies, ACLs, Block Public Access and Object Ownership are
 *   evaluated for the owner, other accounts and anonymous callers. Callers are account root users
 *   only (no IAM users, roles or identity policies); account-level Block Public Access
 *   (s3control), access points and e-mail grantees do not exist; policy condition keys are the
 *   ones listed in ./policy.ts, supplied by ./policy-keys.ts (others are refused as
 *   MalformedPolicy; s3:ExistingObjectTag/* reads the current version's tags, and tag keys in
 *   condition keys match without regard to case). An object an anonymous caller writes
 *   (public-read-write bucket) is owned by the bucket owner. Denials are always AccessDenied with
 *   no explanation of which policy denied. Object ACLs are per key, not per version (a version ID
 *   on Get/PutObjectAcl must name an existing version, and then the key's ACL is used).
 * - Lifecycle (./lifecycle.ts, ./lifecycle-rules.ts) runs on kumo's clock
 *   (../../runtime/clock.ts, advanced by `POST /_kumo/clock`; the advance is not kept across a
 *   restart), looked at every ten minutes rather than once a day; S3's timestamps come from that
 *   clock too. A transition only relabels the storage class (the bytes stay where they are; an
 *   archived class makes them unreadable until restored, as on S3). Bucket tags and transfer
 *   acceleration are stored and returned, not acted on (there are no edge locations). Website
 *   configuration is served on website hosts (./website.ts), over http on kumo's own port only.
 * - Encryption (./sse.ts, ./sse-c.ts, ./bucket-encryption.ts): SSE-S3 and SSE-KMS are labels
 *   (kumo has no KMS; those bytes are stored as they came, and a KMS key named by alias is
 *   answered as an alias ARN, not resolved to its key). SSE-C bytes are really encrypted
 *   (AES-256-CTR under the customer's key, only its MD5 kept) and are taken over plain http,
 *   which S3 refuses. An SSE-C multipart object has no full-object checksum (its parts are joined
 *   encrypted), so FULL_OBJECT checksums are NotImplemented on SSE-C uploads. SSE-C ETags are
 *   not the MD5 of the data, as on S3, but kumo's own derivation.
 * - Browser uploads (./post-object.ts): the fields before the file may total 20 KB; a form's
 *   Location and PostResponse name the object on kumo's own http endpoint. A policy is checked
 *   only when the form is signed (an unsigned form is an anonymous PUT).
 * - S3 Select (./select/): CSV and JSON (plain or gzip, scan ranges where S3 allows them) with
 *   the SQL subset of ./select/sql.ts; Parquet and BZIP2 are NotImplemented. Text that reads as a number compares as one
 *   with a number (S3 would want a CAST); the JSON output of an expression without a name is
 *   `_<position>`. An error found while records stream (a failed CAST) ends the stream with an
 *   error event after the records before it, as on S3.
 * - Server access logs (./access-logs.ts, ./access-log-format.ts) are delivered every few seconds
 *   (S3: within hours), kept in memory until then (best effort, as on S3: a kill -9 loses what was
 *   not delivered); the target bucket's permissions and TargetGrants are not checked or applied;
 *   PartitionedPrefix dates are the delivery's whatever PartitionDateSource says; the object-size
 *   field is the current version's size on GET, HEAD and PUT, else `-`; cipher suite and TLS
 *   version are always `-` (kumo speaks http).
 * - Object Lock (./object-lock.ts, ./object-lock-rules.ts): retention dates are kept to the
 *   millisecond as sent; a default retention in Years counts 365 days a year. MFA delete,
 *   conditional deletes (If-Match on DeleteObject) and directory buckets are refused
 *   (NotImplemented).
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
 *   the bytes before the answer; no whitespace keep-alive while it runs). Incomplete uploads are
 *   aborted only by a lifecycle rule; deleting a bucket aborts its incomplete uploads.
 *   ListMultipartUploads answers keys as stored even with encoding-type=url. A repeated
 *   CompleteMultipartUpload is answered the first one's result for as long as the object it made
 *   is the key's current one (S3 does not say for how long it remembers).
 * - A part sent without the checksum its upload was created with gets it computed by kumo rather
 *   than refused.
 * - Version IDs are 32 random URL-safe characters. ListObjectVersions answers all Version entries,
 *   then all DeleteMarker entries (AWS interleaves them; SDKs read them as two lists anyway).
 *   Deleting a version that does not exist succeeds and changes nothing.
 * - Storage classes are labels (every object is on the same disk). GLACIER and DEEP_ARCHIVE
 *   objects are unreadable until restored (./archive.ts); a restore takes the low end of S3's
 *   time for its tier (GLACIER: Expedited 1 minute, Standard 3 hours, Bulk 5 hours; DEEP_ARCHIVE:
 *   Standard 12 hours, Bulk 48 hours) on kumo's clock. Restores of type SELECT and OUTPOSTS are
 *   NotImplemented.
 * - Bucket replication, notifications, inventory, analytics, metrics and intelligent-tiering
 *   configurations are NotImplemented.
 * - Objects sent without a checksum get a full-object CRC64NVME, as on AWS. The XXHASH checksum
 *   family is NotImplemented; the others are verified and stored. PutObjectTagging does not
 *   insist on Content-MD5.
 */
import { join } from 'node:path';
import { loadModel } from '../../models/loader.js';
import type { S3Operations } from '../../models/generated/s3.js';
import { RestXmlCodec } from '../../protocol/rest-xml.js';
import { migrate, type Db } from '../../state/db.js';
import type { Commits } from '../../state/group-commit.js';
import type { Handler, Service } from '../service.js';
import { BlobStore } from './blobs.js';
import { InlineStore, inlineMigrations } from './inline-store.js';
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
import { BrowserUploads } from './post-object.js';
import { Lifecycle, withExpiration } from './lifecycle.js';
import { ObjectLocks, objectLockHandlers } from './object-lock.js';
import { selectHandlers } from './select/select-object.js';
import { restoreHandlers } from './archive.js';
import { AccessLogs, loggingHandlers } from './access-logs.js';
import { Clock } from '../../runtime/clock.js';

export const S3_NAMESPACE = 'http://s3.amazonaws.com/doc/2006-03-01/';

export interface S3Deps {
  db: Db;
  /** When a commit is on disk: blobs it stopped referencing are removed only then. */
  commits: Commits;
  dataDir: string;
  log?: (line: string) => void;
  /** Take Signature Version 2 where S3 still does (`KUMO_S3_SIGV2=off` turns it off). Default on. */
  sigV2?: boolean;
  /** kumo's clock: S3's timestamps and lifecycle run on it. Default: the system's. */
  clock?: Clock;
}

export function createS3Service(deps: S3Deps): Service {
  migrate(deps.db, 's3', s3Migrations);
  migrate(deps.db, 's3-data', [...multipartMigrations, versionMigrations, completedUploadsMigration, partIvMigration]);
  migrate(deps.db, 's3-access', accessMigrations);
  migrate(deps.db, 's3-inline', inlineMigrations);
  const store = new S3Store(deps.db);
  const uploads = new UploadStore(deps.db);
  const versions = new VersionStore(deps.db);
  const v = versioning(store, versions);
  const acc = new AccessStore(deps.db);
  const auth = new Authorizer(store, acc);
  const cors = new Cors(store, acc);
  const blobs = new BlobStore(join(deps.dataDir, 's3'), new InlineStore(deps.db), deps.commits);
  const removed = blobs.collectGarbage((id) => store.blobInUse(id) || uploads.blobInUse(id) || versions.blobInUse(id));
  if (removed > 0) deps.log?.(`s3: removed ${removed} unreferenced file(s) left by an interrupted run`);
  const encryptionOf = (bucket: string) => bucketEncryption(acc, bucket);
  const clock = deps.clock ?? new Clock();
  const locks = new ObjectLocks(acc);
  const lifecycle = new Lifecycle({ store, versions, uploads, acc, blobs, v, now: clock.now, log: deps.log ?? (() => {}) });
  const accessLogs = new AccessLogs(store, acc, blobs, v, clock.now, deps.log ?? (() => {}));
  const stopWatchingClock = clock.onAdvance(async () => {
    await lifecycle.catchUp();
    await accessLogs.deliver();
  });
  const table: { [K in keyof S3Operations]: Handler } = {
    ...bucketHandlers(store, versions, uploads, blobs, locks),
    ...objectHandlers(store, blobs, v, encryptionOf, locks),
    ...objectAttributesHandlers(store, v),
    ...listingHandlers(store),
    ...multipartHandlers(store, uploads, blobs, v, encryptionOf, locks),
    ...completeHandlers(store, uploads, blobs, v),
    ...multipartListingHandlers(store, uploads),
    ...copyHandlers(store, blobs, v, encryptionOf, locks),
    ...batchDeleteHandlers(store, blobs, v.remove, v.removeKeys),
    ...listingV1Handlers(store),
    ...versionHandlers(store, versions, locks),
    ...objectLockHandlers(store, versions, v, locks),
    ...selectHandlers(store, blobs, v),
    ...restoreHandlers(store, versions, v),
    ...loggingHandlers(store, acc),
    ...taggingHandlers(store, versions, v),
    ...bucketAccessHandlers(auth, v.find),
    ...corsHandlers(store, acc),
    ...bucketConfigHandlers(store, acc, () => lifecycle.wake()),
    ...bucketEncryptionHandlers(store, acc),
  };
  const handlers = onClock(withExpiration(guard(auth, table), lifecycle, store), clock);
  const codec = new RestXmlCodec(loadModel('s3-2006-03-01'), S3_NAMESPACE, { emptyPayload: S3Errors.missingRequestBody });
  const website = new Website(store, acc, handlers, codec);
  const authErrors = s3AuthErrors(deps.sigV2 ?? true);
  const browserUploads = new BrowserUploads(store, handlers, codec, (region) => authErrors.sigV2?.allowedIn(region) ?? false);
  return {
    name: 's3',
    signingName: 's3',
    codec,
    handlers,
    authErrors,
    global: true,
    beforeAuth: s3BeforeAuth(store, codec, cors, website, browserUploads),
    requestDone: (facts) => accessLogs.record(facts),
    start: () => {
      lifecycle.start();
      accessLogs.start();
    },
    reset: () => {
      store.forget();
      acc.forget();
      blobs.wipe();
    },
    close: async () => {
      stopWatchingClock();
      await lifecycle.close();
      await accessLogs.close();
    },
  };
}

/** Handlers stamp times from kumo's clock, which tests advance; the edge's is the system's. */
function onClock<T extends Record<string, Handler>>(handlers: T, clock: Clock): T {
  const out: Record<string, Handler> = {};
  for (const [op, handler] of Object.entries(handlers)) out[op] = (ctx, input) => handler({ ...ctx, now: clock.now }, input);
  return out as T;
}
