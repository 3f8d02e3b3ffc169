/**
 * The dashboard's pure logic: number and duration formatting, the reconnect countdown, the
 * session's progress (elapsed, time per round, time left, latest loss and accuracy), the
 * event list's sentences, and per-peer throughput from byte counters.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeEvent } from '../../client/ui/event-text.ts';
import { formatDuration, formatPace, formatRate } from '../../client/ui/format.ts';
import { PACE_WINDOW, msPerRound, sessionProgress } from '../../client/ui/progress.ts';
import {
  attemptsSoFar,
  formatCountdown,
  nextAttemptIn,
  reconnectingSince,
} from '../../client/ui/reconnect.ts';
import { initialDashboardState, type RoundRecord } from '../../client/ui/state.ts';
import { nextThroughput, startThroughput } from '../../client/ui/throughput.ts';

test('formatDuration: tenths below 10 s, then whole seconds, minutes, hours, days', () => {
  assert.equal(formatDuration(null), '-');
  assert.equal(formatDuration(Number.NaN), '-');
  assert.equal(formatDuration(-5), '0.0 s');
  assert.equal(formatDuration(450), '0.4 s');
  assert.equal(formatDuration(9_990), '9.9 s');
  assert.equal(formatDuration(12_400), '12 s');
  assert.equal(formatDuration(185_000), '3 min 05 s');
  assert.equal(formatDuration(3_725_000), '1 h 02 min');
  assert.equal(formatDuration(2 * 86_400_000 + 3 * 3_600_000), '2 d 03 h');
});

test('formatPace and formatRate', () => {
  assert.equal(formatPace(85.4), '85 ms');
  assert.equal(formatPace(4.25), '4.3 ms');
  assert.equal(formatPace(1234), '1.2 s');
  assert.equal(formatPace(null), '-');
  assert.equal(formatRate(12_300), '12.3 kB/s');
  assert.equal(formatRate(0), '0 B/s');
  assert.equal(formatRate(null), '-');
});

test('reconnect countdown: to the next multiple of the retry delay since the drop, never 0', () => {
  const state = reconnectingSince(10_000, 1000, 'transport close');
  assert.equal(nextAttemptIn(state, 10_000), 1000);
  assert.equal(nextAttemptIn(state, 10_300), 700);
  assert.equal(nextAttemptIn(state, 12_300), 700, 'after two attempts, the third is 0.7 s away');
  assert.equal(nextAttemptIn(state, 9_000), 1000, 'a clock before the drop counts as the drop');
  assert.equal(attemptsSoFar(state, 12_300), 2);
  assert.equal(attemptsSoFar(state, 10_999), 0);
  assert.equal(formatCountdown(700), '0.7 s');
  assert.equal(formatCountdown(1000), '1.0 s');
  assert.equal(formatCountdown(1), '0.1 s', 'rounded up: never reads 0 before the attempt');
  assert.equal(formatCountdown(0), '0.1 s');
  assert.equal(formatCountdown(12_001), '13 s');
  assert.equal(reconnectingSince(0, 0, 'x').retryDelayMs, 1, 'a zero delay cannot divide by zero');
});

function record(round: number, extra: Partial<RoundRecord> = {}): RoundRecord {
  return {
    round,
    loss: null,
    testAccuracy: null,
    bytesUp: 0,
    bytesDown: 0,
    fp32Bytes: 0,
    drift: null,
    ...extra,
  };
}

test('msPerRound: over the latest PACE_WINDOW round times', () => {
  assert.equal(msPerRound([]), null);
  assert.equal(msPerRound([{ round: 3, at: 0 }]), null);
  assert.equal(
    msPerRound([
      { round: 3, at: 0 },
      { round: 3, at: 50 },
    ]),
    null,
    'no round advanced',
  );
  const slowThenFast = [
    ...Array.from({ length: 10 }, (_, i) => ({ round: i, at: i * 1000 })),
    ...Array.from({ length: PACE_WINDOW }, (_, i) => ({ round: 10 + i, at: 10_000 + i * 100 })),
  ];
  assert.equal(msPerRound(slowThenFast), 100, 'only the recent pace counts');
  assert.equal(
    msPerRound([
      { round: 0, at: 0 },
      { round: 500, at: 1000 },
    ]),
    2,
    'a late joiner jumps rounds',
  );
});

test('sessionProgress: elapsed since creation, pace, time left, latest loss and accuracy', () => {
  const state = initialDashboardState();
  const empty = sessionProgress(state, 1000);
  assert.deepEqual(empty, {
    elapsedMs: null,
    msPerRound: null,
    remainingMs: null,
    loss: null,
    accuracy: null,
  });

  const session = {
    ...state.session,
    id: 's',
    round: 40,
    totalRounds: 100,
    phase: 'training' as const,
    createdAt: 1_000,
    roundTimes: [
      { round: 30, at: 50_000 },
      { round: 40, at: 55_000 },
    ],
  };
  const history = [
    record(38, { loss: 0.5, testAccuracy: 0.8 }),
    record(39, { loss: 0.4 }),
    record(40, { loss: null }),
  ];
  const progress = sessionProgress({ session, history }, 61_000);
  assert.equal(progress.elapsedMs, 60_000);
  assert.equal(progress.msPerRound, 500);
  assert.equal(progress.remainingMs, 60 * 500);
  assert.deepEqual(progress.loss, { value: 0.4, round: 39 }, 'the latest round that has a loss');
  assert.deepEqual(progress.accuracy, { value: 0.8, round: 38 });

  const done = sessionProgress(
    { session: { ...session, phase: 'done', finishedAt: 31_000 }, history },
    99_000,
  );
  assert.equal(done.elapsedMs, 30_000, 'elapsed stops when the session is done');
  assert.equal(done.remainingMs, 0);
});

test('describeEvent names this tab and says what happened', () => {
  assert.equal(
    describeEvent({ at: 0, kind: 'join', peerId: 'a', peerKind: 'headless' }, 'me'),
    'a joined (headless)',
  );
  assert.equal(describeEvent({ at: 0, kind: 'drop', peerId: 'me' }, 'me'), 'me (this tab) dropped');
  assert.equal(
    describeEvent({ at: 0, kind: 'aggregator', peerId: 'b', term: 2 }, 'me'),
    'Aggregator is now b (term 2)',
  );
  assert.equal(
    describeEvent({ at: 0, kind: 'aggregator', peerId: 'me', term: 3 }, 'me'),
    'This tab is the aggregator (term 3)',
  );
  assert.equal(
    describeEvent({ at: 0, kind: 'aggregator', peerId: null, term: 4 }, 'me'),
    'No aggregator (term 4)',
  );
  assert.equal(
    describeEvent({ at: 0, kind: 'disconnect', reason: 'transport close' }, null),
    'Signaling connection lost (transport close)',
  );
  assert.equal(describeEvent({ at: 0, kind: 'reconnect' }, null), 'Signaling connection back');
});

test('throughput: bytes per second between moves of the counters; idle, resets and bursts', () => {
  let t = startThroughput({ up: 0, down: 0 }, 0);
  assert.equal(t.rate, null, 'one sample: no rate');
  t = nextThroughput(t, { up: 5000, down: 1000 }, 1000);
  assert.deepEqual(t.rate, { up: 5000, down: 1000 });
  // Unchanged counters (a poll between two heartbeats) keep the rate...
  t = nextThroughput(t, { up: 5000, down: 1000 }, 2000);
  assert.deepEqual(t.rate, { up: 5000, down: 1000 });
  // ...and the next move is measured from the last move, over the whole span.
  t = nextThroughput(t, { up: 9000, down: 1000 }, 3000);
  assert.deepEqual(t.rate, { up: 2000, down: 0 });
  // A burst closer than minSpanMs is folded into the next sample.
  t = nextThroughput(t, { up: 9100, down: 1000 }, 3100);
  assert.deepEqual(t.rate, { up: 2000, down: 0 });
  t = nextThroughput(t, { up: 11_000, down: 1000 }, 4000);
  assert.deepEqual(t.rate, { up: 2000, down: 0 });
  // Quiet for longer than idleAfterMs: idle.
  t = nextThroughput(t, { up: 11_000, down: 1000 }, 20_000);
  assert.deepEqual(t.rate, { up: 0, down: 0 });
  // Counters that went back (a rejoin counts from 0): start again, no rate.
  t = nextThroughput(t, { up: 10, down: 0 }, 21_000);
  assert.equal(t.rate, null);
  t = nextThroughput(t, { up: 510, down: 250 }, 21_500);
  assert.deepEqual(t.rate, { up: 1000, down: 500 });
});
