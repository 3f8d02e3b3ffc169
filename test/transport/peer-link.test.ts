/**
 * PeerLink over real WebRTC on loopback (the default binding, wrtc): large messages intact, queued
 * sends in order, byte counters, size limits, garbage from a hostile peer, timeouts and close on
 * both sides.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import SimplePeer from 'simple-peer';
import { loadWebRtcBinding } from '../../client/transport/binding.ts';
import { CHUNK_FLAG_FIRST, CHUNK_FLAG_LAST } from '../../client/transport/chunk-codec.ts';
import { TransportError } from '../../client/transport/errors.ts';
import { DEFAULT_LINK_SETTINGS } from '../../client/transport/link-options.ts';
import { PeerLink } from '../../client/transport/peer-link.ts';
import { collectMessages, connectedPair, matchesPattern, nextEvent, pattern } from './helpers.ts';

const MiB = 1024 * 1024;

function isCode(code: string) {
  return (err: unknown): boolean => err instanceof TransportError && err.code === code;
}

test('a 4 MB message crosses intact and the byte counters add up', async () => {
  const [a, b] = await connectedPair();
  try {
    assert.equal(a.chunkBytes, 64 * 1024);
    const received = nextEvent(b, 'message');
    await a.send(pattern(4 * MiB, 4));
    const [message] = await received;
    assert.ok(matchesPattern(message, 4 * MiB, 4), 'every byte of the 4 MB message');

    const sent = a.stats().sent;
    const got = b.stats().received;
    assert.deepEqual(got, sent);
    assert.equal(sent.payloadBytes, 4 * MiB);
    assert.equal(sent.messages, 1);
    assert.equal(sent.chunks, Math.ceil((4 * MiB + 9) / (64 * 1024 - 5)));
    assert.equal(sent.wireBytes, 4 * MiB + 9 + 5 * (sent.chunks - 1));
    assert.deepEqual(b.stats().sent, { wireBytes: 0, payloadBytes: 0, messages: 0, chunks: 0 });
  } finally {
    a.close();
    b.close();
  }
});

test('concurrent sends of mixed sizes arrive in order, each intact, both directions', async () => {
  const [a, b] = await connectedPair();
  try {
    const chunk = a.chunkBytes;
    const sizes = [0, 1, chunk - 9, chunk - 8, chunk, 3 * chunk + 17, MiB + 3, 5, 2 * MiB];
    const atB = collectMessages(b, sizes.length);
    const atA = collectMessages(a, sizes.length);
    await Promise.all([
      ...sizes.map((size, i) => a.send(pattern(size, i))),
      ...sizes.map((size, i) => b.send(pattern(size, 100 + i))),
    ]);
    const [gotB, gotA] = await Promise.all([atB, atA]);
    sizes.forEach((size, i) => {
      assert.ok(matchesPattern(gotB[i] ?? new Uint8Array(), size, i), `a->b message ${i}`);
      assert.ok(matchesPattern(gotA[i] ?? new Uint8Array(), size, 100 + i), `b->a message ${i}`);
    });
    assert.deepEqual(b.stats().received, a.stats().sent);
    assert.deepEqual(a.stats().received, b.stats().sent);
  } finally {
    a.close();
    b.close();
  }
});

test('an oversized message is refused on send (link stays usable) and rejected on receive', async () => {
  const [a, b] = await connectedPair({ maxMessageBytes: 4 * MiB }, { maxMessageBytes: 1 * MiB });
  try {
    await assert.rejects(b.send(new Uint8Array(MiB + 1)), isCode('ERR_MESSAGE_TOO_LARGE'));
    const small = nextEvent(a, 'message');
    await b.send(pattern(1000, 1));
    assert.ok(matchesPattern((await small)[0], 1000, 1), 'b still sends after a refused send');

    const error = nextEvent(b, 'error');
    const closedB = nextEvent(b, 'close');
    const closedA = nextEvent(a, 'close');
    await a.send(pattern(2 * MiB, 2)).catch(() => undefined); // may fail once b hangs up
    const [err] = await error;
    assert.equal(err.code, 'ERR_MESSAGE_TOO_LARGE');
    assert.deepEqual(await closedB, ['error']);
    assert.deepEqual(await closedA, ['remote']);
    assert.equal(b.stats().received.messages, 0);
  } finally {
    a.close();
    b.close();
  }
});

/** A hostile raw simple-peer on one side, a PeerLink on the other. */
async function hostilePair(): Promise<{ raw: SimplePeer.Instance; link: PeerLink }> {
  const binding = await loadWebRtcBinding();
  const raw = new SimplePeer({ initiator: true, wrtc: binding.implementation, config: { iceServers: [] } });
  const link = new PeerLink({ initiator: false, binding });
  raw.on('signal', (data: unknown) => link.signal(data));
  link.on('signal', (data) => raw.signal(JSON.stringify(data)));
  await Promise.all([new Promise((resolve) => raw.once('connect', resolve)), nextEvent(link, 'connect')]);
  return { raw, link };
}

