// What a VPC comes with (main route table, default ACL, default security group, DHCP options),
// what it can be changed to afterwards, and the default VPC of each region, through SDK v3.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import {
  AssociateDhcpOptionsCommand,
  AssociateVpcCidrBlockCommand,
  CreateDefaultSubnetCommand,
  CreateDefaultVpcCommand,
  CreateDhcpOptionsCommand,
  CreateInternetGatewayCommand,
  AttachInternetGatewayCommand,
  DetachInternetGatewayCommand,
  DeleteInternetGatewayCommand,
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DeleteDhcpOptionsCommand,
  DeleteSecurityGroupCommand,
  DeleteSubnetCommand,
  DeleteVpcCommand,
  DescribeDhcpOptionsCommand,
  DescribeInternetGatewaysCommand,
  DescribeNetworkAclsCommand,
  DescribeRouteTablesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeVpcAttributeCommand,
  DescribeVpcsCommand,
  DisassociateVpcCidrBlockCommand,
  EC2Client,
  ModifyVpcAttributeCommand,
  ModifyVpcTenancyCommand,
} from '@aws-sdk/client-ec2';
import { clientConfig, errorCode, type TestKumo } from '../helpers/kumo.js';
import { useEc2 } from '../helpers/ec2.js';

let kumo: TestKumo;
let ec2: EC2Client;

useEc2((f) => ({ kumo, ec2 } = f));

const byVpc = (id: string) => [{ Name: 'vpc-id', Values: [id] }];

describe('a new VPC', () => {
  test('comes with its main route table, default network ACL and default security group', async () => {
    const { Vpc } = await ec2.send(new CreateVpcCommand({ CidrBlock: '10.0.0.0/16' }));
    const vpcId = Vpc!.VpcId!;
    assert.match(Vpc!.DhcpOptionsId!, /^dopt-[0-9a-f]{17}$/);

    const { RouteTables } = await ec2.send(new DescribeRouteTablesCommand({ Filters: byVpc(vpcId) }));
    assert.equal(RouteTables!.length, 1);
    const main = RouteTables![0];
    assert.match(main.RouteTableId!, /^rtb-[0-9a-f]{17}$/);
    assert.deepEqual(main.Routes, [{ DestinationCidrBlock: '10.0.0.0/16', GatewayId: 'local', Origin: 'CreateRouteTable', State: 'active' }]);
    assert.equal(main.Associations!.length, 1);
    assert.equal(main.Associations![0].Main, true);
    assert.match(main.Associations![0].RouteTableAssociationId!, /^rtbassoc-[0-9a-f]{17}$/);

    const { NetworkAcls } = await ec2.send(new DescribeNetworkAclsCommand({ Filters: byVpc(vpcId) }));
    assert.equal(NetworkAcls!.length, 1);
    const acl = NetworkAcls![0];
    assert.equal(acl.IsDefault, true);
    const rules = acl.Entries!.map((e) => [e.Egress, e.RuleNumber, e.RuleAction, e.Protocol, e.CidrBlock]);
    assert.deepEqual(rules, [
      [true, 100, 'allow', '-1', '0.0.0.0/0'],
      [true, 32767, 'deny', '-1', '0.0.0.0/0'],
      [false, 100, 'allow', '-1', '0.0.0.0/0'],
      [false, 32767, 'deny', '-1', '0.0.0.0/0'],
    ]);

    const { SecurityGroups } = await ec2.send(new DescribeSecurityGroupsCommand({ Filters: byVpc(vpcId) }));
    assert.equal(SecurityGroups!.length, 1);
    const sg = SecurityGroups![0];
    assert.equal(sg.GroupName, 'default');
    assert.equal(sg.Description, 'default VPC security group');
    assert.deepEqual(sg.IpPermissions, [
      { IpProtocol: '-1', IpRanges: [], Ipv6Ranges: [], PrefixListIds: [], UserIdGroupPairs: [{ GroupId: sg.GroupId, UserId: '000000000000' }] },
    ]);
    assert.deepEqual(sg.IpPermissionsEgress, [
      { IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }], Ipv6Ranges: [], PrefixListIds: [], UserIdGroupPairs: [] },
    ]);

    // A subnet starts out associated with the default ACL.
    const { Subnet } = await ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: '10.0.1.0/24' }));
    const after = await ec2.send(new DescribeNetworkAclsCommand({ Filters: [{ Name: 'association.subnet-id', Values: [Subnet!.SubnetId!] }] }));
    assert.deepEqual(after.NetworkAcls!.map((a) => a.NetworkAclId), [acl.NetworkAclId]);
    assert.equal(after.NetworkAcls![0].Associations![0].SubnetId, Subnet!.SubnetId);

    // DeleteVpc: refused while the subnet, a gateway or a custom group remain; then everything goes.
    const { InternetGateway } = await ec2.send(new CreateInternetGatewayCommand({}));
    const igwId = InternetGateway!.InternetGatewayId!;
    await ec2.send(new AttachInternetGatewayCommand({ InternetGatewayId: igwId, VpcId: vpcId }));
    const { GroupId } = await ec2.send(new CreateSecurityGroupCommand({ GroupName: 'app', Description: 'app', VpcId: vpcId }));
    assert.equal(await errorCode(ec2.send(new DeleteVpcCommand({ VpcId: vpcId }))), 'DependencyViolation');
    await ec2.send(new DeleteSubnetCommand({ SubnetId: Subnet!.SubnetId }));
    assert.equal(await errorCode(ec2.send(new DeleteVpcCommand({ VpcId: vpcId }))), 'DependencyViolation');
    await ec2.send(new DetachInternetGatewayCommand({ InternetGatewayId: igwId, VpcId: vpcId }));
    await ec2.send(new DeleteInternetGatewayCommand({ InternetGatewayId: igwId }));
    assert.equal(await errorCode(ec2.send(new DeleteVpcCommand({ VpcId: vpcId }))), 'DependencyViolation');
    await ec2.send(new DeleteSecurityGroupCommand({ GroupId }));
    await ec2.send(new DeleteVpcCommand({ VpcId: vpcId }));

    assert.equal(await errorCode(ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: [main.RouteTableId!] }))), 'InvalidRouteTableID.NotFound');
    assert.equal(await errorCode(ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [sg.GroupId!] }))), 'InvalidGroup.NotFound');
    assert.equal((await ec2.send(new DescribeNetworkAclsCommand({ Filters: byVpc(vpcId) }))).NetworkAcls!.length, 0);
  });
});

