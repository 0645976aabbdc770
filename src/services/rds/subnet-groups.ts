/**
 * CreateDBSubnetGroup, DescribeDBSubnetGroups, DeleteDBSubnetGroup. A group's subnets must exist,
 * share one VPC and span at least two availability zones; names are stored lower-cased, as RDS does.
 */
import type { RdsOperations } from '../../models/generated/rds.js';
import type { NetworkStore } from '../../state/network.js';
import { paginate } from '../../state/pagination.js';
import type { TagStore } from '../../state/tags.js';
import { scopeOf, type OpHandler } from '../service.js';
import { RdsErrors } from './errors.js';
import type { DbSubnetGroupRecord, RdsStore } from './store.js';

type Op<K extends keyof RdsOperations> = OpHandler<RdsOperations, K>;
const NAME = /^[A-Za-z0-9 ._-]{1,255}$/;

export function subnetGroupHandlers(store: RdsStore, network: NetworkStore, tags: TagStore) {
  const { subnetGroups } = store;

  const CreateDBSubnetGroup: Op<'CreateDBSubnetGroup'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const name = input.DBSubnetGroupName.toLowerCase();
    if (!NAME.test(name) || name === 'default') {
      throw RdsErrors.invalidParameter(
        `The parameter DBSubnetGroupName is not a valid identifier. Identifiers must be 1 to 255 letters, digits, spaces, periods, underscores or hyphens, and must not be "default".`,
      );
    }
    if (input.DBSubnetGroupDescription.length > 255) throw RdsErrors.invalidParameter('DBSubnetGroupDescription must be at most 255 characters.');
    if (subnetGroups.get(scope, name)) throw RdsErrors.subnetGroupExists(name);
    const ids = [...new Set(input.SubnetIds)];
    if (ids.length === 0) throw RdsErrors.invalidParameter('SubnetIds must contain at least one subnet.');
    const subnets = ids.map((id) => network.subnets.get(scope, id));
    const missing = ids.filter((_, i) => !subnets[i]);
    if (missing.length) throw RdsErrors.invalidSubnet(missing);
    const vpcs = new Set(subnets.map((s) => s!.VpcId));
    if (vpcs.size > 1) throw RdsErrors.subnetsInDifferentVpcs();
    const zones = [...new Set(subnets.map((s) => s!.AvailabilityZone))].sort();
    if (zones.length < 2) throw RdsErrors.notEnoughAzs(zones);
    const group: DbSubnetGroupRecord = {
      DBSubnetGroupName: name,
      DBSubnetGroupDescription: input.DBSubnetGroupDescription,
      VpcId: subnets[0]!.VpcId,
      SubnetGroupStatus: 'Complete',
      Subnets: subnets.map((s) => ({
        SubnetIdentifier: s!.SubnetId,
        SubnetAvailabilityZone: { Name: s!.AvailabilityZone },
        SubnetOutpost: {},
        SubnetStatus: 'Active',
      })),
      DBSubnetGroupArn: `arn:aws:rds:${ctx.region}:${ctx.account}:subgrp:${name}`,
      SupportedNetworkTypes: ['IPV4'],
    };
    store.transaction(() => {
      subnetGroups.insert(scope, name, group);
      tags.put(scope, group.DBSubnetGroupArn, 'subgrp', (input.Tags ?? []).map((t) => ({ Key: t.Key ?? '', Value: t.Value ?? '' })));
    });
    return { DBSubnetGroup: group };
  };

  const DescribeDBSubnetGroups: Op<'DescribeDBSubnetGroups'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    if (input.Filters?.length) throw RdsErrors.invalidParameter('Filters are not supported for DescribeDBSubnetGroups.');
    let all = subnetGroups.list(scope);
    if (input.DBSubnetGroupName) {
      const one = subnetGroups.get(scope, input.DBSubnetGroupName.toLowerCase());
      if (!one) throw RdsErrors.subnetGroupNotFound(input.DBSubnetGroupName);
      all = [one];
    }
    const page = paginate(all, (g) => g.DBSubnetGroupName, {
      maxResults: input.MaxRecords,
      nextToken: input.Marker,
      min: 20,
      max: 100,
      defaultSize: 100,
      param: 'MaxRecords',
    });
    return { DBSubnetGroups: page.items, Marker: page.nextToken };
  };

  const DeleteDBSubnetGroup: Op<'DeleteDBSubnetGroup'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const name = input.DBSubnetGroupName.toLowerCase();
    const group = subnetGroups.get(scope, name);
    if (!group) throw RdsErrors.subnetGroupNotFound(input.DBSubnetGroupName);
    if (store.instances.list(scope).some((i) => i.DBSubnetGroupName === name)) throw RdsErrors.invalidSubnetGroupState(name);
    store.transaction(() => {
      subnetGroups.delete(scope, name);
      tags.removeAll(scope, group.DBSubnetGroupArn);
    });
    return {};
  };

  return { CreateDBSubnetGroup, DescribeDBSubnetGroups, DeleteDBSubnetGroup };
}
