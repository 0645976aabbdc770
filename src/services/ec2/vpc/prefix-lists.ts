/**
 * Managed prefix lists: DescribePrefixLists (the older API, AWS-managed lists only),
 * DescribeManagedPrefixLists, GetManagedPrefixListEntries and Create/Modify/DeleteManagedPrefixList.
 * AWS-managed lists (./prefix-list-data.ts) are read-only; the account's own lists keep every
 * version's entries, so GetManagedPrefixListEntries can answer for a TargetVersion. A change of
 * entries must name the CurrentVersion and bumps Version; a list still referenced by a security
 * group rule or a route cannot be deleted. Everything is validated before anything is written.
 */
import ipaddr from 'ipaddr.js';
import type { Ec2Operations, PrefixListsItem } from '../../../models/generated/ec2.js';
import { AwsError } from '../../../protocol/errors.js';
import { parseCidr4 } from '../../../lib/cidr.js';
import { checkDryRun } from '../../../state/dry-run.js';
import { resourceId } from '../../../state/ids.js';
import type { PrefixListEntryRecord, PrefixListRecord } from '../../../state/network.js';
import { paginate } from '../../../state/pagination.js';
import type { Scope } from '../../../state/scope.js';
import type { Tag } from '../../../state/tags.js';
import { scopeOf, type OpHandler } from '../../service.js';
import { Ec2Errors } from '../errors.js';
import { createRow, deleteRow, describeKind, pageAs, registerKind, type ResourceKind } from '../resource-kind.js';
import { wellFormed, type Ec2Store } from '../store.js';
import { tagsFromSpecifications } from '../tagging.js';
import { awsManagedPrefixLists, findPrefixList, prefixListReferences, type AwsManagedPrefixList } from './prefix-list-data.js';
import { quotaExceeded } from './security-group-permissions.js';

type Op<K extends keyof Ec2Operations> = OpHandler<Ec2Operations, K>;
type AnyList = (AwsManagedPrefixList & { MaxEntries?: undefined; Version?: undefined }) | PrefixListRecord;
type Shown = AnyList & { Tags: Tag[] };

const MAX_ENTRIES = 1000;
const MAX_CHANGED_ENTRIES = 100;

function present(l: Shown): PrefixListsItem {
  return {
    PrefixListId: l.PrefixListId,
    AddressFamily: l.AddressFamily,
    State: l.State,
    PrefixListArn: l.PrefixListArn,
    PrefixListName: l.PrefixListName,
    MaxEntries: l.MaxEntries,
    Version: l.Version,
    Tags: l.Tags,
    OwnerId: l.OwnerId,
  };
}

/**
 * Lists the account sees: AWS-managed ones (computed, never stored) and its own (rows). Only its
 * own can be found by ID in the table, changed or deleted.
 */
export const PREFIX_LISTS: ResourceKind<AnyList, Shown, PrefixListsItem> = {
  type: 'prefix-list', prefix: 'pl', id: (l) => l.PrefixListId, table: (n) => n.prefixLists, idsParam: 'PrefixListIds',
  notFound: Ec2Errors.prefixListNotFound, malformed: Ec2Errors.prefixListMalformed,
  filters: {
    'owner-id': (l) => l.OwnerId,
    'prefix-list-id': (l) => l.PrefixListId,
    'prefix-list-name': (l) => l.PrefixListName,
  },
  view: present,
  blocksDelete: (l, store, scope) => {
    const users = prefixListReferences(store, scope, l.PrefixListId);
    return users.length ? Ec2Errors.prefixListInUse(l.PrefixListId, users) : undefined;
  },
};

/** A CIDR of the list's family, normalized; InvalidParameterValue otherwise. */
function cidrOf(family: string, text: string | undefined): string {
  const bad = () => Ec2Errors.invalidParameter(`The CIDR '${text}' is not a valid ${family} CIDR block.`);
  if (family === 'IPv4') {
    const c = parseCidr4(text ?? '');
    if (!c) throw bad();
    return c.text;
  }
  if (!text || !ipaddr.IPv6.isValidCIDR(text)) throw bad();
  const [addr, prefix] = ipaddr.IPv6.parseCIDR(text);
  const network = ipaddr.IPv6.networkAddressFromCIDR(text);
  if (network.toString() !== addr.toString()) throw bad();
  return `${addr.toString()}/${prefix}`;
}

function entriesOf(family: string, entries: { Cidr: string; Description?: string }[], existing: PrefixListEntryRecord[] = []): PrefixListEntryRecord[] {
  const seen = new Set(existing.map((e) => e.Cidr));
  return entries.map((e) => {
    const Cidr = cidrOf(family, e.Cidr);
    if (seen.has(Cidr)) throw Ec2Errors.invalidParameter(`The prefix list already has an entry for CIDR ${Cidr}.`);
    seen.add(Cidr);
    if (e.Description !== undefined && e.Description.length > 255) {
      throw Ec2Errors.invalidParameter(`The description of entry ${Cidr} is longer than 255 characters.`);
    }
    return e.Description !== undefined ? { Cidr, Description: e.Description } : { Cidr };
  });
}

