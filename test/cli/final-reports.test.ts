/**
 * `liec join`'s session accuracy at the end: a peer that sent its final report waits for the
 * other training members' final reports before it reads /status (and leaves), so the figure
 * covers every member, not only those that had reported before the first one left. A real
 * signaling server; the members are signaling clients sending heartbeats as `liec join` does.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { awaitFinalSessionAccuracy, finalReportsIn } from '../../client/cli/session-accuracy.ts';
import type { PeerStatus } from '../../shared/protocol/signaling-status.ts';
import { createSession, joinedClient, startServer } from '../signaling/helpers.ts';

const member = (peerId: string, ready: boolean, evaluation?: PeerStatus['evaluation']) =>
  ({ peerId, ready, ...(evaluation === undefined ? {} : { evaluation }) }) as PeerStatus;

test('finalReportsIn: every member that trains or reported has a final report', () => {
  const final = { accuracy: 0.8, samples: 10, final: true };
  const interim = { accuracy: 0.7, samples: 10 };
  assert.equal(finalReportsIn({ peers: [member('a', true, final), member('b', true, final)] }), true);
  assert.equal(finalReportsIn({ peers: [member('a', true, final), member('b', true, interim)] }), false);
  assert.equal(finalReportsIn({ peers: [member('a', true, final), member('b', true)] }), false, 'b trains');
  assert.equal(finalReportsIn({ peers: [member('a', true, final), member('w', false)] }), true, 'a watcher');
  assert.equal(finalReportsIn({ peers: [member('a', false, final), member('b', false, interim)] }), false);
});

test('the final accuracy waits for the other member`s final report and covers both', async (t) => {
  const { url } = await startServer(t);
  const session = await createSession(t, url);
  const [a, b] = await Promise.all(
    ['a', 'b'].map((peerId) => joinedClient(t, url, session, { peerId, ready: true })),
  );
  assert.ok(a !== undefined && b !== undefined);
  a.addToHeartbeats(() => ({ evaluation: { accuracy: 0.9, samples: 300, final: true } }));
  b.addToHeartbeats(() => ({ evaluation: { accuracy: 0.6, samples: 100 } }));
  await Promise.all([a.heartbeatNow(), b.heartbeatNow()]);

  let settled = false;
  let pendingReads = 0;
  let firstPending = () => {};
  const pending = new Promise<void>((resolve) => (firstPending = resolve));
  const waiting = awaitFinalSessionAccuracy(url, session.sessionId, {
    waitMs: 60_000,
    onPending: () => {
      pendingReads++;
      firstPending();
    },
  }).finally(() => {
    settled = true;
  });
  // a's read of /status found b's report not final before b sends it.
  await pending;
  assert.equal(settled, false, 'still waiting while b`s report is not final');
  b.addToHeartbeats(() => ({ evaluation: { accuracy: 0.7, samples: 100, final: true } }));
  await b.heartbeatNow();
  const accuracy = await waiting;
  assert.deepEqual(accuracy, {
    value: (0.9 * 300 + 0.7 * 100) / 400,
    set: 'validation',
    samples: 400,
    peers: 2,
  });
  assert.ok(pendingReads >= 1);
});

test('a member that never sends its final report holds the others up for waitMs only', async (t) => {
  const { url } = await startServer(t);
  const session = await createSession(t, url);
  const a = await joinedClient(t, url, session, { peerId: 'a', ready: true });
  const b = await joinedClient(t, url, session, { peerId: 'b', ready: true });
  a.addToHeartbeats(() => ({ evaluation: { accuracy: 0.9, samples: 300, final: true } }));
  b.addToHeartbeats(() => ({ evaluation: { accuracy: 0.5, samples: 100 } }));
  await Promise.all([a.heartbeatNow(), b.heartbeatNow()]);
  const accuracy = await awaitFinalSessionAccuracy(url, session.sessionId, { waitMs: 300 });
  assert.equal(accuracy?.peers, 2, 'what /status says once the wait is over');
  assert.equal(accuracy?.value, (0.9 * 300 + 0.5 * 100) / 400);
});
