/**
 * Security group rules in and out of AWS's two wire forms. Requests carry `IpPermissions` (a
 * protocol and port range with any number of sources) or the legacy top-level CidrIp/IpProtocol/
 * FromPort/ToPort/SourceSecurityGroupName; kumo stores one rule per source (as
 * DescribeSecurityGroupRules shows them) and groups them back into IpPermissions for
 * DescribeSecurityGroups. Protocols are normalized as AWS does: 6/17/1/58 become tcp/udp/icmp/
 * icmpv6, `-1` is every protocol (ports then shown as -1, or not at all in IpPermissions).
 */
import ipaddr from 'ipaddr.js';
import type { IpPermissions, UserIdGroupPairsItem } from '../../../models/generated/ec2.js';
import { parseCidr4 } from '../../../lib/cidr.js';
import type { SecurityGroupRecord, SecurityGroupRuleRecord } from '../../../state/network.js';
import { Ec2Errors } from '../errors.js';
import type { PrefixListRef } from './prefix-list-data.js';

export type IpPermission = IpPermissions[number];
/** A rule before it has an ID. */
export type RuleSpec = Omit<SecurityGroupRuleRecord, 'SecurityGroupRuleId'>;

const NAMES: Record<string, string> = { '6': 'tcp', '17': 'udp', '1': 'icmp', '58': 'icmpv6' };
const PORTED = new Set(['tcp', 'udp']);
const ICMP = new Set(['icmp', 'icmpv6']);

export function normalizeProtocol(raw: string | undefined): string {
  const p = (raw ?? '').trim().toLowerCase();
  if (p === '') throw Ec2Errors.missingParameter('IpProtocol');
  if (p === '-1' || PORTED.has(p) || ICMP.has(p)) return p;
  if (/^[0-9]{1,3}$/.test(p) && Number(p) <= 255) return NAMES[String(Number(p))] ?? String(Number(p));
  throw Ec2Errors.invalidParameter(`Invalid value '${raw}' for IP protocol. Unknown protocol.`);
}

function ports(protocol: string, from: number | undefined, to: number | undefined): [number, number] {
  if (PORTED.has(protocol)) {
    if (from === undefined || to === undefined) {
      throw Ec2Errors.invalidParameter(`Invalid value for portRange. Must specify both from and to ports with TCP/UDP.`);
    }
    if (from < 0 || from > 65535 || to < 0 || to > 65535) {
      throw Ec2Errors.invalidParameter(`Invalid value for portRange. Port range must be between 0 and 65535.`);
    }
    if (from > to) throw Ec2Errors.invalidParameter(`Invalid TCP/UDP port range: from port ${from} is greater than to port ${to}.`);
    return [from, to];
  }
  if (ICMP.has(protocol)) {
    // FromPort is the ICMP type and ToPort the code; -1 means any.
    const type = from ?? -1;
    const code = to ?? -1;
    if (type < -1 || type > 255) throw Ec2Errors.invalidParameter(`ICMP type (${type}) out of range`);
    if (code < -1 || code > 255) throw Ec2Errors.invalidParameter(`ICMP code (${code}) out of range`);
    if (type === -1 && code !== -1) throw Ec2Errors.invalidParameter(`ICMP code (${code}) must be -1 when the ICMP type is -1`);
    return [type, code];
  }
  return [-1, -1];
}

function cidr4(text: string | undefined): string {
  const c = parseCidr4(text ?? '');
  if (!c) throw Ec2Errors.invalidParameter(`CIDR block ${text} is malformed`);
  return c.text;
}

function cidr6(text: string | undefined): string {
  if (!text || !ipaddr.IPv6.isValidCIDR(text)) throw Ec2Errors.invalidParameter(`CIDR block ${text} is malformed`);
  const [addr, prefix] = ipaddr.IPv6.parseCIDR(text);
  return `${addr.toString()}/${prefix}`;
}

export interface GroupResolver {
  /** The referenced group, checked to exist and to be in `vpcId`; throws otherwise. */
  byId(id: string, vpcId: string): SecurityGroupRecord;
  byName(name: string, vpcId: string): SecurityGroupRecord;
  /** A prefix list the account can use (AWS-managed in the region, or its own), if it exists. */
  prefixList(id: string): PrefixListRef | undefined;
  account: string;
}

