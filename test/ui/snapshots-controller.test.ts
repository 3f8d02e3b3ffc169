import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import { SnapshotsController } from '../../client/ui/snapshots-controller.ts';
import { startTestSession, waitFor } from '../support/session.ts';

const OPERATOR_TOKEN = 'dashboard-operator-token-0123456789';

/** The part of a LitElement the controller uses, counting the updates it asks for. */
function host(): ReactiveControllerHost & { updates: number } {
  const controllers: ReactiveController[] = [];
  return {
    updates: 0,
    addController: (c) => void controllers.push(c),
    removeController: () => {},
    requestUpdate() {
      this.updates += 1;
    },
    updateComplete: Promise.resolve(true),
  };
}

test(
  "the dashboard's rollback control lists snapshots and rolls a real session back",
  { timeout: 120_000 },
  async () => {
    const session = await startTestSession(
      { rounds: 5000, minPeers: 2, evalEvery: 5 },
      { operatorToken: OPERATOR_TOKEN },
    );
    try {
      const snapshots = { everyRounds: 5, keep: 50 };
      const aggregator = await session.addPeer({ peerId: 'a1', snapshots });
      await session.addPeer({ peerId: 'b2', snapshots, settings: { computeDelayMs: 20 } });
      await session.waitForStatus((s) => s.aggregator.lastRound >= 12, 60_000, 'round 12');
      const page = host();
      const ops = new SnapshotsController(page, () => session.url);
      ops.hostConnected();

      await ops.list(session.sessionId, '');
      assert.match(ops.view.error ?? '', /^OPERATOR_REQUIRED/, 'refused without the token');
      assert.equal(ops.view.snapshots.length, 0);

      await ops.list(session.sessionId, ` ${OPERATOR_TOKEN} `);
      assert.equal(ops.view.error, null);
      assert.equal(ops.view.aggregatorId, 'a1');
      assert.deepEqual(
        ops.view.snapshots.slice(0, 2).map((s) => s.round),
        [4, 9],
      );
      assert.ok(page.updates >= 4, 'the host re-renders on each change');

      const applied = waitFor<{ round: number }>(
        (listener) => aggregator.events.on('model', listener),
        (e) => e.round > 12,
        30_000,
        'the rollback applied',
      );
      await ops.rollback(session.sessionId, OPERATOR_TOKEN, 9);
      assert.equal(ops.view.error, null);
      assert.deepEqual(ops.view.rolledBack, { round: 9, continuesAt: (await applied).round });
      assert.equal(ops.view.busy, false);
      ops.hostDisconnected();
    } finally {
      await session.close();
    }
  },
);
