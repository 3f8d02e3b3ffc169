/**
 * A peer whose signaling socket drops (server restart, missed heartbeat, network blip) joins
 * the session again by itself: the server closes a worker's socket mid-training, then the
 * aggregator's; each rejoins with its peer id, a successor takes over from the aggregator,
 * training reaches its last round, and the dropped worker is counted again after its rejoin.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RoundEvent } from '../../client/roles/events.ts';
import type { Peer } from '../../client/roles/peer.ts';
import { defaultLearner } from '../../client/training/session-learner.ts';
import type { SignalingServer } from '../../signaling/index.ts';
import { startTestSession, waitFor, withTimeout } from '../support/session.ts';

const ROUNDS = 60;

/** Closes `peerId`'s signaling socket from the server side, as a restart or a timeout would. */
function dropSignaling(server: SignalingServer, peerId: string): void {
  const socket = [...server.io.sockets.sockets.values()].find((s) => s.data.peerId === peerId);
  assert.ok(socket !== undefined, `${peerId} has a socket`);
  socket.disconnect(true);
}

const roundEvents = (peers: readonly Peer[]) => (listener: (event: RoundEvent) => void) => {
  const offs = peers.map((p) => p.events.on('round', listener));
  return () => offs.forEach((off) => off());
};

test(
  'a worker and then the aggregator lose their signaling socket: both rejoin, training goes on',
  { timeout: 150_000 },
  async () => {
    const session = await startTestSession(
      { rounds: ROUNDS, minPeers: 3, roundDeadlineMs: 2000, evalEvery: 1000 },
      { heartbeatIntervalMs: 500, heartbeatTimeoutMs: 3000 },
    );
    try {
      const peers = await Promise.all([0, 1, 2].map(() => session.addPeer({ rejoinDelayMs: 100 })));
      const aggregator = peers.find((p) => p.currentRole === 'aggregator');
      const worker = peers.find((p) => p.currentRole === 'worker');
      assert.ok(aggregator !== undefined && worker !== undefined);
      await session.waitForStatus((s) => s.aggregator.lastRound >= 5, 60_000, 'round 5');

      dropSignaling(session.server, worker.peerId);
      await session.waitForStatus(
        (s) => !s.peers.some((p) => p.peerId === worker.peerId),
        10_000,
        'the server to drop the worker',
      );
      const droppedAt = session.status()?.aggregator.lastRound ?? 0;
      // Counted again in a round after the drop: it rejoined and its aggregator took it back.
      await waitFor(
        roundEvents(peers),
        (e) => e.round > droppedAt && e.participants.includes(worker.peerId),
        60_000,
        'the worker to be counted after its rejoin',
      );

      const term = session.status()?.aggregator.term ?? 0;
      dropSignaling(session.server, aggregator.peerId);
      await session.waitForStatus(
        (s) => s.aggregator.term > term && s.peers.some((p) => p.peerId === aggregator.peerId && p.ready),
        30_000,
        'a new term, with the old aggregator back as a ready member',
      );

      const done = await withTimeout(
        Promise.all(peers.map((p) => p.finished)),
        90_000,
        'training to finish on every peer',
      );
      assert.ok(
        done.every((d) => d.round >= ROUNDS - 1),
        `every peer reached the last round: ${JSON.stringify(done)}`,
      );
      // The last round's report reaches the server on its own time: wait for it.
      const status = await session.waitForStatus(
        (s) => s.aggregator.lastRound === ROUNDS - 1,
        10_000,
        'the last round reported',
      );
      assert.deepEqual(
        peers.map((p) => p.peerId).sort(),
        (status?.peers.map((p) => p.peerId) ?? []).sort(),
        'all three are members at the end',
      );
    } finally {
      await session.close();
    }
  },
);

test(
  'a peer whose socket drops while it loads its model (a long startup on a busy machine) rejoins and is counted',
  { timeout: 120_000 },
  async () => {
    const session = await startTestSession(
      { rounds: 1000, minPeers: 3, roundDeadlineMs: 2000, evalEvery: 1000 },
      { heartbeatIntervalMs: 500, heartbeatTimeoutMs: 3000 },
    );
    try {
      const first = await Promise.all([0, 1].map(() => session.addPeer()));
      const slow = await session.addPeer({
        peerId: 'slow-loader',
        // Longer than the wait below: the rejoin is still pending when start() goes on.
        rejoinDelayMs: 2000,
        createLearner: async (config) => {
          const learner = await defaultLearner(config);
          dropSignaling(session.server, 'slow-loader');
          await session.waitForStatus(
            (s) => !s.peers.some((p) => p.peerId === 'slow-loader'),
            10_000,
            'the server to drop the loading peer',
          );
          return learner;
        },
      });
      await waitFor(
        roundEvents([...first, slow]),
        (e) => e.participants.includes('slow-loader'),
        60_000,
        'the peer dropped while loading to be counted',
      );
      assert.ok(
        session.status()?.peers.some((p) => p.peerId === 'slow-loader' && p.ready),
        'it is a ready member again',
      );
    } finally {
      await session.close();
    }
  },
);
