import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRng, mixSeed } from '../../shared/random.ts';

test('createRng is deterministic per seed and differs across seeds', () => {
  const a = createRng(mixSeed(1, 2));
  const b = createRng(mixSeed(1, 2));
  const c = createRng(mixSeed(1, 3));
  const xs = [a.next(), a.next(), a.next()];
  assert.deepEqual(xs, [b.next(), b.next(), b.next()]);
  assert.notDeepEqual(xs, [c.next(), c.next(), c.next()]);
  for (const x of xs) assert.ok(x >= 0 && x < 1);
});
