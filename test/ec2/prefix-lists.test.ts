// Managed prefix lists through SDK v3 (AWS-managed and the account's own: create, modify with
// versions, entries, describe filters and paging, delete refused while referenced) and as
// security group rule sources, plus one aws CLI flow.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  AttachInternetGatewayCommand,
  AuthorizeSecurityGroupEgressCommand,
  CreateInternetGatewayCommand,
  CreateRouteCommand,
  CreateRouteTableCommand,
  DeleteRouteCommand,
  DescribeRouteTablesCommand,
  ReplaceRouteCommand,
  AuthorizeSecurityGroupIngressCommand,
  CreateManagedPrefixListCommand,
  CreateSecurityGroupCommand,
  CreateTagsCommand,
  CreateVpcCommand,
  DeleteManagedPrefixListCommand,
  DescribeManagedPrefixListsCommand,
  DescribePrefixListsCommand,
  DescribeSecurityGroupRulesCommand,
  DescribeSecurityGroupsCommand,
  DescribeTagsCommand,
  EC2Client,
  GetManagedPrefixListEntriesCommand,
  ModifyManagedPrefixListCommand,
  ModifySecurityGroupRulesCommand,
  RevokeSecurityGroupIngressCommand,
  type CreateManagedPrefixListCommandInput,
  type GetManagedPrefixListEntriesCommandOutput,
} from '@aws-sdk/client-ec2';
import { REGION, clientConfig, errorCode, startKumoForTest, uniqueName, type TestKumo } from '../helpers/kumo.js';
import { aws, awsJson } from '../helpers/python.js';

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

async function createList(extra: Partial<CreateManagedPrefixListCommandInput> = {}) {
  const out = await ec2.send(
    new CreateManagedPrefixListCommand({ PrefixListName: uniqueName('pl'), MaxEntries: 5, AddressFamily: 'IPv4', ...extra }),
  );
  return out.PrefixList!;
}
async function entries(id: string, version?: number) {
  return (await ec2.send(new GetManagedPrefixListEntriesCommand({ PrefixListId: id, TargetVersion: version }))).Entries!;
}
async function group(): Promise<string> {
  const name = uniqueName('group');
  return (await ec2.send(new CreateSecurityGroupCommand({ GroupName: name, Description: 'prefix list tests', VpcId: vpcId }))).GroupId!;
}
const allLists = async () => (await ec2.send(new DescribeManagedPrefixListsCommand({}))).PrefixLists!;

describe('AWS-managed prefix lists', () => {
  test('s3 and dynamodb exist in the region, with stable IDs, through both describe APIs', async () => {
    const aws = (await ec2.send(new DescribeManagedPrefixListsCommand({ Filters: [{ Name: 'owner-id', Values: ['AWS'] }] }))).PrefixLists!;
    assert.deepEqual(aws.map((l) => l.PrefixListName).sort(), [`com.amazonaws.${REGION}.dynamodb`, `com.amazonaws.${REGION}.s3`]);
    for (const l of aws) {
      assert.match(l.PrefixListId!, /^pl-[0-9a-f]{8}$/);
      assert.equal(l.AddressFamily, 'IPv4');
      assert.equal(l.State, 'create-complete');
      assert.equal(l.PrefixListArn, `arn:aws:ec2:${REGION}:aws:prefix-list/${l.PrefixListId}`);
    }
    const old = (await ec2.send(new DescribePrefixListsCommand({}))).PrefixLists!;
    assert.deepEqual(old.map((l) => l.PrefixListId).sort(), aws.map((l) => l.PrefixListId).sort());
    const s3 = aws.find((l) => l.PrefixListName!.endsWith('.s3'))!;
    const viaOld = old.find((l) => l.PrefixListId === s3.PrefixListId)!;
    assert.ok(viaOld.Cidrs!.length > 0);
    assert.deepEqual((await entries(s3.PrefixListId!)).map((e) => e.Cidr), viaOld.Cidrs);

    // Another region has its own IDs; the same region gives the same ones again.
    const other = new EC2Client(clientConfig(kumo.url, { region: 'eu-west-1' }));
    try {
      const there = (await other.send(new DescribePrefixListsCommand({}))).PrefixLists!;
      assert.ok(there.some((l) => l.PrefixListName === 'com.amazonaws.eu-west-1.s3'));
      assert.ok(!there.some((l) => l.PrefixListId === s3.PrefixListId));
    } finally {
      other.destroy();
    }
    const again = (await ec2.send(new DescribePrefixListsCommand({ PrefixListIds: [s3.PrefixListId!] }))).PrefixLists!;
    assert.equal(again[0].PrefixListName, `com.amazonaws.${REGION}.s3`);
  });

  test('cannot be modified or deleted; filters and unknown IDs on DescribePrefixLists', async () => {
    const s3 = (await ec2.send(new DescribePrefixListsCommand({ Filters: [{ Name: 'prefix-list-name', Values: ['*.s3'] }] }))).PrefixLists!;
    assert.equal(s3.length, 1);
    const id = s3[0].PrefixListId!;
    assert.equal(await code(ec2.send(new DeleteManagedPrefixListCommand({ PrefixListId: id }))), 'InvalidParameterValue');
    assert.equal(await code(ec2.send(new ModifyManagedPrefixListCommand({ PrefixListId: id, PrefixListName: 'x' }))), 'InvalidParameterValue');
    assert.equal(await code(ec2.send(new DescribePrefixListsCommand({ PrefixListIds: ['pl-00000000'] }))), 'InvalidPrefixListID.NotFound');
    assert.equal(await code(ec2.send(new DescribePrefixListsCommand({ PrefixListIds: ['nope'] }))), 'InvalidPrefixListId.Malformed');
  });
});

