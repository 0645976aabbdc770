// EC2-style Filters (src/state/filters.ts): wildcards, escapes, OR within a filter, AND across.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AwsError } from '../../src/protocol/errors.js';
import { applyFilters, wildcard, type Accessors, type Filter } from '../../src/state/filters.js';

interface Item {
  id: string;
  zone: string;
  count: number;
  isDefault: boolean;
  cidrs: string[];
  Tags?: { Key: string; Value: string }[];
}

const items: Item[] = [
  { id: 'subnet-1', zone: 'ap-northeast-1a', count: 251, isDefault: false, cidrs: ['10.0.0.0/24'], Tags: [{ Key: 'Name', Value: 'web-a' }, { Key: 'tier', Value: 'public' }] },
  { id: 'subnet-2', zone: 'ap-northeast-1c', count: 251, isDefault: false, cidrs: ['10.0.1.0/24'], Tags: [{ Key: 'Name', Value: 'web-c' }] },
  { id: 'subnet-3', zone: 'ap-northeast-1a', count: 11, isDefault: true, cidrs: ['10.0.2.0/28', '10.0.9.0/28'], Tags: [{ Key: 'Name', Value: 'db*a?' }] },
  { id: 'subnet-4', zone: 'ap-northeast-1d', count: 251, isDefault: false, cidrs: [] },
];

const accessors: Accessors<Item> = {
  'subnet-id': (i) => i.id,
  'availability-zone': (i) => i.zone,
  'available-ip-address-count': (i) => i.count,
  'default-for-az': (i) => i.isDefault,
  'cidr-block': (i) => i.cidrs,
};

const ids = (...filters: Filter[]) => applyFilters(items, filters, accessors).map((i) => i.id);

function refused(filters: Filter[], message: RegExp): void {
  assert.throws(() => applyFilters(items, filters, accessors), (e: unknown) => {
    assert.ok(e instanceof AwsError);
    assert.equal(e.code, 'InvalidParameterValue');
    assert.match(e.message, message);
    return true;
  });
}

describe('wildcard', () => {
  test('* is any run, ? is exactly one character, the rest is literal', () => {
    const yes: [string, string][] = [
      ['*', ''], ['*', 'anything'], ['web-*', 'web-'], ['web-*', 'web-a'], ['?', 'x'], ['??-?', 'db-d'],
      ['a*b*c', 'aXXbYYc'], ['1.2', '1.2'], ['(x)', '(x)'], ['[ac]', '[ac]'], ['a+', 'a+'], ['^$', '^$'], ['*', 'line\nbreak'],
    ];
    const no: [string, string][] = [
      ['?', ''], ['?', 'xy'], ['web-?', 'web-ab'], ['1.2', '1x2'], ['[ac]', 'a'], ['a+', 'aa'], ['web', 'Web'], ['web', 'web-a'], ['web-a', 'xweb-a'],
    ];
    for (const [p, s] of yes) assert.ok(wildcard(p).test(s), `${p} ~ ${JSON.stringify(s)}`);
    for (const [p, s] of no) assert.ok(!wildcard(p).test(s), `${p} !~ ${JSON.stringify(s)}`);
  });

  test('a backslash escapes *, ? and itself; a trailing backslash is literal', () => {
    assert.ok(wildcard('a\\*').test('a*'));
    assert.ok(!wildcard('a\\*').test('ab'));
    assert.ok(wildcard('\\?').test('?'));
    assert.ok(!wildcard('\\?').test('x'));
    assert.ok(wildcard('a\\\\b').test('a\\b'));
    assert.ok(wildcard('a\\\\*').test('a\\anything'), 'an escaped backslash leaves the * a wildcard');
    assert.ok(wildcard('end\\').test('end\\'));
    assert.ok(wildcard('\\x').test('x'), 'escaping an ordinary character is that character');
  });
});

describe('applyFilters', () => {
  test('no filters, or an empty list, returns everything', () => {
    assert.equal(applyFilters(items, undefined, accessors).length, 4);
    assert.equal(applyFilters(items, [], accessors).length, 4);
  });

  test('values within one filter are ORed; filters are ANDed', () => {
    assert.deepEqual(ids({ Name: 'availability-zone', Values: ['ap-northeast-1a', 'ap-northeast-1d'] }), ['subnet-1', 'subnet-3', 'subnet-4']);
    assert.deepEqual(
      ids({ Name: 'availability-zone', Values: ['*1a', '*1d'] }, { Name: 'available-ip-address-count', Values: ['251'] }),
      ['subnet-1', 'subnet-4'],
    );
    assert.deepEqual(ids({ Name: 'availability-zone', Values: ['*1a'] }, { Name: 'availability-zone', Values: ['*1c'] }), [], 'the same name twice is still AND');
  });

  test('numbers and booleans match their text; lists match if any element does; missing values never match', () => {
    assert.deepEqual(ids({ Name: 'available-ip-address-count', Values: ['11'] }), ['subnet-3']);
    assert.deepEqual(ids({ Name: 'default-for-az', Values: ['true'] }), ['subnet-3']);
    assert.deepEqual(ids({ Name: 'cidr-block', Values: ['10.0.9.0/28'] }), ['subnet-3']);
    assert.deepEqual(ids({ Name: 'cidr-block', Values: ['*'] }), ['subnet-1', 'subnet-2', 'subnet-3'], 'an empty list has nothing to match');
  });

  test('tag:<key>, tag-key and tag-value', () => {
    assert.deepEqual(ids({ Name: 'tag:Name', Values: ['web-*'] }), ['subnet-1', 'subnet-2']);
    assert.deepEqual(ids({ Name: 'tag:Name', Values: ['db\\*a\\?'] }), ['subnet-3']);
    assert.deepEqual(ids({ Name: 'tag:Name', Values: ['db\\*a'] }), []);
    assert.deepEqual(ids({ Name: 'tag:name', Values: ['*'] }), [], 'tag keys are case-sensitive');
    assert.deepEqual(ids({ Name: 'tag:tier', Values: ['*'] }), ['subnet-1']);
    assert.deepEqual(ids({ Name: 'tag-key', Values: ['ti*'] }), ['subnet-1']);
    assert.deepEqual(ids({ Name: 'tag-value', Values: ['web-c', 'public'] }), ['subnet-1', 'subnet-2']);
    assert.deepEqual(ids({ Name: 'tag:Name', Values: ['*'] }, { Name: 'tag-value', Values: ['public'] }), ['subnet-1']);
  });

  test('unknown names, empty names and filters without values are refused', () => {
    refused([{ Name: 'colour', Values: ['red'] }], /The filter 'colour' is invalid/);
    refused([{ Name: 'toString', Values: ['x'] }], /invalid/);
    refused([{ Name: 'Subnet-Id', Values: ['x'] }], /invalid/);
    refused([{ Values: ['x'] }], /filter name/);
    refused([{ Name: 'subnet-id', Values: [] }], /at least one value/);
    refused([{ Name: 'subnet-id' }], /at least one value/);
  });
});
