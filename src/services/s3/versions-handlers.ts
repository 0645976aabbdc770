/**
 * PutBucketVersioning, GetBucketVersioning and ListObjectVersions. A bucket starts unversioned;
 * once Enabled it can only be Suspended, never unversioned again (as on AWS). The version listing
 * merges the current objects (`s3_objects`) with the noncurrent versions and delete markers
 * (`s3_versions`), by key and then newest first; the first entry of each key is its latest.
 */
import type { S3Operations } from '../../models/generated/s3.js';
import { type OpHandler } from '../service.js';
import { ownedBucket, ownerOf } from './access.js';
import { S3DataErrors } from './data-errors.js';
import { S3Errors } from './errors.js';
import { listingArgs } from './listing.js';
import type { ObjectLocks } from './object-lock.js';
import { LockErrors } from './object-lock-rules.js';
import type { ObjectRow, S3Store } from './store.js';
import { versionOf, type VersionStore } from './versions-store.js';

type Op<K extends keyof S3Operations> = OpHandler<S3Operations, K>;

interface Entry {
  row: ObjectRow;
  versionId: string;
  marker: boolean;
}

/** Current objects and stored versions from `from` on, merged into listing order. */
function* merged(store: S3Store, versions: VersionStore, bucket: string, from: string): Generator<Entry> {
  const current = store.iterate(bucket, '', from);
  const older = versions.iterate(bucket, from);
  // Both statements must be closed when the caller stops early, or the connection stays busy.
  try {
    let c = current.next();
    let o = older.next();
    while (!c.done || !o.done) {
      if (!c.done && (o.done || c.value.key <= o.value.key)) {
        yield { row: c.value, versionId: versionOf(c.value), marker: false };
        c = current.next();
      } else if (!o.done) {
        yield { row: o.value, versionId: o.value.versionId, marker: o.value.deleteMarker };
        o = older.next();
      }
    }
  } finally {
    current.return(undefined);
    older.return(undefined);
  }
}

export function versionHandlers(store: S3Store, versions: VersionStore, locks: ObjectLocks) {
  const PutBucketVersioning: Op<'PutBucketVersioning'> = (ctx, input) => {
    const bucket = ownedBucket(store, ctx, input.Bucket);
    const config = input.VersioningConfiguration;
    if (input.MFA !== undefined || config?.MFADelete === 'Enabled') throw S3Errors.notImplementedHeader('x-amz-mfa');
    if (config?.MFADelete !== undefined && config.MFADelete !== 'Disabled') throw S3DataErrors.malformedXml();
    if (config?.Status !== 'Enabled' && config?.Status !== 'Suspended') throw S3DataErrors.malformedXml();
    if (config.Status !== 'Enabled' && locks.config(bucket.name)) throw LockErrors.versioningLocked();
    versions.setStatus(bucket.name, config.Status);
    return {};
  };

  const GetBucketVersioning: Op<'GetBucketVersioning'> = (ctx, input) => {
    const bucket = ownedBucket(store, ctx, input.Bucket);
    return { Status: versions.status(bucket.name) };
  };

  const ListObjectVersions: Op<'ListObjectVersions'> = (ctx, input) => {
    const bucket = ownedBucket(store, ctx, input.Bucket);
    const { max, limit, prefix, delimiter, enc } = listingArgs(input, input.MaxKeys);
    if (input.VersionIdMarker && !input.KeyMarker) {
      throw S3Errors.invalidArgument('A version-id marker cannot be specified without a key marker.', 'version-id-marker', input.VersionIdMarker);
    }
    const keyMarker = input.KeyMarker ?? '';
    const owner = ownerOf(bucket.account);
    const list: NonNullable<S3Operations['ListObjectVersions']['output']['Versions']> = [];
    const markers: NonNullable<S3Operations['ListObjectVersions']['output']['DeleteMarkers']> = [];
    const prefixes: string[] = [];
    let truncated = false;
    let nextKey = '';
    let nextVersion: string | undefined;
    let lastKey: string | undefined;
    let passedMarker = false;
    for (const e of limit === 0 ? [] : merged(store, versions, bucket.name, prefix > keyMarker ? prefix : keyMarker)) {
      const key = e.row.key;
      if (!key.startsWith(prefix)) break;
      const latest = key !== lastKey;
      lastKey = key;
      // Past the key marker's versions, or (with a version-id marker) past that one version.
      if (key === keyMarker) {
        if (!input.VersionIdMarker) continue;
        if (!passedMarker) {
          passedMarker = e.versionId === input.VersionIdMarker;
          continue;
        }
      }
      let common: string | undefined;
      if (delimiter) {
        const i = key.indexOf(delimiter, prefix.length);
        if (i >= 0) common = key.slice(0, i + delimiter.length);
      }
      if (common !== undefined && (prefixes[prefixes.length - 1] === common || (keyMarker && common <= keyMarker))) continue;
      if (list.length + markers.length + prefixes.length >= limit) {
        truncated = true;
        break;
      }
      if (common !== undefined) {
        prefixes.push(common);
        nextKey = common;
        nextVersion = undefined;
        continue;
      }
      nextKey = key;
      nextVersion = e.versionId;
      if (e.marker) {
        markers.push({ Owner: owner, Key: enc(key), VersionId: e.versionId, IsLatest: latest, LastModified: e.row.lastModified });
      } else {
        list.push({
          ETag: e.row.etag,
          Size: e.row.size,
          StorageClass: e.row.attrs.StorageClass ?? 'STANDARD',
          Key: enc(key),
          VersionId: e.versionId,
          IsLatest: latest,
          LastModified: e.row.lastModified,
          Owner: owner,
          ChecksumAlgorithm: e.row.attrs.Checksum ? [e.row.attrs.Checksum.algorithm] : undefined,
        });
      }
    }
    return {
      Name: bucket.name,
      Prefix: enc(prefix),
      KeyMarker: enc(keyMarker),
      VersionIdMarker: input.VersionIdMarker ?? '',
      NextKeyMarker: truncated ? enc(nextKey) : undefined,
      NextVersionIdMarker: truncated ? nextVersion : undefined,
      MaxKeys: max,
      Delimiter: delimiter !== undefined ? enc(delimiter) : undefined,
      EncodingType: input.EncodingType,
      IsTruncated: truncated,
      Versions: list,
      DeleteMarkers: markers,
      CommonPrefixes: prefixes.map((p) => ({ Prefix: enc(p) })),
    };
  };

  return { PutBucketVersioning, GetBucketVersioning, ListObjectVersions };
}
