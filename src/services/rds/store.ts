/** RDS's tables: DB subnet groups (keyed by lower-cased name). Thin queries only. */
import type { Db, Migration } from '../../state/db.js';
import { ResourceTable, resourceTableSql } from '../../state/resources.js';

export interface DbSubnetGroupRecord {
  DBSubnetGroupName: string;
  DBSubnetGroupDescription: string;
  VpcId: string;
  SubnetGroupStatus: string;
  Subnets: { SubnetIdentifier: string; SubnetAvailabilityZone: { Name: string }; SubnetOutpost: Record<string, never>; SubnetStatus: string }[];
  DBSubnetGroupArn: string;
  SupportedNetworkTypes: string[];
}

export const rdsMigrations: Migration[] = [{ version: 1, up: resourceTableSql('rds_subnet_groups') }];

export class RdsStore {
  readonly subnetGroups: ResourceTable<DbSubnetGroupRecord>;
  constructor(readonly db: Db) {
    this.subnetGroups = new ResourceTable<DbSubnetGroupRecord>(db, 'rds_subnet_groups');
  }
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }
}