describe('customer-managed prefix lists', () => {
  test('create with entries and tags, then describe and read the entries', async () => {
    const name = uniqueName('corp');
    const pl = await createList({
      PrefixListName: name,
      MaxEntries: 10,
      Entries: [{ Cidr: '203.0.113.0/24', Description: 'office' }, { Cidr: '198.51.100.7/32' }],
      TagSpecifications: [{ ResourceType: 'prefix-list', Tags: [{ Key: 'team', Value: 'net' }] }],
      ClientToken: uniqueName('token'),
    });
    assert.match(pl.PrefixListId!, /^pl-[0-9a-f]{17}$/);
    assert.equal(pl.PrefixListArn, `arn:aws:ec2:${REGION}:000000000000:prefix-list/${pl.PrefixListId}`);
    assert.deepEqual(
      [pl.PrefixListName, pl.AddressFamily, pl.MaxEntries, pl.Version, pl.State, pl.OwnerId],
      [name, 'IPv4', 10, 1, 'create-complete', '000000000000'],
    );
    assert.deepEqual(pl.Tags, [{ Key: 'team', Value: 'net' }]);
    const [d] = (await ec2.send(new DescribeManagedPrefixListsCommand({ PrefixListIds: [pl.PrefixListId!] }))).PrefixLists!;
    assert.deepEqual(d, pl);
    assert.deepEqual(await entries(pl.PrefixListId!), [{ Cidr: '198.51.100.7/32' }, { Cidr: '203.0.113.0/24', Description: 'office' }]);
    const tags = await ec2.send(new DescribeTagsCommand({ Filters: [{ Name: 'resource-id', Values: [pl.PrefixListId!] }] }));
    assert.equal(tags.Tags![0].ResourceType, 'prefix-list');
    const byTag = (await ec2.send(new DescribeManagedPrefixListsCommand({ Filters: [{ Name: 'tag:team', Values: ['net'] }] }))).PrefixLists!;
    assert.ok(byTag.some((l) => l.PrefixListId === pl.PrefixListId));
  });

  test('the same ClientToken gives the same list back', async () => {
    const token = uniqueName('token');
    const name = uniqueName('idem');
    const a = await createList({ PrefixListName: name, ClientToken: token });
    const b = await createList({ PrefixListName: name, ClientToken: token });
    assert.equal(a.PrefixListId, b.PrefixListId);
    assert.equal(await code(createList({ PrefixListName: uniqueName('other'), ClientToken: token })), 'IdempotentParameterMismatch');
  });

  test('IPv6 lists take IPv6 CIDRs only', async () => {
    const pl = await createList({ AddressFamily: 'IPv6', Entries: [{ Cidr: '2001:db8::/32' }] });
    assert.equal(pl.AddressFamily, 'IPv6');
    assert.deepEqual(await entries(pl.PrefixListId!), [{ Cidr: '2001:db8::/32' }]);
    assert.equal(await code(createList({ AddressFamily: 'IPv6', Entries: [{ Cidr: '10.0.0.0/8' }] })), 'InvalidParameterValue');
  });

  test('bad input is refused and writes nothing', async () => {
    const before = (await allLists()).length;
    const bad: [string, Partial<CreateManagedPrefixListCommandInput>][] = [
      ['InvalidParameterValue', { Entries: [{ Cidr: '10.0.0.1/8' }] }],
      ['InvalidParameterValue', { Entries: [{ Cidr: 'not-a-cidr' }] }],
      ['InvalidParameterValue', { Entries: [{ Cidr: '10.0.0.0/8' }, { Cidr: '10.0.0.0/8' }] }],
      ['InvalidParameterValue', { MaxEntries: 1, Entries: [{ Cidr: '10.0.0.0/8' }, { Cidr: '11.0.0.0/8' }] }],
      ['InvalidParameterValue', { MaxEntries: 0 }],
      ['InvalidParameterValue', { MaxEntries: 1001 }],
      ['InvalidParameterValue', { AddressFamily: 'IPv5' }],
      ['InvalidParameterValue', { PrefixListName: 'com.amazonaws.mine' }],
      ['InvalidParameterValue', { TagSpecifications: [{ ResourceType: 'vpc', Tags: [{ Key: 'a', Value: 'b' }] }] }],
    ];
    for (const [expected, input] of bad) assert.equal(await code(createList(input)), expected, JSON.stringify(input));
    assert.equal((await allLists()).length, before);
  });

  test('modify: entries with CurrentVersion, versions kept, MaxEntries and name', async () => {
    const pl = await createList({ Entries: [{ Cidr: '10.1.0.0/16' }, { Cidr: '10.2.0.0/16' }] });
    const id = pl.PrefixListId!;
    const m = await ec2.send(
      new ModifyManagedPrefixListCommand({
        PrefixListId: id,
        CurrentVersion: 1,
        AddEntries: [{ Cidr: '10.3.0.0/16', Description: 'new' }],
        RemoveEntries: [{ Cidr: '10.1.0.0/16' }],
      }),
    );
    assert.equal(m.PrefixList!.Version, 2);
    assert.equal(m.PrefixList!.State, 'modify-complete');
    assert.deepEqual((await entries(id)).map((e) => e.Cidr), ['10.2.0.0/16', '10.3.0.0/16']);
    assert.deepEqual((await entries(id, 1)).map((e) => e.Cidr), ['10.1.0.0/16', '10.2.0.0/16']);
    assert.equal(await code(entries(id, 7)), 'InvalidParameterValue');

    // Stale version, missing version, unknown removals, duplicates, over MaxEntries: nothing changes.
    const refused: [string, Record<string, unknown>][] = [
      ['PrefixListVersionMismatch', { CurrentVersion: 1, AddEntries: [{ Cidr: '10.4.0.0/16' }] }],
      ['MissingParameter', { AddEntries: [{ Cidr: '10.4.0.0/16' }] }],
      ['InvalidParameterValue', { CurrentVersion: 2, RemoveEntries: [{ Cidr: '10.9.0.0/16' }] }],
      ['InvalidParameterValue', { CurrentVersion: 2, AddEntries: [{ Cidr: '10.2.0.0/16' }] }],
      ['InvalidParameterValue', { CurrentVersion: 2, AddEntries: [1, 2, 3, 4].map((i) => ({ Cidr: `10.${10 + i}.0.0/16` })) }],
      ['InvalidParameterCombination', { CurrentVersion: 2, MaxEntries: 9, AddEntries: [{ Cidr: '10.4.0.0/16' }] }],
      ['InvalidParameterValue', { MaxEntries: 1 }],
      ['InvalidParameterValue', { CurrentVersion: 2, PrefixListName: 'com.amazonaws.x', AddEntries: [{ Cidr: '10.4.0.0/16' }] }],
    ];
    for (const [expected, input] of refused) {
      assert.equal(await code(ec2.send(new ModifyManagedPrefixListCommand({ PrefixListId: id, ...input }))), expected, JSON.stringify(input));
    }
    const [now] = (await ec2.send(new DescribeManagedPrefixListsCommand({ PrefixListIds: [id] }))).PrefixLists!;
    assert.deepEqual([now.Version, now.MaxEntries, now.PrefixListName], [2, 5, pl.PrefixListName]);
    assert.deepEqual((await entries(id)).map((e) => e.Cidr), ['10.2.0.0/16', '10.3.0.0/16']);

    // MaxEntries and the name change without a new version.
    const renamed = uniqueName('renamed');
    const r = await ec2.send(new ModifyManagedPrefixListCommand({ PrefixListId: id, MaxEntries: 20, PrefixListName: renamed }));
    assert.deepEqual([r.PrefixList!.Version, r.PrefixList!.MaxEntries, r.PrefixList!.PrefixListName], [2, 20, renamed]);
  });

  test('filters and paging of DescribeManagedPrefixLists and GetManagedPrefixListEntries', async () => {
    const name = uniqueName('paged');
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await createList({ PrefixListName: `${name}-${i}` })).PrefixListId!);
    const filtered = (await ec2.send(new DescribeManagedPrefixListsCommand({ Filters: [{ Name: 'prefix-list-name', Values: [`${name}-*`] }] }))).PrefixLists!;
    assert.deepEqual(filtered.map((l) => l.PrefixListId).sort(), [...ids].sort());
    const mine = (await ec2.send(new DescribeManagedPrefixListsCommand({ Filters: [{ Name: 'owner-id', Values: ['000000000000'] }] }))).PrefixLists!;
    assert.ok(mine.every((l) => l.OwnerId === '000000000000') && mine.length >= 3);
    const byId = (await ec2.send(new DescribeManagedPrefixListsCommand({ Filters: [{ Name: 'prefix-list-id', Values: [ids[1]] }] }))).PrefixLists!;
    assert.deepEqual(byId.map((l) => l.PrefixListId), [ids[1]]);

    const seen: string[] = [];
    let token: string | undefined;
    do {
      const page = await ec2.send(new DescribeManagedPrefixListsCommand({ MaxResults: 2, NextToken: token }));
      assert.ok(page.PrefixLists!.length <= 2);
      seen.push(...page.PrefixLists!.map((l) => l.PrefixListId!));
      token = page.NextToken;
    } while (token);
    assert.deepEqual([...seen].sort(), (await allLists()).map((l) => l.PrefixListId!).sort());
    assert.equal(await code(ec2.send(new DescribeManagedPrefixListsCommand({ MaxResults: 101 }))), 'InvalidParameterValue');
    assert.equal(await code(ec2.send(new DescribeManagedPrefixListsCommand({ MaxResults: 0 }))), 'InvalidParameterValue');
    assert.equal(await code(ec2.send(new DescribeManagedPrefixListsCommand({ Filters: [{ Name: 'bogus', Values: ['x'] }] }))), 'InvalidParameterValue');

    const big = await createList({ MaxEntries: 10, Entries: [1, 2, 3, 4, 5].map((i) => ({ Cidr: `192.0.${i}.0/24` })) });
    const cidrs: string[] = [];
    token = undefined;
    do {
      const entryPage: GetManagedPrefixListEntriesCommandOutput = await ec2.send(
        new GetManagedPrefixListEntriesCommand({ PrefixListId: big.PrefixListId!, MaxResults: 2, NextToken: token }),
      );
      cidrs.push(...entryPage.Entries!.map((e) => e.Cidr!));
      token = entryPage.NextToken;
    } while (token);
    assert.deepEqual(cidrs, [1, 2, 3, 4, 5].map((i) => `192.0.${i}.0/24`));
  });

  test('unknown and malformed IDs', async () => {
    assert.equal(await code(entries('pl-0123456789abcdef0')), 'InvalidPrefixListID.NotFound');
    assert.equal(await code(entries('sg-0123456789abcdef0')), 'InvalidPrefixListId.Malformed');
    assert.equal(await code(ec2.send(new DeleteManagedPrefixListCommand({ PrefixListId: 'pl-0123456789abcdef0' }))), 'InvalidPrefixListID.NotFound');
    assert.equal(
      await code(ec2.send(new DescribeManagedPrefixListsCommand({ PrefixListIds: ['pl-0123456789abcdef0'] }))),
      'InvalidPrefixListID.NotFound',
    );
    assert.equal(await code(ec2.send(new ModifyManagedPrefixListCommand({ PrefixListId: 'pl-0123456789abcdef0', MaxEntries: 3 }))), 'InvalidPrefixListID.NotFound');
    assert.equal(
      await code(ec2.send(new CreateTagsCommand({ Resources: ['pl-0123456789abcdef0'], Tags: [{ Key: 'a', Value: 'b' }] }))),
      'InvalidPrefixListID.NotFound',
    );
  });
});

