/**
 * The chaos bench's upload accounting on hand-made event logs: an upload is counted, folded,
 * lost with a failed aggregator, died with its sender, garbled, a restarted peer's
 * duplicate, or lost; a deposed aggregator's lone rounds count nobody.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  accountUploads,
  parseEventLog,
  resumeReports,
  type IncarnationLog,
  type LogEvent,
} from '../../bench/chaos/accounting.ts';

const upload = (peerId: string, round: number, term: number, at: number, resent = false): LogEvent => ({
  type: 'uploaded',
  peerId,
  at,
  round,
  term,
  kind: 'upload',
  resent,
});
const closed = (
  round: number,
  term: number,
  at: number,
  participants: string[],
  lateUploads: { peerId: string; round: number }[] = [],
): LogEvent => ({
  type: 'round',
  peerId: 'agg',
  at,
  round,
  term,
  participants,
  lateUploads,
  durationMs: 10,
  closedAt: at,
  sync: false,
  testAccuracy: null,
});
const log = (
  peerId: string,
  events: LogEvent[],
  killedAt: number | null = null,
  incarnation = 0,
): IncarnationLog => ({
  peerId,
  incarnation,
  killedAt,
  events,
});

test('counted, folded late, or lost', () => {
  const result = accountUploads([
    log('agg', [
      closed(1, 1, 100, ['agg', 'w1']),
      closed(2, 1, 200, ['agg', 'w1'], [{ peerId: 'w2', round: 1 }]),
    ]),
    log('w1', [upload('w1', 1, 1, 90), upload('w1', 2, 1, 150)]),
    log('w2', [upload('w2', 1, 1, 95), upload('w2', 2, 1, 160)]),
  ]);
  assert.equal(result.sent, 4);
  assert.equal(result.counted, 2);
  assert.equal(result.folded, 1);
  assert.deepEqual(
    result.lost.map((u) => [u.peerId, u.round]),
    [['w2', 2]],
  );
});

test('a record closed before the upload was sent does not account for it', () => {
  const result = accountUploads([
    log('agg', [closed(1, 1, 100, ['agg', 'w1']), closed(2, 1, 300, ['agg'])]),
    log('w1', [upload('w1', 1, 1, 150)]),
  ]);
  assert.equal(result.lost.length, 1);
});

test('sent to an aggregator the bench killed; a restarted peer re-sending a counted round', () => {
  const result = accountUploads([
    log(
      'old',
      [{ type: 'role', peerId: 'old', at: 0, role: 'aggregator', term: 1 }, closed(1, 1, 100, ['old', 'w1'])],
      250,
    ),
    log('new', [closed(3, 2, 400, ['new'])]),
    log('w1', [upload('w1', 1, 1, 90)], 120, 0),
    log('w1', [upload('w1', 1, 2, 300)], null, 1),
    log('w2', [upload('w2', 2, 1, 200), upload('w2', 2, 2, 350, true)]),
    log('w3', [upload('w3', 2, 1, 210)]),
  ]);
  assert.deepEqual(result.killed, { sent: 1, used: 1 });
  assert.deepEqual(
    result.duplicates.map((u) => [u.peerId, u.incarnation, u.round]),
    [['w1', 1, 1]],
  );
  // w2 resent its upload to the new aggregator, which never used it: lost, not the old one's fault.
  assert.deepEqual(
    result.lost.map((u) => u.peerId),
    ['w2'],
  );
  assert.deepEqual(
    result.lostWithAggregator.map((u) => u.peerId),
    ['w3'],
  );
});

test('a stopped aggregator: what it closed alone after the next term began uses nothing; died with the sender; garbled', () => {
  const role = (peerId: string, term: number, at: number, r = 'aggregator'): LogEvent => ({
    type: 'role',
    peerId,
    at,
    role: r,
    term,
  });
  const applied = (peerId: string, round: number, at: number): LogEvent => ({
    type: 'applied',
    peerId,
    at,
    round,
    term: 1,
    counted: true,
  });
  const corrupting = (peerId: string, on: boolean, at: number): LogEvent => ({
    type: 'corrupting',
    peerId,
    at,
    on,
  });
  const result = accountUploads(
    [
      // 'old' stops at 150 (the failure), term 2 begins at 300, and 'old' wakes and closes round 2 alone at 400.
      log('old', [role('old', 1, 0), closed(1, 1, 100, ['old', 'w1']), closed(2, 1, 400, ['old', 'w1'])]),
      log('new', [role('new', 2, 300), closed(3, 2, 500, ['new'])]),
      // w1's round-2 upload went to 'old' before the term ended: lost with the aggregator.
      log('w1', [upload('w1', 1, 1, 90), applied('w1', 1, 110), upload('w1', 2, 1, 120)]),
      // w2 was killed with its round-3 upload in flight, the broadcast of round 3 never reached it.
      log('w2', [upload('w2', 3, 2, 350)], 360),
      // w3 garbled its frames between 320 and 480.
      log('w3', [corrupting('w3', true, 320), upload('w3', 3, 2, 330), corrupting('w3', false, 480)]),
    ],
    [{ peerId: 'old', at: 150 }],
  );
  assert.equal(result.sent, 4);
  assert.equal(result.counted, 1);
  assert.deepEqual(
    result.lostWithAggregator.map((u) => [u.peerId, u.round]),
    [['w1', 2]],
  );
  assert.deepEqual(
    result.diedWithSender.map((u) => u.peerId),
    ['w2'],
  );
  assert.deepEqual(
    result.garbled.map((u) => u.peerId),
    ['w3'],
  );
  assert.deepEqual(result.lost, []);
  assert.deepEqual(result.killed, { sent: 1, used: 0 });
});

test('a round sent again in a new term is matched in that term; the first send, to the deposed aggregator, is lost with it', () => {
  const role = (peerId: string, term: number, at: number, r: string): LogEvent => ({
    type: 'role',
    peerId,
    at,
    role: r,
    term,
  });
  const result = accountUploads(
    [
      // 'old' fails at 150; term 2 begins at 200, but w1 hears of it only at 250.
      log('old', [role('old', 1, 0, 'aggregator'), closed(5, 1, 100, ['old'])]),
      log('new', [
        role('new', 2, 200, 'aggregator'),
        closed(5, 2, 300, ['new']),
        closed(6, 2, 400, ['new', 'w1'], [{ peerId: 'w1', round: 5 }]),
      ]),
      log('w1', [
        role('w1', 1, 0, 'worker'),
        upload('w1', 5, 1, 210), // to 'old', which w1 still follows
        role('w1', 2, 250, 'worker'),
        upload('w1', 5, 2, 320), // round 5 again, from the new aggregator's model: folded at 400
        upload('w1', 6, 2, 330),
      ]),
    ],
    [{ peerId: 'old', at: 150 }],
  );
  assert.equal(result.sent, 3);
  assert.equal(result.counted, 1);
  assert.equal(result.folded, 1);
  assert.deepEqual(
    result.lostWithAggregator.map((u) => [u.peerId, u.round, u.term]),
    [['w1', 5, 1]],
  );
  assert.deepEqual(result.lost, []);
});

test('event logs: unreadable lines are skipped; resume outcomes', () => {
  const text = [
    JSON.stringify({ type: 'joined', peerId: 'w1', at: 10, round: 0, resumed: 40 }),
    JSON.stringify({ type: 'role', peerId: 'w1', at: 11, role: 'worker', term: 2, aggregatorId: 'agg' }),
    // A link to another peer (not its aggregator), then to its aggregator.
    JSON.stringify({ type: 'linked', peerId: 'w1', at: 12, remoteId: 'w9' }),
    JSON.stringify({ type: 'linked', peerId: 'w1', at: 15, remoteId: 'agg' }),
    '{"type":"uploaded", truncated',
    JSON.stringify({ type: 'model', peerId: 'w1', at: 20, round: 90, source: 'aggregator' }),
    JSON.stringify({ type: 'checkpoint', peerId: 'w1', at: 21, round: 90 }),
    JSON.stringify({
      type: 'uploaded',
      peerId: 'w1',
      at: 25,
      round: 91,
      term: 2,
      kind: 'upload',
      resent: false,
      computeMs: 4,
    }),
  ].join('\n');
  const events = parseEventLog(text);
  assert.deepEqual(
    events.map((e) => e.type),
    ['joined', 'role', 'linked', 'linked', 'model', 'uploaded'],
  );
  const reports = resumeReports([log('w1', events, null, 1), log('agg', [closed(91, 2, 30, ['agg', 'w1'])])]);
  assert.deepEqual(reports, [
    {
      peerId: 'w1',
      incarnation: 1,
      checkpointRound: 40,
      outcome: 'sent the model',
      countedAgainInRound: 91,
      roundsToCountedAgain: 1,
      secondsToCountedAgain: 0.02,
      secondsToJoin: null,
      straggler: false,
      secondsToLink: 0.005,
      secondsToModel: 0.01,
      firstComputeMs: 4,
    },
  ]);
  // A straggler restart is marked, so the rejoin target leaves it out.
  const slow = resumeReports([
    { ...log('w1', events, null, 1), straggler: true },
    log('agg', [closed(91, 2, 30, ['agg', 'w1'])]),
  ]);
  assert.equal(slow[0]?.straggler, true);
});

test("a deposed aggregator's round is used only when its successor adopted the broadcast a worker relayed", () => {
  const role = (peerId: string, at: number, term: number): LogEvent => ({
    type: 'role',
    peerId,
    at,
    role: 'aggregator',
    term,
  });
  const applied = (peerId: string, at: number, round: number, term: number): LogEvent => ({
    type: 'applied',
    peerId,
    at,
    round,
    term,
    counted: true,
  });
  const logs = (adopted: boolean): IncarnationLog[] => [
    // old closes round 5 of term 1 at 300, after term 2 began at 250 (it did not know yet).
    log('old', [role('old', 0, 1), closed(5, 1, 300, ['old', 'w1'])]),
    log('new', [role('new', 250, 2), closed(6, 2, 400, ['new'])]),
    log('w1', [upload('w1', 5, 1, 200)]),
    // w2 missed round 5: the new aggregator sends on the broadcast w1 relayed (term 2).
    log('w2', adopted ? [applied('w2', 350, 5, 2)] : []),
  ];
  assert.deepEqual(accountUploads(logs(true)).lost, []);
  assert.equal(accountUploads(logs(true)).counted, 1);
  assert.deepEqual(
    accountUploads(logs(false)).lost.map((u) => [u.peerId, u.round]),
    [['w1', 5]],
  );
});