describe('DHCP options', () => {
  test('the region default, custom sets, association and deletion', async () => {
    const { Vpc } = await ec2.send(new CreateVpcCommand({ CidrBlock: '10.1.0.0/16' }));
    const { DhcpOptions: [regionDefault] = [] } = await ec2.send(new DescribeDhcpOptionsCommand({ DhcpOptionsIds: [Vpc!.DhcpOptionsId!] }));
    assert.deepEqual(regionDefault.DhcpConfigurations, [
      { Key: 'domain-name', Values: [{ Value: 'ap-northeast-1.compute.internal' }] },
      { Key: 'domain-name-servers', Values: [{ Value: 'AmazonProvidedDNS' }] },
    ]);

    const created = await ec2.send(
      new CreateDhcpOptionsCommand({
        DhcpConfigurations: [
          { Key: 'domain-name', Values: ['corp.example'] },
          { Key: 'domain-name-servers', Values: ['10.1.0.2', '8.8.8.8'] },
        ],
        TagSpecifications: [{ ResourceType: 'dhcp-options', Tags: [{ Key: 'Name', Value: 'corp' }] }],
      }),
    );
    const doptId = created.DhcpOptions!.DhcpOptionsId!;
    assert.match(doptId, /^dopt-[0-9a-f]{17}$/);
    const tagged = await ec2.send(new DescribeDhcpOptionsCommand({ Filters: [{ Name: 'tag:Name', Values: ['corp'] }] }));
    assert.deepEqual(tagged.DhcpOptions!.map((d) => d.DhcpOptionsId), [doptId]);

    await ec2.send(new AssociateDhcpOptionsCommand({ DhcpOptionsId: doptId, VpcId: Vpc!.VpcId! }));
    const vpc = (await ec2.send(new DescribeVpcsCommand({ VpcIds: [Vpc!.VpcId!] }))).Vpcs![0];
    assert.equal(vpc.DhcpOptionsId, doptId);
    assert.equal(await errorCode(ec2.send(new DeleteDhcpOptionsCommand({ DhcpOptionsId: doptId }))), 'DependencyViolation');
    await ec2.send(new AssociateDhcpOptionsCommand({ DhcpOptionsId: 'default', VpcId: Vpc!.VpcId! }));
    await ec2.send(new DeleteDhcpOptionsCommand({ DhcpOptionsId: doptId }));

    assert.equal(await errorCode(ec2.send(new DescribeDhcpOptionsCommand({ DhcpOptionsIds: [doptId] }))), 'InvalidDhcpOptionID.NotFound');
    assert.equal(
      await errorCode(ec2.send(new CreateDhcpOptionsCommand({ DhcpConfigurations: [{ Key: 'bogus', Values: ['x'] }] }))),
      'InvalidParameterValue',
    );
    assert.equal(
      await errorCode(ec2.send(new AssociateDhcpOptionsCommand({ DhcpOptionsId: 'dopt-0123456789abcdef0', VpcId: Vpc!.VpcId! }))),
      'InvalidDhcpOptionID.NotFound',
    );
    await ec2.send(new DeleteVpcCommand({ VpcId: Vpc!.VpcId }));
  });
});

