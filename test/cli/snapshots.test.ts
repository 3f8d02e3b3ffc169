import assert from 'node:assert/strict';
import { test } from 'node:test';
import { main as createMain } from '../../client/cli/create.ts';
import { main } from '../../client/cli/snapshots.ts';
import { startTestSession, waitFor } from '../support/session.ts';
import { captureIo } from './capture.ts';

const OPERATOR_TOKEN = 'cli-operator-token-0123456789abcdef';

test(
  'liec snapshots lists the aggregator snapshots and rolls back with the operator token only',
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
      const base = ['--server', session.url, '--session', session.sessionId];

      const refused = captureIo();
      assert.equal(await main(base, refused, {}), 1);
      assert.match(refused.stderr(), /^liec snapshots: OPERATOR_REQUIRED/m);

      const listed = captureIo();
      assert.equal(await main(base, listed, { LIEC_OPERATOR_TOKEN: OPERATOR_TOKEN }), 0, listed.stderr());
      assert.match(listed.stdout(), /^aggregator a1, term 1$/m);
      assert.match(listed.stdout(), /^ {6}4 {5}1 +\d+\.\d\d% +\d+ s ago {2}[0-9a-f]{16}$/m);
      assert.match(listed.stdout(), /^ {6}9 {5}1 /m);

      const json = captureIo();
      assert.equal(await main([...base, '--json', '--operator-token', OPERATOR_TOKEN], json, {}), 0);
      const reply = JSON.parse(json.stdout()) as { snapshots: { round: number }[] };
      assert.deepEqual(
        reply.snapshots.slice(0, 2).map((s) => s.round),
        [4, 9],
      );

      const applied = waitFor<{ round: number }>(
        (listener) => aggregator.events.on('model', listener),
        (e) => e.round > 12,
        30_000,
        'the rollback applied',
      );
      const rolled = captureIo();
      const rollback = [...base, '--rollback', '4', '--operator-token', OPERATOR_TOKEN];
      assert.equal(await main(rollback, rolled, {}), 0, rolled.stderr());
      const at = (await applied).round;
      assert.match(
        rolled.stdout(),
        new RegExp(`^rolled back: every peer continues from the snapshot of round 4 at round ${at} `, 'm'),
      );
      const unknown = captureIo();
      assert.equal(
        await main([...base, '--rollback', '3', '--operator-token', OPERATOR_TOKEN], unknown, {}),
        1,
      );
      assert.match(unknown.stderr(), /UNKNOWN_SNAPSHOT: no snapshot of round 3/);

      // liec create needs the token too.
      const create = captureIo();
      assert.equal(await createMain(['--server', session.url, '--rounds', '5'], create), 1);
      assert.match(create.stderr(), /OPERATOR_REQUIRED/);
      const created = captureIo();
      const withToken = ['--server', session.url, '--rounds', '5', '--operator-token', OPERATOR_TOKEN];
      assert.equal(await createMain(withToken, created), 0, created.stderr());
      assert.match(created.stdout(), /^session: \S+$/m);
    } finally {
      await session.close();
    }
  },
);
