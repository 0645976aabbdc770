/**
 * Security group rules: Authorize/RevokeSecurityGroupIngress/Egress (by IpPermissions, the
 * legacy single-rule parameters, or, for revokes, SecurityGroupRuleIds), DescribeSecurityGroupRules
 * and ModifySecurityGroupRules. Every rule gets an `sgr-` ID and may carry tags. A rule that
 * already exists is InvalidPermission.Duplicate; a group holds at most 60 rules per direction
 * (IPv4 and IPv6 counted apart). Revoking a rule that does not exist is
 * InvalidPermission.NotFound with nothing revoked, except in a default VPC, where AWS revokes
 * the rest and returns the misses as UnknownIpPermissions.
 */
import type { Ec2Operations } from '../../../models/generated/ec2.js';
import { checkDryRun } from '../../../state/dry-run.js';
import type { Accessors } from '../../../state/filters.js';
import { resourceId } from '../../../state/ids.js';
import type { SecurityGroupRecord, SecurityGroupRuleRecord } from '../../../state/network.js';
import type { Scope } from '../../../state/scope.js';
import type { Tag } from '../../../state/tags.js';
import { scopeOf, type OpHandler, type RequestContext } from '../../service.js';
import { describe } from '../describe.js';
import { Ec2Errors } from '../errors.js';
import { groupResolver, targetGroup } from './security-groups.js';
import {
  describeRule,
  permissionsFromRules,
  permissionsOf,
  quotaExceeded,
  rulesFromPermissions,
  sameRule,
  type LegacyRule,
  type RuleSpec,
} from './security-group-permissions.js';
import { wellFormed, type Ec2Store } from '../store.js';
import { putTags, tagsFromSpecifications, type TagSpecification } from '../tagging.js';

type Op<K extends keyof Ec2Operations> = OpHandler<Ec2Operations, K>;
type RuleRow = SecurityGroupRuleRecord & { GroupId: string; GroupOwnerId: string; Tags: Tag[] };

const ruleFilters: Accessors<RuleRow> = {
  'group-id': (r) => r.GroupId,
  'security-group-rule-id': (r) => r.SecurityGroupRuleId,
};

function wireRule(r: RuleRow) {
  const { ReferencedGroupId, ...rest } = r;
  return { ...rest, ...(ReferencedGroupId ? { ReferencedGroupInfo: { GroupId: ReferencedGroupId, UserId: r.GroupOwnerId } } : {}) };
}