describe('VPC attributes, tenancy and CIDR blocks', () => {
  test('DNS support and hostnames: one attribute per call', async () => {
    const { Vpc } = await ec2.send(new CreateVpcCommand({ CidrBlock: '10.2.0.0/16' }));
    const VpcId = Vpc!.VpcId!;
    const get = async (Attribute: 'enableDnsSupport' | 'enableDnsHostnames') => {
      const out = await ec2.send(new DescribeVpcAttributeCommand({ VpcId, Attribute }));
      return (Attribute === 'enableDnsSupport' ? out.EnableDnsSupport : out.EnableDnsHostnames)!.Value;
    };
    assert.equal(await get('enableDnsSupport'), true);
    assert.equal(await get('enableDnsHostnames'), false);
    await ec2.send(new ModifyVpcAttributeCommand({ VpcId, EnableDnsHostnames: { Value: true } }));
    assert.equal(await get('enableDnsHostnames'), true);
    await ec2.send(new ModifyVpcAttributeCommand({ VpcId, EnableDnsSupport: { Value: false } }));
    assert.equal(await get('enableDnsSupport'), false);
    assert.equal(
      await errorCode(ec2.send(new ModifyVpcAttributeCommand({ VpcId, EnableDnsSupport: { Value: true }, EnableDnsHostnames: { Value: true } }))),
      'InvalidParameterCombination',
    );
    assert.equal(await get('enableDnsSupport'), false, 'a refused modify changes nothing');
    // AWS: hostnames only with DNS support.
    await ec2.send(new ModifyVpcAttributeCommand({ VpcId, EnableDnsHostnames: { Value: false } }));
    assert.equal(await errorCode(ec2.send(new ModifyVpcAttributeCommand({ VpcId, EnableDnsHostnames: { Value: true } }))), 'InvalidParameterValue');
    assert.equal(await get('enableDnsHostnames'), false);
    assert.equal(await errorCode(ec2.send(new DescribeVpcAttributeCommand({ VpcId: 'vpc-0123456789abcdef0', Attribute: 'enableDnsSupport' }))), 'InvalidVpcID.NotFound');
  });

  test('tenancy: dedicated back to default only', async () => {
    const { Vpc } = await ec2.send(new CreateVpcCommand({ CidrBlock: '10.3.0.0/16', InstanceTenancy: 'dedicated' }));
    assert.equal(Vpc!.InstanceTenancy, 'dedicated');
    // The SDK's type allows only 'default'; a client sending anything else is refused on the wire.
    const dedicated = 'dedicated' as 'default';
    assert.equal(await errorCode(ec2.send(new ModifyVpcTenancyCommand({ VpcId: Vpc!.VpcId!, InstanceTenancy: dedicated }))), 'InvalidParameterValue');
    const out = await ec2.send(new ModifyVpcTenancyCommand({ VpcId: Vpc!.VpcId!, InstanceTenancy: 'default' }));
    assert.equal(out.ReturnValue, true);
    const vpc = (await ec2.send(new DescribeVpcsCommand({ VpcIds: [Vpc!.VpcId!] }))).Vpcs![0];
    assert.equal(vpc.InstanceTenancy, 'default');
  });

  test('additional IPv4 CIDRs: AWS range rules, local routes, subnets in them', async () => {
    const { Vpc } = await ec2.send(new CreateVpcCommand({ CidrBlock: '10.4.0.0/16' }));
    const VpcId = Vpc!.VpcId!;
    assert.equal(await errorCode(ec2.send(new AssociateVpcCidrBlockCommand({ VpcId, CidrBlock: '10.4.128.0/17' }))), 'CidrConflict');
    assert.equal(await errorCode(ec2.send(new AssociateVpcCidrBlockCommand({ VpcId, CidrBlock: '192.168.0.0/16' }))), 'InvalidVpc.Range');
    assert.equal(await errorCode(ec2.send(new AssociateVpcCidrBlockCommand({ VpcId, CidrBlock: '10.5.0.0/29' }))), 'InvalidVpc.Range');
    const added = await ec2.send(new AssociateVpcCidrBlockCommand({ VpcId, CidrBlock: '10.5.0.0/16' }));
    const assocId = added.CidrBlockAssociation!.AssociationId!;
    assert.match(assocId, /^vpc-cidr-assoc-[0-9a-f]{17}$/);
    // A second range from 100.64.0.0/10 is allowed with a 10/8 primary.
    await ec2.send(new AssociateVpcCidrBlockCommand({ VpcId, CidrBlock: '100.64.0.0/16' }));

    const vpc = (await ec2.send(new DescribeVpcsCommand({ VpcIds: [VpcId] }))).Vpcs![0];
    assert.deepEqual(vpc.CidrBlockAssociationSet!.map((a) => [a.CidrBlock, a.CidrBlockState!.State]), [
      ['10.4.0.0/16', 'associated'],
      ['10.5.0.0/16', 'associated'],
      ['100.64.0.0/16', 'associated'],
    ]);
    const rtb = (await ec2.send(new DescribeRouteTablesCommand({ Filters: byVpc(VpcId) }))).RouteTables![0];
    assert.deepEqual(rtb.Routes!.map((r) => [r.DestinationCidrBlock, r.GatewayId]), [
      ['10.4.0.0/16', 'local'],
      ['10.5.0.0/16', 'local'],
      ['100.64.0.0/16', 'local'],
    ]);

    const { Subnet } = await ec2.send(new CreateSubnetCommand({ VpcId, CidrBlock: '10.5.1.0/24' }));
    assert.equal(await errorCode(ec2.send(new DisassociateVpcCidrBlockCommand({ AssociationId: assocId }))), 'DependencyViolation');
    await ec2.send(new DeleteSubnetCommand({ SubnetId: Subnet!.SubnetId }));
    await ec2.send(new DisassociateVpcCidrBlockCommand({ AssociationId: assocId }));
    const primary = vpc.CidrBlockAssociationSet![0].AssociationId!;
    assert.equal(await errorCode(ec2.send(new DisassociateVpcCidrBlockCommand({ AssociationId: primary }))), 'IncorrectState');
    const routes = (await ec2.send(new DescribeRouteTablesCommand({ Filters: byVpc(VpcId) }))).RouteTables![0].Routes!;
    assert.deepEqual(routes.map((r) => r.DestinationCidrBlock), ['10.4.0.0/16', '100.64.0.0/16']);
  });
});

