/**
 * Where prefix lists come from: AWS-managed lists (computed per region, the same in every account,
 * never stored) and the account's own (rows of store.network.prefixLists). Security group rules
 * and routes resolve `pl-` IDs here, and DeleteManagedPrefixList asks here who still refers to a
 * list.
 */
import { createHash } from 'node:crypto';
import type { PrefixListEntryRecord, PrefixListRecord } from '../../../state/network.js';
import type { Scope } from '../../../state/scope.js';
import type { Ec2Store } from '../store.js';

export interface AwsManagedPrefixList {
  PrefixListId: string;
  PrefixListName: string;
  PrefixListArn: string;
  AddressFamily: 'IPv4';
  State: 'create-complete';
  OwnerId: 'AWS';
  Entries: PrefixListEntryRecord[];
}

// Plausible public ranges, NOT Amazon's real ones for any region (see the provider's header).
const AWS_SERVICES: { service: string; cidrs: string[] }[] = [
  { service: 's3', cidrs: ['3.5.0.0/19', '52.216.0.0/15', '54.231.0.0/16'] },
  { service: 'dynamodb', cidrs: ['3.218.180.0/22', '52.94.0.0/22', '52.119.224.0/20'] },
];

/** `pl-` + 8 hex digits derived from the region and service, so an ID is stable across restarts. */
function awsListId(region: string, service: string): string {
  return `pl-${createHash('sha256').update(`kumo/prefix-list/${region}/${service}`).digest('hex').slice(0, 8)}`;
}

export function awsManagedPrefixLists(region: string): AwsManagedPrefixList[] {
  return AWS_SERVICES.map(({ service, cidrs }) => {
    const id = awsListId(region, service);
    return {
      PrefixListId: id,
      PrefixListName: `com.amazonaws.${region}.${service}`,
      PrefixListArn: `arn:aws:ec2:${region}:aws:prefix-list/${id}`,
      AddressFamily: 'IPv4',
      State: 'create-complete',
      OwnerId: 'AWS',
      Entries: cidrs.map((Cidr) => ({ Cidr })),
    };
  });
}

/** What a rule or route needs to know about a list it names. */
export interface PrefixListRef {
  id: string;
  family: 'IPv4' | 'IPv6';
  /** How many rules a reference counts for against a security group's quota (AWS: MaxEntries). */
  weight: number;
  awsManaged: boolean;
}

export function customerPrefixList(store: Ec2Store, scope: Scope, id: string): PrefixListRecord | undefined {
  return store.network.prefixLists.get(scope, id);
}

/** An AWS-managed list of the region or one of the account's own; undefined otherwise. */
export function findPrefixList(store: Ec2Store, scope: Scope, id: string): PrefixListRef | undefined {
  const aws = awsManagedPrefixLists(scope.region).find((l) => l.PrefixListId === id);
  if (aws) return { id, family: 'IPv4', weight: 1, awsManaged: true };
  const own = customerPrefixList(store, scope, id);
  return own ? { id, family: own.AddressFamily, weight: own.MaxEntries, awsManaged: false } : undefined;
}

/** Security groups and route tables that refer to the list. */
export function prefixListReferences(store: Ec2Store, scope: Scope, id: string): string[] {
  const groups = store.network.securityGroups
    .list(scope)
    .filter((g) => g.Rules.some((r) => r.PrefixListId === id))
    .map((g) => g.GroupId);
  const tables = store.network.routeTables
    .list(scope)
    .filter((t) => t.Routes.some((r) => r.DestinationPrefixListId === id))
    .map((t) => t.RouteTableId);
  return [...groups, ...tables];
}
