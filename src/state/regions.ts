/**
 * The real AWS commercial regions and their availability zones, as an account sees them
 * (zone letters that new accounts get; ap-northeast-1 has a, c and d). Zone IDs follow AWS's
 * `<abbreviation>-az<n>` form; AWS maps letters to IDs per account, kumo uses one fixed mapping.
 */
export interface RegionInfo {
  name: string;
  /** AWS's short form used in zone IDs, e.g. apne1. */
  abbrev: string;
  /** Zone letter → zone ID number. */
  zones: [string, number][];
  optIn: boolean;
}

const r = (name: string, abbrev: string, zones: string, ids: number[], optIn = false): RegionInfo => ({
  name,
  abbrev,
  zones: [...zones].map((z, i) => [z, ids[i]]),
  optIn,
});

export const REGIONS: RegionInfo[] = [
  r('us-east-1', 'use1', 'abcdef', [6, 1, 2, 4, 3, 5]),
  r('us-east-2', 'use2', 'abc', [1, 2, 3]),
  r('us-west-1', 'usw1', 'bc', [1, 3]),
  r('us-west-2', 'usw2', 'abcd', [2, 1, 3, 4]),
  r('af-south-1', 'afs1', 'abc', [1, 2, 3], true),
  r('ap-east-1', 'ape1', 'abc', [1, 2, 3], true),
  r('ap-south-1', 'aps1', 'abc', [1, 3, 2]),
  r('ap-south-2', 'aps2', 'abc', [1, 2, 3], true),
  r('ap-northeast-1', 'apne1', 'acd', [4, 1, 2]),
  r('ap-northeast-2', 'apne2', 'abcd', [1, 2, 3, 4]),
  r('ap-northeast-3', 'apne3', 'abc', [3, 1, 2]),
  r('ap-southeast-1', 'apse1', 'abc', [1, 2, 3]),
  r('ap-southeast-2', 'apse2', 'abc', [3, 1, 2]),
  r('ap-southeast-3', 'apse3', 'abc', [1, 2, 3], true),
  r('ap-southeast-4', 'apse4', 'abc', [1, 2, 3], true),
  r('ca-central-1', 'cac1', 'abd', [1, 2, 4]),
  r('ca-west-1', 'caw1', 'abc', [1, 2, 3], true),
  r('eu-central-1', 'euc1', 'abc', [1, 2, 3]),
  r('eu-central-2', 'euc2', 'abc', [1, 2, 3], true),
  r('eu-west-1', 'euw1', 'abc', [1, 2, 3]),
  r('eu-west-2', 'euw2', 'abc', [2, 3, 1]),
  r('eu-west-3', 'euw3', 'abc', [1, 2, 3]),
  r('eu-north-1', 'eun1', 'abc', [1, 2, 3]),
  r('eu-south-1', 'eus1', 'abc', [1, 2, 3], true),
  r('eu-south-2', 'eus2', 'abc', [1, 2, 3], true),
  r('il-central-1', 'ilc1', 'abc', [1, 2, 3], true),
  r('me-central-1', 'mec1', 'abc', [1, 2, 3], true),
  r('me-south-1', 'mes1', 'abc', [1, 2, 3], true),
  r('sa-east-1', 'sae1', 'abc', [1, 2, 3]),
];

const byName = new Map(REGIONS.map((x) => [x.name, x]));

export function regionInfo(name: string): RegionInfo | undefined {
  return byName.get(name);
}

export interface ZoneInfo {
  zoneName: string;
  zoneId: string;
  regionName: string;
}

export function zonesOf(region: string): ZoneInfo[] {
  const info = byName.get(region);
  if (!info) return [];
  return info.zones.map(([letter, id]) => ({ zoneName: `${region}${letter}`, zoneId: `${info.abbrev}-az${id}`, regionName: region }));
}

export function findZone(region: string, nameOrId: string): ZoneInfo | undefined {
  return zonesOf(region).find((z) => z.zoneName === nameOrId || z.zoneId === nameOrId);
}
