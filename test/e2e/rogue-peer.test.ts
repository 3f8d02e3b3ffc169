/**
 * End to end, on a real signaling server and real WebRTC: a rogue session member throws
 * fuzzed garbage (fast-check, fixed seed) at the aggregator and at a worker while they
 * train MNIST, then at the signaling server. Complements test/roles/bad-frames.test.ts
 * (a fixed list of bad frames at the aggregator): here the frames are generated, every
 * rejection's code is predicted from the bytes alone and compared one by one, both roles
 * ban the rogue at exactly maxBadFrames + 1 strikes, stale-term frames are counted without
 * a strike, the server drops the rogue's socket on its first malformed message, and the
 * honest peers finish every round without it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { io, type Socket } from 'socket.io-client';
import { resolveAlgorithmOptions } from '../../shared/algorithm/index.ts';
import { parseCompressor } from '../../shared/compress/index.ts';
import { decodeChecked } from '../../shared/algorithm/decode.ts';
import { ControlError, decodeControl } from '../../shared/protocol/control.ts';
import {
  FrameError,
  decodeFrame,
  encodeFrame,
  senderTag,
  FRAME_TYPES,
} from '../../shared/protocol/frames.ts';
import { SIGNALING_ERROR_CODES, errorReplySchema } from '../../shared/protocol/signaling.ts';
import { createPeerTransport, type PeerTransport } from '../../client/transport/index.ts';
import { epochNow } from '../../client/roles/events.ts';
import type { Peer } from '../../client/roles/peer.ts';
import { recordPeer, type PeerRecorder } from '../support/recorder.ts';
import { startTestSession, waitFor, withTimeout } from '../support/session.ts';
import { clientMessageArb } from '../fuzz/wire-values.ts';
import { applyMutations, mutationsArb } from '../fuzz/mutations.ts';

// Enough that rounds go on well after the attack, however fast they are (50 rounds passed during it once).
const ROUNDS = 200;
const MAX_BAD_FRAMES = 8;
const STRIKES = new Set([
  'FRAME_TRUNCATED',
  'FRAME_VERSION',
  'FRAME_TYPE',
  'FRAME_LENGTH',
  'FRAME_FIELD',
  'SENDER_MISMATCH',
  'CONTROL_INVALID',
  'BAD_UPLOAD',
  'BAD_SYNC',
  'UNEXPECTED_FRAME',
]);

/** A session member with a raw socket.io connection (to misbehave at the signaling layer too) and a WebRTC transport. */
interface Rogue {
  socket: Socket;
  transport: PeerTransport;
  stop(): void;
}

async function joinRogue(url: string, sessionId: string, token: string): Promise<Rogue> {
  const socket = io(url, { transports: ['websocket'], forceNew: true, reconnection: false });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', reject);
  });
  socket.on('error', () => {}); // refusals arrive as error events too; asserted below
  const reply: unknown = await socket
    .timeout(5000)
    .emitWithAck('session:join', { sessionId, token, kind: 'headless', peerId: 'rogue' });
  assert.ok(
    typeof reply === 'object' && reply !== null && 'ok' in reply && reply.ok === true,
    'the rogue joins',
  );
  const heartbeat = setInterval(() => socket.emit('heartbeat', {}), 2000);
  const transport = await createPeerTransport({
    localId: 'rogue',
    relay: {
      sendSignal: (to, data) => void socket.emit('signal', { to, data }),
      onSignal: (handler) => {
        const listener = (ev: { from: string; data: unknown }): void => handler(ev.from, ev.data);
        socket.on('signal', listener);
        return () => socket.off('signal', listener);
      },
    },
    link: { connectTimeoutMs: 5000 },
  });
  return {
    socket,
    transport,
    stop() {
      clearInterval(heartbeat);
      transport.stop();
      socket.disconnect();
    },
  };
}

