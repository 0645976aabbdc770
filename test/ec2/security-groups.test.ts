// Security groups and their rules through SDK v3: the scenario's web-sg/db-sg/elb-sg, rule IDs,
// duplicates and misses, protocols and ports, group references, deletion rules.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  AuthorizeSecurityGroupEgressCommand,
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  CreateTagsCommand,
  CreateVpcCommand,
  DeleteSecurityGroupCommand,
  DescribeSecurityGroupRulesCommand,
  DescribeSecurityGroupsCommand,
  EC2Client,
  ModifySecurityGroupRulesCommand,
  RevokeSecurityGroupEgressCommand,
  RevokeSecurityGroupIngressCommand,
  type IpPermission,
} from '@aws-sdk/client-ec2';
import { clientConfig, errorCode, startKumoForTest, uniqueName, type TestKumo } from '../helpers/kumo.js';

let kumo: TestKumo;
let ec2: EC2Client;
let vpcId: string;

before(async () => {
  kumo = await startKumoForTest();
  ec2 = new EC2Client(clientConfig(kumo.url));
  vpcId = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.0.0.0/16' }))).Vpc!.VpcId!;
});
after(async () => {
  ec2.destroy();
  await kumo.stop();
});

const code = errorCode;
const tcp = (port: number, cidr = '0.0.0.0/0'): IpPermission => ({ IpProtocol: 'tcp', FromPort: port, ToPort: port, IpRanges: [{ CidrIp: cidr }] });

async function group(name: string, vpc = vpcId): Promise<string> {
  return (await ec2.send(new CreateSecurityGroupCommand({ GroupName: name, Description: `${name} group`, VpcId: vpc }))).GroupId!;
}
async function describeGroup(id: string) {
  return (await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [id] }))).SecurityGroups![0];
}

