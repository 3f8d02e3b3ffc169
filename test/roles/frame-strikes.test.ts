import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FrameStrikes } from '../../client/roles/frame-strikes.ts';

test('a peer is banned at one strike past its limit, once; a banned aggregator starts afresh in a new term', () => {
  const strikes = new FrameStrikes();
  assert.equal(strikes.strike('w1', 2, false), null);
  assert.equal(strikes.strike('w1', 2, false), null);
  assert.equal(strikes.strike('w1', 2, false), 3);
  assert.equal(strikes.strike('w1', 2, false), null, 'banned already: reported once');
  assert.equal(strikes.isBanned('w1'), true);
  assert.equal(strikes.isBannedAggregator('w1'), false);
  assert.equal(strikes.strike('agg', 0, true), 1);
  assert.equal(strikes.isBannedAggregator('agg'), true);
  strikes.newTerm();
  assert.equal(strikes.isBanned('agg'), false, 'checked like anyone as a worker');
  assert.equal(strikes.strike('agg', 0, false), 1, 'its strikes start again');
  assert.equal(strikes.isBanned('w1'), true, 'a banned worker stays banned');
});
