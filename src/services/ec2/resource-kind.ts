/**
 * A kind of EC2 resource described once, as data: where its rows live, what its IDs look like, its
 * NotFound/Malformed errors, its Describe* filters and wire form, and what stops or goes with its
 * deletion. The shapes every kind shares are built here from that description instead of being
 * written again by each resource:
 *
 *   registerKind   CreateTags/DeleteTags know the type (a well-formed ID of a missing one is its NotFound)
 *   lookup         one row by ID for a mutating call: Malformed, then NotFound
 *   describeKind   Describe*: DryRun, IDs (each well-formed and existing; not with MaxResults),
 *                  Filters (with `tag:`), MaxResults/NextToken, then the wire form; pageAs
 *                  puts the page under the call's own list member. The rows are narrowed in SQL
 *                  first where the call allows (IDs, a filter on a `columns` attribute or a tag,
 *                  with values that are not patterns); every check then runs on what is left, so
 *                  the answer is the one the whole region would give
 *   createRow      Create*: the row and its tags in one transaction
 *   deleteKind     Delete*: lookup, then deleteRow: what blocks the deletion (a default, a
 *                  dependent), DryRun, and the row, its tags and what goes with it in one transaction
 *
 * A call whose shape differs (names instead of IDs, a row found another way, an answer that is
 * not empty) uses the pieces it shares and keeps the rest in its own file.
 */
import { checkDryRun } from '../../state/dry-run.js';
import type { Accessors, Filter } from '../../state/filters.js';
import type { NetworkStore } from '../../state/network.js';
import type { Scope } from '../../state/scope.js';
import type { Tag } from '../../state/tags.js';
import { scopeOf, type RequestContext } from '../service.js';
import { mustGet, pick } from './describe.js';
import type { Ec2Store } from './store.js';
import { putTags } from './tagging.js';

export type Tagged<R> = R & { Tags: Tag[] };

/** The rows of a kind: a table of store.network (thin CRUD by account, region and ID). */
export interface KindTable<R> {
  get(scope: Scope, id: string): R | undefined;
  list(scope: Scope): R[];
  getMany(scope: Scope, ids: string[]): R[];
  listWhere(scope: Scope, attribute: string, values: string[]): R[];
  insert(scope: Scope, id: string, row: R): void;
  delete(scope: Scope, id: string): unknown;
}

/**
 * R is the stored row, S the row as Describe* reads and filters it (R with its tags and any derived
 * attributes), W its wire form.
 */
export interface ResourceKind<R extends object, S extends Tagged<R> = Tagged<R>, W = S> {
  /** EC2's name for the type in tags and TagSpecifications (`internet-gateway`). */
  type: string;
  /** The prefix of its IDs (`igw`). */
  prefix: string;
  id: (row: R) => string;
  table: (network: NetworkStore) => KindTable<R>;
  notFound: (id: string) => Error;
  /** The type's own Malformed error, where it has one; else a malformed ID is NotFound. */
  malformed?: (id: string) => Error;
  /** Describe*'s ID list by its wire name, which AWS names when refusing it with MaxResults. */
  idsParam: string;
  filters: Accessors<S>;
  /**
   * Filters SQL can answer: filter name → the top-level string attribute of the stored row it
   * reads (the same value the accessor gives), most selective first.
   */
  columns?: Record<string, string>;
  /** Attributes derived when read (a route's state, a subnet's free addresses); filters see them. */
  read?: (rows: Tagged<R>[], store: Ec2Store, scope: Scope) => S[];
  /** The wire form of one row, once paged. */
  view?: (row: S, ctx: RequestContext, store: Ec2Store) => W;
  /** Why the row cannot be deleted yet (it is a default, something depends on it), if so. */
  blocksDelete?: (row: R, store: Ec2Store, scope: Scope) => Error | undefined;
  /** What goes with the row when it is deleted, in the same transaction (associations, addresses). */
  cleanup?: (row: R, store: Ec2Store, scope: Scope) => void;
}

/** The paging and filtering members every Describe* input has. */
export interface DescribeInput {
  DryRun?: boolean;
  Filters?: Filter[];
  MaxResults?: number;
  NextToken?: string;
}

export interface DescribeOptions<R, S, W> {
  /** The rows to choose from, when not all of the kind's (computed lists, names looked up first). */
  rows?: (scope: Scope) => R[];
  /** A wire form other than the kind's (an older call showing fewer members). */
  view?: (row: S, ctx: RequestContext, store: Ec2Store) => W;
  /** MaxResults' range, when not 5–1000. */
  min?: number;
  max?: number;
}

export function registerKind<R extends object, S extends Tagged<R>, W>(store: Ec2Store, kind: ResourceKind<R, S, W>): void {
  store.registerTaggable(kind.prefix, {
    type: kind.type,
    exists: (scope, id) => kind.table(store.network).get(scope, id) !== undefined,
    notFound: kind.notFound,
  });
}

