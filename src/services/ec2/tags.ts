/**
 * CreateTags, DeleteTags, DescribeTags over every taggable EC2 resource. IDs are checked first:
 * a malformed ID is InvalidID, a well-formed one that does not exist is that type's NotFound;
 * then all tags are written in one transaction, so a bad request changes nothing.
 */
import type { Ec2Operations } from '../../models/generated/ec2.js';
import { checkDryRun } from '../../state/dry-run.js';
import { applyFilters, type Accessors } from '../../state/filters.js';
import { paginate } from '../../state/pagination.js';
import type { Scope } from '../../state/scope.js';
import type { Tag, TagRow } from '../../state/tags.js';
import { scopeOf, type OpHandler } from '../service.js';
import { Ec2Errors } from './errors.js';
import type { Ec2Store } from './store.js';
import { putTags, validateTags } from './tagging.js';

type Op<K extends keyof Ec2Operations> = OpHandler<Ec2Operations, K>;

const tagFilters: Accessors<TagRow & { Tags: Tag[] }> = {
  key: (t) => t.key,
  value: (t) => t.value,
  'resource-id': (t) => t.resourceId,
  'resource-type': (t) => t.resourceType,
};

export function tagHandlers(store: Ec2Store) {
  const resolve = (scope: Scope, ids: string[]) =>
    ids.map((id) => {
      const t = store.taggableFor(id);
      if (!t) throw Ec2Errors.invalidId(id);
      if (!t.exists(scope, id)) throw t.notFound(id);
      return { id, type: t.type };
    });

  const CreateTags: Op<'CreateTags'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    if (!input.Resources.length) throw Ec2Errors.missingParameter('ResourceId');
    if (!input.Tags.length) throw Ec2Errors.missingParameter('Tag');
    const targets = resolve(scope, input.Resources);
    const tags = validateTags(input.Tags);
    checkDryRun(input);
    store.transaction(() => {
      for (const t of targets) putTags(store, scope, t.id, t.type, tags);
    });
    return {};
  };

  const DeleteTags: Op<'DeleteTags'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    if (!input.Resources.length) throw Ec2Errors.missingParameter('ResourceId');
    const targets = resolve(scope, input.Resources);
    checkDryRun(input);
    store.transaction(() => {
      for (const t of targets) {
        if (input.Tags === undefined) store.tags.removeAll(scope, t.id);
        else store.tags.remove(scope, t.id, input.Tags.map((x) => ({ Key: x.Key ?? '', Value: x.Value })));
      }
    });
    return {};
  };

  const DescribeTags: Op<'DescribeTags'> = (ctx, input) => {
    checkDryRun(input);
    // Each row carries itself as its one tag, so `tag:<key>` filters work like everywhere else.
    const rows = store.tags.all(scopeOf(ctx)).map((r) => ({ ...r, Tags: [{ Key: r.key, Value: r.value }] }));
    const selected = applyFilters(rows, input.Filters, tagFilters);
    const page = paginate(selected, (t) => `${t.resourceId}\u0000${t.key}`, {
      maxResults: input.MaxResults,
      nextToken: input.NextToken,
      min: 5,
      max: 1000,
    });
    return {
      Tags: page.items.map((t) => ({ Key: t.key, Value: t.value, ResourceId: t.resourceId, ResourceType: t.resourceType })),
      NextToken: page.nextToken,
    };
  };

  return { CreateTags, DeleteTags, DescribeTags };
}