/** Expands IpPermissions into one RuleSpec per source, validating everything. */
export function rulesFromPermissions(perms: IpPermissions, egress: boolean, vpcId: string, groups: GroupResolver): RuleSpec[] {
  const out: RuleSpec[] = [];
  for (const p of perms) {
    const protocol = normalizeProtocol(p.IpProtocol);
    const [FromPort, ToPort] = ports(protocol, p.FromPort, p.ToPort);
    const base = { IsEgress: egress, IpProtocol: protocol, FromPort, ToPort };
    const sources = (p.IpRanges?.length ?? 0) + (p.Ipv6Ranges?.length ?? 0) + (p.PrefixListIds?.length ?? 0) + (p.UserIdGroupPairs?.length ?? 0);
    if (sources === 0) {
      throw Ec2Errors.permissionMalformed('Each IP permission must name at least one source or destination (IpRanges, Ipv6Ranges, PrefixListIds or UserIdGroupPairs).');
    }
    for (const r of p.IpRanges ?? []) out.push({ ...base, CidrIpv4: cidr4(r.CidrIp), ...desc(r.Description) });
    for (const r of p.Ipv6Ranges ?? []) out.push({ ...base, CidrIpv6: cidr6(r.CidrIpv6), ...desc(r.Description) });
    for (const r of p.PrefixListIds ?? []) out.push({ ...base, PrefixListId: prefixList(r.PrefixListId, groups), ...desc(r.Description) });
    for (const g of p.UserIdGroupPairs ?? []) out.push({ ...base, ReferencedGroupId: referenced(g, vpcId, groups), ...desc(g.Description) });
  }
  return out;
}

function prefixList(id: string | undefined, groups: GroupResolver): string {
  if (!id) throw Ec2Errors.permissionMalformed('A PrefixListId entry must name a PrefixListId.');
  if (!/^pl-(?:[0-9a-f]{8}|[0-9a-f]{17})$/.test(id)) throw Ec2Errors.prefixListMalformed(id);
  if (!groups.prefixList(id)) throw Ec2Errors.prefixListRefNotFound(id);
  return id;
}

/**
 * AWS's default quota: 60 rules per direction, IPv4 and IPv6 counted apart, where a rule naming
 * a prefix list counts as many rules as the list's MaxEntries (and falls in the list's family).
 */
export const MAX_RULES = 60;
export function quotaExceeded(rules: RuleSpec[], prefixList: (id: string) => PrefixListRef | undefined): boolean {
  for (const egress of [false, true]) {
    for (const v6 of [false, true]) {
      let count = 0;
      for (const r of rules) {
        if (r.IsEgress !== egress) continue;
        const pl = r.PrefixListId ? prefixList(r.PrefixListId) : undefined;
        const family6 = r.CidrIpv6 !== undefined || pl?.family === 'IPv6';
        if (family6 === v6) count += pl?.weight ?? 1;
      }
      if (count > MAX_RULES) return true;
    }
  }
  return false;
}

function referenced(g: UserIdGroupPairsItem, vpcId: string, groups: GroupResolver): string {
  if (g.VpcPeeringConnectionId) throw Ec2Errors.unsupported('security group references through VPC peering');
  if (g.UserId && g.UserId !== groups.account) throw Ec2Errors.unsupported('security group references to other accounts');
  if (g.GroupId) return groups.byId(g.GroupId, vpcId).GroupId;
  if (g.GroupName) return groups.byName(g.GroupName, vpcId).GroupId;
  throw Ec2Errors.permissionMalformed('A UserIdGroupPair must name a GroupId or a GroupName.');
}