describe('the default VPC', () => {
  test('exists in each region on first use: 172.31.0.0/16, a /20 per zone, an attached gateway, a route out', async () => {
    const paris = new EC2Client(clientConfig(kumo.url, { region: 'eu-west-3' }));
    try {
      const { Vpcs } = await paris.send(new DescribeVpcsCommand({ Filters: [{ Name: 'is-default', Values: ['true'] }] }));
      assert.equal(Vpcs!.length, 1);
      const vpc = Vpcs![0];
      assert.equal(vpc.CidrBlock, '172.31.0.0/16');
      assert.equal(vpc.IsDefault, true);
      const hostnames = await paris.send(new DescribeVpcAttributeCommand({ VpcId: vpc.VpcId!, Attribute: 'enableDnsHostnames' }));
      assert.equal(hostnames.EnableDnsHostnames!.Value, true);

      const { Subnets } = await paris.send(new DescribeSubnetsCommand({ Filters: [{ Name: 'default-for-az', Values: ['true'] }] }));
      assert.deepEqual(Subnets!.map((s) => [s.AvailabilityZone, s.CidrBlock, s.MapPublicIpOnLaunch, s.AvailableIpAddressCount]).sort(), [
        ['eu-west-3a', '172.31.0.0/20', true, 4091],
        ['eu-west-3b', '172.31.16.0/20', true, 4091],
        ['eu-west-3c', '172.31.32.0/20', true, 4091],
      ]);
      const { InternetGateways } = await paris.send(new DescribeInternetGatewaysCommand({ Filters: [{ Name: 'attachment.vpc-id', Values: [vpc.VpcId!] }] }));
      assert.equal(InternetGateways!.length, 1);
      const { RouteTables } = await paris.send(new DescribeRouteTablesCommand({ Filters: [{ Name: 'route.destination-cidr-block', Values: ['0.0.0.0/0'] }] }));
      assert.equal(RouteTables!.length, 1);
      const out = RouteTables![0].Routes!.find((r) => r.DestinationCidrBlock === '0.0.0.0/0')!;
      assert.equal(out.GatewayId, InternetGateways![0].InternetGatewayId);
      assert.equal(out.State, 'active');
      const dopt = await paris.send(new DescribeDhcpOptionsCommand({ DhcpOptionsIds: [vpc.DhcpOptionsId!] }));
      assert.equal(dopt.DhcpOptions![0].DhcpConfigurations![0].Values![0].Value, 'eu-west-3.compute.internal');

      // A security group created without VpcId lands in the default VPC and is found by name.
      const { GroupId } = await paris.send(new CreateSecurityGroupCommand({ GroupName: 'by-name', Description: 'd' }));
      const named = await paris.send(new DescribeSecurityGroupsCommand({ GroupNames: ['by-name'] }));
      assert.deepEqual(named.SecurityGroups!.map((g) => [g.GroupId, g.VpcId]), [[GroupId, vpc.VpcId]]);
      await paris.send(new DeleteSecurityGroupCommand({ GroupName: 'by-name' }));
      assert.equal(await errorCode(paris.send(new CreateDefaultVpcCommand({}))), 'DefaultVpcAlreadyExists');
    } finally {
      paris.destroy();
    }
  });

  test('can be deleted and rebuilt with CreateDefaultVpc and CreateDefaultSubnet', async () => {
    const client = new EC2Client(clientConfig(kumo.url, { region: 'us-east-1' }));
    try {
      const vpc = (await client.send(new DescribeVpcsCommand({ Filters: [{ Name: 'is-default', Values: ['true'] }] }))).Vpcs![0];
      const dopt = await client.send(new DescribeDhcpOptionsCommand({ DhcpOptionsIds: [vpc.DhcpOptionsId!] }));
      assert.equal(dopt.DhcpOptions![0].DhcpConfigurations![0].Values![0].Value, 'ec2.internal');
      const subnets = (await client.send(new DescribeSubnetsCommand({ Filters: byVpc(vpc.VpcId!) }))).Subnets!;
      assert.equal(subnets.length, 6);
      for (const s of subnets) await client.send(new DeleteSubnetCommand({ SubnetId: s.SubnetId }));
      const igw = (await client.send(new DescribeInternetGatewaysCommand({ Filters: [{ Name: 'attachment.vpc-id', Values: [vpc.VpcId!] }] }))).InternetGateways![0];
      await client.send(new DetachInternetGatewayCommand({ InternetGatewayId: igw.InternetGatewayId, VpcId: vpc.VpcId }));
      await client.send(new DeleteInternetGatewayCommand({ InternetGatewayId: igw.InternetGatewayId }));
      await client.send(new DeleteVpcCommand({ VpcId: vpc.VpcId }));
      assert.equal(await errorCode(client.send(new CreateDefaultSubnetCommand({ AvailabilityZone: 'us-east-1a' }))), 'DefaultVpcDoesNotExist');

      const rebuilt = await client.send(new CreateDefaultVpcCommand({}));
      assert.equal(rebuilt.Vpc!.IsDefault, true);
      assert.notEqual(rebuilt.Vpc!.VpcId, vpc.VpcId);
      const a = (await client.send(new DescribeSubnetsCommand({ Filters: [...byVpc(rebuilt.Vpc!.VpcId!), { Name: 'availability-zone', Values: ['us-east-1a'] }] }))).Subnets![0];
      await client.send(new DeleteSubnetCommand({ SubnetId: a.SubnetId }));
      const again = await client.send(new CreateDefaultSubnetCommand({ AvailabilityZone: 'us-east-1a' }));
      assert.equal(again.Subnet!.DefaultForAz, true);
      assert.equal(again.Subnet!.CidrBlock, a.CidrBlock, 'the freed /20 is reused');
      assert.equal(
        await errorCode(client.send(new CreateDefaultSubnetCommand({ AvailabilityZone: 'us-east-1a' }))),
        'DefaultSubnetAlreadyExistsInAvailabilityZone',
      );
    } finally {
      client.destroy();
    }
  });
});