describe('prefix lists as security group rule sources', () => {
  test('authorize, describe, refuse deletion while referenced, revoke, delete', async () => {
    const pl = await createList({ Entries: [{ Cidr: '203.0.113.0/24' }] });
    const id = pl.PrefixListId!;
    const s3 = (await ec2.send(new DescribePrefixListsCommand({ Filters: [{ Name: 'prefix-list-name', Values: ['*.s3'] }] }))).PrefixLists![0].PrefixListId!;
    const sg = await group();
    const perm = { IpProtocol: 'tcp', FromPort: 443, ToPort: 443, PrefixListIds: [{ PrefixListId: id, Description: 'corp' }] };
    const out = await ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: sg, IpPermissions: [perm] }));
    assert.equal(out.SecurityGroupRules![0].PrefixListId, id);
    await ec2.send(
      new AuthorizeSecurityGroupEgressCommand({ GroupId: sg, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 443, ToPort: 443, PrefixListIds: [{ PrefixListId: s3 }] }] }),
    );

    const [g] = (await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [sg] }))).SecurityGroups!;
    assert.deepEqual(g.IpPermissions, [
      { IpProtocol: 'tcp', FromPort: 443, ToPort: 443, IpRanges: [], Ipv6Ranges: [], PrefixListIds: [{ PrefixListId: id, Description: 'corp' }], UserIdGroupPairs: [] },
    ]);
    assert.ok(g.IpPermissionsEgress!.some((p) => p.PrefixListIds!.some((x) => x.PrefixListId === s3)));
    const rules = (await ec2.send(new DescribeSecurityGroupRulesCommand({ Filters: [{ Name: 'group-id', Values: [sg] }] }))).SecurityGroupRules!;
    assert.deepEqual(rules.filter((r) => r.PrefixListId).map((r) => [r.IsEgress, r.PrefixListId]).sort(), [[false, id], [true, s3]]);
    const byFilter = (await ec2.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'ip-permission.prefix-list-id', Values: [id] }] }))).SecurityGroups!;
    assert.deepEqual(byFilter.map((x) => x.GroupId), [sg]);

    assert.equal(await code(ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: sg, IpPermissions: [perm] }))), 'InvalidPermission.Duplicate');
    assert.equal(await code(ec2.send(new DeleteManagedPrefixListCommand({ PrefixListId: id }))), 'DependencyViolation');
    await ec2.send(new RevokeSecurityGroupIngressCommand({ GroupId: sg, IpPermissions: [perm] }));
    const del = await ec2.send(new DeleteManagedPrefixListCommand({ PrefixListId: id }));
    assert.equal(del.PrefixList!.PrefixListId, id);
    assert.equal(del.PrefixList!.State, 'delete-in-progress');
    assert.equal(await code(entries(id)), 'InvalidPrefixListID.NotFound');
  });

  test('unknown or malformed prefix lists in rules write nothing', async () => {
    const sg = await group();
    const ok = { IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '10.0.0.0/8' }] };
    const withPl = (plId: string) => ({ IpProtocol: 'tcp', FromPort: 443, ToPort: 443, PrefixListIds: [{ PrefixListId: plId }] });
    assert.equal(
      await code(ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: sg, IpPermissions: [ok, withPl('pl-0123456789abcdef0')] }))),
      'InvalidPrefixListId.NotFound',
    );
    assert.equal(await code(ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: sg, IpPermissions: [ok, withPl('pl-xyz')] }))), 'InvalidPrefixListId.Malformed');
    const [g] = (await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [sg] }))).SecurityGroups!;
    assert.deepEqual(g.IpPermissions, []);
  });

  test('a reference counts MaxEntries rules against the group quota', async () => {
    const big = await createList({ MaxEntries: 60 });
    const small = await createList({ MaxEntries: 1 });
    const sg = await group();
    const ref = (id: string, port: number) => ({ IpProtocol: 'tcp', FromPort: port, ToPort: port, PrefixListIds: [{ PrefixListId: id }] });
    await ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: sg, IpPermissions: [ref(big.PrefixListId!, 80)] }));
    assert.equal(
      await code(ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: sg, IpPermissions: [ref(small.PrefixListId!, 81)] }))),
      'RulesPerSecurityGroupLimitExceeded',
    );
    // Growing a referenced list past the quota is refused too.
    const sg2 = await group();
    await ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: sg2, IpPermissions: [ref(small.PrefixListId!, 81)] }));
    await ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: sg2, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 1, ToPort: 1, IpRanges: [{ CidrIp: '10.0.0.0/8' }] }] }));
    assert.equal(await code(ec2.send(new ModifyManagedPrefixListCommand({ PrefixListId: small.PrefixListId!, MaxEntries: 60 }))), 'InvalidParameterValue');
    await ec2.send(new ModifyManagedPrefixListCommand({ PrefixListId: small.PrefixListId!, MaxEntries: 59 }));

    // So is turning a CIDR rule into a reference to a list too big for the quota.
    const sg3 = await group();
    const cidrRules = (await ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: sg3, IpPermissions: [22, 23].map((p) => ({ IpProtocol: 'tcp', FromPort: p, ToPort: p, IpRanges: [{ CidrIp: '10.0.0.0/8' }] })) }))).SecurityGroupRules!;
    const change = { SecurityGroupRuleId: cidrRules[0].SecurityGroupRuleId!, SecurityGroupRule: { IpProtocol: 'tcp', FromPort: 22, ToPort: 22, PrefixListId: big.PrefixListId! } };
    assert.equal(await code(ec2.send(new ModifySecurityGroupRulesCommand({ GroupId: sg3, SecurityGroupRules: [change] }))), 'RulesPerSecurityGroupLimitExceeded');
    const rules3 = (await ec2.send(new DescribeSecurityGroupRulesCommand({ Filters: [{ Name: 'group-id', Values: [sg3] }] }))).SecurityGroupRules!;
    assert.ok(!rules3.some((r) => r.PrefixListId));
  });
});

