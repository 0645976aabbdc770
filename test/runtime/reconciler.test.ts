// The shared reconcile loop (src/runtime/reconciler.ts): steps follow one another, and a step that
// ends at once, pass after pass, leaves the event loop turning (timers and sockets still served).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Reconciler } from '../../src/runtime/reconciler.js';

type Row = { id: string };

test('each step that ends wakes the loop, and the next step follows', async () => {
  let stage = 0;
  const loop = new Reconciler<Row>({
    name: 'test',
    desired: () => [{ id: 'a' }],
    key: (r) => r.id,
    plan: () => (stage < 3 ? async () => void stage++ : undefined),
    log: () => {},
  });
  await loop.start();
  await loop.drain();
  assert.equal(stage, 3);
  await loop.close();
});

test('a step that finds nothing to do, planned again and again, does not keep timers from running', async () => {
  // Bounded, so that a loop that does starve the timers ends by itself and the test fails rather than hangs.
  const LIMIT = 100_000;
  let steps = 0;
  let throws = 0;
  const loop = new Reconciler<Row>({
    name: 'test',
    desired: () => [{ id: 'waiting' }, { id: 'failing' }],
    key: (r) => r.id,
    // A wait that is never over, and a check that always throws: both end at once.
    plan: (r) => {
      if (steps + throws >= LIMIT) return undefined;
      return r.id === 'waiting' ? async () => void steps++ : () => { throws++; throw new Error('not yet'); };
    },
    log: () => {},
  });
  await loop.start();
  await new Promise((resolve) => setTimeout(resolve, 20));
  const meanwhile = steps + throws;
  await loop.close();
  assert.ok(meanwhile > 0, 'steps ran while the timer was pending');
  assert.ok(meanwhile < LIMIT, `the timer fired only once the steps had stopped (${meanwhile} steps)`);
});
