import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  affineFit,
  amortizedPerRound,
  estimateScalingSeconds,
  median,
  originLineFit,
  parseSizeRounds,
  simRoundCap,
} from '../../bench/scaling-summary.ts';

test('median of odd, even and empty lists', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.ok(Number.isNaN(median([])));
});

test('amortizedPerRound spreads the sync extra over the period', () => {
  const rounds = [
    { value: 10, sync: false },
    { value: 12, sync: false },
    { value: 51, sync: true },
  ];
  const r = amortizedPerRound(rounds, 20);
  assert.equal(r.plain, 11);
  assert.equal(r.syncExtra, 40);
  assert.equal(r.perRound, 13);
  // No period (not LIEC): the plain mean alone.
  assert.equal(amortizedPerRound(rounds, 0).perRound, 11);
  // No sync at all: nothing to amortize.
  assert.deepEqual(amortizedPerRound(rounds.slice(0, 2), 20), { plain: 11, syncExtra: 0, perRound: 11 });
});

test('originLineFit: exact line has no deviation, a bent one reports the worst point', () => {
  const exact = originLineFit([
    [8, 800],
    [32, 3200],
    [128, 12800],
  ]);
  assert.equal(exact.slope, 100);
  assert.equal(exact.maxRelativeDeviation, 0);
  // y = x (100 + 4x): the per-peer bytes grow with peers (a counted list of 4 bytes each).
  const bent = originLineFit([8, 32, 128, 512].map((n): [number, number] => [n, n * (100 + 4 * n)]));
  assert.ok(bent.slope > 100 + 4 * 128 && bent.slope < 100 + 4 * 512);
  const worst = Math.max(...bent.relativeDeviations.map(Math.abs));
  assert.equal(bent.maxRelativeDeviation, worst);
  assert.ok(worst > 0.5);
});

test('affineFit recovers intercept and slope', () => {
  const fit = affineFit([8, 32, 128, 512].map((n): [number, number] => [n, 3150 + 4 * n]));
  assert.ok(Math.abs(fit.intercept - 3150) < 1e-9);
  assert.ok(Math.abs(fit.slope - 4) < 1e-12);
  assert.ok(Number.isNaN(affineFit([[1, 2]]).slope));
});

test('round caps: full, few above the threshold, per-size override', () => {
  const caps = { simRounds: 150, fewAbove: 32, fewRounds: 10, sizeRounds: parseSizeRounds('512:5') };
  assert.deepEqual(simRoundCap(32, caps), { rounds: 150, reduced: false });
  assert.deepEqual(simRoundCap(128, caps), { rounds: 10, reduced: true });
  assert.deepEqual(simRoundCap(512, caps), { rounds: 5, reduced: true });
  assert.deepEqual([...parseSizeRounds('')], []);
  assert.throws(() => parseSizeRounds('512'), /PEERS:ROUNDS/);
  assert.throws(() => parseSizeRounds('512:0'), /PEERS:ROUNDS/);
});

test('estimate grows with gradient time and counts every size', () => {
  const plan = {
    simSizes: [8, 512],
    algorithms: 4,
    simRounds: 100,
    fewAbove: 128,
    fewRounds: 10,
    sizeRounds: new Map<number, number>(),
    realSizes: [2, 16],
    realRounds: 40,
    cores: 2,
  };
  const fast = estimateScalingSeconds(plan, 10);
  const slow = estimateScalingSeconds(plan, 20);
  assert.ok(slow.simSeconds > fast.simSeconds * 1.99);
  assert.ok(slow.realSeconds > fast.realSeconds);
  assert.equal(fast.totalSeconds, fast.simSeconds + fast.realSeconds);
  const noSim = estimateScalingSeconds({ ...plan, simSizes: [] }, 10);
  assert.equal(noSim.simSeconds, 0);
});