describe('security groups', () => {
  test('web-sg, db-sg and elb-sg as the scenario builds them', async () => {
    const web = await group('web-sg');
    assert.match(web, /^sg-[0-9a-f]{17}$/);
    const out = await ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: web, IpPermissions: [tcp(22), tcp(80)] }));
    assert.equal(out.Return, true);
    assert.equal(out.SecurityGroupRules!.length, 2);
    for (const r of out.SecurityGroupRules!) {
      assert.match(r.SecurityGroupRuleId!, /^sgr-[0-9a-f]{17}$/);
      assert.deepEqual([r.GroupId, r.IsEgress, r.CidrIpv4, r.IpProtocol], [web, false, '0.0.0.0/0', 'tcp']);
    }

    const db = await group('db-sg');
    await ec2.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: db,
        IpPermissions: [{ IpProtocol: 'tcp', FromPort: 3306, ToPort: 3306, UserIdGroupPairs: [{ GroupId: web }] }],
      }),
    );
    const elb = await group('elb-sg');
    await ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: elb, IpPermissions: [tcp(80)] }));

    const w = await describeGroup(web);
    assert.equal(w.GroupName, 'web-sg');
    assert.equal(w.VpcId, vpcId);
    assert.deepEqual(w.IpPermissions, [
      { IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '0.0.0.0/0' }], Ipv6Ranges: [], PrefixListIds: [], UserIdGroupPairs: [] },
      { IpProtocol: 'tcp', FromPort: 80, ToPort: 80, IpRanges: [{ CidrIp: '0.0.0.0/0' }], Ipv6Ranges: [], PrefixListIds: [], UserIdGroupPairs: [] },
    ]);
    assert.deepEqual(w.IpPermissionsEgress, [
      { IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }], Ipv6Ranges: [], PrefixListIds: [], UserIdGroupPairs: [] },
    ]);
    const d = await describeGroup(db);
    assert.deepEqual(d.IpPermissions, [
      { IpProtocol: 'tcp', FromPort: 3306, ToPort: 3306, IpRanges: [], Ipv6Ranges: [], PrefixListIds: [], UserIdGroupPairs: [{ GroupId: web, UserId: '000000000000' }] },
    ]);

    // Who lets web-sg in? Filters over rules.
    const fromWeb = await ec2.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'ip-permission.group-id', Values: [web] }] }));
    assert.deepEqual(fromWeb.SecurityGroups!.map((g) => g.GroupName), ['db-sg']);
    const port80 = await ec2.send(
      new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'vpc-id', Values: [vpcId] }, { Name: 'ip-permission.from-port', Values: ['80'] }] }),
    );
    assert.deepEqual(port80.SecurityGroups!.map((g) => g.GroupName).sort(), ['elb-sg', 'web-sg']);

    // web-sg is referenced by db-sg, so it stays until the reference goes.
    assert.equal(await code(ec2.send(new DeleteSecurityGroupCommand({ GroupId: web }))), 'DependencyViolation');
    await ec2.send(new DeleteSecurityGroupCommand({ GroupId: db }));
    await ec2.send(new DeleteSecurityGroupCommand({ GroupId: web }));
    await ec2.send(new DeleteSecurityGroupCommand({ GroupId: elb }));
    assert.equal(await code(ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [web] }))), 'InvalidGroup.NotFound');
  });

  test('names: unique per VPC, default reserved, sg-* refused; lookups and malformed IDs', async () => {
    const name = uniqueName('app');
    const id = await group(name);
    assert.equal(await code(group(name)), 'InvalidGroup.Duplicate');
    const elsewhere = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.1.0.0/16' }))).Vpc!.VpcId!;
    await group(name, elsewhere);
    assert.equal(await code(group('default')), 'InvalidGroup.Reserved');
    assert.equal(await code(group('sg-lookalike')), 'InvalidParameterValue');
    assert.equal(await code(ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: ['sg-zz'] }))), 'InvalidGroupId.Malformed');
    assert.equal(await code(ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: ['sg-0123456789abcdef0'] }))), 'InvalidGroup.NotFound');
    // GroupNames look in the default VPC only.
    assert.equal(await code(ec2.send(new DescribeSecurityGroupsCommand({ GroupNames: [name] }))), 'InvalidGroup.NotFound');
    const defaultGroup = (await ec2.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'vpc-id', Values: [vpcId] }, { Name: 'group-name', Values: ['default'] }] }))).SecurityGroups![0];
    assert.equal(await code(ec2.send(new DeleteSecurityGroupCommand({ GroupId: defaultGroup.GroupId }))), 'CannotDelete');
    await ec2.send(new CreateTagsCommand({ Resources: [id], Tags: [{ Key: 'Name', Value: name }] }));
    const tagged = await ec2.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'tag:Name', Values: [name] }] }));
    assert.deepEqual(tagged.SecurityGroups!.map((g) => g.GroupId), [id]);
  });

  test('protocols and ports: names and numbers, bad values, duplicates', async () => {
    const id = await group(uniqueName('proto'));
    const auth = (p: IpPermission[]) => ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: id, IpPermissions: p }));
    await auth([{ IpProtocol: '6', FromPort: 443, ToPort: 443, IpRanges: [{ CidrIp: '10.0.0.0/8' }] }]);
    await auth([{ IpProtocol: '17', FromPort: 53, ToPort: 53, IpRanges: [{ CidrIp: '10.0.0.0/8' }] }]);
    await auth([{ IpProtocol: 'icmp', FromPort: 8, ToPort: -1, IpRanges: [{ CidrIp: '10.0.0.0/8' }] }]);
    await auth([{ IpProtocol: '50', IpRanges: [{ CidrIp: '10.0.0.0/8' }] }]);
    await auth([{ IpProtocol: 'tcp', FromPort: 22, ToPort: 22, Ipv6Ranges: [{ CidrIpv6: '2001:db8::/32', Description: 'v6 admins' }] }]);
    const perms = (await describeGroup(id)).IpPermissions!;
    assert.deepEqual(perms.map((p) => [p.IpProtocol, p.FromPort, p.ToPort]), [
      ['tcp', 443, 443],
      ['udp', 53, 53],
      ['icmp', 8, -1],
      ['50', undefined, undefined],
      ['tcp', 22, 22],
    ]);
    assert.deepEqual(perms[4].Ipv6Ranges, [{ CidrIpv6: '2001:db8::/32', Description: 'v6 admins' }]);

    assert.equal(await code(auth([{ IpProtocol: 'tcp', FromPort: 443, ToPort: 443, IpRanges: [{ CidrIp: '10.0.0.0/8' }] }])), 'InvalidPermission.Duplicate');
    assert.equal(await code(auth([{ IpProtocol: 'bogus', FromPort: 1, ToPort: 1, IpRanges: [{ CidrIp: '10.0.0.0/8' }] }])), 'InvalidParameterValue');
    assert.equal(await code(auth([{ IpProtocol: 'tcp', FromPort: 90, ToPort: 80, IpRanges: [{ CidrIp: '10.0.0.0/8' }] }])), 'InvalidParameterValue');
    assert.equal(await code(auth([{ IpProtocol: 'tcp', FromPort: 1, ToPort: 70000, IpRanges: [{ CidrIp: '10.0.0.0/8' }] }])), 'InvalidParameterValue');
    assert.equal(await code(auth([{ IpProtocol: 'tcp', FromPort: 1, ToPort: 2, IpRanges: [{ CidrIp: '10.0.0/8' }] }])), 'InvalidParameterValue');
    assert.equal(await code(auth([{ IpProtocol: 'tcp', FromPort: 1, ToPort: 2 }])), 'InvalidPermission.Malformed');
    // One bad permission in a batch writes none of them.
    assert.equal(await code(auth([tcp(8080), { IpProtocol: 'tcp', FromPort: 5, ToPort: 1, IpRanges: [{ CidrIp: '0.0.0.0/0' }] }])), 'InvalidParameterValue');
    assert.equal((await describeGroup(id)).IpPermissions!.length, 5);
  });

  test('60 rules per direction, IPv4 and IPv6 counted apart', async () => {
    const id = await group(uniqueName('quota'));
    const ports = (from: number, n: number) => Array.from({ length: n }, (_, i) => tcp(from + i));
    await ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: id, IpPermissions: ports(1000, 60) }));
    assert.equal(await code(ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: id, IpPermissions: [tcp(2000)] }))), 'RulesPerSecurityGroupLimitExceeded');
    await ec2.send(
      new AuthorizeSecurityGroupIngressCommand({ GroupId: id, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 2000, ToPort: 2000, Ipv6Ranges: [{ CidrIpv6: '::/0' }] }] }),
    );
    const rules = await ec2.send(new DescribeSecurityGroupRulesCommand({ Filters: [{ Name: 'group-id', Values: [id] }], MaxResults: 1000 }));
    assert.equal(rules.SecurityGroupRules!.filter((r) => !r.IsEgress).length, 61);
  });

  test('group references stay inside the VPC', async () => {
    const a = await group(uniqueName('a'));
    const otherVpc = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.2.0.0/16' }))).Vpc!.VpcId!;
    const b = await group(uniqueName('b'), otherVpc);
    const ref = (source: string) =>
      ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: a, IpPermissions: [{ IpProtocol: '-1', UserIdGroupPairs: [{ GroupId: source }] }] }));
    assert.equal(await code(ref(b)), 'InvalidGroup.NotFound');
    assert.equal(await code(ref('sg-0123456789abcdef0')), 'InvalidGroup.NotFound');
    await ref(a);
    const rules = await ec2.send(new DescribeSecurityGroupRulesCommand({ Filters: [{ Name: 'group-id', Values: [a] }] }));
    const self = rules.SecurityGroupRules!.find((r) => !r.IsEgress)!;
    assert.deepEqual([self.IpProtocol, self.FromPort, self.ToPort, self.ReferencedGroupInfo?.GroupId], ['-1', -1, -1, a]);
  });

  test('rules: DescribeSecurityGroupRules, revoke by permission or by rule ID, egress, tags, modify', async () => {
    const id = await group(uniqueName('rules'));
    const added = await ec2.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: id,
        IpPermissions: [tcp(22), tcp(80)],
        TagSpecifications: [{ ResourceType: 'security-group-rule', Tags: [{ Key: 'team', Value: 'web' }] }],
      }),
    );
    const [ssh, http] = added.SecurityGroupRules!;
    assert.deepEqual(ssh.Tags, [{ Key: 'team', Value: 'web' }]);
    const all = await ec2.send(new DescribeSecurityGroupRulesCommand({ Filters: [{ Name: 'group-id', Values: [id] }] }));
    assert.deepEqual(all.SecurityGroupRules!.map((r) => [r.IsEgress, r.IpProtocol, r.FromPort, r.CidrIpv4]).sort(), [
      [false, 'tcp', 22, '0.0.0.0/0'],
      [false, 'tcp', 80, '0.0.0.0/0'],
      [true, '-1', -1, '0.0.0.0/0'],
    ]);
    const byTag = await ec2.send(new DescribeSecurityGroupRulesCommand({ Filters: [{ Name: 'tag:team', Values: ['web'] }] }));
    assert.deepEqual(byTag.SecurityGroupRules!.map((r) => r.SecurityGroupRuleId).sort(), [ssh.SecurityGroupRuleId, http.SecurityGroupRuleId].sort());
    const one = await ec2.send(new DescribeSecurityGroupRulesCommand({ SecurityGroupRuleIds: [ssh.SecurityGroupRuleId!] }));
    assert.equal(one.SecurityGroupRules![0].FromPort, 22);
    assert.equal(await code(ec2.send(new DescribeSecurityGroupRulesCommand({ SecurityGroupRuleIds: ['sgr-0123456789abcdef0'] }))), 'InvalidSecurityGroupRuleId.NotFound');

    await ec2.send(
      new ModifySecurityGroupRulesCommand({
        GroupId: id,
        SecurityGroupRules: [{ SecurityGroupRuleId: ssh.SecurityGroupRuleId, SecurityGroupRule: { IpProtocol: 'tcp', FromPort: 2222, ToPort: 2222, CidrIpv4: '10.0.0.0/8' } }],
      }),
    );
    const modified = (await ec2.send(new DescribeSecurityGroupRulesCommand({ SecurityGroupRuleIds: [ssh.SecurityGroupRuleId!] }))).SecurityGroupRules![0];
    assert.deepEqual([modified.FromPort, modified.CidrIpv4], [2222, '10.0.0.0/8']);

    // Outside a default VPC, one miss refuses the whole revoke.
    assert.equal(await code(ec2.send(new RevokeSecurityGroupIngressCommand({ GroupId: id, IpPermissions: [tcp(80), tcp(81)] }))), 'InvalidPermission.NotFound');
    assert.equal((await describeGroup(id)).IpPermissions!.length, 2, 'nothing was revoked');
    await ec2.send(new RevokeSecurityGroupIngressCommand({ GroupId: id, IpPermissions: [tcp(80)] }));
    assert.equal(await code(ec2.send(new RevokeSecurityGroupIngressCommand({ GroupId: id, IpPermissions: [tcp(80)] }))), 'InvalidPermission.NotFound');
    await ec2.send(new RevokeSecurityGroupIngressCommand({ GroupId: id, SecurityGroupRuleIds: [ssh.SecurityGroupRuleId!] }));
    assert.equal(
      await code(ec2.send(new RevokeSecurityGroupIngressCommand({ GroupId: id, SecurityGroupRuleIds: [ssh.SecurityGroupRuleId!] }))),
      'InvalidSecurityGroupRuleId.NotFound',
    );
    assert.deepEqual((await describeGroup(id)).IpPermissions, []);

    // Egress: the default allow-all rule can be revoked and replaced with narrower ones.
    await ec2.send(new RevokeSecurityGroupEgressCommand({ GroupId: id, IpPermissions: [{ IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }] }] }));
    await ec2.send(new AuthorizeSecurityGroupEgressCommand({ GroupId: id, IpPermissions: [tcp(443)] }));
    assert.equal(await code(ec2.send(new AuthorizeSecurityGroupEgressCommand({ GroupId: id, IpPermissions: [tcp(443)] }))), 'InvalidPermission.Duplicate');
    assert.deepEqual((await describeGroup(id)).IpPermissionsEgress!.map((p) => [p.IpProtocol, p.FromPort]), [['tcp', 443]]);
  });

  test('in the default VPC, a revoke revokes what matches and returns the misses', async () => {
    const name = uniqueName('dflt');
    const id = (await ec2.send(new CreateSecurityGroupCommand({ GroupName: name, Description: 'in the default VPC' }))).GroupId!;
    await ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupName: name, IpPermissions: [tcp(22)] }));
    const out = await ec2.send(new RevokeSecurityGroupIngressCommand({ GroupName: name, IpPermissions: [tcp(22), tcp(23)] }));
    assert.equal(out.Return, true);
    assert.deepEqual(out.UnknownIpPermissions!.map((p) => [p.IpProtocol, p.FromPort, p.IpRanges![0].CidrIp]), [['tcp', 23, '0.0.0.0/0']]);
    assert.deepEqual((await describeGroup(id)).IpPermissions, []);
    await ec2.send(new DeleteSecurityGroupCommand({ GroupName: name }));
  });

  test('paging with MaxResults and NextToken', async () => {
    const v = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.3.0.0/16' }))).Vpc!.VpcId!;
    for (let i = 0; i < 6; i++) await group(uniqueName('page'), v);
    const seen: string[] = [];
    let NextToken: string | undefined;
    do {
      const page = await ec2.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'vpc-id', Values: [v] }], MaxResults: 5, NextToken }));
      seen.push(...page.SecurityGroups!.map((g) => g.GroupId!));
      NextToken = page.NextToken;
    } while (NextToken);
    assert.equal(new Set(seen).size, 7);
  });
});
