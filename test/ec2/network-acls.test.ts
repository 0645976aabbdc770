// Network ACLs and their entries and associations, and subnet attributes, through SDK v3.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  CreateNetworkAclCommand,
  CreateNetworkAclEntryCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DeleteNetworkAclCommand,
  DeleteNetworkAclEntryCommand,
  DeleteSubnetCommand,
  DescribeNetworkAclsCommand,
  DescribeSubnetsCommand,
  EC2Client,
  ModifySubnetAttributeCommand,
  ReplaceNetworkAclAssociationCommand,
  ReplaceNetworkAclEntryCommand,
  type NetworkAcl,
} from '@aws-sdk/client-ec2';
import { errorCode, type TestKumo } from '../helpers/kumo.js';
import { useEc2 } from '../helpers/ec2.js';

let kumo: TestKumo;
let ec2: EC2Client;

useEc2((f) => ({ kumo, ec2 } = f));

const code = errorCode;

async function acl(id: string): Promise<NetworkAcl> {
  return (await ec2.send(new DescribeNetworkAclsCommand({ NetworkAclIds: [id] }))).NetworkAcls![0];
}

describe('network ACLs', () => {
  test('a custom ACL denies all, takes numbered entries, and moves subnets by association', async () => {
    const vpcId = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.30.0.0/16' }))).Vpc!.VpcId!;
    const subnetId = (await ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: '10.30.1.0/24' }))).Subnet!.SubnetId!;
    const created = await ec2.send(
      new CreateNetworkAclCommand({ VpcId: vpcId, TagSpecifications: [{ ResourceType: 'network-acl', Tags: [{ Key: 'Name', Value: 'strict' }] }] }),
    );
    const aclId = created.NetworkAcl!.NetworkAclId!;
    assert.match(aclId, /^acl-[0-9a-f]{17}$/);
    assert.equal(created.NetworkAcl!.IsDefault, false);
    assert.deepEqual(created.NetworkAcl!.Entries!.map((e) => [e.Egress, e.RuleNumber, e.RuleAction]), [
      [true, 32767, 'deny'],
      [false, 32767, 'deny'],
    ]);

    const entry = (extra: object) =>
      ec2.send(new CreateNetworkAclEntryCommand({ NetworkAclId: aclId, RuleNumber: 100, Egress: false, Protocol: '6', RuleAction: 'allow', CidrBlock: '0.0.0.0/0', PortRange: { From: 80, To: 80 }, ...extra }));
    await entry({});
    assert.equal(await code(entry({})), 'NetworkAclEntryAlreadyExists');
    await entry({ Egress: true, Protocol: '-1', PortRange: undefined });
    await entry({ RuleNumber: 110, Protocol: 'udp', PortRange: { From: 53, To: 53 }, RuleAction: 'deny' });
    await entry({ RuleNumber: 120, Protocol: '1', PortRange: undefined, IcmpTypeCode: { Type: -1, Code: -1 } });
    assert.equal(await code(entry({ RuleNumber: 0 })), 'InvalidParameterValue');
    assert.equal(await code(entry({ RuleNumber: 32767 })), 'InvalidParameterValue');
    assert.equal(await code(entry({ RuleNumber: 130, RuleAction: 'maybe' })), 'InvalidParameterValue');
    assert.equal(await code(entry({ RuleNumber: 130, PortRange: undefined })), 'MissingParameter');
    assert.equal(await code(entry({ RuleNumber: 130, Protocol: '1', PortRange: undefined })), 'MissingParameter');
    assert.equal(await code(entry({ RuleNumber: 130, CidrBlock: '10.0.0.0/99' })), 'InvalidParameterValue');

    const ingress = (await acl(aclId)).Entries!.filter((e) => !e.Egress);
    assert.deepEqual(ingress.map((e) => [e.RuleNumber, e.Protocol, e.RuleAction, e.PortRange?.From]), [
      [100, '6', 'allow', 80],
      [110, '17', 'deny', 53],
      [120, '1', 'allow', undefined],
      [32767, '-1', 'deny', undefined],
    ]);
    const byEntry = await ec2.send(new DescribeNetworkAclsCommand({ Filters: [{ Name: 'entry.port-range.from', Values: ['53'] }] }));
    assert.deepEqual(byEntry.NetworkAcls!.map((a) => a.NetworkAclId), [aclId]);

    await ec2.send(
      new ReplaceNetworkAclEntryCommand({ NetworkAclId: aclId, RuleNumber: 100, Egress: false, Protocol: '6', RuleAction: 'allow', CidrBlock: '10.0.0.0/8', PortRange: { From: 443, To: 443 } }),
    );
    const replaced = (await acl(aclId)).Entries!.find((e) => !e.Egress && e.RuleNumber === 100)!;
    assert.deepEqual([replaced.CidrBlock, replaced.PortRange], ['10.0.0.0/8', { From: 443, To: 443 }]);
    assert.equal(
      await code(ec2.send(new ReplaceNetworkAclEntryCommand({ NetworkAclId: aclId, RuleNumber: 140, Egress: false, Protocol: '-1', RuleAction: 'allow', CidrBlock: '0.0.0.0/0' }))),
      'InvalidNetworkAclEntry.NotFound',
    );
    await ec2.send(new DeleteNetworkAclEntryCommand({ NetworkAclId: aclId, RuleNumber: 110, Egress: false }));
    assert.equal(await code(ec2.send(new DeleteNetworkAclEntryCommand({ NetworkAclId: aclId, RuleNumber: 110, Egress: false }))), 'InvalidNetworkAclEntry.NotFound');

    // Move the subnet from the default ACL to the custom one and back.
    const defaultAcl = (await ec2.send(new DescribeNetworkAclsCommand({ Filters: [{ Name: 'vpc-id', Values: [vpcId] }, { Name: 'default', Values: ['true'] }] }))).NetworkAcls![0];
    const assocId = defaultAcl.Associations!.find((a) => a.SubnetId === subnetId)!.NetworkAclAssociationId!;
    const moved = await ec2.send(new ReplaceNetworkAclAssociationCommand({ AssociationId: assocId, NetworkAclId: aclId }));
    assert.match(moved.NewAssociationId!, /^aclassoc-[0-9a-f]{17}$/);
    assert.deepEqual((await acl(aclId)).Associations!.map((a) => a.SubnetId), [subnetId]);
    assert.deepEqual((await acl(defaultAcl.NetworkAclId!)).Associations, []);
    assert.equal(await code(ec2.send(new DeleteNetworkAclCommand({ NetworkAclId: aclId }))), 'DependencyViolation');
    assert.equal(await code(ec2.send(new ReplaceNetworkAclAssociationCommand({ AssociationId: assocId, NetworkAclId: aclId }))), 'InvalidAssociationID.NotFound');
    await ec2.send(new ReplaceNetworkAclAssociationCommand({ AssociationId: moved.NewAssociationId, NetworkAclId: defaultAcl.NetworkAclId }));

    await ec2.send(new DeleteNetworkAclCommand({ NetworkAclId: aclId }));
    assert.equal(await code(ec2.send(new DescribeNetworkAclsCommand({ NetworkAclIds: [aclId] }))), 'InvalidNetworkAclID.NotFound');
    assert.equal(await code(ec2.send(new DeleteNetworkAclCommand({ NetworkAclId: defaultAcl.NetworkAclId }))), 'InvalidParameterValue');

    // Deleting the subnet drops its association.
    await ec2.send(new DeleteSubnetCommand({ SubnetId: subnetId }));
    assert.deepEqual((await acl(defaultAcl.NetworkAclId!)).Associations, []);
  });
});

