/**
 * Network ACLs: Create/Describe/DeleteNetworkAcl, Create/Replace/DeleteNetworkAclEntry and
 * ReplaceNetworkAclAssociation. Every subnet is associated with exactly one ACL (its VPC's
 * default one at creation). A default ACL allows everything (rule 100) and cannot be deleted; a
 * new custom ACL denies everything (only the `*` rules, shown as 32767). Entries are numbered
 * 1–32766 per direction, at most 20 per direction.
 */
import ipaddr from 'ipaddr.js';
import type { Ec2Operations } from '../../../models/generated/ec2.js';
import { AwsError } from '../../../protocol/errors.js';
import { parseCidr4 } from '../../../lib/cidr.js';
import { checkDryRun } from '../../../state/dry-run.js';
import { resourceId } from '../../../state/ids.js';
import type { NetworkAclEntryRecord, NetworkAclRecord } from '../../../state/network.js';
import type { Scope } from '../../../state/scope.js';
import type { Tag } from '../../../state/tags.js';
import { scopeOf, type OpHandler } from '../../service.js';
import { Ec2Errors } from '../errors.js';
import { createRow, deleteKind, describeKind, lookup, pageAs, registerKind, type ResourceKind } from '../resource-kind.js';
import type { Ec2Store } from '../store.js';
import { tagsFromSpecifications } from '../tagging.js';
import { ACL_CATCH_ALL, newNetworkAcl } from './vpc-network.js';
import { VPCS } from './vpcs.js';

type Op<K extends keyof Ec2Operations> = OpHandler<Ec2Operations, K>;
type Shown = NetworkAclRecord & { Tags: Tag[] };
type EntryInput = Ec2Operations['CreateNetworkAclEntry']['input'];

const MAX_ENTRIES_PER_DIRECTION = 20;
const PROTOCOL_NAMES: Record<string, string> = { all: '-1', tcp: '6', udp: '17', icmp: '1', icmpv6: '58' };

function sortEntries(list: NetworkAclEntryRecord[]): NetworkAclEntryRecord[] {
  return [...list].sort((a, b) => Number(b.Egress) - Number(a.Egress) || a.RuleNumber - b.RuleNumber);
}

const entries = (a: Shown) => a.Entries;
const present = (a: Shown) => ({ ...a, Entries: sortEntries(a.Entries) });

export const NETWORK_ACLS: ResourceKind<NetworkAclRecord, Shown, ReturnType<typeof present>> = {
  type: 'network-acl', prefix: 'acl', id: (a) => a.NetworkAclId, table: (n) => n.networkAcls, idsParam: 'networkAclIds',
  notFound: Ec2Errors.aclNotFound,
  columns: { 'vpc-id': 'VpcId', 'network-acl-id': 'NetworkAclId' },
  filters: {
    'network-acl-id': (a) => a.NetworkAclId,
    'vpc-id': (a) => a.VpcId,
    'owner-id': (a) => a.OwnerId,
    default: (a) => a.IsDefault,
    'association.association-id': (a) => a.Associations.map((x) => x.NetworkAclAssociationId),
    'association.network-acl-id': (a) => a.Associations.map((x) => x.NetworkAclId),
    'association.subnet-id': (a) => a.Associations.map((x) => x.SubnetId),
    'entry.cidr': (a) => entries(a).map((e) => e.CidrBlock),
    'entry.ipv6-cidr': (a) => entries(a).map((e) => e.Ipv6CidrBlock),
    'entry.egress': (a) => entries(a).map((e) => e.Egress),
    'entry.icmp.code': (a) => entries(a).map((e) => e.IcmpTypeCode?.Code),
    'entry.icmp.type': (a) => entries(a).map((e) => e.IcmpTypeCode?.Type),
    'entry.port-range.from': (a) => entries(a).map((e) => e.PortRange?.From),
    'entry.port-range.to': (a) => entries(a).map((e) => e.PortRange?.To),
    'entry.protocol': (a) => entries(a).map((e) => e.Protocol),
    'entry.rule-action': (a) => entries(a).map((e) => e.RuleAction),
    'entry.rule-number': (a) => entries(a).map((e) => e.RuleNumber),
  },
  view: present,
  blocksDelete: (a) => (a.IsDefault ? Ec2Errors.aclDefaultDelete(a.NetworkAclId) : a.Associations.length ? Ec2Errors.aclInUse(a.NetworkAclId) : undefined),
};

