import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RoundEvent } from '../../client/roles/events.ts';
import {
  createPeerLink,
  loadWebRtcBinding,
  TransportError,
  type WebRtcBinding,
} from '../../client/transport/index.ts';
import { resolveLinkSettings } from '../../client/transport/link-options.ts';
import { startTestSession, withTimeout } from '../support/session.ts';
import { startTurn, TURN_SKIP, turnUsage, WAIT_MS } from './support.ts';

/** The binding a relay-only link uses, recording every RTCPeerConnection it creates (for getStats). */
async function recordingBinding(): Promise<{ binding: WebRtcBinding; connections: RTCPeerConnection[] }> {
  const base = await loadWebRtcBinding(undefined, { iceTransportPolicy: 'relay' });
  const connections: RTCPeerConnection[] = [];
  const Base = base.implementation.RTCPeerConnection;
  class Recorded extends Base {
    constructor(config?: RTCConfiguration) {
      super(config);
      connections.push(this);
    }
  }
  return {
    binding: { name: base.name, implementation: { ...base.implementation, RTCPeerConnection: Recorded } },
    connections,
  };
}

interface PairStats {
  local: unknown;
  remote: unknown;
  bytesSent: number;
}

const typeOf = (candidate: unknown): unknown =>
  typeof candidate === 'object' && candidate !== null ? Reflect.get(candidate, 'candidateType') : undefined;

/** The connection's candidate pairs (with both candidates' types) and the one its transport selected. */
async function candidatePairs(
  connection: RTCPeerConnection,
): Promise<{ pairs: PairStats[]; selected: PairStats | undefined }> {
  const stats = await connection.getStats();
  const pairs = new Map<string, PairStats>();
  let selectedId: unknown;
  stats.forEach((report: Record<string, unknown>) => {
    if (report['type'] === 'transport') selectedId = report['selectedCandidatePairId'];
    if (report['type'] !== 'candidate-pair') return;
    pairs.set(String(report['id']), {
      local: typeOf(stats.get(String(report['localCandidateId']))),
      remote: typeOf(stats.get(String(report['remoteCandidateId']))),
      bytesSent: Number(report['bytesSent'] ?? 0),
    });
  });
  return { pairs: [...pairs.values()], selected: pairs.get(String(selectedId)) };
}

test("iceTransportPolicy 'relay' needs a TURN server in iceServers", () => {
  assert.throws(
    () => resolveLinkSettings({ iceTransportPolicy: 'relay', iceServers: [{ urls: 'stun:127.0.0.1:3478' }] }),
    (err) => err instanceof TransportError && err.code === 'ERR_INVALID_OPTION',
  );
  assert.equal(resolveLinkSettings({}).iceTransportPolicy, 'all');
});

test(
  'a relay-only link goes through coturn: the selected pair is relay on both ends and the relay carries the bytes',
  { skip: TURN_SKIP, timeout: 60_000 },
  async (t) => {
    const turn = await startTurn(t);
    const { binding, connections } = await recordingBinding();
    const link = { binding, iceServers: turn.iceServers, iceTransportPolicy: 'relay' as const };
    const a = await createPeerLink({ initiator: true, ...link });
    const b = await createPeerLink({ initiator: false, ...link });
    t.after(() => {
      a.close();
      b.close();
    });
    const candidates: string[] = [];
    a.on('signal', (data) => {
      b.signal(data);
    });
    b.on('signal', (data) => {
      if (data.type === 'candidate') candidates.push(JSON.stringify(data));
      a.signal(data);
    });
    const connected = new Promise<void>((resolve) => a.on('connect', () => resolve()));
    await withTimeout(connected, WAIT_MS, 'the relayed link to connect');
    assert.ok(
      candidates.length > 0 && candidates.every((c) => c.includes('typ relay')),
      'only relay candidates offered',
    );

    const payload = new Uint8Array(4 * 1024 * 1024).map((_, i) => i % 251);
    const received = new Promise<Uint8Array>((resolve) => b.on('message', resolve));
    await a.send(payload);
    assert.deepEqual(await withTimeout(received, 30_000, 'the 4 MiB message'), payload);

    assert.equal(connections.length, 2);
    for (const connection of connections) {
      const { pairs, selected } = await candidatePairs(connection);
      assert.deepEqual(
        [selected?.local, selected?.remote],
        ['relay', 'relay'],
        'the selected pair is relayed',
      );
      for (const pair of pairs)
        assert.deepEqual([pair.local, pair.remote], ['relay', 'relay'], 'no other path exists');
    }
    const [initiator] = connections;
    assert.ok(initiator !== undefined);
    const sent = (await candidatePairs(initiator)).pairs.reduce((sum, pair) => sum + pair.bytesSent, 0);
    assert.ok(sent >= payload.byteLength, `the relayed pairs carried ${sent} bytes`);

    // Closing releases the allocations; coturn then logs what it relayed to each peer.
    a.close();
    b.close();
    await turn.waitForText((text) => turnUsage(text).closed >= turnUsage(text).allocations, 20_000);
    const usage = turnUsage(turn.output());
    t.diagnostic(`coturn: ${usage.allocations} allocations, relayed ${usage.relayedBytes} bytes`);
    assert.ok(usage.allocations >= 2, `${usage.allocations} allocations`);
    assert.ok(usage.relayedBytes >= payload.byteLength, `coturn relayed ${usage.relayedBytes} bytes`);
  },
);

test(
  'two peers train MNIST rounds with every byte through the TURN relay',
  { skip: TURN_SKIP, timeout: 120_000 },
  async (t) => {
    const turn = await startTurn(t);
    const rounds = 4;
    const session = await startTestSession({
      rounds,
      minPeers: 2,
      roundDeadlineMs: 15_000,
      evalEvery: rounds,
      syncPeriod: 2,
    });
    t.after(() => session.close());
    const link = { iceServers: turn.iceServers, iceTransportPolicy: 'relay' as const };
    // One at a time: client/signaling drops events that arrive in the same read as a join
    // ack, so a join racing the first peer's readiness can miss the aggregator.
    const peers = [await session.addPeer({ link }), await session.addPeer({ link })];
    const aggregator = peers.find((p) => p.currentRole === 'aggregator');
    assert.ok(aggregator !== undefined);
    const events: RoundEvent[] = [];
    aggregator.events.on('round', (e) => events.push(e));
    await withTimeout(Promise.all(peers.map((p) => p.finished)), 100_000, 'training through the relay');
    assert.deepEqual(
      events.map((e) => [e.round, e.counted]),
      Array.from({ length: rounds }, (_, i) => [i, 2]),
    );
    const sent = peers.reduce((sum, p) => sum + p.traffic().sent, 0);
    assert.ok(sent > 0);

    await session.close();
    const closedAll = (text: string): boolean => {
      const usage = turnUsage(text);
      return usage.allocations > 0 && usage.closed >= usage.allocations;
    };
    await turn.waitForText(closedAll, 30_000);
    const usage = turnUsage(turn.output());
    t.diagnostic(
      `peers sent ${sent} bytes; coturn: ${usage.allocations} allocations, relayed ${usage.relayedBytes}`,
    );
    assert.ok(
      usage.relayedBytes >= sent,
      `coturn relayed ${usage.relayedBytes} bytes; the peers sent ${sent}`,
    );
  },
);
