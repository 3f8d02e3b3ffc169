import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KeyedTokenBuckets, TokenBucket } from '../../signaling/rate-limit.ts';

test('a token bucket allows its burst, then its rate', () => {
  let now = 0;
  const bucket = new TokenBucket({ perSecond: 2, burst: 3 }, () => now);
  assert.deepEqual([bucket.take(), bucket.take(), bucket.take(), bucket.take()], [true, true, true, false]);
  now = 499;
  assert.equal(bucket.take(), false);
  now = 500;
  assert.equal(bucket.take(), true);
  now = 100_000; // refill is capped at the burst
  assert.deepEqual([bucket.take(), bucket.take(), bucket.take(), bucket.take()], [true, true, true, false]);
});

test('keyed buckets are independent and forget keys that refilled', () => {
  let now = 0;
  const buckets = new KeyedTokenBuckets({ perSecond: 1, burst: 1 }, () => now);
  assert.equal(buckets.take('1.1.1.1'), true);
  assert.equal(buckets.take('1.1.1.1'), false);
  assert.equal(buckets.take('2.2.2.2'), true);
  buckets.prune();
  assert.equal(buckets.size, 2);
  now = 1000;
  buckets.prune();
  assert.equal(buckets.size, 0);
});
