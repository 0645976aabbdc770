// Tags on every networking resource type: CreateTags/DeleteTags, DescribeTags' resource types,
// each type's NotFound for a missing ID, and `tag:` filters on each Describe*.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateDhcpOptionsCommand,
  CreateInternetGatewayCommand,
  CreateNetworkAclCommand,
  CreateRouteTableCommand,
  CreateSecurityGroupCommand,
  CreateTagsCommand,
  CreateVpcCommand,
  DeleteTagsCommand,
  DescribeDhcpOptionsCommand,
  DescribeInternetGatewaysCommand,
  DescribeNetworkAclsCommand,
  DescribeRouteTablesCommand,
  DescribeSecurityGroupRulesCommand,
  DescribeSecurityGroupsCommand,
  DescribeTagsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { errorCode, uniqueName, type TestKumo } from '../helpers/kumo.js';
import { useEc2 } from '../helpers/ec2.js';

let kumo: TestKumo;
let ec2: EC2Client;

useEc2((f) => ({ kumo, ec2 } = f));

describe('tags on networking resources', () => {
  test('every type takes tags, lists under its resource type, and filters by them', async () => {
    const VpcId = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.40.0.0/16' }))).Vpc!.VpcId!;
    const igw = (await ec2.send(new CreateInternetGatewayCommand({}))).InternetGateway!.InternetGatewayId!;
    const rtb = (await ec2.send(new CreateRouteTableCommand({ VpcId }))).RouteTable!.RouteTableId!;
    const acl = (await ec2.send(new CreateNetworkAclCommand({ VpcId }))).NetworkAcl!.NetworkAclId!;
    const dopt = (await ec2.send(new CreateDhcpOptionsCommand({ DhcpConfigurations: [{ Key: 'domain-name', Values: ['x.example'] }] }))).DhcpOptions!.DhcpOptionsId!;
    const sg = (await ec2.send(new CreateSecurityGroupCommand({ GroupName: uniqueName('t'), Description: 't', VpcId }))).GroupId!;
    const sgr = (
      await ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: sg, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 1, ToPort: 1, IpRanges: [{ CidrIp: '10.0.0.0/8' }] }] }))
    ).SecurityGroupRules![0].SecurityGroupRuleId!;
    const value = uniqueName('v');
    const ids = [igw, rtb, acl, dopt, sg, sgr];
    await ec2.send(new CreateTagsCommand({ Resources: ids, Tags: [{ Key: 'Owner', Value: value }] }));

    const listed = await ec2.send(new DescribeTagsCommand({ Filters: [{ Name: 'value', Values: [value] }] }));
    assert.deepEqual(
      listed.Tags!.map((t) => [t.ResourceId, t.ResourceType]).sort(),
      [
        [igw, 'internet-gateway'],
        [rtb, 'route-table'],
        [acl, 'network-acl'],
        [dopt, 'dhcp-options'],
        [sg, 'security-group'],
        [sgr, 'security-group-rule'],
      ].sort(),
    );
    const filter = [{ Name: 'tag:Owner', Values: [value] }];
    assert.deepEqual((await ec2.send(new DescribeInternetGatewaysCommand({ Filters: filter }))).InternetGateways!.map((x) => x.InternetGatewayId), [igw]);
    assert.deepEqual((await ec2.send(new DescribeRouteTablesCommand({ Filters: filter }))).RouteTables!.map((x) => x.RouteTableId), [rtb]);
    assert.deepEqual((await ec2.send(new DescribeNetworkAclsCommand({ Filters: filter }))).NetworkAcls!.map((x) => x.NetworkAclId), [acl]);
    assert.deepEqual((await ec2.send(new DescribeDhcpOptionsCommand({ Filters: filter }))).DhcpOptions!.map((x) => x.DhcpOptionsId), [dopt]);
    assert.deepEqual((await ec2.send(new DescribeSecurityGroupsCommand({ Filters: filter }))).SecurityGroups!.map((x) => x.GroupId), [sg]);
    assert.deepEqual((await ec2.send(new DescribeSecurityGroupRulesCommand({ Filters: filter }))).SecurityGroupRules!.map((x) => x.SecurityGroupRuleId), [sgr]);

    await ec2.send(new DeleteTagsCommand({ Resources: ids, Tags: [{ Key: 'Owner' }] }));
    assert.deepEqual((await ec2.send(new DescribeTagsCommand({ Filters: [{ Name: 'value', Values: [value] }] }))).Tags, []);
  });

  test('a missing ID of each type is that type’s NotFound, and nothing is tagged', async () => {
    const cases: [string, string][] = [
      ['igw-0123456789abcdef0', 'InvalidInternetGatewayID.NotFound'],
      ['rtb-0123456789abcdef0', 'InvalidRouteTableID.NotFound'],
      ['acl-0123456789abcdef0', 'InvalidNetworkAclID.NotFound'],
      ['dopt-0123456789abcdef0', 'InvalidDhcpOptionID.NotFound'],
      ['sg-0123456789abcdef0', 'InvalidGroup.NotFound'],
      ['sgr-0123456789abcdef0', 'InvalidSecurityGroupRuleId.NotFound'],
    ];
    const VpcId = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.41.0.0/16' }))).Vpc!.VpcId!;
    for (const [id, code] of cases) {
      assert.equal(await errorCode(ec2.send(new CreateTagsCommand({ Resources: [VpcId, id], Tags: [{ Key: 'k', Value: 'v' }] }))), code, id);
    }
    assert.deepEqual((await ec2.send(new DescribeTagsCommand({ Filters: [{ Name: 'resource-id', Values: [VpcId] }] }))).Tags, []);
  });
});
