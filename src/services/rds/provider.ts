/**
 * Amazon RDS (query wire family): the operation table.
 *
 * Differences from AWS (foundation slice):
 * - Only DB subnet groups exist yet; no DB instances, so a group is never in use.
 * - DescribeDBSubnetGroups refuses Filters (AWS accepts the parameter but supports none).
 */
import { loadModel } from '../../models/loader.js';
import type { RdsOperations } from '../../models/generated/rds.js';
import { QueryCodec } from '../../protocol/query.js';
import { migrate, type Db } from '../../state/db.js';
import type { NetworkStore } from '../../state/network.js';
import type { TagStore } from '../../state/tags.js';
import type { Handler, Service } from '../service.js';
import { rdsAuthErrors } from './errors.js';
import { RdsStore, rdsMigrations } from './store.js';
import { subnetGroupHandlers } from './subnet-groups.js';

export interface RdsDeps {
  db: Db;
  network: NetworkStore;
  tags: TagStore;
}

export function createRdsService(deps: RdsDeps): Service {
  migrate(deps.db, 'rds', rdsMigrations);
  const store = new RdsStore(deps.db);
  const handlers: { [K in keyof RdsOperations]: Handler } = {
    ...subnetGroupHandlers(store, deps.network, deps.tags),
  };
  return {
    name: 'rds',
    signingName: 'rds',
    codec: new QueryCodec(loadModel('rds-2014-10-31')),
    handlers,
    authErrors: rdsAuthErrors,
  };
}
