/**
 * Object tags: PutObjectTagging, GetObjectTagging, DeleteObjectTagging. Tags live in the object
 * version's attrs, so each version keeps its own; GET answers their count in x-amz-tagging-count.
 * The tag limits, and the x-amz-tagging header that writes carry, are in ./object-rules.ts.
 */
import type { S3Operations } from '../../models/generated/s3.js';
import { type OpHandler, type RequestContext } from '../service.js';
import { patchAttrs, type Versioning } from './commit.js';
import { checkTags, namedVersion, sortedTags, type Tag } from './object-rules.js';
import type { ObjectRow, S3Store } from './store.js';
import type { VersionStore } from './versions-store.js';

type Op<K extends keyof S3Operations> = OpHandler<S3Operations, K>;

export function taggingHandlers(store: S3Store, versions: VersionStore, v: Versioning) {
  /** The object version a tagging call names; a delete marker has no tags to touch. */
  const target = (ctx: RequestContext, bucket: string, key: string, versionId: string | undefined) => namedVersion(store, ctx, v.find, bucket, key, versionId);

  const setTags = (row: ObjectRow, tags: Tag[] | undefined) => patchAttrs(store, versions, row, { Tags: tags });

  const PutObjectTagging: Op<'PutObjectTagging'> = (ctx, input) => {
    const row = target(ctx, input.Bucket, input.Key, input.VersionId);
    const tags = checkTags((input.Tagging?.TagSet ?? []).map((t) => ({ Key: t.Key, Value: t.Value })));
    setTags(row, tags);
    return { VersionId: v.versionIdOf(row) };
  };

  const GetObjectTagging: Op<'GetObjectTagging'> = (ctx, input) => {
    const row = target(ctx, input.Bucket, input.Key, input.VersionId);
    return { VersionId: v.versionIdOf(row), TagSet: sortedTags(row.attrs.Tags ?? []) };
  };

  const DeleteObjectTagging: Op<'DeleteObjectTagging'> = (ctx, input) => {
    const row = target(ctx, input.Bucket, input.Key, input.VersionId);
    setTags(row, undefined);
    return { VersionId: v.versionIdOf(row) };
  };

  return { PutObjectTagging, GetObjectTagging, DeleteObjectTagging };
}
