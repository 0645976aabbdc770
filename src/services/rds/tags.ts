/**
 * ListTagsForResource, AddTagsToResource, RemoveTagsFromResource on the ARNs of DB instances
 * (`…:db:<id>`), DB subnet groups (`…:subgrp:<name>`) and DB snapshots (`…:snapshot:<id>`). RDS allows 50 tags a resource.
 */
import type { RdsOperations } from '../../models/generated/rds.js';
import type { Scope } from '../../state/scope.js';
import type { TagStore } from '../../state/tags.js';
import { scopeOf, type OpHandler, type RequestContext } from '../service.js';
import { RdsErrors } from './errors.js';
import type { RdsStore } from './store.js';

type Op<K extends keyof RdsOperations> = OpHandler<RdsOperations, K>;
const MAX_TAGS = 50;

export function tagHandlers(store: RdsStore, tags: TagStore) {
  /** The tagged resource named by an ARN of the caller's account and region, with its tag type. */
  const resourceOf = (ctx: RequestContext, arn: string): { scope: Scope; type: string } => {
    const m = /^arn:aws:rds:([a-z0-9-]+):(\d{12}):(db|subgrp|snapshot):(.+)$/.exec(arn ?? '');
    if (!m) throw RdsErrors.invalidParameter(`Invalid resource name: ${arn}`);
    const [, region, account, type, name] = m;
    const scope = scopeOf(ctx);
    if (region !== scope.region || account !== scope.account) throw RdsErrors.resourceNotFound(arn);
    const tables = {
      db: [store.instances, RdsErrors.instanceNotFound],
      subgrp: [store.subnetGroups, RdsErrors.subnetGroupNotFound],
      snapshot: [store.snapshots, RdsErrors.snapshotNotFound],
    } as const;
    const [table, notFound] = tables[type as keyof typeof tables];
    if (!table.get(scope, name!)) throw notFound(name!);
    return { scope, type: type! };
  };

  const ListTagsForResource: Op<'ListTagsForResource'> = (ctx, input) => {
    if (input.Filters?.length) throw RdsErrors.invalidParameter('Filters are not supported for ListTagsForResource.');
    const { scope } = resourceOf(ctx, input.ResourceName);
    return { TagList: tags.get(scope, input.ResourceName) };
  };

  const AddTagsToResource: Op<'AddTagsToResource'> = (ctx, input) => {
    const { scope, type } = resourceOf(ctx, input.ResourceName);
    const given = (input.Tags ?? []).map((t) => ({ Key: t.Key ?? '', Value: t.Value ?? '' }));
    for (const t of given) if (!t.Key || t.Key.length > 128 || t.Value.length > 256 || /^aws:/i.test(t.Key)) throw RdsErrors.invalidParameter(`Invalid tag key or value: ${t.Key}`);
    const merged = new Map(tags.get(scope, input.ResourceName).map((t) => [t.Key, t] as const));
    for (const t of given) merged.set(t.Key, t);
    if (merged.size > MAX_TAGS) throw RdsErrors.invalidParameter(`A resource can have at most ${MAX_TAGS} tags.`);
    store.transaction(() => tags.put(scope, input.ResourceName, type, given));
    return {};
  };

  const RemoveTagsFromResource: Op<'RemoveTagsFromResource'> = (ctx, input) => {
    const { scope } = resourceOf(ctx, input.ResourceName);
    store.transaction(() => tags.remove(scope, input.ResourceName, (input.TagKeys ?? []).map((Key) => ({ Key }))));
    return {};
  };

  return { ListTagsForResource, AddTagsToResource, RemoveTagsFromResource };
}
