/**
 * Turns a VPC's recorded network state (subnets, network ACLs, security groups, interfaces) into
 * the declarative form the fabric enforces (runtime/network): what the data plane must do,
 * computed from the control plane's rows and nothing else, so applying it twice changes nothing.
 * Shared by every service with ports in a VPC (EC2's instances, load balancer and database nodes).
 */
import type { NetworkStore } from './network.js';
import type { Scope } from './scope.js';
import type { VpcPolicy, VpcSpec } from '../runtime/network/types.js';

export function vpcSpecOf(n: NetworkStore, scope: Scope, vpcId: string): VpcSpec | undefined {
  const vpc = n.vpcs.get(scope, vpcId);
  if (!vpc) return undefined;
  const acls = n.networkAcls.list(scope).filter((a) => a.VpcId === vpcId);
  const naclOf = (subnetId: string) =>
    (acls.find((a) => a.Associations.some((x) => x.SubnetId === subnetId)) ?? acls.find((a) => a.IsDefault))?.NetworkAclId ?? '';
  // A public subnet: its route table (its own, else the VPC's main one) sends 0.0.0.0/0 to an
  // internet gateway attached to this VPC.
  const tables = n.routeTables.list(scope).filter((t) => t.VpcId === vpcId);
  const gateways = new Set(n.internetGateways.list(scope).filter((g) => g.Attachments.some((a) => a.VpcId === vpcId)).map((g) => g.InternetGatewayId));
  const routedOut = (subnetId: string) => {
    const table = tables.find((t) => t.Associations.some((a) => a.SubnetId === subnetId)) ?? tables.find((t) => t.Associations.some((a) => a.Main));
    return !!table?.Routes.some((r) => r.DestinationCidrBlock === '0.0.0.0/0' && !!r.GatewayId && gateways.has(r.GatewayId));
  };
  return {
    vpcId,
    cidrs: vpc.CidrBlockAssociationSet.filter((c) => c.CidrBlockState.State === 'associated').map((c) => c.CidrBlock),
    subnets: n.subnets
      .list(scope)
      .filter((s) => s.VpcId === vpcId)
      .map((s) => ({ subnetId: s.SubnetId, cidr: s.CidrBlock, naclId: naclOf(s.SubnetId), ...(routedOut(s.SubnetId) ? { internet: true } : {}) })),
  };
}

export function vpcPolicyOf(n: NetworkStore, scope: Scope, vpcId: string): VpcPolicy {
  const nacls: VpcPolicy['nacls'] = {};
  for (const a of n.networkAcls.list(scope).filter((x) => x.VpcId === vpcId)) {
    const rules = (egress: boolean) =>
      a.Entries.filter((e) => e.Egress === egress && e.CidrBlock)
        .sort((x, y) => x.RuleNumber - y.RuleNumber)
        .map((e) => ({
          ruleNumber: e.RuleNumber,
          protocol: e.Protocol,
          action: (e.RuleAction === 'deny' ? 'deny' : 'allow') as 'allow' | 'deny',
          cidr: e.CidrBlock!,
          fromPort: e.PortRange?.From,
          toPort: e.PortRange?.To,
        }));
    nacls[a.NetworkAclId] = { ingress: rules(false), egress: rules(true) };
  }
  const lists = new Map(n.prefixLists.list(scope).map((p) => [p.PrefixListId, p.Versions.at(-1)?.Entries.map((e) => e.Cidr) ?? []]));
  const securityGroups: VpcPolicy['securityGroups'] = {};
  for (const g of n.securityGroups.list(scope).filter((x) => x.VpcId === vpcId)) {
    const rules = (egress: boolean) =>
      g.Rules.filter((r) => r.IsEgress === egress && !r.CidrIpv6).map((r) => ({
        protocol: r.IpProtocol,
        fromPort: r.IpProtocol === '-1' ? undefined : r.FromPort,
        toPort: r.IpProtocol === '-1' ? undefined : r.ToPort,
        cidrs: r.CidrIpv4 ? [r.CidrIpv4] : r.PrefixListId ? (lists.get(r.PrefixListId) ?? []).filter((c) => !c.includes(':')) : [],
        groups: r.ReferencedGroupId ? [r.ReferencedGroupId] : [],
      }));
    securityGroups[g.GroupId] = { ingress: rules(false), egress: rules(true) };
  }
  // Interfaces a service keeps talking among themselves whatever their users' groups say (an
  // RDS primary and its standby replicating): a group of their own that admits its members.
  for (const eni of n.networkInterfaces.list(scope)) {
    const g = eni.InternalGroup;
    if (g && eni.VpcId === vpcId) securityGroups[g] = { ingress: [{ protocol: '-1', cidrs: [], groups: [g] }], egress: [{ protocol: '-1', cidrs: ['0.0.0.0/0'], groups: [] }] };
  }
  return { nacls, securityGroups };
}
