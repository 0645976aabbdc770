/**
 * DescribeRegions and DescribeAvailabilityZones from kumo's table of the real AWS regions.
 * Opt-in regions are listed as `not-opted-in` and only with AllRegions, as for a new account.
 */
import type { Ec2Operations } from '../../../models/generated/ec2.js';
import { checkDryRun } from '../../../state/dry-run.js';
import { applyFilters, type Accessors } from '../../../state/filters.js';
import { REGIONS, regionInfo, zonesOf } from '../../../state/regions.js';
import { type OpHandler } from '../../service.js';
import { Ec2Errors } from '../errors.js';

type Op<K extends keyof Ec2Operations> = OpHandler<Ec2Operations, K>;

interface RegionRow {
  RegionName: string;
  Endpoint: string;
  OptInStatus: string;
}

interface ZoneRow {
  State: string;
  OptInStatus: string;
  Messages: never[];
  RegionName: string;
  ZoneName: string;
  ZoneId: string;
  GroupName: string;
  NetworkBorderGroup: string;
  ZoneType: string;
}

const regionFilters: Accessors<RegionRow> = {
  endpoint: (r) => r.Endpoint,
  'region-name': (r) => r.RegionName,
  'opt-in-status': (r) => r.OptInStatus,
};

const zoneFilters: Accessors<ZoneRow> = {
  'zone-name': (z) => z.ZoneName,
  'zone-id': (z) => z.ZoneId,
  'region-name': (z) => z.RegionName,
  state: (z) => z.State,
  'opt-in-status': (z) => z.OptInStatus,
  'group-name': (z) => z.GroupName,
  'network-border-group': (z) => z.NetworkBorderGroup,
  'zone-type': (z) => z.ZoneType,
};

export function regionHandlers() {
  const DescribeRegions: Op<'DescribeRegions'> = (_ctx, input) => {
    checkDryRun(input);
    let rows: RegionRow[] = REGIONS.filter((r) => input.AllRegions || !r.optIn).map((r) => ({
      RegionName: r.name,
      Endpoint: `ec2.${r.name}.amazonaws.com`,
      OptInStatus: r.optIn ? 'not-opted-in' : 'opt-in-not-required',
    }));
    if (input.RegionNames?.length) {
      for (const name of input.RegionNames) if (!regionInfo(name)) throw Ec2Errors.invalidRegion(name);
      rows = rows.filter((r) => input.RegionNames!.includes(r.RegionName));
    }
    return { Regions: applyFilters(rows as (RegionRow & { Tags?: undefined })[], input.Filters, regionFilters) };
  };

  const DescribeAvailabilityZones: Op<'DescribeAvailabilityZones'> = (ctx, input) => {
    checkDryRun(input);
    let rows: ZoneRow[] = zonesOf(ctx.region).map((z) => ({
      State: 'available',
      OptInStatus: 'opt-in-not-required',
      Messages: [],
      RegionName: z.regionName,
      ZoneName: z.zoneName,
      ZoneId: z.zoneId,
      GroupName: z.regionName,
      NetworkBorderGroup: z.regionName,
      ZoneType: 'availability-zone',
    }));
    for (const name of input.ZoneNames ?? []) if (!rows.some((z) => z.ZoneName === name)) throw Ec2Errors.invalidZoneName(name);
    for (const id of input.ZoneIds ?? []) if (!rows.some((z) => z.ZoneId === id)) throw Ec2Errors.invalidZoneId(id);
    if (input.ZoneNames?.length || input.ZoneIds?.length) {
      rows = rows.filter((z) => input.ZoneNames?.includes(z.ZoneName) || input.ZoneIds?.includes(z.ZoneId));
    }
    return { AvailabilityZones: applyFilters(rows as (ZoneRow & { Tags?: undefined })[], input.Filters, zoneFilters) };
  };

  return { DescribeRegions, DescribeAvailabilityZones };
}
