/** The IMDSv2 token store alone: binding to an instance, expiry on the injected clock, the cap on live tokens. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TokenStore } from '../../src/runtime/metadata/tokens.js';

test('tokens are bound to their instance and expire', () => {
  let now = 0;
  const s = new TokenStore(() => now);
  const t = s.issue('i-a', 2);
  assert.equal(s.check(t, 'i-a'), 2);
  assert.equal(s.check(t, 'i-b'), undefined);
  now = 1500;
  assert.equal(s.check(t, 'i-a'), 1);
  now = 2000;
  assert.equal(s.check(t, 'i-a'), undefined);
  assert.equal(s.size, 0);
});

test('expired tokens are swept; live ones are capped, oldest dropped first', () => {
  let now = 0;
  const s = new TokenStore(() => now);
  const first = s.issue('i-a', 1);
  for (let i = 0; i < 100_000; i++) s.issue('i-a', 21_600);
  assert.equal(s.size, 100_000);
  assert.equal(s.check(first, 'i-a'), undefined);
  now = 22_000_000; // past every TTL and the sweep interval
  s.issue('i-a', 1);
  assert.equal(s.size, 1);
});
