// DescribeInstanceTypes and DescribeInstanceTypeOfferings through @aws-sdk/client-ec2 v3 and the
// aws CLI against a real kumo: figures, filters, paging, offerings per location type.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  DescribeAvailabilityZonesCommand,
  DescribeInstanceTypeOfferingsCommand,
  DescribeInstanceTypesCommand,
  EC2Client,
  paginateDescribeInstanceTypeOfferings,
  paginateDescribeInstanceTypes,
  type Filter,
  type InstanceTypeInfo,
} from '@aws-sdk/client-ec2';
import { errorCode, REGION, type TestKumo } from '../helpers/kumo.js';
import { useEc2 } from '../helpers/ec2.js';
import { awsJson } from '../helpers/python.js';

let kumo: TestKumo;
let ec2: EC2Client;

useEc2((f) => ({ kumo, ec2 } = f));

async function allTypes(filters?: Filter[]): Promise<InstanceTypeInfo[]> {
  const out: InstanceTypeInfo[] = [];
  for await (const page of paginateDescribeInstanceTypes({ client: ec2, pageSize: 100 }, { Filters: filters })) {
    out.push(...page.InstanceTypes!);
  }
  return out;
}
const names = (types: InstanceTypeInfo[]) => types.map((t) => t.InstanceType!).sort();

describe('DescribeInstanceTypes', () => {
  test('named types carry their published figures', async () => {
    const { InstanceTypes } = await ec2.send(
      new DescribeInstanceTypesCommand({ InstanceTypes: ['t2.micro', 'm5.large', 'x1e.32xlarge', 'i3.large', 'p3.8xlarge', 't4g.nano'] }),
    );
    const by = new Map(InstanceTypes!.map((t) => [t.InstanceType, t]));
    assert.equal(by.size, 6);
    const micro = by.get('t2.micro')!;
    assert.equal(micro.FreeTierEligible, true);
    assert.equal(micro.BurstablePerformanceSupported, true);
    assert.equal(micro.Hypervisor, 'xen');
    assert.deepEqual(micro.VCpuInfo, { DefaultVCpus: 1, DefaultCores: 1, DefaultThreadsPerCore: 1 });
    assert.equal(micro.MemoryInfo!.SizeInMiB, 1024);
    assert.equal(micro.InstanceStorageSupported, false);
    assert.deepEqual(micro.ProcessorInfo!.SupportedArchitectures, ['i386', 'x86_64']);
    assert.equal(micro.NetworkInfo!.MaximumNetworkInterfaces, 2);

    const m5 = by.get('m5.large')!;
    assert.equal(m5.Hypervisor, 'nitro');
    assert.deepEqual(m5.VCpuInfo, { DefaultVCpus: 2, DefaultCores: 1, DefaultThreadsPerCore: 2 });
    assert.equal(m5.MemoryInfo!.SizeInMiB, 8192);
    assert.equal(m5.FreeTierEligible, false);
    assert.equal(m5.NetworkInfo!.NetworkPerformance, 'Up to 10 Gigabit');
    assert.deepEqual(m5.SupportedUsageClasses, ['on-demand', 'spot']);

    assert.equal(by.get('x1e.32xlarge')!.MemoryInfo!.SizeInMiB, 3904 * 1024);
    const i3 = by.get('i3.large')!;
    assert.equal(i3.InstanceStorageSupported, true);
    assert.deepEqual(i3.InstanceStorageInfo!.Disks, [{ SizeInGB: 475, Count: 1, Type: 'ssd' }]);
    assert.equal(by.get('p3.8xlarge')!.GpuInfo!.Gpus![0].Count, 4);
    assert.deepEqual(by.get('t4g.nano')!.ProcessorInfo!.SupportedArchitectures, ['arm64']);
  });

  test('unknown types are InvalidInstanceType; paging is 5..100 with NextToken', async () => {
    assert.equal(await errorCode(ec2.send(new DescribeInstanceTypesCommand({ InstanceTypes: ['t2.micro', 'z9.huge' as never] }))), 'InvalidInstanceType');
    assert.equal(await errorCode(ec2.send(new DescribeInstanceTypesCommand({ MaxResults: 4 }))), 'InvalidParameterValue');
    assert.equal(await errorCode(ec2.send(new DescribeInstanceTypesCommand({ MaxResults: 101 }))), 'InvalidParameterValue');

    const first = await ec2.send(new DescribeInstanceTypesCommand({ MaxResults: 5 }));
    assert.equal(first.InstanceTypes!.length, 5);
    assert.ok(first.NextToken);
    const all = await allTypes();
    assert.ok(all.length > 100, `the table has ${all.length} types`);
    assert.equal(new Set(names(all)).size, all.length, 'no type twice across pages');
    const families = new Set(all.map((t) => t.InstanceType!.split('.')[0]));
    for (const f of ['t2', 't3', 't3a', 't4g', 'm5', 'm6i', 'm7g', 'c5', 'c6i', 'c7g', 'r5', 'r6i', 'x1e', 'u-6tb1', 'i3', 'p3', 'g4dn', 'a1']) {
      assert.ok(families.has(f), `family ${f}`);
    }
    // Every figure is self-consistent: vCPUs = cores × threads, and instance storage totals add up.
    for (const t of all) {
      const v = t.VCpuInfo!;
      assert.equal(v.DefaultVCpus, v.DefaultCores! * v.DefaultThreadsPerCore!, t.InstanceType);
      if (t.InstanceStorageSupported) {
        const sum = t.InstanceStorageInfo!.Disks!.reduce((n, d) => n + d.SizeInGB! * d.Count!, 0);
        assert.equal(t.InstanceStorageInfo!.TotalSizeInGB, sum, t.InstanceType);
      }
    }
  });

  test('filters AWS documents', async () => {
    assert.deepEqual(names(await allTypes([{ Name: 'instance-type', Values: ['t2.*'] }])), [
      't2.2xlarge', 't2.large', 't2.medium', 't2.micro', 't2.nano', 't2.small', 't2.xlarge',
    ]);
    assert.deepEqual(names(await allTypes([{ Name: 'free-tier-eligible', Values: ['true'] }])), ['t2.micro', 't3.micro']);
    const arm = await allTypes([{ Name: 'processor-info.supported-architecture', Values: ['arm64'] }]);
    assert.ok(arm.length > 0 && arm.every((t) => /^(t4g|m7g|c7g|a1)\./.test(t.InstanceType!)));
    const storage = await allTypes([{ Name: 'instance-storage-supported', Values: ['true'] }]);
    assert.ok(storage.every((t) => /^(i3|x1e|g4dn)\./.test(t.InstanceType!)) && storage.some((t) => t.InstanceType === 'i3.16xlarge'));
    const burst = await allTypes([{ Name: 'burstable-performance-supported', Values: ['true'] }]);
    assert.ok(burst.every((t) => /^t/.test(t.InstanceType!)) && burst.length === 28);
    assert.deepEqual(
      names(await allTypes([{ Name: 'vcpu-info.default-vcpus', Values: ['2'] }, { Name: 'memory-info.size-in-mib', Values: ['4096'] }])),
      ['a1.large', 'c5.large', 'c6i.large', 'c7g.large', 't2.medium', 't3.medium', 't3a.medium', 't4g.medium'],
    );
    assert.ok((await allTypes([{ Name: 'current-generation', Values: ['false'] }])).length === 0);
    assert.equal(
      await errorCode(ec2.send(new DescribeInstanceTypesCommand({ Filters: [{ Name: 'no-such-filter', Values: ['x'] }] }))),
      'InvalidParameterValue',
    );
  });

  test('aws CLI: describe-instance-types --instance-types t2.micro', async () => {
    const out = await awsJson<{ InstanceTypes: { InstanceType: string; MemoryInfo: { SizeInMiB: number }; FreeTierEligible: boolean }[] }>(
      kumo.url,
      ['ec2', 'describe-instance-types', '--instance-types', 't2.micro'],
    );
    assert.deepEqual(
      out.InstanceTypes.map((t) => [t.InstanceType, t.MemoryInfo.SizeInMiB, t.FreeTierEligible]),
      [['t2.micro', 1024, true]],
    );
  });
});

