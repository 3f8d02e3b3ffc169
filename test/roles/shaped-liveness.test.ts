/**
 * Liveness on thin links: with link shaping, a peer's uplink is one queue for all its links,
 * so a LIEC sync (the whole model to each worker in turn) leaves the last workers waiting
 * for seconds before the first byte meant for them leaves the aggregator's uplink. Their
 * bytes are on their way all along, though (a shaped link holds them back on receipt), and
 * they count as signs of life on arrival: no worker reports a busy aggregator unreachable,
 * and the term never changes. Four in-process peers over real WebRTC, 2 Mbit/s each way.
 *
 * The silence limit is wider than the default here (SILENCE_MS), with the link slowed so the
 * crawl still outlasts it: four peers in one process share one WebRTC network thread, and on
 * a loaded 2-core CI machine pushing three models through it once held back the tail of the
 * first worker's sync, and the pings behind it, for 1.6 s (measured with the chunks counted on
 * arrival), past the default 1.5 s. Separate processes, as users run peers, do not share it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolvePeerSettings } from '../../client/roles/settings.ts';
import { parseSessionConfig } from '../../shared/protocol/session-config.ts';
import { startTestSession, withTimeout } from '../support/session.ts';

const CONFIG = {
  rounds: 8,
  minPeers: 4,
  roundDeadlineMs: 30_000,
  evalEvery: 1000,
  syncPeriod: 4,
  syncCodec: 'identity',
} as const;
const LINK_MBPS = 2;
const SILENCE_MS = 2500;

test(
  'a sync crawling through a shaped uplink, one worker after another, is not mistaken for silence',
  { timeout: 180_000 },
  async (t) => {
    const overrides = { aggregatorSilenceMs: SILENCE_MS };
    const settings = resolvePeerSettings(parseSessionConfig(CONFIG), overrides);
    const session = await startTestSession(CONFIG);
    try {
      const peers = [];
      for (const peerId of ['a-agg', 'b-one', 'c-two', 'd-three'])
        peers.push(await session.addPeer({ peerId, link: { linkMbps: LINK_MBPS }, settings: overrides }));
      const reports: string[] = [];
      for (const p of peers)
        p.events.on('unreachable', (e) =>
          reports.push(`${p.peerId}: ${e.aggregatorId} silent ${e.silentMs} ms`),
        );
      const [aggregator] = peers;
      const syncs: number[] = [];
      aggregator?.events.on('round', (e) => {
        if (e.sync) syncs.push(e.durationMs);
      });
      await withTimeout(Promise.all(peers.map((p) => p.finished)), 150_000, 'the session to finish');
      // The whole model to three workers in turn: the last waits this long for its first byte.
      const modelBytes = (aggregator?.model()?.length ?? 0) * 4;
      const lastWaitsMs = (2 * modelBytes * 8) / (LINK_MBPS * 1000);
      t.diagnostic(
        `${syncs.length} syncs; the third worker's sync waits ~${lastWaitsMs.toFixed(0)} ms behind the others' ` +
          `(silence limit ${settings.aggregatorSilenceMs} ms)`,
      );
      assert.ok(lastWaitsMs > settings.aggregatorSilenceMs, 'the scenario outlasts the silence limit');
      assert.ok(syncs.length >= 2);
      assert.deepEqual(reports, []);
      assert.equal(session.status()?.aggregator.term, 1);
    } finally {
      await session.close();
    }
  },
);