describe('subnet attributes', () => {
  test('MapPublicIpOnLaunch on and off; one attribute per call; unknown subnet', async () => {
    const vpcId = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.31.0.0/16' }))).Vpc!.VpcId!;
    const subnetId = (await ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: '10.31.0.0/24' }))).Subnet!.SubnetId!;
    const mapped = async () => (await ec2.send(new DescribeSubnetsCommand({ SubnetIds: [subnetId] }))).Subnets![0].MapPublicIpOnLaunch;
    assert.equal(await mapped(), false);
    await ec2.send(new ModifySubnetAttributeCommand({ SubnetId: subnetId, MapPublicIpOnLaunch: { Value: true } }));
    assert.equal(await mapped(), true);
    const publicOnes = await ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: 'vpc-id', Values: [vpcId] }, { Name: 'map-public-ip-on-launch', Values: ['true'] }] }));
    assert.deepEqual(publicOnes.Subnets!.map((s) => s.SubnetId), [subnetId]);
    await ec2.send(new ModifySubnetAttributeCommand({ SubnetId: subnetId, MapPublicIpOnLaunch: { Value: false } }));
    assert.equal(await mapped(), false);
    assert.equal(
      await code(ec2.send(new ModifySubnetAttributeCommand({ SubnetId: subnetId, MapPublicIpOnLaunch: { Value: true }, EnableResourceNameDnsARecordOnLaunch: { Value: true } }))),
      'InvalidParameterCombination',
    );
    assert.equal(await mapped(), false);
    assert.equal(await code(ec2.send(new ModifySubnetAttributeCommand({ SubnetId: 'subnet-0123456789abcdef0', MapPublicIpOnLaunch: { Value: true } }))), 'InvalidSubnetID.NotFound');
  });
});
