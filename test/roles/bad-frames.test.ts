import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SignalingClient } from '../../client/signaling/index.ts';
import { createPeerTransport, type PeerTransport } from '../../client/transport/index.ts';
import { encodeFrame, senderTag } from '../../shared/protocol/frames.ts';
import { recordPeer } from '../support/recorder.ts';
import { startTestSession, waitFor } from '../support/session.ts';

const MAX_BAD_FRAMES = 6;

/** A session member whose transport sends garbage: a raw signaling client and WebRTC transport. */
async function joinRogue(
  url: string,
  sessionId: string,
  token: string,
): Promise<{ signaling: SignalingClient; transport: PeerTransport }> {
  const signaling = new SignalingClient();
  await signaling.connect(url);
  const joined = await signaling.join({ sessionId, token, kind: 'headless', ready: false, peerId: 'rogue' });
  const transport = await createPeerTransport({
    localId: joined.peerId,
    relay: {
      sendSignal: (to, data) => void signaling.sendSignal(to, data).catch(() => {}),
      onSignal: (handler) => signaling.onSignal(handler),
    },
    link: { connectTimeoutMs: 3000 },
  });
  return { signaling, transport };
}

test(
  'bad frames from a peer are rejected with counted reasons; past the limit it is disconnected and the session goes on',
  { timeout: 90_000 },
  async () => {
    const session = await startTestSession({
      rounds: 1000,
      minPeers: 2,
      roundDeadlineMs: 3000,
      evalEvery: 1000,
    });
    const rogue = await joinRogue(session.url, session.sessionId, session.token);
    try {
      const aggregator = await session.addPeer({ peerId: 'agg', settings: { maxBadFrames: MAX_BAD_FRAMES } });
      const log = recordPeer(aggregator);
      await session.addPeer({ peerId: 'worker' });
      await log.next('round', (e) => e.round >= 2, 60_000, 'round 2');
      const term = session.status()?.aggregator.term ?? 0;

      await rogue.transport.connect('agg');
      const dropped = waitFor<string>(
        (listener) => rogue.transport.on('peer:disconnect', listener),
        (id) => id === 'agg',
        15_000,
        'the aggregator to drop the rogue',
      );
      const header = { term, round: 0, aux: 0, meta: new Uint8Array(0) };
      const garbage: Uint8Array[] = [
        new Uint8Array([1, 2, 3]), // shorter than a header
        new Uint8Array(64).fill(0xee), // wrong version
        // A well-formed frame claiming another sender.
        encodeFrame({ ...header, type: 'upload', sender: senderTag('worker'), payload: new Uint8Array([0]) }),
        // Control JSON that fails the schema.
        encodeFrame({
          ...header,
          type: 'control',
          sender: senderTag('rogue'),
          meta: new TextEncoder().encode('{"kind":"hello","round":-1}'),
          payload: new Uint8Array(0),
        }),
        // An upload whose payload is no compressor payload.
        encodeFrame({
          ...header,
          type: 'upload',
          sender: senderTag('rogue'),
          payload: new Uint8Array([250, 1, 2]),
        }),
      ];
      for (let i = 0; i <= MAX_BAD_FRAMES; i++) {
        const bytes = garbage[i % garbage.length];
        assert.ok(bytes !== undefined);
        await rogue.transport.send('agg', bytes);
      }
      await dropped;
      const banned = await log.next('banned', (e) => e.peerId === 'rogue', 5000, 'rogue banned');
      assert.equal(banned.strikes, MAX_BAD_FRAMES + 1);
      for (const code of [
        'FRAME_TRUNCATED',
        'FRAME_VERSION',
        'SENDER_MISMATCH',
        'CONTROL_INVALID',
        'BAD_UPLOAD',
      ])
        assert.ok(
          (aggregator.rejections.get(code) ?? 0) >= 1,
          `no ${code} in ${JSON.stringify([...aggregator.rejections])}`,
        );
      const strikes = log.events.rejected.filter((e) => e.peerId === 'rogue').length;
      assert.equal(strikes, MAX_BAD_FRAMES + 1);

      // It is not let back in, and training goes on with the well-behaved peers.
      await assert.rejects(rogue.transport.connect('agg'), { code: 'ERR_CONNECT_TIMEOUT' });
      const now = log.events.round.at(-1)?.round ?? 0;
      const later = await log.next('round', (e) => e.round >= now + 3, 30_000, 'three more rounds');
      assert.deepEqual(later.participants.sort(), ['agg', 'worker']);
      assert.equal(session.status()?.peers.length, 3, 'the rogue is still a session member, but not a link');
      log.stop();
    } finally {
      rogue.transport.stop();
      rogue.signaling.close();
      await session.close();
    }
  },
);