/** Validates one entry request into the stored form. */
function entryOf(input: EntryInput): NetworkAclEntryRecord {
  const n = input.RuleNumber;
  if (!Number.isInteger(n) || n < 1 || n > ACL_CATCH_ALL - 1) {
    throw Ec2Errors.invalidParameter(`Value (${n}) for parameter ruleNumber is invalid. It must be between 1 and ${ACL_CATCH_ALL - 1}.`);
  }
  const rawProto = String(input.Protocol ?? '').toLowerCase();
  const protocol = PROTOCOL_NAMES[rawProto] ?? rawProto;
  if (protocol !== '-1' && !(/^[0-9]{1,3}$/.test(protocol) && Number(protocol) <= 255)) {
    throw Ec2Errors.invalidParameter(`Value (${input.Protocol}) for parameter protocol is invalid.`);
  }
  const proto = protocol === '-1' ? '-1' : String(Number(protocol));
  if (input.RuleAction !== 'allow' && input.RuleAction !== 'deny') {
    throw Ec2Errors.invalidParameter(`Value (${input.RuleAction}) for parameter ruleAction is invalid. It must be allow or deny.`);
  }
  if ((input.CidrBlock === undefined) === (input.Ipv6CidrBlock === undefined)) {
    throw Ec2Errors.invalidCombination('Exactly one of CidrBlock or Ipv6CidrBlock must be specified.');
  }
  const entry: NetworkAclEntryRecord = { RuleNumber: n, Egress: input.Egress, Protocol: proto, RuleAction: input.RuleAction };
  if (input.CidrBlock !== undefined) {
    const c = parseCidr4(input.CidrBlock);
    if (!c) throw Ec2Errors.invalidCidr(input.CidrBlock);
    entry.CidrBlock = c.text;
  } else {
    if (!ipaddr.IPv6.isValidCIDR(input.Ipv6CidrBlock!)) throw Ec2Errors.invalidCidr(input.Ipv6CidrBlock!, 'ipv6CidrBlock');
    const [addr, prefix] = ipaddr.IPv6.parseCIDR(input.Ipv6CidrBlock!);
    entry.Ipv6CidrBlock = `${addr.toString()}/${prefix}`;
  }
  if (proto === '6' || proto === '17') {
    const from = input.PortRange?.From;
    const to = input.PortRange?.To;
    if (from === undefined || to === undefined) throw Ec2Errors.missingParameter('portRange');
    if (from < 0 || to > 65535 || from > to) throw Ec2Errors.invalidParameter(`Invalid port range: ${from}-${to}`);
    entry.PortRange = { From: from, To: to };
  }
  if (proto === '1' || proto === '58') {
    const t = input.IcmpTypeCode;
    if (t?.Type === undefined || t.Code === undefined) throw Ec2Errors.missingParameter('icmpTypeCode');
    if (t.Type < -1 || t.Type > 255 || t.Code < -1 || t.Code > 255) throw Ec2Errors.invalidParameter(`Invalid ICMP type/code: ${t.Type}/${t.Code}`);
    entry.IcmpTypeCode = { Type: t.Type, Code: t.Code };
  }
  return entry;
}

