/**
 * Object tags: PutObjectTagging, GetObjectTagging, DeleteObjectTagging, and the x-amz-tagging
 * header of PUT, CreateMultipartUpload and CopyObject (a URL-encoded query string). Tags live in
 * the object version's attrs, so each version keeps its own; GET answers their count in
 * x-amz-tagging-count. AWS's limits: 10 tags, keys up to 128 and values up to 256 characters,
 * no duplicate keys, no keys in the reserved `aws:` namespace.
 */
import type { S3Operations } from '../../models/generated/s3.js';
import { type OpHandler, type RequestContext } from '../service.js';
import { ownedBucket } from './access.js';
import type { Versioning } from './commit.js';
import { S3DataErrors } from './data-errors.js';
import { S3Errors } from './errors.js';
import { checkKey } from './objects.js';
import type { ObjectRow, S3Store } from './store.js';
import { versionOf, type VersionStore } from './versions-store.js';

type Op<K extends keyof S3Operations> = OpHandler<S3Operations, K>;
export type Tag = { Key: string; Value: string };

export function checkTags(tags: Tag[]): Tag[] {
  if (tags.length > 10) throw S3DataErrors.invalidTag('Object tags cannot be greater than 10');
  const seen = new Set<string>();
  for (const t of tags) {
    if (seen.has(t.Key)) throw S3DataErrors.invalidTag('Cannot provide multiple Tags with the same key');
    seen.add(t.Key);
    if (t.Key.length === 0 || [...t.Key].length > 128) throw S3DataErrors.invalidTag('The TagKey you have provided is invalid');
    if ([...t.Value].length > 256) throw S3DataErrors.invalidTag('The TagValue you have provided is too long, max 256');
    if (t.Key.toLowerCase().startsWith('aws:')) throw S3DataErrors.invalidTag('Your TagKey cannot be prefixed with aws:');
  }
  return tags;
}

/** The x-amz-tagging header: `k1=v1&k2=v2`, URL-encoded. */
export function parseTaggingHeader(header: string | undefined): Tag[] | undefined {
  if (header === undefined) return undefined;
  const tags: Tag[] = [];
  for (const part of header.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    try {
      const k = decodeURIComponent((eq < 0 ? part : part.slice(0, eq)).replace(/\+/g, ' '));
      const v = eq < 0 ? '' : decodeURIComponent(part.slice(eq + 1).replace(/\+/g, ' '));
      tags.push({ Key: k, Value: v });
    } catch {
      throw S3DataErrors.badTagging();
    }
  }
  if (new Set(tags.map((t) => t.Key)).size !== tags.length) throw S3DataErrors.badTagging();
  return checkTags(tags);
}

export function taggingHandlers(store: S3Store, versions: VersionStore, v: Versioning) {
  /** The object version a tagging call names; a delete marker has no tags to touch. */
  function target(ctx: RequestContext, bucketName: string, key: string, versionId: string | undefined): ObjectRow {
    const bucket = ownedBucket(store, ctx, bucketName);
    checkKey(key);
    const found = v.find(bucket.name, key, versionId);
    if (found.marker) {
      if (versionId !== undefined) throw S3DataErrors.deleteMarkerMethod(found.marker.versionId, new Date(found.marker.lastModified));
      throw S3DataErrors.noSuchKeyMarker(key, found.marker.versionId);
    }
    if (!found.row) throw versionId !== undefined && versionId !== 'null' ? S3DataErrors.noSuchVersion(key, versionId) : S3Errors.noSuchKey(key);
    return found.row;
  }

  function setTags(row: ObjectRow, tags: Tag[] | undefined): void {
    store.transaction(() => {
      const current = store.object(row.bucket, row.key);
      const attrs = { ...row.attrs, Tags: tags };
      if (current && versionOf(current) === versionOf(row)) store.putObject({ ...current, attrs: { ...current.attrs, Tags: tags } });
      else versions.updateAttrs(row.bucket, row.key, versionOf(row), attrs);
    });
  }

  const PutObjectTagging: Op<'PutObjectTagging'> = (ctx, input) => {
    const row = target(ctx, input.Bucket, input.Key, input.VersionId);
    const tags = checkTags((input.Tagging?.TagSet ?? []).map((t) => ({ Key: t.Key, Value: t.Value })));
    setTags(row, tags);
    return { VersionId: v.versionIdOf(row) };
  };

  const GetObjectTagging: Op<'GetObjectTagging'> = (ctx, input) => {
    const row = target(ctx, input.Bucket, input.Key, input.VersionId);
    return { VersionId: v.versionIdOf(row), TagSet: row.attrs.Tags ?? [] };
  };

  const DeleteObjectTagging: Op<'DeleteObjectTagging'> = (ctx, input) => {
    const row = target(ctx, input.Bucket, input.Key, input.VersionId);
    setTags(row, undefined);
    return { VersionId: v.versionIdOf(row) };
  };

  return { PutObjectTagging, GetObjectTagging, DeleteObjectTagging };
}
