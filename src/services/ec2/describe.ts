/**
 * The common shape of EC2's Describe* calls: optional IDs (each well-formed and existing, else
 * that type's Malformed/NotFound error), then `Filters` (with `tag:` filters from the shared tag
 * table), then `MaxResults`/`NextToken` paging. IDs and MaxResults together are refused, as AWS
 * does. Resource kinds (./resource-kind.ts) build their Describe* calls on `pick`; instances and
 * security group rules, which are not kinds, call `describe` directly.
 */
import type { Accessors, Filter } from '../../state/filters.js';
import { applyFilters } from '../../state/filters.js';
import { paginate } from '../../state/pagination.js';
import type { Scope } from '../../state/scope.js';
import type { Tag } from '../../state/tags.js';
import { Ec2Errors } from './errors.js';
import { wellFormed, type Ec2Store } from './store.js';

export interface DescribeRequest {
  ids?: string[];
  /** The wire name of the ID list, for the IDs+MaxResults error message. */
  idsParam: string;
  prefix: string;
  malformed?: (id: string) => Error;
  notFound: (id: string) => Error;
  filters?: Filter[];
  maxResults?: number;
  nextToken?: string;
  min?: number;
  max?: number;
}

export function describe<T extends object>(
  store: Ec2Store,
  scope: Scope,
  tagType: string,
  rows: T[],
  idOf: (r: T) => string,
  accessors: Accessors<T & { Tags: Tag[] }>,
  req: DescribeRequest,
): { items: (T & { Tags: Tag[] })[]; nextToken?: string } {
  return pick(store.withTags(scope, tagType, idOf, rows), idOf, accessors, req);
}

/** The same steps over rows that already carry their tags (and whatever else filters should see). */
export function pick<T extends { Tags?: Tag[] }>(all: T[], idOf: (r: T) => string, accessors: Accessors<T>, req: DescribeRequest): { items: T[]; nextToken?: string } {
  if (req.ids?.length && req.maxResults !== undefined) {
    throw Ec2Errors.invalidCombination(`The parameter ${req.idsParam} cannot be used with the parameter maxResults`);
  }
  if (req.ids?.length) {
    const byId = new Map(all.map((r) => [idOf(r), r]));
    for (const id of req.ids) if (!wellFormed(id, req.prefix)) throw (req.malformed ?? req.notFound)(id);
    for (const id of req.ids) if (!byId.has(id)) throw req.notFound(id);
    all = [...new Set(req.ids)].map((id) => byId.get(id)!);
  }
  const filtered = applyFilters(all, req.filters, accessors);
  const page = paginate(filtered, idOf, {
    maxResults: req.maxResults,
    nextToken: req.nextToken,
    min: req.min ?? 5,
    max: req.max ?? 1000,
  });
  return { items: page.items, nextToken: page.nextToken };
}

/** Looks up one resource by ID for a mutating call: Malformed, then NotFound. */
export function mustGet<T>(get: (id: string) => T | undefined, id: string, prefix: string, notFound: (id: string) => Error, malformed?: (id: string) => Error): T {
  if (!wellFormed(id ?? '', prefix)) throw (malformed ?? notFound)(id);
  const found = get(id);
  if (found === undefined) throw notFound(id);
  return found;
}