export function networkAclHandlers(store: Ec2Store) {
  const { networkAcls } = store.network;
  registerKind(store, NETWORK_ACLS);
  const aclOf = (scope: Scope, id: string) => lookup(store, scope, NETWORK_ACLS, id);

  const CreateNetworkAcl: Op<'CreateNetworkAcl'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const vpc = lookup(store, scope, VPCS, input.VpcId);
    const tags = tagsFromSpecifications(input.TagSpecifications, 'network-acl');
    checkDryRun(input);
    const acl = createRow(store, scope, NETWORK_ACLS, newNetworkAcl(vpc, false), tags);
    return { NetworkAcl: present(acl), ClientToken: input.ClientToken };
  };

  const DescribeNetworkAcls: Op<'DescribeNetworkAcls'> = (ctx, input) =>
    pageAs('NetworkAcls', describeKind(store, ctx, NETWORK_ACLS, input, input.NetworkAclIds));

  const DeleteNetworkAcl: Op<'DeleteNetworkAcl'> = (ctx, input) => deleteKind(store, ctx, NETWORK_ACLS, input.NetworkAclId, input);

  const CreateNetworkAclEntry: Op<'CreateNetworkAclEntry'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const acl = aclOf(scope, input.NetworkAclId);
    const entry = entryOf(input);
    const sameSide = acl.Entries.filter((e) => e.Egress === entry.Egress);
    if (sameSide.some((e) => e.RuleNumber === entry.RuleNumber)) throw Ec2Errors.aclEntryExists(entry.RuleNumber);
    if (sameSide.filter((e) => e.RuleNumber !== ACL_CATCH_ALL).length >= MAX_ENTRIES_PER_DIRECTION) {
      throw new AwsError('NetworkAclEntryLimitExceeded', `The maximum number of entries (${MAX_ENTRIES_PER_DIRECTION}) per direction has been reached.`, 400);
    }
    checkDryRun(input);
    networkAcls.update(scope, acl.NetworkAclId, { ...acl, Entries: [...acl.Entries, entry] });
    return {};
  };

  const ReplaceNetworkAclEntry: Op<'ReplaceNetworkAclEntry'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const acl = aclOf(scope, input.NetworkAclId);
    const entry = entryOf(input);
    const existing = acl.Entries.find((e) => e.Egress === entry.Egress && e.RuleNumber === entry.RuleNumber);
    if (!existing) throw Ec2Errors.aclEntryNotFound(entry.RuleNumber, entry.Egress, acl.NetworkAclId);
    checkDryRun(input);
    networkAcls.update(scope, acl.NetworkAclId, { ...acl, Entries: acl.Entries.map((e) => (e === existing ? entry : e)) });
    return {};
  };

  const DeleteNetworkAclEntry: Op<'DeleteNetworkAclEntry'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const acl = aclOf(scope, input.NetworkAclId);
    if (input.RuleNumber === ACL_CATCH_ALL) throw Ec2Errors.invalidParameter(`The rule number ${ACL_CATCH_ALL} is reserved and cannot be deleted.`);
    const existing = acl.Entries.find((e) => e.Egress === input.Egress && e.RuleNumber === input.RuleNumber);
    if (!existing) throw Ec2Errors.aclEntryNotFound(input.RuleNumber, input.Egress, acl.NetworkAclId);
    checkDryRun(input);
    networkAcls.update(scope, acl.NetworkAclId, { ...acl, Entries: acl.Entries.filter((e) => e !== existing) });
    return {};
  };

  const ReplaceNetworkAclAssociation: Op<'ReplaceNetworkAclAssociation'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const from = networkAcls.list(scope).find((a) => a.Associations.some((x) => x.NetworkAclAssociationId === input.AssociationId));
    if (!from) throw Ec2Errors.associationNotFound(input.AssociationId);
    const to = aclOf(scope, input.NetworkAclId);
    if (to.VpcId !== from.VpcId) {
      throw Ec2Errors.invalidParameter(`Network ACL ${to.NetworkAclId} and association ${input.AssociationId} belong to different networks`);
    }
    const association = from.Associations.find((x) => x.NetworkAclAssociationId === input.AssociationId)!;
    checkDryRun(input);
    const moved = { NetworkAclAssociationId: resourceId('aclassoc'), NetworkAclId: to.NetworkAclId, SubnetId: association.SubnetId };
    store.transaction(() => {
      const fresh = networkAcls.get(scope, from.NetworkAclId)!;
      networkAcls.update(scope, from.NetworkAclId, { ...fresh, Associations: fresh.Associations.filter((x) => x.NetworkAclAssociationId !== input.AssociationId) });
      const target = networkAcls.get(scope, to.NetworkAclId)!;
      networkAcls.update(scope, to.NetworkAclId, { ...target, Associations: [...target.Associations, moved] });
    });
    return { NewAssociationId: moved.NetworkAclAssociationId };
  };

  return {
    CreateNetworkAcl,
    DescribeNetworkAcls,
    DeleteNetworkAcl,
    CreateNetworkAclEntry,
    ReplaceNetworkAclEntry,
    DeleteNetworkAclEntry,
    ReplaceNetworkAclAssociation,
  };
}
