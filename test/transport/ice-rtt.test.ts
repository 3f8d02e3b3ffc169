import { test } from 'node:test';
import assert from 'node:assert/strict';
import { selectedPairRoundTripMs } from '../../client/transport/ice-rtt.ts';

const pair = (fields: Record<string, unknown>) => ({ type: 'candidate-pair', id: 'p', ...fields });

test('the nominated, succeeded pair gives the RTT in ms; other pairs and reports are ignored', () => {
  const reports = [
    { type: 'transport', id: 't' },
    pair({ state: 'waiting', nominated: false, currentRoundTripTime: 0.5 }),
    pair({ state: 'succeeded', nominated: true, currentRoundTripTime: 0.012 }),
  ];
  assert.equal(selectedPairRoundTripMs(reports), 12);
});

test('a pair marked selected (Firefox) wins over a nominated one', () => {
  const reports = [
    pair({ state: 'succeeded', nominated: true, currentRoundTripTime: 0.2 }),
    pair({ state: 'succeeded', selected: true, currentRoundTripTime: 0.03 }),
  ];
  assert.equal(selectedPairRoundTripMs(reports), 30);
});

test('no measurement, malformed or hostile values: undefined, never NaN', () => {
  assert.equal(selectedPairRoundTripMs([]), undefined);
  assert.equal(selectedPairRoundTripMs([pair({ state: 'succeeded', nominated: true })]), undefined);
  for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY, '0.01', null])
    assert.equal(
      selectedPairRoundTripMs([pair({ state: 'succeeded', nominated: true, currentRoundTripTime: bad })]),
      undefined,
      `currentRoundTripTime ${String(bad)}`,
    );
  assert.equal(
    selectedPairRoundTripMs([null, 7, 'x', { type: 'candidate-pair', nominated: 'yes' }]),
    undefined,
  );
});
