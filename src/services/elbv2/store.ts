/** ELBv2's tables: target groups (keyed by ARN). Thin queries only. */
import type { Db, Migration } from '../../state/db.js';
import { ResourceTable, resourceTableSql } from '../../state/resources.js';

export interface TargetGroupRecord {
  TargetGroupArn: string;
  TargetGroupName: string;
  Protocol?: string;
  ProtocolVersion?: string;
  Port?: number;
  VpcId?: string;
  HealthCheckProtocol?: string;
  HealthCheckPort?: string;
  HealthCheckEnabled: boolean;
  HealthCheckIntervalSeconds: number;
  HealthCheckTimeoutSeconds: number;
  HealthyThresholdCount: number;
  UnhealthyThresholdCount: number;
  HealthCheckPath?: string;
  Matcher?: { HttpCode?: string; GrpcCode?: string };
  LoadBalancerArns: string[];
  TargetType: string;
  IpAddressType?: string;
}

export const elbv2Migrations: Migration[] = [{ version: 1, up: resourceTableSql('elbv2_target_groups') }];

export class Elbv2Store {
  readonly targetGroups: ResourceTable<TargetGroupRecord>;
  constructor(readonly db: Db) {
    this.targetGroups = new ResourceTable<TargetGroupRecord>(db, 'elbv2_target_groups');
  }
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }
}