/** Payloads a few bytes long (the model has ~100k values): a tiny vector, a truncated full-size header, another codec, nothing. */
function smallPayload(kind: string, values: Float32Array, d: number): Uint8Array {
  if (kind === 'small') return identity.encode(values);
  if (kind === 'truncated') {
    const bytes = identity.encode(values).slice(0, 13); // the header and at most two values
    new DataView(bytes.buffer).setUint32(1, d, true); // declaring the model's size
    return bytes;
  }
  if (kind === 'other-codec') return fp16.encode(values);
  return new Uint8Array(0);
}

const identity = parseCompressor('identity');
const fp16 = parseCompressor('fp16');

/** Garbage candidates: random bytes, and frames of any type, term, sender and corrupted payload. */
function garbageArb(term: number, d: number): fc.Arbitrary<Uint8Array> {
  const frameArb = fc
    .record({
      type: fc.constantFrom(...FRAME_TYPES),
      term: fc.oneof(
        { weight: 4, arbitrary: fc.constant(term) },
        { weight: 1, arbitrary: fc.constantFrom(term - 1, term + 1, 0) },
      ),
      round: fc.nat({ max: 50 }),
      sender: fc.oneof(
        { weight: 4, arbitrary: fc.constant('rogue') },
        { weight: 1, arbitrary: fc.constantFrom('agg', 'w1', 'w2') },
      ),
      values: fc.float32Array({ noNaN: true, noDefaultInfinity: true, minLength: 1, maxLength: 8 }),
      payload: fc.constantFrom('small', 'truncated', 'other-codec', 'empty'),
      meta: fc.oneof(
        fc.uint8Array({ maxLength: 30 }),
        fc
          .constantFrom(
            '{"kind":"hello"}',
            '{"kind":"hello","round":-1,"hasModel":true,"pendingUpload":false}',
            'not json',
          )
          .map((s) => new TextEncoder().encode(s)),
      ),
      mutations: mutationsArb(2),
    })
    .map((g) => {
      const frame = encodeFrame({
        type: g.type,
        term: Math.max(0, g.term),
        round: g.round,
        sender: senderTag(g.sender),
        aux: 0,
        meta: g.type === 'control' ? g.meta : new Uint8Array(0),
        payload: g.type === 'control' ? new Uint8Array(0) : smallPayload(g.payload, g.values, d),
      });
      return applyMutations(frame, g.mutations);
    });
  return fc.oneof(
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 60 }) },
    { weight: 4, arbitrary: frameArb },
  );
}

/** What the aggregator must answer to these bytes from 'rogue'; null when it depends on timing (skip those). */
function atAggregator(bytes: Uint8Array, term: number, accept: (payload: Uint8Array) => void): string | null {
  let frame;
  try {
    frame = decodeFrame(bytes);
  } catch (error) {
    return error instanceof FrameError ? error.code : 'FRAME_INVALID';
  }
  if (frame.sender !== senderTag('rogue')) return 'SENDER_MISMATCH';
  if (frame.term !== term) return 'STALE_TERM';
  switch (frame.type) {
    case 'control':
      try {
        decodeControl(frame.meta);
        return null; // a valid hello would make it a worker
      } catch (error) {
        return error instanceof ControlError ? 'CONTROL_INVALID' : null;
      }
    case 'upload':
      try {
        accept(frame.payload);
        return null; // a valid upload would be counted or folded
      } catch {
        return 'BAD_UPLOAD';
      }
    case 'syncBroadcast':
    case 'sliceBroadcast':
    case 'model':
      return 'UNEXPECTED_FRAME';
    case 'sliceUpload':
      return 'BAD_SYNC'; // this session runs full syncs
    default:
      return null; // sync uploads and relayed broadcasts: their fate depends on the round
  }
}

/** What a worker must answer: malformed frames and forged senders strike; the rest is not from its aggregator. */
function atWorker(bytes: Uint8Array): string {
  try {
    const frame = decodeFrame(bytes);
    return frame.sender === senderTag('rogue') ? 'STALE_TERM' : 'SENDER_MISMATCH';
  } catch (error) {
    return error instanceof FrameError ? error.code : 'FRAME_INVALID';
  }
}

