/**
 * EC2-style `Filters` (`Name=…,Values=…`): values within one filter are ORed, filters are ANDed,
 * `*` matches any run of characters and `?` any one, `\` escapes them. Each resource type declares
 * its filter names as accessors; `tag:<key>`, `tag-key` and `tag-value` come for free when the
 * resource carries `Tags`.
 */
import { AwsError } from '../protocol/errors.js';
import type { Tag } from './tags.js';

export interface Filter {
  Name?: string;
  Values?: string[];
}

export type FilterValue = string | number | boolean | undefined | null;
export type Accessors<T> = Record<string, (item: T) => FilterValue | FilterValue[]>;

const patternCache = new Map<string, RegExp>();

export function wildcard(pattern: string): RegExp {
  let re = patternCache.get(pattern);
  if (re) return re;
  let src = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\' && i + 1 < pattern.length) src += escapeRe(pattern[++i]);
    else if (c === '*') src += '.*';
    else if (c === '?') src += '.';
    else src += escapeRe(c);
  }
  re = new RegExp(`^${src}$`, 's');
  if (patternCache.size > 10_000) patternCache.clear();
  patternCache.set(pattern, re);
  return re;
}

function escapeRe(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

export function applyFilters<T extends { Tags?: Tag[] }>(items: T[], filters: Filter[] | undefined, accessors: Accessors<T>): T[] {
  if (!filters || filters.length === 0) return items;
  const tests = filters.map((f) => compile(f, accessors));
  return items.filter((item) => tests.every((t) => t(item)));
}

function compile<T extends { Tags?: Tag[] }>(f: Filter, accessors: Accessors<T>): (item: T) => boolean {
  const name = f.Name ?? '';
  const patterns = (f.Values ?? []).map(wildcard);
  if (!f.Name) throw new AwsError('InvalidParameterValue', 'The filter name must not be empty.', 400);
  if (patterns.length === 0) {
    throw new AwsError('InvalidParameterValue', `The filter '${name}' requires at least one value.`, 400);
  }
  let get: (item: T) => FilterValue | FilterValue[];
  if (name.startsWith('tag:')) {
    const key = name.slice(4);
    get = (item) => item.Tags?.filter((t) => t.Key === key).map((t) => t.Value);
  } else if (name === 'tag-key') {
    get = (item) => item.Tags?.map((t) => t.Key);
  } else if (name === 'tag-value') {
    get = (item) => item.Tags?.map((t) => t.Value);
  } else if (Object.prototype.hasOwnProperty.call(accessors, name)) {
    get = accessors[name];
  } else {
    throw new AwsError('InvalidParameterValue', `The filter '${name}' is invalid`, 400);
  }
  return (item) => {
    const v = get(item);
    const values = Array.isArray(v) ? v : [v];
    return values.some((x) => x !== undefined && x !== null && patterns.some((p) => p.test(String(x))));
  };
}