describe('prefix lists as route destinations', () => {
  test('create, describe, filter, replace and delete a route to a prefix list; deletion of the list refused meanwhile', async () => {
    const vpc = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.20.0.0/16' }))).Vpc!.VpcId!;
    const igw = (await ec2.send(new CreateInternetGatewayCommand({}))).InternetGateway!.InternetGatewayId!;
    await ec2.send(new AttachInternetGatewayCommand({ InternetGatewayId: igw, VpcId: vpc }));
    const rtb = (await ec2.send(new CreateRouteTableCommand({ VpcId: vpc }))).RouteTable!.RouteTableId!;
    const pl = await createList({ Entries: [{ Cidr: '198.51.100.0/24' }] });
    const id = pl.PrefixListId!;

    await ec2.send(new CreateRouteCommand({ RouteTableId: rtb, DestinationPrefixListId: id, GatewayId: igw }));
    const [t] = (await ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: [rtb] }))).RouteTables!;
    const route = t.Routes!.find((r) => r.DestinationPrefixListId === id)!;
    assert.deepEqual([route.GatewayId, route.State, route.Origin, route.DestinationCidrBlock], [igw, 'active', 'CreateRoute', undefined]);
    const byFilter = (await ec2.send(new DescribeRouteTablesCommand({ Filters: [{ Name: 'route.destination-prefix-list-id', Values: [id] }] }))).RouteTables!;
    assert.deepEqual(byFilter.map((x) => x.RouteTableId), [rtb]);

    assert.equal(await code(ec2.send(new CreateRouteCommand({ RouteTableId: rtb, DestinationPrefixListId: id, GatewayId: igw }))), 'RouteAlreadyExists');
    assert.equal(await code(ec2.send(new DeleteManagedPrefixListCommand({ PrefixListId: id }))), 'DependencyViolation');
    const unknown = 'pl-0123456789abcdef0';
    assert.equal(await code(ec2.send(new CreateRouteCommand({ RouteTableId: rtb, DestinationPrefixListId: unknown, GatewayId: igw }))), 'InvalidPrefixListID.NotFound');
    assert.equal(await code(ec2.send(new CreateRouteCommand({ RouteTableId: rtb, DestinationPrefixListId: 'pl-bad', GatewayId: igw }))), 'InvalidPrefixListId.Malformed');
    assert.equal(
      await code(ec2.send(new CreateRouteCommand({ RouteTableId: rtb, DestinationPrefixListId: id, DestinationCidrBlock: '1.0.0.0/8', GatewayId: igw }))),
      'InvalidParameterCombination',
    );
    const s3 = (await ec2.send(new DescribePrefixListsCommand({ Filters: [{ Name: 'prefix-list-name', Values: ['*.s3'] }] }))).PrefixLists![0].PrefixListId!;
    assert.equal(await code(ec2.send(new CreateRouteCommand({ RouteTableId: rtb, DestinationPrefixListId: s3, GatewayId: igw }))), 'InvalidParameterValue');

    await ec2.send(new ReplaceRouteCommand({ RouteTableId: rtb, DestinationPrefixListId: id, GatewayId: igw }));
    await ec2.send(new DeleteRouteCommand({ RouteTableId: rtb, DestinationPrefixListId: id }));
    const [after] = (await ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: [rtb] }))).RouteTables!;
    assert.ok(!after.Routes!.some((r) => r.DestinationPrefixListId));
    await ec2.send(new DeleteManagedPrefixListCommand({ PrefixListId: id }));
  });
});