/**
 * Sends garbage until `target` bans the rogue; returns the predicted codes of the frames it
 * processed (up to and including the strike that banned it) and why the rogue's link closed.
 */
async function attack(
  rogue: Rogue,
  targetId: string,
  frames: { bytes: Uint8Array; code: string }[],
): Promise<{ expected: string[]; closed: string }> {
  const dropped = waitFor<{ id: string; reason: string }>(
    (l) => rogue.transport.on('peer:disconnect', (id, reason) => l({ id, reason })),
    (e) => e.id === targetId,
    30_000,
    `${targetId} to drop the rogue`,
  );
  await rogue.transport.connect(targetId);
  const expected: string[] = [];
  let strikes = 0;
  for (const { bytes, code } of frames) {
    if (strikes > MAX_BAD_FRAMES) break;
    await rogue.transport.send(targetId, bytes);
    expected.push(code);
    if (STRIKES.has(code)) strikes++;
  }
  assert.ok(strikes > MAX_BAD_FRAMES, 'enough garbage to be banned');
  const { reason } = await dropped;
  return { expected, closed: reason };
}

/** A ban that does not come: what the target did see, to tell a lost frame from a closed link. */
function noBan(who: string, log: PeerRecorder, expected: string[], closed: string): () => string {
  return () =>
    `${who} bans the rogue (its link closed: ${closed}; ${rejectedFromRogue(log).length} of the ` +
    `${expected.length} frames rejected: ${rejectedFromRogue(log).join(', ')})`;
}

function rejectedFromRogue(log: PeerRecorder): string[] {
  return log.events.rejected.filter((e) => e.peerId === 'rogue').map((e) => e.code);
}

