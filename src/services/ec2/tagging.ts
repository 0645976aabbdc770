/**
 * EC2 tag rules shared by CreateTags and every Create* that takes TagSpecifications: at most 50
 * tags per resource, keys 1–128 characters, values up to 256, no `aws:` prefix, and a
 * TagSpecification's ResourceType must be the one the operation creates.
 */
import type { Scope } from '../../state/scope.js';
import type { Tag } from '../../state/tags.js';
import { Ec2Errors } from './errors.js';
import type { Ec2Store } from './store.js';

export const MAX_TAGS = 50;

export interface TagSpecification {
  ResourceType?: string;
  Tags?: { Key?: string; Value?: string }[];
}

export function validateTags(tags: { Key?: string; Value?: string }[]): Tag[] {
  return tags.map((t) => {
    const key = t.Key;
    if (key === undefined || key.length === 0) throw Ec2Errors.invalidParameter('Tag key must not be empty.');
    if (key.length > 128) throw Ec2Errors.invalidParameter(`Tag key exceeds the maximum length of 128 characters: ${key.slice(0, 16)}...`);
    if (key.toLowerCase().startsWith('aws:')) {
      throw Ec2Errors.invalidParameter("Tag keys starting with 'aws:' are reserved for internal use");
    }
    const value = t.Value ?? '';
    if (value.length > 256) throw Ec2Errors.invalidParameter(`Tag value exceeds the maximum length of 256 characters for key ${key}.`);
    return { Key: key, Value: value };
  });
}

/** The tags the caller asked to put on a new resource of `resourceType`. */
export function tagsFromSpecifications(specs: TagSpecification[] | undefined, resourceType: string): Tag[] {
  const out: Tag[] = [];
  for (const spec of specs ?? []) {
    if (!spec.ResourceType) throw Ec2Errors.missingParameter('TagSpecification.ResourceType');
    if (spec.ResourceType !== resourceType) {
      throw Ec2Errors.invalidParameter(`'${spec.ResourceType}' is not a valid taggable resource type for this operation.`);
    }
    out.push(...validateTags(spec.Tags ?? []));
  }
  if (new Set(out.map((t) => t.Key)).size !== out.length) throw Ec2Errors.invalidParameter('Duplicate tag key in TagSpecifications.');
  if (out.length > MAX_TAGS) throw Ec2Errors.tagLimit();
  return out;
}

export function putTags(store: Ec2Store, scope: Scope, resourceId: string, resourceType: string, tags: Tag[]): void {
  if (tags.length === 0) return;
  const existing = new Set(store.tags.get(scope, resourceId).map((t) => t.Key));
  for (const t of tags) existing.add(t.Key);
  if (existing.size > MAX_TAGS) throw Ec2Errors.tagLimit();
  store.tags.put(scope, resourceId, resourceType, tags);
}