export function securityGroupRuleHandlers(store: Ec2Store) {
  const { securityGroups } = store.network;
  store.registerTaggable('sgr', {
    type: 'security-group-rule',
    exists: (scope, id) => securityGroups.list(scope).some((g) => g.Rules.some((r) => r.SecurityGroupRuleId === id)),
    notFound: Ec2Errors.sgrNotFound,
  });

  const rowsOf = (scope: Scope, groups: SecurityGroupRecord[]): RuleRow[] => {
    const tags = store.tags.byResource(scope, 'security-group-rule');
    return groups.flatMap((g) =>
      g.Rules.map((r) => ({ ...r, GroupId: g.GroupId, GroupOwnerId: g.OwnerId, Tags: tags.get(r.SecurityGroupRuleId) ?? [] })),
    );
  };

  const authorize = (ctx: RequestContext, sg: SecurityGroupRecord, input: LegacyRule & { DryRun?: boolean; TagSpecifications?: TagSpecification[] }, egress: boolean) => {
    const scope = scopeOf(ctx);
    const specs = rulesFromPermissions(permissionsOf(input), egress, sg.VpcId, groupResolver(store, scope, ctx.account));
    const tags = tagsFromSpecifications(input.TagSpecifications, 'security-group-rule');
    specs.forEach((spec, i) => {
      if (sg.Rules.some((r) => sameRule(r, spec)) || specs.slice(0, i).some((s) => sameRule(s, spec))) {
        throw Ec2Errors.permissionDuplicate(describeRule(spec));
      }
    });
    const resolver = groupResolver(store, scope, ctx.account);
    if (quotaExceeded([...sg.Rules, ...specs], (id) => resolver.prefixList(id))) throw Ec2Errors.rulesLimit();
    checkDryRun(input);
    const added: SecurityGroupRuleRecord[] = specs.map((s) => ({ SecurityGroupRuleId: resourceId('sgr'), ...s }));
    store.transaction(() => {
      securityGroups.update(scope, sg.GroupId, { ...sg, Rules: [...sg.Rules, ...added] });
      for (const r of added) putTags(store, scope, r.SecurityGroupRuleId, 'security-group-rule', tags);
    });
    return {
      Return: true,
      SecurityGroupRules: rowsOf(scope, [{ ...sg, Rules: added }]).map((r) => wireRule({ ...r, Tags: tags })),
    };
  };

  const revoke = (ctx: RequestContext, sg: SecurityGroupRecord, input: LegacyRule & { DryRun?: boolean; SecurityGroupRuleIds?: string[] }, egress: boolean) => {
    const scope = scopeOf(ctx);
    let doomed: SecurityGroupRuleRecord[];
    let unknown: RuleSpec[] = [];
    if (input.SecurityGroupRuleIds?.length) {
      if (input.IpPermissions?.length || input.CidrIp || input.IpProtocol) {
        throw Ec2Errors.invalidCombination('The parameter SecurityGroupRuleIds cannot be used with IpPermissions');
      }
      doomed = input.SecurityGroupRuleIds.map((id) => {
        if (!wellFormed(id, 'sgr')) throw Ec2Errors.sgrMalformed(id);
        const rule = sg.Rules.find((r) => r.SecurityGroupRuleId === id && r.IsEgress === egress);
        if (!rule) throw Ec2Errors.sgrNotFound(id);
        return rule;
      });
    } else {
      const specs = rulesFromPermissions(permissionsOf(input), egress, sg.VpcId, groupResolver(store, scope, ctx.account));
      doomed = [];
      for (const spec of specs) {
        const rule = sg.Rules.find((r) => sameRule(r, spec));
        if (rule) doomed.push(rule);
        else unknown.push(spec);
      }
      // AWS: in a default VPC the misses come back as UnknownIpPermissions; elsewhere any miss
      // is InvalidPermission.NotFound and nothing is revoked.
      const inDefaultVpc = store.network.vpcs.get(scope, sg.VpcId)?.IsDefault === true;
      if (unknown.length && !inDefaultVpc) throw Ec2Errors.permissionNotFound();
    }
    checkDryRun(input);
    store.transaction(() => {
      securityGroups.update(scope, sg.GroupId, { ...sg, Rules: sg.Rules.filter((r) => !doomed.includes(r)) });
      for (const r of doomed) store.tags.removeAll(scope, r.SecurityGroupRuleId);
    });
    const unknownPerms = permissionsFromRules(unknown.map((u) => ({ ...u, SecurityGroupRuleId: '' })), sg.OwnerId);
    return { Return: true, UnknownIpPermissions: unknownPerms.length ? unknownPerms : undefined };
  };

  const AuthorizeSecurityGroupIngress: Op<'AuthorizeSecurityGroupIngress'> = (ctx, input) =>
    authorize(ctx, targetGroup(store, scopeOf(ctx), input.GroupId, input.GroupName), input, false);
  const AuthorizeSecurityGroupEgress: Op<'AuthorizeSecurityGroupEgress'> = (ctx, input) =>
    authorize(ctx, targetGroup(store, scopeOf(ctx), input.GroupId, undefined), input, true);
  const RevokeSecurityGroupIngress: Op<'RevokeSecurityGroupIngress'> = (ctx, input) =>
    revoke(ctx, targetGroup(store, scopeOf(ctx), input.GroupId, input.GroupName), input, false);
  const RevokeSecurityGroupEgress: Op<'RevokeSecurityGroupEgress'> = (ctx, input) =>
    revoke(ctx, targetGroup(store, scopeOf(ctx), input.GroupId, undefined), input, true);

  const DescribeSecurityGroupRules: Op<'DescribeSecurityGroupRules'> = (ctx, input) => {
    checkDryRun(input);
    const scope = scopeOf(ctx);
    const page = describe(store, scope, 'security-group-rule', rowsOf(scope, securityGroups.list(scope)), (r) => r.SecurityGroupRuleId, ruleFilters, {
      ids: input.SecurityGroupRuleIds,
      idsParam: 'SecurityGroupRuleIds',
      prefix: 'sgr',
      malformed: Ec2Errors.sgrMalformed,
      notFound: Ec2Errors.sgrNotFound,
      filters: input.Filters,
      maxResults: input.MaxResults,
      nextToken: input.NextToken,
    });
    return { SecurityGroupRules: page.items.map(wireRule), NextToken: page.nextToken };
  };

  const ModifySecurityGroupRules: Op<'ModifySecurityGroupRules'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const sg = targetGroup(store, scope, input.GroupId, undefined);
    const resolver = groupResolver(store, scope, ctx.account);
    let rules = [...sg.Rules];
    for (const change of input.SecurityGroupRules ?? []) {
      const id = change.SecurityGroupRuleId;
      if (!wellFormed(id, 'sgr')) throw Ec2Errors.sgrMalformed(id);
      const existing = rules.find((r) => r.SecurityGroupRuleId === id);
      if (!existing) throw Ec2Errors.sgrNotFound(id);
      const w = change.SecurityGroupRule;
      if (!w) throw Ec2Errors.missingParameter('SecurityGroupRule');
      const [spec] = rulesFromPermissions(
        [
          {
            IpProtocol: w.IpProtocol,
            FromPort: w.FromPort,
            ToPort: w.ToPort,
            IpRanges: w.CidrIpv4 ? [{ CidrIp: w.CidrIpv4, Description: w.Description }] : undefined,
            Ipv6Ranges: w.CidrIpv6 ? [{ CidrIpv6: w.CidrIpv6, Description: w.Description }] : undefined,
            PrefixListIds: w.PrefixListId ? [{ PrefixListId: w.PrefixListId, Description: w.Description }] : undefined,
            UserIdGroupPairs: w.ReferencedGroupId ? [{ GroupId: w.ReferencedGroupId, Description: w.Description }] : undefined,
          },
        ],
        existing.IsEgress,
        sg.VpcId,
        resolver,
      );
      if ([w.CidrIpv4, w.CidrIpv6, w.PrefixListId, w.ReferencedGroupId].filter(Boolean).length !== 1) {
        throw Ec2Errors.permissionMalformed('A security group rule must have exactly one of CidrIpv4, CidrIpv6, PrefixListId or ReferencedGroupId.');
      }
      if (rules.some((r) => r !== existing && sameRule(r, spec))) throw Ec2Errors.permissionDuplicate(describeRule(spec));
      rules = rules.map((r) => (r === existing ? { SecurityGroupRuleId: id, ...spec } : r));
    }
    // A rule changed to name a prefix list counts as the list's MaxEntries rules.
    if (quotaExceeded(rules, (id) => resolver.prefixList(id))) throw Ec2Errors.rulesLimit();
    checkDryRun(input);
    securityGroups.update(scope, sg.GroupId, { ...sg, Rules: rules });
    return { Return: true };
  };

  return {
    AuthorizeSecurityGroupIngress,
    AuthorizeSecurityGroupEgress,
    RevokeSecurityGroupIngress,
    RevokeSecurityGroupEgress,
    DescribeSecurityGroupRules,
    ModifySecurityGroupRules,
  };
}