describe('DescribeInstanceTypeOfferings', () => {
  test('region, availability-zone and availability-zone-id locations', async () => {
    const { AvailabilityZones } = await ec2.send(new DescribeAvailabilityZonesCommand({}));
    const zoneNames = AvailabilityZones!.map((z) => z.ZoneName!).sort();
    const zoneIds = AvailabilityZones!.map((z) => z.ZoneId!).sort();
    const typeCount = (await allTypes()).length;

    const offerings = async (input: { LocationType?: 'region' | 'availability-zone' | 'availability-zone-id'; Filters?: Filter[] }) => {
      const out: { InstanceType?: string; Location?: string; LocationType?: string }[] = [];
      for await (const page of paginateDescribeInstanceTypeOfferings({ client: ec2, pageSize: 100 }, input)) out.push(...page.InstanceTypeOfferings!);
      return out;
    };
    const regional = await offerings({});
    assert.equal(regional.length, typeCount);
    assert.ok(regional.every((o) => o.LocationType === 'region' && o.Location === REGION));

    const byZone = await offerings({ LocationType: 'availability-zone', Filters: [{ Name: 'instance-type', Values: ['t2.micro'] }] });
    assert.deepEqual(byZone.map((o) => o.Location).sort(), zoneNames);
    const byZoneId = await offerings({
      LocationType: 'availability-zone-id',
      Filters: [{ Name: 'location', Values: [zoneIds[0]] }, { Name: 'instance-type', Values: ['m5.*'] }],
    });
    assert.equal(byZoneId.length, 8);
    assert.ok(byZoneId.every((o) => o.Location === zoneIds[0] && o.LocationType === 'availability-zone-id'));

    assert.equal(await errorCode(ec2.send(new DescribeInstanceTypeOfferingsCommand({ LocationType: 'planet' as never }))), 'InvalidParameterValue');
    assert.equal(await errorCode(ec2.send(new DescribeInstanceTypeOfferingsCommand({ MaxResults: 1001 }))), 'InvalidParameterValue');
  });
});
