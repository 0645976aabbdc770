/**
 * DHCP options sets: Create/Describe/Delete/AssociateDhcpOptions. Keys are AWS's five
 * (domain-name, domain-name-servers, ntp-servers, netbios-name-servers, netbios-node-type);
 * a set in use by a VPC cannot be deleted; associating `default` leaves a VPC without one.
 */
import type { Ec2Operations } from '../../../models/generated/ec2.js';
import { checkDryRun } from '../../../state/dry-run.js';
import type { Accessors } from '../../../state/filters.js';
import { resourceId } from '../../../state/ids.js';
import type { DhcpOptionsRecord } from '../../../state/network.js';
import type { Tag } from '../../../state/tags.js';
import { scopeOf, type OpHandler } from '../../service.js';
import { describe, mustGet } from '../describe.js';
import { Ec2Errors } from '../errors.js';
import type { Ec2Store } from '../store.js';
import { putTags, tagsFromSpecifications } from '../tagging.js';

type Op<K extends keyof Ec2Operations> = OpHandler<Ec2Operations, K>;

const KEYS = new Set(['domain-name', 'domain-name-servers', 'ntp-servers', 'netbios-name-servers', 'netbios-node-type']);
const MAX_SERVERS = 4;

const dhcpFilters: Accessors<DhcpOptionsRecord & { Tags: Tag[] }> = {
  'dhcp-options-id': (d) => d.DhcpOptionsId,
  key: (d) => d.DhcpConfigurations.map((c) => c.Key),
  value: (d) => d.DhcpConfigurations.flatMap((c) => c.Values.map((v) => v.Value)),
  'owner-id': (d) => d.OwnerId,
};

export function dhcpOptionsHandlers(store: Ec2Store) {
  const { dhcpOptions, vpcs } = store.network;
  store.registerTaggable('dopt', {
    type: 'dhcp-options',
    exists: (scope, id) => dhcpOptions.get(scope, id) !== undefined,
    notFound: Ec2Errors.dhcpNotFound,
  });

  const CreateDhcpOptions: Op<'CreateDhcpOptions'> = (ctx, input) => {
    if (!input.DhcpConfigurations?.length) throw Ec2Errors.missingParameter('DhcpConfiguration');
    const configs: DhcpOptionsRecord['DhcpConfigurations'] = [];
    for (const c of input.DhcpConfigurations) {
      const key = c.Key ?? '';
      if (!KEYS.has(key)) throw Ec2Errors.invalidParameter(`Value (${key}) for parameter dhcpConfiguration.key is invalid.`);
      if (configs.some((x) => x.Key === key)) throw Ec2Errors.invalidParameter(`Duplicate DHCP configuration key: ${key}`);
      const values = c.Values ?? [];
      if (values.length === 0) throw Ec2Errors.missingParameter(`DhcpConfiguration.${key}.Value`);
      if (key !== 'domain-name' && key !== 'netbios-node-type' && values.length > MAX_SERVERS) {
        throw Ec2Errors.invalidParameter(`The number of values for ${key} exceeds ${MAX_SERVERS}.`);
      }
      if (key === 'netbios-node-type' && (values.length !== 1 || !['1', '2', '4', '8'].includes(values[0]))) {
        throw Ec2Errors.invalidParameter(`Value (${values.join(',')}) for parameter netbios-node-type is invalid.`);
      }
      configs.push({ Key: key, Values: values.map((Value) => ({ Value })) });
    }
    const tags = tagsFromSpecifications(input.TagSpecifications, 'dhcp-options');
    checkDryRun(input);
    const scope = scopeOf(ctx);
    const record: DhcpOptionsRecord = { DhcpOptionsId: resourceId('dopt'), OwnerId: ctx.account, DhcpConfigurations: configs };
    store.transaction(() => {
      dhcpOptions.insert(scope, record.DhcpOptionsId, record);
      putTags(store, scope, record.DhcpOptionsId, 'dhcp-options', tags);
    });
    return { DhcpOptions: { ...record, Tags: tags } };
  };

  const DescribeDhcpOptions: Op<'DescribeDhcpOptions'> = (ctx, input) => {
    checkDryRun(input);
    const scope = scopeOf(ctx);
    const page = describe(store, scope, 'dhcp-options', dhcpOptions.list(scope), (d) => d.DhcpOptionsId, dhcpFilters, {
      ids: input.DhcpOptionsIds,
      idsParam: 'dhcpOptionsIds',
      prefix: 'dopt',
      notFound: Ec2Errors.dhcpNotFound,
      filters: input.Filters,
      maxResults: input.MaxResults,
      nextToken: input.NextToken,
    });
    return { DhcpOptions: page.items, NextToken: page.nextToken };
  };

  const DeleteDhcpOptions: Op<'DeleteDhcpOptions'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const d = mustGet((id) => dhcpOptions.get(scope, id), input.DhcpOptionsId, 'dopt', Ec2Errors.dhcpNotFound);
    if (vpcs.list(scope).some((v) => v.DhcpOptionsId === d.DhcpOptionsId)) throw Ec2Errors.dhcpInUse(d.DhcpOptionsId);
    checkDryRun(input);
    store.transaction(() => {
      dhcpOptions.delete(scope, d.DhcpOptionsId);
      store.tags.removeAll(scope, d.DhcpOptionsId);
    });
    return {};
  };

  const AssociateDhcpOptions: Op<'AssociateDhcpOptions'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    if (input.DhcpOptionsId !== 'default') {
      mustGet((id) => dhcpOptions.get(scope, id), input.DhcpOptionsId, 'dopt', Ec2Errors.dhcpNotFound);
    }
    const vpc = mustGet((id) => vpcs.get(scope, id), input.VpcId, 'vpc', Ec2Errors.vpcNotFound, Ec2Errors.vpcMalformed);
    checkDryRun(input);
    vpcs.update(scope, vpc.VpcId, { ...vpc, DhcpOptionsId: input.DhcpOptionsId });
    return {};
  };

  return { CreateDhcpOptions, DescribeDhcpOptions, DeleteDhcpOptions, AssociateDhcpOptions };
}
