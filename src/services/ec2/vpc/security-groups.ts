/**
 * Security groups: Create/Describe/DeleteSecurityGroup. Names are unique per VPC, `default` is
 * reserved for the group every VPC is born with, and `sg-*` names are refused; a call without
 * VpcId (and GroupName lookups) means the default VPC, as in AWS. A group that another group's
 * rules reference, or that a network interface carries, cannot be deleted. Rules are in ./security-group-rules.ts.
 */
import type { Ec2Operations } from '../../../models/generated/ec2.js';
import { AwsError } from '../../../protocol/errors.js';
import { checkDryRun } from '../../../state/dry-run.js';
import type { Accessors } from '../../../state/filters.js';
import type { SecurityGroupRecord } from '../../../state/network.js';
import type { Scope } from '../../../state/scope.js';
import type { Tag } from '../../../state/tags.js';
import { scopeOf, type OpHandler } from '../../service.js';
import { Ec2Errors } from '../errors.js';
import { createRow, deleteRow, describeKind, lookup, pageAs, registerKind, type ResourceKind } from '../resource-kind.js';
import { wellFormed, type Ec2Store } from '../store.js';
import { tagsFromSpecifications } from '../tagging.js';
import { findPrefixList } from './prefix-list-data.js';
import { permissionsFromRules, type GroupResolver } from './security-group-permissions.js';
import { newSecurityGroup } from './vpc-network.js';
import { VPCS } from './vpcs.js';

type Op<K extends keyof Ec2Operations> = OpHandler<Ec2Operations, K>;
type Shown = SecurityGroupRecord & { Tags: Tag[] };

