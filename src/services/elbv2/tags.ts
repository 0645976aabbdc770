/**
 * AddTags, RemoveTags, DescribeTags over load balancers, target groups, listeners and rules (at
 * most 20 resources a call, 50 tags a resource). A resource that does not exist is its kind's
 * not-found error, as on AWS.
 */
import type { Scope } from '../../state/scope.js';
import type { TagStore } from '../../state/tags.js';
import { scopeOf } from '../service.js';
import { arnKind, listenerOf, loadBalancerOf, ruleOf, tagsOf, targetGroupOf, type Op } from './common.js';
import { Elbv2Errors } from './errors.js';
import type { Elbv2Store } from './store.js';

export function tagHandlers(store: Elbv2Store, tags: TagStore) {
  /** Checks every ARN names an existing resource; returns their kinds. */
  function resources(scope: Scope, arns: string[] | undefined): { arn: string; kind: string }[] {
    if (!arns?.length) throw Elbv2Errors.validation('At least one resource ARN must be specified');
    if (arns.length > 20) throw Elbv2Errors.validation('At most 20 resource ARNs can be specified');
    return arns.map((arn) => {
      const kind = arnKind(arn);
      if (kind === 'loadbalancer') loadBalancerOf(store, scope, arn);
      else if (kind === 'targetgroup') targetGroupOf(store, scope, arn);
      else if (kind === 'listener') listenerOf(store, scope, arn);
      else if (kind === 'listener-rule') ruleOf(store, scope, arn);
      else throw Elbv2Errors.validation(`'${arn}' is not a valid resource ARN`);
      return { arn, kind };
    });
  }

  const AddTags: Op<'AddTags'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const list = resources(scope, input.ResourceArns);
    const add = tagsOf(input.Tags);
    if (!add.length) throw Elbv2Errors.validation('At least one tag must be specified');
    for (const { arn } of list) {
      const keys = new Set([...tags.get(scope, arn).map((t) => t.Key), ...add.map((t) => t.Key)]);
      if (keys.size > 50) throw Elbv2Errors.tooManyTags();
    }
    store.transaction(() => {
      for (const { arn, kind } of list) tags.put(scope, arn, kind, add);
    });
    return {};
  };

  const RemoveTags: Op<'RemoveTags'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const list = resources(scope, input.ResourceArns);
    if (!input.TagKeys?.length) throw Elbv2Errors.validation('At least one tag key must be specified');
    store.transaction(() => {
      for (const { arn } of list) tags.remove(scope, arn, input.TagKeys.map((Key) => ({ Key })));
    });
    return {};
  };

  const DescribeTags: Op<'DescribeTags'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const list = resources(scope, input.ResourceArns);
    return { TagDescriptions: list.map(({ arn }) => ({ ResourceArn: arn, Tags: tags.get(scope, arn) })) };
  };

  return { AddTags, RemoveTags, DescribeTags };
}