function checkName(name: string | undefined): string {
  if (name === undefined || name === '') throw Ec2Errors.missingParameter('PrefixListName');
  if (name.length > 255) throw Ec2Errors.invalidParameter('The prefix list name must be at most 255 characters long.');
  if (name.toLowerCase().startsWith('com.amazonaws')) {
    throw Ec2Errors.invalidParameter(`The prefix list name '${name}' is invalid: names starting with com.amazonaws are reserved.`);
  }
  return name;
}

function checkMaxEntries(n: number | undefined): number {
  if (n === undefined) throw Ec2Errors.missingParameter('MaxEntries');
  if (!Number.isInteger(n) || n < 1 || n > MAX_ENTRIES) {
    throw Ec2Errors.invalidParameter(`Value (${n}) for parameter MaxEntries is invalid. It must be between 1 and ${MAX_ENTRIES}.`);
  }
  return n;
}

export function prefixListHandlers(store: Ec2Store) {
  const { prefixLists } = store.network;
  registerKind(store, PREFIX_LISTS);

  const allLists = (scope: Scope): AnyList[] => [...awsManagedPrefixLists(scope.region), ...prefixLists.list(scope)];

  /** Any list the account can see: Malformed, then NotFound. */
  const visible = (scope: Scope, id: string | undefined): AnyList => {
    if (!id) throw Ec2Errors.missingParameter('PrefixListId');
    if (!wellFormed(id, 'pl')) throw Ec2Errors.prefixListMalformed(id);
    const found = allLists(scope).find((l) => l.PrefixListId === id);
    if (!found) throw Ec2Errors.prefixListNotFound(id);
    return found;
  };

  /** The account's own list, for changes; AWS-managed lists are read-only. */
  const own = (scope: Scope, id: string | undefined): PrefixListRecord => {
    const l = visible(scope, id);
    if (l.OwnerId === 'AWS') throw Ec2Errors.awsManagedPrefixList(l.PrefixListId);
    return l as PrefixListRecord;
  };

  const shown = (scope: Scope, l: PrefixListRecord): PrefixListsItem => present({ ...l, Tags: store.tags.get(scope, l.PrefixListId) });

  // The older call knows AWS-managed lists only, and shows their CIDRs.
  const DescribePrefixLists: Op<'DescribePrefixLists'> = (ctx, input) =>
    pageAs('PrefixLists', describeKind(store, ctx, PREFIX_LISTS, input, input.PrefixListIds, {
      rows: (scope) => awsManagedPrefixLists(scope.region),
      view: (l) => ({ PrefixListId: l.PrefixListId, PrefixListName: l.PrefixListName, Cidrs: (l as AwsManagedPrefixList).Entries.map((e) => e.Cidr) }),
      min: 1,
      max: 1000,
    }));

  const DescribeManagedPrefixLists: Op<'DescribeManagedPrefixLists'> = (ctx, input) =>
    pageAs('PrefixLists', describeKind(store, ctx, PREFIX_LISTS, input, input.PrefixListIds, { rows: allLists, min: 1, max: 100 }));

  const GetManagedPrefixListEntries: Op<'GetManagedPrefixListEntries'> = (ctx, input) => {
    checkDryRun(input);
    const scope = scopeOf(ctx);
    const l = visible(scope, input.PrefixListId);
    let entries: PrefixListEntryRecord[];
    if (l.OwnerId === 'AWS') {
      const aws = l as AwsManagedPrefixList;
      if (input.TargetVersion !== undefined && input.TargetVersion !== 1) {
        throw Ec2Errors.invalidParameter(`Version ${input.TargetVersion} of prefix list ${l.PrefixListId} does not exist.`);
      }
      entries = aws.Entries;
    } else {
      const mine = l as PrefixListRecord;
      const v = input.TargetVersion ?? mine.Version;
      const version = mine.Versions.find((x) => x.Version === v);
      if (!version) throw Ec2Errors.invalidParameter(`Version ${v} of prefix list ${l.PrefixListId} does not exist.`);
      entries = version.Entries;
    }
    const page = paginate(entries, (e) => e.Cidr, { maxResults: input.MaxResults, nextToken: input.NextToken, min: 1, max: 100 });
    return { Entries: page.items, NextToken: page.nextToken };
  };

  const CreateManagedPrefixList: Op<'CreateManagedPrefixList'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const name = checkName(input.PrefixListName);
    const maxEntries = checkMaxEntries(input.MaxEntries);
    const family = input.AddressFamily;
    if (family !== 'IPv4' && family !== 'IPv6') {
      throw Ec2Errors.invalidParameter(`Value (${family}) for parameter AddressFamily is invalid. It must be IPv4 or IPv6.`);
    }
    const entries = entriesOf(family, input.Entries ?? []);
    if (entries.length > maxEntries) {
      throw Ec2Errors.invalidParameter(`The prefix list has ${entries.length} entries, more than its MaxEntries (${maxEntries}).`);
    }
    const tags = tagsFromSpecifications(input.TagSpecifications, 'prefix-list');
    if (input.ClientToken) {
      const earlier = prefixLists.list(scope).find((l) => l.ClientToken === input.ClientToken);
      if (earlier) {
        if (earlier.PrefixListName !== name || earlier.AddressFamily !== family || earlier.Versions[0].Entries.length !== entries.length) {
          throw new AwsError('IdempotentParameterMismatch', `The client token '${input.ClientToken}' was used with different parameters.`, 400);
        }
        checkDryRun(input);
        return { PrefixList: shown(scope, earlier) };
      }
    }
    checkDryRun(input);
    const id = resourceId('pl');
    const list: PrefixListRecord = {
      PrefixListId: id,
      PrefixListName: name,
      PrefixListArn: `arn:aws:ec2:${scope.region}:${scope.account}:prefix-list/${id}`,
      AddressFamily: family,
      MaxEntries: maxEntries,
      State: 'create-complete',
      Version: 1,
      OwnerId: scope.account,
      Versions: [{ Version: 1, Entries: entries }],
      ...(input.ClientToken ? { ClientToken: input.ClientToken } : {}),
    };
    return { PrefixList: present(createRow(store, scope, PREFIX_LISTS, list, tags)) };
  };

  const ModifyManagedPrefixList: Op<'ModifyManagedPrefixList'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const l = own(scope, input.PrefixListId);
    const adds = input.AddEntries ?? [];
    const removes = input.RemoveEntries ?? [];
    const changesEntries = adds.length > 0 || removes.length > 0;
    if (adds.length > MAX_CHANGED_ENTRIES || removes.length > MAX_CHANGED_ENTRIES) {
      throw Ec2Errors.invalidParameter(`At most ${MAX_CHANGED_ENTRIES} entries can be added or removed in one request.`);
    }
    if (changesEntries && input.MaxEntries !== undefined) {
      throw Ec2Errors.invalidCombination('You cannot modify the entries of a prefix list and its MaxEntries at the same time.');
    }
    if (changesEntries && input.CurrentVersion === undefined) throw Ec2Errors.missingParameter('CurrentVersion');
    if (input.CurrentVersion !== undefined && input.CurrentVersion !== l.Version) throw Ec2Errors.prefixListVersionMismatch();
    const name = input.PrefixListName !== undefined ? checkName(input.PrefixListName) : l.PrefixListName;
    const current = l.Versions.find((v) => v.Version === l.Version)!.Entries;
    let entries = current;
    if (changesEntries) {
      const gone = new Set<string>();
      for (const r of removes) {
        const cidr = cidrOf(l.AddressFamily, r.Cidr);
        if (!current.some((e) => e.Cidr === cidr) || gone.has(cidr)) {
          throw Ec2Errors.invalidParameter(`The prefix list ${l.PrefixListId} has no entry for CIDR ${cidr}.`);
        }
        gone.add(cidr);
      }
      const kept = current.filter((e) => !gone.has(e.Cidr));
      entries = [...kept, ...entriesOf(l.AddressFamily, adds, kept)];
    }
    const maxEntries = input.MaxEntries !== undefined ? checkMaxEntries(input.MaxEntries) : l.MaxEntries;
    if (entries.length > maxEntries) {
      throw Ec2Errors.invalidParameter(`The prefix list would have ${entries.length} entries, more than its MaxEntries (${maxEntries}).`);
    }
    if (maxEntries !== l.MaxEntries) {
      // Each reference counts MaxEntries rules against its security group's quota (AWS's rule).
      const weightOf = (id: string) => (id === l.PrefixListId ? { id, family: l.AddressFamily, weight: maxEntries, awsManaged: false } : findPrefixList(store, scope, id));
      for (const g of store.network.securityGroups.list(scope)) {
        if (g.Rules.some((r) => r.PrefixListId === l.PrefixListId) && quotaExceeded(g.Rules, weightOf)) {
          throw Ec2Errors.invalidParameter(`MaxEntries ${maxEntries} would take security group ${g.GroupId} over its rules quota.`);
        }
      }
    }
    checkDryRun(input);
    const version = changesEntries ? l.Version + 1 : l.Version;
    const updated: PrefixListRecord = {
      ...l,
      PrefixListName: name,
      MaxEntries: maxEntries,
      State: 'modify-complete',
      Version: version,
      Versions: changesEntries ? [...l.Versions, { Version: version, Entries: entries }] : l.Versions,
    };
    prefixLists.update(scope, l.PrefixListId, updated);
    return { PrefixList: shown(scope, updated) };
  };

  const DeleteManagedPrefixList: Op<'DeleteManagedPrefixList'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const l = own(scope, input.PrefixListId);
    const out = shown(scope, l);
    deleteRow(store, scope, PREFIX_LISTS, l, input);
    // AWS answers delete-in-progress and the list disappears shortly after; in kumo it is gone at once.
    return { PrefixList: { ...out, State: 'delete-in-progress' } };
  };

  return {
    DescribePrefixLists,
    DescribeManagedPrefixLists,
    GetManagedPrefixListEntries,
    CreateManagedPrefixList,
    ModifyManagedPrefixList,
    DeleteManagedPrefixList,
  };
}