/** Destroys a raw simple-peer without leaving its 5 s ICE timer behind (see PeerLink.close). */
function destroyRaw(raw: SimplePeer.Instance): void {
  raw.destroy();
  const clear = (): void => {
    const timer: unknown = Reflect.get(raw, '_iceCompleteTimer');
    if (timer instanceof Object && 'ref' in timer) clearTimeout(timer as ReturnType<typeof setTimeout>);
  };
  clear();
  raw.once('close', clear);
}

test('garbage chunks from a hostile peer give ERR_MALFORMED_CHUNK and close the link, not the process', async () => {
  const garbage: [string, Uint8Array | string][] = [
    ['random bytes', new Uint8Array([0xff, 0x13, 0x37, 0x42, 0x00, 0x99, 0x01, 0x02, 0x03, 0x04])],
    ['wrong message id', new Uint8Array([CHUNK_FLAG_FIRST | CHUNK_FLAG_LAST, 0, 0, 0, 9, 0, 0, 0, 1, 7])],
    ['continuation without a first chunk', new Uint8Array([CHUNK_FLAG_LAST, 0, 0, 0, 0, 1, 2, 3])],
    ['a text message', 'hello'],
  ];
  for (const [name, payload] of garbage) {
    const { raw, link } = await hostilePair();
    try {
      const error = nextEvent(link, 'error');
      const closed = nextEvent(link, 'close');
      const rawClosed = new Promise((resolve) => raw.once('close', resolve));
      raw.send(payload);
      const [err] = await error;
      assert.equal(err.code, 'ERR_MALFORMED_CHUNK', name);
      assert.deepEqual(await closed, ['error'], name);
      await rawClosed; // the hostile side is hung up on
      assert.equal(link.connected, false);
      await assert.rejects(link.send(new Uint8Array(1)), isCode('ERR_LINK_CLOSED'));
    } finally {
      link.close();
      destroyRaw(raw);
    }
  }
});

test('close() emits close on both sides; sends after close fail with ERR_LINK_CLOSED', async () => {
  const [a, b] = await connectedPair();
  const closedA = nextEvent(a, 'close');
  const closedB = nextEvent(b, 'close');
  a.close();
  a.close(); // idempotent
  assert.deepEqual(await closedA, ['local']);
  assert.deepEqual(await closedB, ['remote']);
  await assert.rejects(a.send(new Uint8Array(1)), isCode('ERR_LINK_CLOSED'));
  await assert.rejects(b.send(new Uint8Array(1)), isCode('ERR_LINK_CLOSED'));
});

test('a send queued behind a large one is rejected when the link closes mid-way', async () => {
  const [a, b] = await connectedPair();
  const big = a.send(pattern(16 * MiB, 5));
  const queued = a.send(new Uint8Array(10));
  const closedB = nextEvent(b, 'close');
  setImmediate(() => a.close());
  await assert.rejects(big, isCode('ERR_LINK_CLOSED'));
  await assert.rejects(queued, isCode('ERR_LINK_CLOSED'));
  await closedB;
  b.close();
});

