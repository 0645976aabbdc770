/**
 * Elastic Load Balancing v2 (query wire family): the operation table.
 *
 * Differences from AWS (foundation slice):
 * - Only target groups exist yet: no load balancers, listeners, rules or target registration,
 *   so LoadBalancerArns is always empty, DeleteTargetGroup never finds one in use, and
 *   DescribeTargetGroups with a LoadBalancerArn is always LoadBalancerNotFound.
 * - DescribeTargetGroups given several of LoadBalancerArn, TargetGroupArns and Names answers the
 *   groups that match all of them.
 * - Pagination markers are kumo's own opaque tokens.
 */
import { loadModel } from '../../models/loader.js';
import type { Elbv2Operations } from '../../models/generated/elbv2.js';
import { QueryCodec } from '../../protocol/query.js';
import { migrate, type Db } from '../../state/db.js';
import type { NetworkStore } from '../../state/network.js';
import type { TagStore } from '../../state/tags.js';
import type { Handler, Service } from '../service.js';
import { elbv2AuthErrors } from './errors.js';
import { Elbv2Store, elbv2Migrations } from './store.js';
import { targetGroupHandlers } from './target-groups.js';

export interface Elbv2Deps {
  db: Db;
  network: NetworkStore;
  tags: TagStore;
}

export function createElbv2Service(deps: Elbv2Deps): Service {
  migrate(deps.db, 'elbv2', elbv2Migrations);
  const store = new Elbv2Store(deps.db);
  const handlers: { [K in keyof Elbv2Operations]: Handler } = {
    ...targetGroupHandlers(store, deps.network, deps.tags),
  };
  return {
    name: 'elbv2',
    signingName: 'elasticloadbalancing',
    codec: new QueryCodec(loadModel('elasticloadbalancingv2-2015-12-01')),
    handlers,
    authErrors: elbv2AuthErrors,
  };
}
