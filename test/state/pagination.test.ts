// MaxResults/NextToken paging shared by every describe (src/state/pagination.ts).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AwsError } from '../../src/protocol/errors.js';
import { decodeToken, encodeToken, paginate, type PageRequest } from '../../src/state/pagination.js';

const ids = (n: number) => Array.from({ length: n }, (_, i) => `id-${String(i).padStart(3, '0')}`);
const key = (s: string) => s;

/** Every item, following tokens until there are none. */
function walk(items: string[], req: PageRequest): string[][] {
  const pages: string[][] = [];
  let nextToken: string | undefined;
  do {
    const page = paginate(items, key, { ...req, nextToken });
    pages.push(page.items);
    nextToken = page.nextToken;
  } while (nextToken && pages.length < 1000);
  return pages;
}

function rejects(fn: () => unknown, code: string, message?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof AwsError);
    assert.equal(e.code, code);
    assert.equal(e.status, 400);
    if (message) assert.match(e.message, message);
    return true;
  });
}

describe('paginate', () => {
  test('without MaxResults everything comes back sorted, with no token', () => {
    const page = paginate(['c', 'a', 'b'], key, {});
    assert.deepEqual(page, { items: ['a', 'b', 'c'], nextToken: undefined });
    assert.deepEqual(paginate([], key, { maxResults: 5 }), { items: [], nextToken: undefined });
  });

  test('pages cover every item once, in order, and the last page has no token', () => {
    const all = ids(23);
    const pages = walk([...all].reverse(), { maxResults: 5 });
    assert.deepEqual(pages.map((p) => p.length), [5, 5, 5, 5, 3]);
    assert.deepEqual(pages.flat(), all);
    assert.deepEqual(walk(ids(10), { maxResults: 5 }).map((p) => p.length), [5, 5], 'an exact fit ends without an empty page');
  });

  test('a default page size applies when MaxResults is absent', () => {
    assert.deepEqual(walk(ids(250), { defaultSize: 100 }).map((p) => p.length), [100, 100, 50]);
  });

  test('items added or removed between pages neither repeat nor vanish', () => {
    const items = ids(10);
    const first = paginate(items, key, { maxResults: 4 });
    assert.deepEqual(first.items, items.slice(0, 4));
    // Remove the last item returned and one ahead; add one before the cursor and one after.
    const changed = items.filter((i) => i !== 'id-003' && i !== 'id-006').concat(['id-001a', 'id-008a']);
    let token = first.nextToken;
    const seen: string[] = [];
    while (token) {
      const p = paginate(changed, key, { maxResults: 4, nextToken: token });
      seen.push(...p.items);
      token = p.nextToken;
    }
    assert.deepEqual(seen, ['id-004', 'id-005', 'id-007', 'id-008', 'id-008a', 'id-009']);
    // A token past the end is an empty last page, not an error.
    assert.deepEqual(paginate(ids(3), key, { nextToken: encodeToken('zzz') }), { items: [], nextToken: undefined });
  });

  test('MaxResults outside its range is refused with the parameter named', () => {
    rejects(() => paginate(ids(3), key, { maxResults: 4, min: 5, max: 1000 }), 'InvalidParameterValue', /MaxResults.*between 5 and 1000/);
    rejects(() => paginate(ids(3), key, { maxResults: 1001, min: 5, max: 1000 }), 'InvalidParameterValue');
    rejects(() => paginate(ids(3), key, { maxResults: 0, max: 400, param: 'PageSize', errorCode: 'ValidationError' }), 'ValidationError', /PageSize/);
    assert.equal(paginate(ids(3), key, { maxResults: 5, min: 5 }).items.length, 3);
  });

  test('tokens are opaque, and garbage or tampered ones are refused', () => {
    const t = encodeToken('vpc-0123');
    assert.match(t, /^[A-Za-z0-9_-]+$/, 'safe in a query string');
    assert.equal(decodeToken(t), 'vpc-0123');
    for (const bad of ['garbage', '', 'eyJ2IjoyLCJhZnRlciI6IngifQ', Buffer.from('{"v":1,"after":5}').toString('base64url'), Buffer.from('[1]').toString('base64url')]) {
      rejects(() => decodeToken(bad), 'InvalidParameterValue');
    }
    rejects(() => paginate(ids(3), key, { nextToken: 'garbage', errorCode: 'ValidationError' }), 'ValidationError');
  });
});