const DESCRIPTION = /^[a-zA-Z0-9. _\-:/()#,@[\]+=&;{}!$*]*$/;

function desc(d: string | undefined): { Description?: string } {
  if (d === undefined) return {};
  if (d.length > 255 || !DESCRIPTION.test(d)) throw Ec2Errors.invalidParameter(`Invalid rule description: ${d}`);
  return { Description: d };
}

/** The legacy single-rule form (CidrIp, IpProtocol, FromPort, ToPort, SourceSecurityGroupName). */
export interface LegacyRule {
  CidrIp?: string;
  IpProtocol?: string;
  FromPort?: number;
  ToPort?: number;
  SourceSecurityGroupName?: string;
  SourceSecurityGroupOwnerId?: string;
  IpPermissions?: IpPermissions;
}

export function permissionsOf(input: LegacyRule): IpPermissions {
  const legacy = input.CidrIp ?? input.IpProtocol ?? input.FromPort ?? input.ToPort ?? input.SourceSecurityGroupName;
  if (legacy !== undefined && input.IpPermissions?.length) {
    throw Ec2Errors.invalidCombination('The parameter IpPermissions cannot be used with CidrIp, IpProtocol, FromPort, ToPort or SourceSecurityGroupName');
  }
  if (input.IpPermissions?.length) return input.IpPermissions;
  if (legacy === undefined) throw Ec2Errors.missingParameter('IpPermissions');
  if (input.SourceSecurityGroupName) {
    return [
      {
        IpProtocol: input.IpProtocol ?? '-1',
        FromPort: input.FromPort,
        ToPort: input.ToPort,
        UserIdGroupPairs: [{ GroupName: input.SourceSecurityGroupName, UserId: input.SourceSecurityGroupOwnerId }],
      },
    ];
  }
  return [{ IpProtocol: input.IpProtocol, FromPort: input.FromPort, ToPort: input.ToPort, IpRanges: [{ CidrIp: input.CidrIp }] }];
}

/** Same rule ignoring ID and description: what makes InvalidPermission.Duplicate. */
export function sameRule(a: RuleSpec, b: RuleSpec): boolean {
  return (
    a.IsEgress === b.IsEgress &&
    a.IpProtocol === b.IpProtocol &&
    a.FromPort === b.FromPort &&
    a.ToPort === b.ToPort &&
    a.CidrIpv4 === b.CidrIpv4 &&
    a.CidrIpv6 === b.CidrIpv6 &&
    a.PrefixListId === b.PrefixListId &&
    a.ReferencedGroupId === b.ReferencedGroupId
  );
}

export function describeRule(r: RuleSpec): string {
  const peer = r.CidrIpv4 ?? r.CidrIpv6 ?? r.PrefixListId ?? r.ReferencedGroupId;
  const proto = r.IpProtocol === '-1' ? 'ALL' : r.IpProtocol.toUpperCase();
  return `"peer: ${peer}, ${proto}, from port: ${r.FromPort}, to port: ${r.ToPort}, ALLOW"`;
}

/** Rules grouped back into IpPermissions, in the order their protocol/port ranges first appear. */
export function permissionsFromRules(rules: SecurityGroupRuleRecord[], account: string): IpPermissions {
  const out: IpPermission[] = [];
  const byKey = new Map<string, IpPermission>();
  for (const r of rules) {
    const key = `${r.IpProtocol}/${r.FromPort}/${r.ToPort}`;
    let p = byKey.get(key);
    if (!p) {
      const hasPorts = PORTED.has(r.IpProtocol) || ICMP.has(r.IpProtocol);
      p = { IpProtocol: r.IpProtocol, ...(hasPorts ? { FromPort: r.FromPort, ToPort: r.ToPort } : {}), IpRanges: [], Ipv6Ranges: [], PrefixListIds: [], UserIdGroupPairs: [] };
      byKey.set(key, p);
      out.push(p);
    }
    const d = r.Description !== undefined ? { Description: r.Description } : {};
    if (r.CidrIpv4) p.IpRanges!.push({ CidrIp: r.CidrIpv4, ...d });
    if (r.CidrIpv6) p.Ipv6Ranges!.push({ CidrIpv6: r.CidrIpv6, ...d });
    if (r.PrefixListId) p.PrefixListIds!.push({ PrefixListId: r.PrefixListId, ...d });
    if (r.ReferencedGroupId) p.UserIdGroupPairs!.push({ GroupId: r.ReferencedGroupId, UserId: account, ...d });
  }
  return out;
}