test(
  'a rogue member sends fuzzed frames to the aggregator and a worker, then garbage to the server: each refused with its predicted code, banned, dropped; training finishes without it',
  { timeout: 180_000 },
  async () => {
    const session = await startTestSession({
      rounds: ROUNDS,
      minPeers: 3,
      roundDeadlineMs: 5000,
      evalEvery: 10,
      syncPeriod: 10,
    });
    let rogue: Rogue | null = null;
    try {
      const settings = { maxBadFrames: MAX_BAD_FRAMES };
      const agg = await session.addPeer({ peerId: 'agg', settings });
      const aggLog = recordPeer(agg);
      const w1 = await session.addPeer({ peerId: 'w1', settings });
      const w1Log = recordPeer(w1);
      const w2 = await session.addPeer({ peerId: 'w2', settings });
      const honest: Peer[] = [agg, w1, w2];
      await aggLog.next('round', (e) => e.round >= 2, 90_000, 'round 2');
      rogue = await joinRogue(session.url, session.sessionId, session.token);

      const term = session.status()?.aggregator.term ?? 0;
      const config = agg.config;
      const d = agg.model()?.length ?? 0;
      assert.ok(config !== null && d > 0);
      const up = resolveAlgorithmOptions({
        algorithm: config.algorithm,
        up: config.up,
        down: config.down,
        learningRate: config.learningRate,
      }).up;
      const candidates = fc.sample(garbageArb(term, d), { numRuns: 400, seed: 42 });
      const judged = candidates
        .map((bytes) => ({ bytes, code: atAggregator(bytes, term, (p) => void decodeChecked(up, p, d)) }))
        .filter((g): g is { bytes: Uint8Array; code: string } => g.code !== null);
      // Two stale-term frames first, so they surely arrive before the ban.
      const stale = judged.filter((g) => g.code === 'STALE_TERM').slice(0, 2);
      const forAgg = [...stale, ...judged.filter((g) => !stale.includes(g))];
      const forWorker = candidates.map((bytes) => ({ bytes, code: atWorker(bytes) }));

      // The aggregator: every rejection in order, with the predicted code; banned at the limit.
      const attackStartedAt = epochNow();
      const { expected: expectedAgg, closed: aggClosed } = await attack(rogue, 'agg', forAgg);
      const bannedAgg = await aggLog.next(
        'banned',
        (e) => e.peerId === 'rogue',
        10_000,
        noBan('the aggregator', aggLog, expectedAgg, aggClosed),
      );
      assert.equal(bannedAgg.strikes, MAX_BAD_FRAMES + 1);
      assert.deepEqual(rejectedFromRogue(aggLog), expectedAgg);
      assert.ok(new Set(expectedAgg).size >= 4, `varied garbage: ${[...new Set(expectedAgg)].join(', ')}`);
      assert.ok(expectedAgg.includes('STALE_TERM'), 'stale terms are counted without a strike');

      // A worker: same, from its own point of view.
      const { expected: expectedW1, closed: w1Closed } = await attack(rogue, 'w1', forWorker);
      const bannedW1 = await w1Log.next(
        'banned',
        (e) => e.peerId === 'rogue',
        10_000,
        noBan('the worker', w1Log, expectedW1, w1Closed),
      );
      assert.equal(bannedW1.strikes, MAX_BAD_FRAMES + 1);
      assert.deepEqual(rejectedFromRogue(w1Log), expectedW1);
      for (const [code, n] of [...new Set(expectedW1)].map(
        (c) => [c, expectedW1.filter((x) => x === c).length] as const,
      )) {
        assert.ok((w1.rejections.get(code) ?? 0) >= n, `w1 counted ${code}`);
      }

      // The signaling server: fuzzed messages until the first malformed one drops the socket.
      const socket = rogue.socket;
      const closed = new Promise<string>((resolve) => socket.once('disconnect', resolve));
      const events = ['signal', 'heartbeat', 'peer:ready', 'round:report'] as const;
      const messages = fc.sample(
        fc.tuple(
          fc.constantFrom(...events),
          fc.constantFrom(...events).chain((e) => clientMessageArb(e)),
        ),
        { numRuns: 200, seed: 7 },
      );
      const codes: string[] = [];
      for (const [event, payload] of messages) {
        if (!socket.connected) break;
        const reply: unknown = await socket
          .timeout(5000)
          .emitWithAck(event, payload)
          .catch(() => null);
        const refusal = errorReplySchema.safeParse(reply);
        if (refusal.success) codes.push(refusal.data.error.code);
      }
      assert.equal(await closed, 'io server disconnect');
      assert.equal(codes.at(-1), 'BAD_REQUEST');
      assert.ok(
        codes.every((c) => SIGNALING_ERROR_CODES.some((k) => k === c) && c !== 'INTERNAL'),
        codes.join(', '),
      );
      await session.waitForStatus(
        (s) => !s.peers.some((p) => p.peerId === 'rogue'),
        10_000,
        'the rogue to leave the session',
      );
      const rogueGoneAt = epochNow();

      // Training goes on to the end with the honest peers only.
      const [done] = await withTimeout(
        Promise.all(honest.map((p) => p.finished)),
        150_000,
        'training to finish',
      );
      const rounds = aggLog.events.round;
      assert.deepEqual(
        rounds.map((r) => r.round),
        Array.from({ length: ROUNDS }, (_, i) => i),
      );
      for (const r of rounds)
        assert.ok(!r.participants.includes('rogue'), `round ${r.round} counted the rogue`);
      // The attack came during training: rounds closed before it (round 2 was awaited) and after it.
      const during = rounds.filter((r) => r.at > attackStartedAt && r.at < rogueGoneAt).length;
      const after = rounds.filter((r) => r.at > rogueGoneAt).length;
      console.log(`rounds during the attack ${during}, after it ${after}`);
      assert.ok(after >= 10, `${after} rounds after the rogue was gone`);
      const last = rounds.at(-1);
      assert.deepEqual(last?.participants.slice().sort(), ['agg', 'w1', 'w2']);
      const accuracy = done?.testAccuracy ?? 0;
      assert.ok(accuracy > 0.5, `final accuracy ${accuracy}`);
      aggLog.stop();
      w1Log.stop();
    } finally {
      rogue?.stop();
      await session.close();
    }
  },
);