const NAME = /^[a-zA-Z0-9. _\-:/()#,@[\]+=&;{}!$*]{1,255}$/;

const rulesOf = (g: Shown, egress: boolean) => g.Rules.filter((r) => r.IsEgress === egress);
const permissionFilters = (egress: boolean): Accessors<Shown> => {
  const prefix = egress ? 'egress.ip-permission.' : 'ip-permission.';
  return {
    [`${prefix}cidr`]: (g) => rulesOf(g, egress).map((r) => r.CidrIpv4),
    [`${prefix}ipv6-cidr`]: (g) => rulesOf(g, egress).map((r) => r.CidrIpv6),
    [`${prefix}prefix-list-id`]: (g) => rulesOf(g, egress).map((r) => r.PrefixListId),
    [`${prefix}from-port`]: (g) => rulesOf(g, egress).map((r) => r.FromPort),
    [`${prefix}to-port`]: (g) => rulesOf(g, egress).map((r) => r.ToPort),
    [`${prefix}protocol`]: (g) => rulesOf(g, egress).map((r) => r.IpProtocol),
    [`${prefix}group-id`]: (g) => rulesOf(g, egress).map((r) => r.ReferencedGroupId),
    [`${prefix}user-id`]: (g) => rulesOf(g, egress).filter((r) => r.ReferencedGroupId).map(() => g.OwnerId),
  };
};

export function defaultVpcId(store: Ec2Store, scope: Scope): string | undefined {
  return store.network.vpcs.list(scope).find((v) => v.IsDefault)?.VpcId;
}

export function presentGroup(g: Shown) {
  const { Rules, ...rest } = g;
  return {
    ...rest,
    IpPermissions: permissionsFromRules(Rules.filter((r) => !r.IsEgress), g.OwnerId),
    IpPermissionsEgress: permissionsFromRules(Rules.filter((r) => r.IsEgress), g.OwnerId),
  };
}

export const SECURITY_GROUPS: ResourceKind<SecurityGroupRecord, Shown, ReturnType<typeof presentGroup>> = {
  type: 'security-group', prefix: 'sg', id: (g) => g.GroupId, table: (n) => n.securityGroups, idsParam: 'groupIds',
  notFound: Ec2Errors.sgNotFound, malformed: Ec2Errors.sgMalformed,
  columns: { 'vpc-id': 'VpcId', 'group-id': 'GroupId', 'group-name': 'GroupName' },
  filters: {
    description: (g) => g.Description,
    'group-id': (g) => g.GroupId,
    'group-name': (g) => g.GroupName,
    'owner-id': (g) => g.OwnerId,
    'vpc-id': (g) => g.VpcId,
    ...permissionFilters(false),
    ...permissionFilters(true),
  },
  view: presentGroup,
  blocksDelete: (sg, store, scope) => {
    if (sg.GroupName === 'default') return Ec2Errors.sgDefaultDelete(sg.GroupId);
    const referenced = store.network.securityGroups
      .list(scope)
      .some((g) => g.GroupId !== sg.GroupId && g.Rules.some((r) => r.ReferencedGroupId === sg.GroupId));
    const onInterface = store.network.networkInterfaces.list(scope).some((e) => e.GroupIds.includes(sg.GroupId));
    return referenced || onInterface ? Ec2Errors.sgInUse(sg.GroupId) : undefined;
  },
  // Rules carry their own tags.
  cleanup: (sg, store, scope) => {
    for (const r of sg.Rules) store.tags.removeAll(scope, r.SecurityGroupRuleId);
  },
};

/** Finds groups for rules and lookups; references must stay inside one VPC. */
export function groupResolver(store: Ec2Store, scope: Scope, account: string): GroupResolver {
  const groups = store.network.securityGroups;
  return {
    account,
    byId(id, vpcId) {
      const g = lookup(store, scope, SECURITY_GROUPS, id);
      if (g.VpcId !== vpcId) throw new AwsError('InvalidGroup.NotFound', `You have specified two resources that belong to different networks.`, 400);
      return g;
    },
    byName(name, vpcId) {
      const g = groups.listWhere(scope, 'VpcId', [vpcId]).find((x) => x.GroupName === name);
      if (!g) throw Ec2Errors.sgNameNotFound(name, vpcId);
      return g;
    },
    prefixList: (id) => findPrefixList(store, scope, id),
  };
}

/** A group named by GroupId, or by GroupName in the default VPC (the EC2 API's rule). */
export function targetGroup(store: Ec2Store, scope: Scope, groupId: string | undefined, groupName: string | undefined): SecurityGroupRecord {
  const groups = store.network.securityGroups;
  if (groupId) return lookup(store, scope, SECURITY_GROUPS, groupId);
  if (!groupName) throw Ec2Errors.missingParameter('GroupId');
  const vpcId = defaultVpcId(store, scope);
  const g = vpcId ? groups.listWhere(scope, 'VpcId', [vpcId]).find((x) => x.GroupName === groupName) : undefined;
  if (!g) throw Ec2Errors.sgNameNotFound(groupName);
  return g;
}

export function securityGroupHandlers(store: Ec2Store) {
  const { securityGroups } = store.network;
  registerKind(store, SECURITY_GROUPS);

  const CreateSecurityGroup: Op<'CreateSecurityGroup'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const name = input.GroupName ?? '';
    if (!name) throw Ec2Errors.missingParameter('GroupName');
    if (input.Description === undefined) throw Ec2Errors.missingParameter('GroupDescription');
    if (!NAME.test(name)) throw Ec2Errors.invalidParameter(`Value (${name}) for parameter GroupName is invalid. Character sets beyond ASCII are not supported.`);
    if (/^sg-/i.test(name)) throw Ec2Errors.invalidParameter(`Group names may not be in the format sg-*.`);
    if (!NAME.test(input.Description)) {
      throw Ec2Errors.invalidParameter(`Value (${input.Description}) for parameter GroupDescription is invalid. Character sets beyond ASCII are not supported.`);
    }
    const vpcId = input.VpcId ?? defaultVpcId(store, scope);
    if (!vpcId) throw new AwsError('VPCIdNotSpecified', 'No default VPC for this user', 400);
    const vpc = lookup(store, scope, VPCS, vpcId);
    if (name === 'default') throw Ec2Errors.sgReserved();
    if (securityGroups.listWhere(scope, 'VpcId', [vpc.VpcId]).some((g) => g.GroupName === name)) throw Ec2Errors.sgDuplicate(name, vpc.VpcId);
    const tags = tagsFromSpecifications(input.TagSpecifications, 'security-group');
    checkDryRun(input);
    const sg = createRow(store, scope, SECURITY_GROUPS, newSecurityGroup(vpc, name, input.Description), tags);
    return { GroupId: sg.GroupId, Tags: tags.length ? tags : undefined };
  };

  const DescribeSecurityGroups: Op<'DescribeSecurityGroups'> = (ctx, input) =>
    pageAs('SecurityGroups', describeKind(store, ctx, SECURITY_GROUPS, input, input.GroupIds, {
      rows: (scope) => {
        let rows = securityGroups.list(scope);
        if (input.GroupNames?.length) {
          // Names are looked up in the default VPC only.
          const vpcId = defaultVpcId(store, scope);
          const chosen = input.GroupNames.map((n) => {
            const g = rows.find((x) => x.VpcId === vpcId && x.GroupName === n);
            if (!g) throw Ec2Errors.sgNameNotFound(n);
            return g;
          });
          rows = [...new Set(chosen)];
        }
        // A malformed GroupId is refused as such even alongside MaxResults.
        for (const id of input.GroupIds ?? []) if (!wellFormed(id, 'sg')) throw Ec2Errors.sgMalformed(id);
        return rows;
      },
    }));

  const DeleteSecurityGroup: Op<'DeleteSecurityGroup'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    deleteRow(store, scope, SECURITY_GROUPS, targetGroup(store, scope, input.GroupId, input.GroupName), input);
    return {};
  };

  return { CreateSecurityGroup, DescribeSecurityGroups, DeleteSecurityGroup };
}
