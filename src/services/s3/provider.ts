/**
 * Amazon S3 (rest-xml wire family): the operation table. Metadata lives in SQLite
 * (./store.ts, and ./access-store.ts for access and bucket configuration), bytes in files
 * (./blobs.ts); handlers by resource in ./buckets.ts, ./objects.ts, ./listing.ts,
 * ./bucket-access.ts, ./cors.ts and ./bucket-config.ts. Every handler runs inside ./authorize.ts's
 * guard, which decides access; the edge hands CORS preflights to ./cors.ts and website hosts to
 * ./website.ts.
 *
 * Differences from AWS (foundation slice):
 * - Access (./authorize.ts): bucket policies, ACLs, Block Public Access and Object Ownership are
 *   evaluated for the owner, other accounts and anonymous callers. Callers are account root users
 *   only (no IAM users, roles or identity policies); account-level Block Public Access
 *   (s3control), access points and e-mail grantees do not exist; policy condition keys are the
 *   ones listed in ./policy.ts (others are refused as MalformedPolicy); DeleteObjects is denied
 *   whole if any key is denied (AWS reports per key). An object an anonymous caller writes
 *   (public-read-write bucket) is owned by the bucket owner. Denials are always AccessDenied
 *   with no explanation of which policy denied.
 * - Lifecycle configuration and bucket tags are stored and returned, not acted on: nothing
 *   expires or transitions. Website configuration is served on website hosts (./website.ts), over
 *   http on kumo's own port only.
 * - Object tagging, versioning, multipart uploads, CopyObject, ListObjects (v1), SSE-C/KMS,
 *   object lock and directory buckets are refused (NotImplemented) or not yet served.
 * - Requests for a bucket in another region are served, not redirected.
 * - Without a checksum in the request, none is computed or stored (AWS now defaults to CRC64NVME).
 *   The XXHASH checksum family is NotImplemented; the others are verified and stored.
 */
import { join } from 'node:path';
import { loadModel } from '../../models/loader.js';
import type { S3Operations } from '../../models/generated/s3.js';
import { RestXmlCodec } from '../../protocol/rest-xml.js';
import { migrate, type Db } from '../../state/db.js';
import type { Handler, Service } from '../service.js';
import { BlobStore } from './blobs.js';
import { bucketHandlers } from './buckets.js';
import { s3AuthErrors } from './errors.js';
import { listingHandlers } from './listing.js';
import { objectHandlers } from './objects.js';
import { S3Store, s3Migrations } from './store.js';
import { AccessStore, accessMigrations } from './access-store.js';
import { Authorizer, guard } from './authorize.js';
import { bucketAccessHandlers } from './bucket-access.js';
import { bucketConfigHandlers } from './bucket-config.js';
import { Cors, corsHandlers } from './cors.js';
import { Website, websiteBucket } from './website.js';

export const S3_NAMESPACE = 'http://s3.amazonaws.com/doc/2006-03-01/';

export interface S3Deps {
  db: Db;
  dataDir: string;
  log?: (line: string) => void;
}

export function createS3Service(deps: S3Deps): Service {
  migrate(deps.db, 's3', s3Migrations);
  migrate(deps.db, 's3-access', accessMigrations);
  const store = new S3Store(deps.db);
  const acc = new AccessStore(deps.db);
  const auth = new Authorizer(store, acc);
  const cors = new Cors(store, acc);
  const blobs = new BlobStore(join(deps.dataDir, 's3'));
  const removed = blobs.collectGarbage((id) => store.blobInUse(id));
  if (removed > 0) deps.log?.(`s3: removed ${removed} unreferenced file(s) left by an interrupted run`);
  const table: { [K in keyof S3Operations]: Handler } = {
    ...bucketHandlers(store),
    ...objectHandlers(store, blobs),
    ...listingHandlers(store),
    ...bucketAccessHandlers(auth),
    ...corsHandlers(store, acc),
    ...bucketConfigHandlers(store, acc),
  };
  const handlers = guard(auth, table);
  const codec = new RestXmlCodec(loadModel('s3-2006-03-01'), S3_NAMESPACE);
  const website = new Website(store, acc, handlers, codec);
  return {
    name: 's3',
    signingName: 's3',
    codec,
    handlers,
    authErrors: s3AuthErrors,
    global: true,
    preflight: (req) => cors.preflight(req),
    responseHeaders: (req) => cors.responseHeaders(req),
    website: { bucketOf: websiteBucket, serve: (bucket, req, ctx) => website.serve(bucket, req, ctx) },
    reset: () => blobs.wipe(),
  };
}