describe('aws CLI', () => {
  test('create-managed-prefix-list, then a security group rule from it', async () => {
    const j = (...args: string[]) => awsJson<{ [k: string]: any }>(kumo.url, args); // eslint-disable-line @typescript-eslint/no-explicit-any
    const created = await j(
      'ec2', 'create-managed-prefix-list',
      '--prefix-list-name', uniqueName('cli'),
      '--max-entries', '5',
      '--address-family', 'IPv4',
      '--entries', 'Cidr=203.0.113.0/24,Description=office', 'Cidr=198.51.100.0/24',
    );
    const id: string = created.PrefixList.PrefixListId;
    assert.match(id, /^pl-[0-9a-f]{17}$/);
    const sg = await j('ec2', 'create-security-group', '--group-name', uniqueName('cli-sg'), '--description', 'cli', '--vpc-id', vpcId);
    const auth = await j(
      'ec2', 'authorize-security-group-ingress',
      '--group-id', sg.GroupId,
      '--ip-permissions', `IpProtocol=tcp,FromPort=443,ToPort=443,PrefixListIds=[{PrefixListId=${id}}]`,
    );
    assert.equal(auth.SecurityGroupRules[0].PrefixListId, id);
    const desc = await j('ec2', 'describe-security-groups', '--group-ids', sg.GroupId);
    assert.deepEqual(desc.SecurityGroups[0].IpPermissions[0].PrefixListIds, [{ PrefixListId: id }]);
    const got = await j('ec2', 'get-managed-prefix-list-entries', '--prefix-list-id', id);
    assert.deepEqual(got.Entries.map((e: { Cidr: string }) => e.Cidr), ['198.51.100.0/24', '203.0.113.0/24']);
    const refused = await aws(kumo.url, ['ec2', 'delete-managed-prefix-list', '--prefix-list-id', id]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /DependencyViolation/);
  });
});