test('a link whose peer never answers fails with ERR_CONNECT_TIMEOUT', async () => {
  const binding = await loadWebRtcBinding();
  const link = new PeerLink({ initiator: true, binding, connectTimeoutMs: 300 });
  const error = nextEvent(link, 'error');
  const closed = nextEvent(link, 'close');
  await assert.rejects(link.send(new Uint8Array(1)), isCode('ERR_NOT_CONNECTED'));
  assert.equal((await error)[0].code, 'ERR_CONNECT_TIMEOUT');
  assert.deepEqual(await closed, ['error']);
});

test('an invalid signal gives ERR_SIGNAL_INVALID and closes the link', async () => {
  const binding = await loadWebRtcBinding();
  const link = new PeerLink({ initiator: false, binding });
  const error = nextEvent(link, 'error');
  link.signal({ type: 'offer', sdp: 42 });
  assert.equal((await error)[0].code, 'ERR_SIGNAL_INVALID');
  assert.equal(link.closed, true);
});

test('a send buffer that does not drain in drainTimeoutMs fails with ERR_DRAIN_TIMEOUT', async () => {
  // High-water 1 byte and a poll slower than the deadline: the first wait must time out.
  // Unpaced, so chunks come faster than the channel takes them.
  const settings = {
    pacingMbps: Number.POSITIVE_INFINITY,
    highWaterMarkBytes: 1,
    lowWaterMarkBytes: 0,
    drainTimeoutMs: 1,
    drainPollIntervalMs: 5000,
  };
  const [a, b] = await connectedPair(settings, {});
  try {
    const error = nextEvent(a, 'error');
    await assert.rejects(a.send(new Uint8Array(16 * MiB)), isCode('ERR_DRAIN_TIMEOUT'));
    assert.equal((await error)[0].code, 'ERR_DRAIN_TIMEOUT');
    assert.equal(a.closed, true);
  } finally {
    a.close();
    b.close();
  }
});

test('chunks leave at pacingMbps: a message of several chunks takes their time at that rate (less a burst), one chunk none', async () => {
  // 8 Mbit/s is 1000 bytes per ms; 16 KiB chunks. Timers never fire early, so the bound holds
  // on any machine; it is derived from the setting, not a wall-clock constant.
  const pacingMbps = 8;
  const bytesPerMs = (pacingMbps * 1e6) / 8 / 1000;
  const [a, b] = await connectedPair({ pacingMbps, maxChunkBytes: 16 * 1024 }, {});
  try {
    const chunks = 4;
    const size = chunks * (a.chunkBytes - 16);
    const received = collectMessages(b, 2);
    const started = performance.now();
    await a.send(pattern(size, 1));
    const elapsedMs = performance.now() - started;
    // The first chunk goes at once; each later one waits until no more than pacingBurstBytes
    // of those before it are still due.
    const paceMs = ((chunks - 1) * a.chunkBytes - a.settings.pacingBurstBytes) / bytesPerMs;
    assert.ok(
      elapsedMs >= paceMs - 1,
      `${chunks} chunks handed over in ${elapsedMs.toFixed(1)} ms, paced ${paceMs} ms`,
    );
    assert.equal(a.stats().sent.chunks, chunks);
    // After a pause as long as the pacing owed, a one-chunk message is handed over at once
    // (synchronously, before send returns).
    await new Promise((resolve) => setTimeout(resolve, a.chunkBytes / bytesPerMs + 1));
    const before = a.stats().sent.chunks;
    const small = a.send(pattern(100, 2));
    assert.equal(a.stats().sent.chunks, before + 1);
    await small;
    const [first, second] = await received;
    assert.ok(matchesPattern(first ?? new Uint8Array(), size, 1));
    assert.ok(matchesPattern(second ?? new Uint8Array(), 100, 2));
  } finally {
    a.close();
    b.close();
  }
});

