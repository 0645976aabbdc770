/**
 * DHCP options sets: Create/Describe/Delete/AssociateDhcpOptions. Keys are AWS's five
 * (domain-name, domain-name-servers, ntp-servers, netbios-name-servers, netbios-node-type);
 * a set in use by a VPC cannot be deleted; associating `default` leaves a VPC without one.
 */
import type { Ec2Operations } from '../../../models/generated/ec2.js';
import { checkDryRun } from '../../../state/dry-run.js';
import { resourceId } from '../../../state/ids.js';
import type { DhcpOptionsRecord } from '../../../state/network.js';
import { scopeOf, type OpHandler } from '../../service.js';
import { Ec2Errors } from '../errors.js';
import { createRow, deleteKind, describeKind, lookup, pageAs, registerKind, type ResourceKind } from '../resource-kind.js';
import type { Ec2Store } from '../store.js';
import { tagsFromSpecifications } from '../tagging.js';
import { VPCS } from './vpcs.js';

type Op<K extends keyof Ec2Operations> = OpHandler<Ec2Operations, K>;

const KEYS = new Set(['domain-name', 'domain-name-servers', 'ntp-servers', 'netbios-name-servers', 'netbios-node-type']);
const MAX_SERVERS = 4;

export const DHCP_OPTIONS: ResourceKind<DhcpOptionsRecord> = {
  type: 'dhcp-options', prefix: 'dopt', id: (d) => d.DhcpOptionsId, table: (n) => n.dhcpOptions, idsParam: 'dhcpOptionsIds',
  notFound: Ec2Errors.dhcpNotFound,
  filters: {
    'dhcp-options-id': (d) => d.DhcpOptionsId,
    key: (d) => d.DhcpConfigurations.map((c) => c.Key),
    value: (d) => d.DhcpConfigurations.flatMap((c) => c.Values.map((v) => v.Value)),
    'owner-id': (d) => d.OwnerId,
  },
  blocksDelete: (d, store, scope) =>
    store.network.vpcs.list(scope).some((v) => v.DhcpOptionsId === d.DhcpOptionsId) ? Ec2Errors.dhcpInUse(d.DhcpOptionsId) : undefined,
};

export function dhcpOptionsHandlers(store: Ec2Store) {
  const { vpcs } = store.network;
  registerKind(store, DHCP_OPTIONS);

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
    const record: DhcpOptionsRecord = { DhcpOptionsId: resourceId('dopt'), OwnerId: ctx.account, DhcpConfigurations: configs };
    return { DhcpOptions: createRow(store, scopeOf(ctx), DHCP_OPTIONS, record, tags) };
  };

  const DescribeDhcpOptions: Op<'DescribeDhcpOptions'> = (ctx, input) =>
    pageAs('DhcpOptions', describeKind(store, ctx, DHCP_OPTIONS, input, input.DhcpOptionsIds));

  const DeleteDhcpOptions: Op<'DeleteDhcpOptions'> = (ctx, input) => deleteKind(store, ctx, DHCP_OPTIONS, input.DhcpOptionsId, input);

  const AssociateDhcpOptions: Op<'AssociateDhcpOptions'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    if (input.DhcpOptionsId !== 'default') lookup(store, scope, DHCP_OPTIONS, input.DhcpOptionsId);
    const vpc = lookup(store, scope, VPCS, input.VpcId);
    checkDryRun(input);
    vpcs.update(scope, vpc.VpcId, { ...vpc, DhcpOptionsId: input.DhcpOptionsId });
    return {};
  };

  return { CreateDhcpOptions, DescribeDhcpOptions, DeleteDhcpOptions, AssociateDhcpOptions };
}
