/**
 * DescribeInstanceTypes and DescribeInstanceTypeOfferings over the data table in
 * ./instance-types-data.ts. Every known type is offered in every zone of every region kumo knows
 * (one machine runs them all), so offerings are the table crossed with the region's zones.
 */
import type { Ec2Operations } from '../../../models/generated/ec2.js';
import { AwsError } from '../../../protocol/errors.js';
import { checkDryRun } from '../../../state/dry-run.js';
import { applyFilters, type Accessors } from '../../../state/filters.js';
import { paginate } from '../../../state/pagination.js';
import { zonesOf } from '../../../state/regions.js';
import type { OpHandler } from '../../service.js';
import { Ec2Errors } from '../errors.js';
import { INSTANCE_TYPE_BY_NAME, INSTANCE_TYPES, type InstanceTypeInfo } from './instance-types-data.js';

type Op<K extends keyof Ec2Operations> = OpHandler<Ec2Operations, K>;
type Row<T> = T & { Tags?: undefined };

const disks = (t: InstanceTypeInfo) => t.InstanceStorageInfo?.Disks ?? [];

// The filter names AWS documents for DescribeInstanceTypes that this table can answer.
const typeFilters: Accessors<Row<InstanceTypeInfo>> = {
  'instance-type': (t) => t.InstanceType,
  'bare-metal': (t) => t.BareMetal,
  'burstable-performance-supported': (t) => t.BurstablePerformanceSupported,
  'current-generation': (t) => t.CurrentGeneration,
  'ebs-info.ebs-optimized-support': (t) => t.EbsInfo.EbsOptimizedSupport,
  'ebs-info.encryption-support': (t) => t.EbsInfo.EncryptionSupport,
  'ebs-info.nvme-support': (t) => t.EbsInfo.NvmeSupport,
  'free-tier-eligible': (t) => t.FreeTierEligible,
  hypervisor: (t) => t.Hypervisor,
  'instance-storage-info.disk.count': (t) => disks(t).map((d) => d.Count),
  'instance-storage-info.disk.size-in-gb': (t) => disks(t).map((d) => d.SizeInGB),
  'instance-storage-info.disk.type': (t) => disks(t).map((d) => d.Type),
  'instance-storage-info.nvme-support': (t) => t.InstanceStorageInfo?.NvmeSupport,
  'instance-storage-info.total-size-in-gb': (t) => t.InstanceStorageInfo?.TotalSizeInGB,
  'instance-storage-supported': (t) => t.InstanceStorageSupported,
  'memory-info.size-in-mib': (t) => t.MemoryInfo.SizeInMiB,
  'network-info.default-network-card-index': (t) => t.NetworkInfo.DefaultNetworkCardIndex,
  'network-info.ena-support': (t) => t.NetworkInfo.EnaSupport,
  'network-info.ipv4-addresses-per-interface': (t) => t.NetworkInfo.Ipv4AddressesPerInterface,
  'network-info.ipv6-addresses-per-interface': (t) => t.NetworkInfo.Ipv6AddressesPerInterface,
  'network-info.ipv6-supported': (t) => t.NetworkInfo.Ipv6Supported,
  'network-info.maximum-network-cards': (t) => t.NetworkInfo.MaximumNetworkCards,
  'network-info.maximum-network-interfaces': (t) => t.NetworkInfo.MaximumNetworkInterfaces,
  'network-info.network-performance': (t) => t.NetworkInfo.NetworkPerformance,
  'processor-info.manufacturer': (t) => t.ProcessorInfo.Manufacturer,
  'processor-info.supported-architecture': (t) => t.ProcessorInfo.SupportedArchitectures,
  'processor-info.sustained-clock-speed-in-ghz': (t) => t.ProcessorInfo.SustainedClockSpeedInGhz,
  'supported-boot-mode': (t) => t.SupportedBootModes,
  'supported-root-device-type': (t) => t.SupportedRootDeviceTypes,
  'supported-usage-class': (t) => t.SupportedUsageClasses,
  'supported-virtualization-type': (t) => t.SupportedVirtualizationTypes,
  'vcpu-info.default-cores': (t) => t.VCpuInfo.DefaultCores,
  'vcpu-info.default-threads-per-core': (t) => t.VCpuInfo.DefaultThreadsPerCore,
  'vcpu-info.default-vcpus': (t) => t.VCpuInfo.DefaultVCpus,
};

interface Offering {
  InstanceType: string;
  LocationType: string;
  Location: string;
}

const offeringFilters: Accessors<Row<Offering>> = {
  location: (o) => o.Location,
  'instance-type': (o) => o.InstanceType,
};

const LOCATION_TYPES = ['region', 'availability-zone', 'availability-zone-id'];

export function instanceTypeHandlers() {
  const DescribeInstanceTypes: Op<'DescribeInstanceTypes'> = (_ctx, input) => {
    const missing = (input.InstanceTypes ?? []).filter((t) => !INSTANCE_TYPE_BY_NAME.has(t));
    if (missing.length) {
      throw new AwsError('InvalidInstanceType', `The following supplied instance types do not exist: [${missing.join(', ')}]`, 400);
    }
    let rows: Row<InstanceTypeInfo>[] = [...INSTANCE_TYPES];
    if (input.InstanceTypes?.length) rows = rows.filter((t) => input.InstanceTypes!.includes(t.InstanceType));
    const filtered = applyFilters(rows, input.Filters, typeFilters);
    const page = paginate(filtered, (t) => t.InstanceType, {
      maxResults: input.MaxResults,
      nextToken: input.NextToken,
      min: 5,
      max: 100,
      defaultSize: 100,
    });
    checkDryRun(input);
    return { InstanceTypes: page.items, NextToken: page.nextToken };
  };

  const DescribeInstanceTypeOfferings: Op<'DescribeInstanceTypeOfferings'> = (ctx, input) => {
    const locationType = input.LocationType ?? 'region';
    if (!LOCATION_TYPES.includes(locationType)) {
      throw Ec2Errors.invalidParameter(
        `Value (${locationType}) for parameter locationType is invalid. Valid values: ${LOCATION_TYPES.join(', ')}`,
      );
    }
    const zones = zonesOf(ctx.region);
    const locations =
      locationType === 'region'
        ? [ctx.region]
        : zones.map((z) => (locationType === 'availability-zone' ? z.zoneName : z.zoneId));
    const rows: Row<Offering>[] = locations.flatMap((Location) =>
      INSTANCE_TYPES.map((t) => ({ InstanceType: t.InstanceType, LocationType: locationType, Location })),
    );
    const filtered = applyFilters(rows, input.Filters, offeringFilters);
    const page = paginate(filtered, (o) => `${o.Location} ${o.InstanceType}`, {
      maxResults: input.MaxResults,
      nextToken: input.NextToken,
      min: 5,
      max: 1000,
      defaultSize: 1000,
    });
    checkDryRun(input);
    return { InstanceTypeOfferings: page.items, NextToken: page.nextToken };
  };

  return { DescribeInstanceTypes, DescribeInstanceTypeOfferings };
}
