/**
 * What every VPC comes with, made in the transaction that makes the VPC: its main route table
 * (a `local` route per VPC CIDR), its default network ACL (rule 100 allows everything, `*`
 * denies the rest, both directions) and its default security group (`default`: members may reach
 * each other, everything may leave). Deleting the VPC removes them the same way.
 */
import { resourceId } from '../../../state/ids.js';
import type {
  NetworkAclEntryRecord,
  NetworkAclRecord,
  RouteTableRecord,
  SecurityGroupRecord,
  VpcRecord,
} from '../../../state/network.js';
import type { Scope } from '../../../state/scope.js';
import type { Tag } from '../../../state/tags.js';
import type { Ec2Store } from '../store.js';
import { putTags } from '../tagging.js';

/** The `*` rules closing every ACL, shown as rule number 32767. */
export const ACL_CATCH_ALL = 32767;

export function denyAllEntries(): NetworkAclEntryRecord[] {
  return [true, false].map((Egress) => ({ RuleNumber: ACL_CATCH_ALL, Egress, Protocol: '-1', RuleAction: 'deny', CidrBlock: '0.0.0.0/0' }));
}

export function newRouteTable(vpc: VpcRecord, main: boolean): RouteTableRecord {
  const id = resourceId('rtb');
  return {
    RouteTableId: id,
    VpcId: vpc.VpcId,
    OwnerId: vpc.OwnerId,
    Routes: vpc.CidrBlockAssociationSet.map((a) => ({ DestinationCidrBlock: a.CidrBlock, GatewayId: 'local', Origin: 'CreateRouteTable' })),
    Associations: main
      ? [{ Main: true, RouteTableAssociationId: resourceId('rtbassoc'), RouteTableId: id, AssociationState: { State: 'associated' } }]
      : [],
    PropagatingVgws: [],
  };
}

export function newNetworkAcl(vpc: VpcRecord, isDefault: boolean): NetworkAclRecord {
  const allow: NetworkAclEntryRecord[] = [true, false].map((Egress) => ({
    RuleNumber: 100,
    Egress,
    Protocol: '-1',
    RuleAction: 'allow',
    CidrBlock: '0.0.0.0/0',
  }));
  return {
    NetworkAclId: resourceId('acl'),
    VpcId: vpc.VpcId,
    OwnerId: vpc.OwnerId,
    IsDefault: isDefault,
    Entries: [...(isDefault ? allow : []), ...denyAllEntries()],
    Associations: [],
  };
}

export function newSecurityGroup(vpc: VpcRecord, name: string, description: string): SecurityGroupRecord {
  return {
    GroupId: resourceId('sg'),
    GroupName: name,
    Description: description,
    VpcId: vpc.VpcId,
    OwnerId: vpc.OwnerId,
    Rules: [{ SecurityGroupRuleId: resourceId('sgr'), IsEgress: true, IpProtocol: '-1', FromPort: -1, ToPort: -1, CidrIpv4: '0.0.0.0/0' }],
  };
}

export function defaultSecurityGroup(vpc: VpcRecord): SecurityGroupRecord {
  const sg = newSecurityGroup(vpc, 'default', 'default VPC security group');
  sg.Rules.unshift({ SecurityGroupRuleId: resourceId('sgr'), IsEgress: false, IpProtocol: '-1', FromPort: -1, ToPort: -1, ReferencedGroupId: sg.GroupId });
  return sg;
}

/** Writes a VPC and its defaults; call inside a transaction. */
export function insertVpc(store: Ec2Store, scope: Scope, vpc: VpcRecord, tags: Tag[]): { mainRouteTable: RouteTableRecord; defaultAcl: NetworkAclRecord } {
  const n = store.network;
  const rtb = newRouteTable(vpc, true);
  const acl = newNetworkAcl(vpc, true);
  const sg = defaultSecurityGroup(vpc);
  n.vpcs.insert(scope, vpc.VpcId, vpc);
  n.routeTables.insert(scope, rtb.RouteTableId, rtb);
  n.networkAcls.insert(scope, acl.NetworkAclId, acl);
  n.securityGroups.insert(scope, sg.GroupId, sg);
  putTags(store, scope, vpc.VpcId, 'vpc', tags);
  return { mainRouteTable: rtb, defaultAcl: acl };
}

/** What still lives in a VPC and stops DeleteVpc; empty when only its defaults remain. */
export function vpcDependents(store: Ec2Store, scope: Scope, vpcId: string): string[] {
  const n = store.network;
  return [
    ...n.subnets.list(scope).filter((s) => s.VpcId === vpcId).map((s) => s.SubnetId),
    ...n.internetGateways.list(scope).filter((g) => g.Attachments.some((a) => a.VpcId === vpcId)).map((g) => g.InternetGatewayId),
    ...n.routeTables.list(scope).filter((r) => r.VpcId === vpcId && !r.Associations.some((a) => a.Main)).map((r) => r.RouteTableId),
    ...n.networkAcls.list(scope).filter((a) => a.VpcId === vpcId && !a.IsDefault).map((a) => a.NetworkAclId),
    ...n.securityGroups.list(scope).filter((g) => g.VpcId === vpcId && g.GroupName !== 'default').map((g) => g.GroupId),
  ];
}

/** Removes what a VPC came with (main route table, default ACL, default security group) as the VPC goes. */
export function removeVpcDefaults(store: Ec2Store, scope: Scope, vpcId: string): void {
  const n = store.network;
  const owned = [
    ...n.routeTables.list(scope).filter((r) => r.VpcId === vpcId).map((r) => [n.routeTables, r.RouteTableId] as const),
    ...n.networkAcls.list(scope).filter((a) => a.VpcId === vpcId).map((a) => [n.networkAcls, a.NetworkAclId] as const),
    ...n.securityGroups.list(scope).filter((g) => g.VpcId === vpcId).map((g) => [n.securityGroups, g.GroupId] as const),
  ];
  for (const g of n.securityGroups.list(scope).filter((g) => g.VpcId === vpcId)) {
    for (const r of g.Rules) store.tags.removeAll(scope, r.SecurityGroupRuleId);
  }
  for (const [table, id] of owned) {
    table.delete(scope, id);
    store.tags.removeAll(scope, id);
  }
}