test('pacing by default only on the bindings that need it: wrtc paced, node-datachannel not; a set rate is kept', async () => {
  const wrtc = await loadWebRtcBinding('wrtc');
  const datachannel = await loadWebRtcBinding('node-datachannel');
  const links = [
    new PeerLink({ initiator: true, binding: wrtc }),
    new PeerLink({ initiator: true, binding: datachannel }),
    new PeerLink({ initiator: true, binding: datachannel, pacingMbps: 64 }),
  ];
  try {
    assert.deepEqual(
      links.map((link) => link.settings.pacingMbps),
      [DEFAULT_LINK_SETTINGS.pacingMbps, Number.POSITIVE_INFINITY, 64],
    );
  } finally {
    for (const link of links) link.close();
  }
});

test('out-of-range settings are refused with ERR_INVALID_OPTION', async () => {
  const binding = await loadWebRtcBinding();
  assert.throws(
    () => new PeerLink({ initiator: true, binding, highWaterMarkBytes: 64 * MiB }),
    isCode('ERR_INVALID_OPTION'),
  );
  assert.throws(
    () => new PeerLink({ initiator: true, binding, lowWaterMarkBytes: 2 * MiB }),
    isCode('ERR_INVALID_OPTION'),
  );
});

test('roundTripMs reads the RTT WebRTC measured on an open link; undefined once closed', async () => {
  const [a, b] = await connectedPair();
  try {
    const rtt = await a.roundTripMs();
    assert.ok(rtt !== undefined && Number.isFinite(rtt) && rtt >= 0, `rtt ${rtt}`);
    // Loopback: far below a second (the value is in ms, not seconds).
    assert.ok(rtt < 1000, `rtt ${rtt} ms on loopback`);
  } finally {
    a.close();
    b.close();
  }
  assert.equal(await a.roundTripMs(), undefined);
});

test('small sends do not read the channel buffer level (a blocking call into wrtc) every time', async () => {
  // The initiator's data channel is created through createDataChannel: count its reads.
  const real = await loadWebRtcBinding();
  let reads = 0;
  class CountingConnection extends real.implementation.RTCPeerConnection {
    override createDataChannel(label: string, init?: RTCDataChannelInit): RTCDataChannel {
      const channel = super.createDataChannel(label, init);
      return new Proxy(channel, {
        get(target, key) {
          if (key === 'bufferedAmount') reads += 1;
          const value: unknown = Reflect.get(target, key, target);
          return typeof value === 'function' ? value.bind(target) : value;
        },
        set: (target, key, value) => Reflect.set(target, key, value, target),
      });
    }
  }
  const binding = {
    name: 'wrtc-counting',
    implementation: { ...real.implementation, RTCPeerConnection: CountingConnection },
  };
  const a = new PeerLink({
    initiator: true,
    binding,
    highWaterMarkBytes: 256 * 1024,
    lowWaterMarkBytes: 128 * 1024,
  });
  const b = new PeerLink({ initiator: false, binding: real });
  a.on('signal', (data) => b.signal(data));
  b.on('signal', (data) => a.signal(data));
  try {
    await Promise.all([nextEvent(a, 'connect'), nextEvent(b, 'connect')]);
    const count = 300;
    const received = collectMessages(b, count);
    reads = 0;
    for (let i = 0; i < count; i++) await a.send(pattern(1500, i));
    const messages = await received;
    assert.ok(
      messages.every((m, i) => matchesPattern(m, 1500, i)),
      'every message intact, in order',
    );
    // 450 kB in all: the buffer level is read only when the bytes handed over since the last
    // reading could have reached the 256 KiB high-water mark (once per ~170 messages), not per send.
    assert.ok(reads <= 5, `bufferedAmount read ${reads} times for ${count} sends`);
  } finally {
    a.close();
    b.close();
  }
});