export function lookup<R extends object, S extends Tagged<R>, W>(store: Ec2Store, scope: Scope, kind: ResourceKind<R, S, W>, id: string): R {
  const table = kind.table(store.network);
  return mustGet((x) => table.get(scope, x), id, kind.prefix, kind.notFound, kind.malformed);
}

export function describeKind<R extends object, S extends Tagged<R>, W, V = W>(
  store: Ec2Store,
  ctx: RequestContext,
  kind: ResourceKind<R, S, W>,
  input: DescribeInput,
  ids: string[] | undefined,
  options: DescribeOptions<R, S, V> = {},
): { items: V[]; nextToken?: string } {
  checkDryRun(input);
  const scope = scopeOf(ctx);
  const narrowed = options.rows ? undefined : narrow(store, scope, kind, ids, input.Filters);
  const stored = options.rows ? options.rows(scope) : (narrowed ?? kind.table(store.network).list(scope));
  const tagged = store.withTags(scope, kind.type, kind.id, stored, narrowed !== undefined);
  const rows = kind.read ? kind.read(tagged, store, scope) : (tagged as S[]);
  const page = pick(rows, kind.id, kind.filters, {
    ids,
    idsParam: kind.idsParam,
    prefix: kind.prefix,
    malformed: kind.malformed,
    notFound: kind.notFound,
    filters: input.Filters,
    maxResults: input.MaxResults,
    nextToken: input.NextToken,
    min: options.min,
    max: options.max,
  });
  const view = (options.view ?? kind.view) as ((row: S, ctx: RequestContext, store: Ec2Store) => V) | undefined;
  return { items: view ? page.items.map((r) => view(r, ctx, store)) : (page.items as unknown as V[]), nextToken: page.nextToken };
}

/** A filter value that is a pattern (`*`, `?`, or an escape) matches more than itself. */
const literal = (values: string[] | undefined): values is string[] => !!values?.length && values.every((v) => !/[*?\\]/.test(v));

/**
 * The rows a Describe* can only answer from, read by SQL: those of the IDs asked for, or those a
 * filter on an indexed attribute or a tag picks. Undefined when nothing narrows (all rows).
 */
function narrow<R extends object, S extends Tagged<R>, W>(store: Ec2Store, scope: Scope, kind: ResourceKind<R, S, W>, ids: string[] | undefined, filters: Filter[] | undefined): R[] | undefined {
  const table = kind.table(store.network);
  if (ids?.length) return table.getMany(scope, ids);
  for (const [name, attribute] of Object.entries(kind.columns ?? {})) {
    const f = filters?.find((x) => x.Name === name && literal(x.Values));
    if (f) return table.listWhere(scope, attribute, f.Values!);
  }
  const tag = filters?.find((x) => x.Name?.startsWith('tag:') && literal(x.Values));
  if (tag) return table.getMany(scope, store.tags.tagged(scope, kind.type, tag.Name!.slice(4), tag.Values!));
  return undefined;
}

/** A Describe* answer: the page's items under the call's list member (`Vpcs`), and its NextToken. */
export function pageAs<K extends string, T>(member: K, page: { items: T[]; nextToken?: string }): { [M in K]: T[] } & { NextToken?: string } {
  return { [member]: page.items, NextToken: page.nextToken } as { [M in K]: T[] } & { NextToken?: string };
}

/** Writes a new row with its tags; call after every check (and DryRun). */
export function createRow<R extends object, S extends Tagged<R>, W>(store: Ec2Store, scope: Scope, kind: ResourceKind<R, S, W>, row: R, tags: Tag[]): Tagged<R> {
  const id = kind.id(row);
  store.transaction(() => {
    kind.table(store.network).insert(scope, id, row);
    putTags(store, scope, id, kind.type, tags);
  });
  return { ...row, Tags: tags };
}

/** Deletes a row already found: refused while blocked, then DryRun, then row, tags and cleanup together. */
export function deleteRow<R extends object, S extends Tagged<R>, W>(store: Ec2Store, scope: Scope, kind: ResourceKind<R, S, W>, row: R, dryRun: { DryRun?: boolean }): void {
  const blocked = kind.blocksDelete?.(row, store, scope);
  if (blocked) throw blocked;
  checkDryRun(dryRun);
  const id = kind.id(row);
  store.transaction(() => {
    kind.cleanup?.(row, store, scope);
    kind.table(store.network).delete(scope, id);
    store.tags.removeAll(scope, id);
  });
}

/** A whole Delete* call by ID, answering `{}` as AWS does. */
export function deleteKind<R extends object, S extends Tagged<R>, W>(store: Ec2Store, ctx: RequestContext, kind: ResourceKind<R, S, W>, id: string, input: { DryRun?: boolean }): Record<string, never> {
  const scope = scopeOf(ctx);
  deleteRow(store, scope, kind, lookup(store, scope, kind, id), input);
  return {};
}
