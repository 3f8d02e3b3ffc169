import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readiness } from '../../client/roles/readiness.ts';

const tracked = (): { announced: boolean[]; readiness: Readiness } => {
  const announced: boolean[] = [];
  return { announced, readiness: new Readiness((ready) => announced.push(ready)) };
};

test('a deposed aggregator is not ready until it applied a frame of its successor', () => {
  const { announced, readiness } = tracked();
  readiness.modelHeld();
  readiness.termChanged(true, 'p2', 'p1');
  assert.deepEqual(announced, [true, false]);
  readiness.applied();
  assert.deepEqual(announced, [true, false, true]);
  readiness.applied(); // in step: nothing more to announce
  assert.deepEqual(announced, [true, false, true]);
});

test('a worker is not made unready by a new term; a deposed aggregator is, until it gets a model', () => {
  const { announced, readiness } = tracked();
  readiness.modelHeld();
  readiness.termChanged(false, 'p3', 'p1');
  readiness.termChanged(true, 'p1', 'p1'); // re-elected itself
  assert.deepEqual(announced, [true]);
  readiness.termChanged(true, 'p3', 'p1');
  readiness.modelHeld();
  assert.deepEqual(announced, [true, false, true]);
});

test('with no aggregator at all, a peer behind is ready again (an older model beats none)', () => {
  const { announced, readiness } = tracked();
  readiness.modelHeld();
  readiness.termChanged(true, 'p2', 'p1');
  readiness.termChanged(false, null, 'p1');
  assert.deepEqual(announced, [true, false, true]);
});
