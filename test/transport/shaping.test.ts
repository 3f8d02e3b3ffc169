/**
 * Link shaping: the pacer's arithmetic on a fake clock, the uplink meter, the delay line's
 * order, departure stamps, and shaped links over real WebRTC on loopback (rate as a lower bound
 * on the elapsed time, latency, a downlink shared by two senders, the measured uplink rate, the
 * receive backlog limit). test/transport/process.test.ts checks that a shaped link moves bytes
 * while its sender computes.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadWebRtcBinding } from '../../client/transport/binding.ts';
import { DelayLine } from '../../client/transport/delay-line.ts';
import { TransportError } from '../../client/transport/errors.ts';
import { resolveLinkSettings } from '../../client/transport/link-options.ts';
import { MemorySignalHub } from '../../client/transport/memory-relay.ts';
import { PeerTransport } from '../../client/transport/mesh.ts';
import { encodeChunks } from '../../client/transport/chunk-codec.ts';
import {
  Pacer,
  readStamp,
  stampChunk,
  STAMP_BYTES,
  ThroughputMeter,
} from '../../client/transport/shaping.ts';
import { collectMessages, connectedPair, matchesPattern, nextEvent, pattern } from './helpers.ts';

const MB = 1_000_000;

function fakeClock(start = 1000): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

test('pacer, sending: 2 Mbit/s books 250 bytes per ms, back to back; unshaped is free', () => {
  const clock = fakeClock();
  const pacer = new Pacer(2, clock.now);
  assert.equal(pacer.bytesPerMs, 250);
  assert.equal(pacer.release(250_000), 2000); // 1 s after now (1000)
  assert.equal(pacer.release(25_000), 2100); // behind the first
  assert.equal(pacer.backlogMs(), 1100);
  clock.advance(5000); // idle: nothing saved up
  assert.equal(pacer.release(2_500), 6010);

  const free = new Pacer(Infinity, clock.now);
  assert.equal(free.shaped, false);
  assert.equal(free.release(10 * MB), clock.now());
  assert.equal(free.deliver(10 * MB), clock.now());
  assert.throws(() => new Pacer(0), RangeError);
});

test('pacer, receiving: one paced stream passes at once, simultaneous arrivals share the rate', () => {
  const clock = fakeClock();
  const pacer = new Pacer(8, clock.now); // 1000 bytes per ms
  // Chunks arriving at the link's own rate are delivered as they arrive.
  assert.equal(pacer.deliver(10_000), 1000);
  clock.advance(10);
  assert.equal(pacer.deliver(10_000), 1010);
  clock.advance(1000);
  // Three 10 kB chunks from three senders at once: the downlink carries them one after another.
  assert.deepEqual([pacer.deliver(10_000), pacer.deliver(10_000), pacer.deliver(10_000)], [2010, 2020, 2030]);
});

test('meter: bytes over time of the last sends; unknown until a send took time', () => {
  const meter = new ThroughputMeter(2);
  assert.equal(meter.bytesPerSecond(), undefined);
  meter.record({ bytes: 1000, ms: 0 });
  assert.equal(meter.bytesPerSecond(), undefined);
  meter.record({ bytes: 3000, ms: 10 });
  assert.equal(meter.bytesPerSecond(), 400_000); // (1000 + 3000) / 10 ms
  meter.record({ bytes: 2000, ms: 10 }); // the window drops the first sample
  assert.equal(meter.bytesPerSecond(), 250_000);
  assert.equal(meter.samples, 2);
});

test('delay line: actions run in order, none before its time, none after clear()', async () => {
  const line = new DelayLine();
  const start = performance.now();
  const ran: { id: number; at: number }[] = [];
  const done = new Promise<void>((resolve) => {
    for (const [id, delay] of [
      [0, 30],
      [1, 30],
      [2, 60],
    ] as const) {
      line.push(start + delay, () => {
        ran.push({ id, at: performance.now() - start });
        if (id === 2) resolve();
      });
    }
  });
  await done;
  assert.deepEqual(
    ran.map((r) => r.id),
    [0, 1, 2],
  );
  assert.ok((ran[2]?.at ?? 0) >= 59.5, `third action at ${ran[2]?.at} ms`);
  let late = false;
  line.push(performance.now() + 1, () => (late = true));
  line.clear();
  line.push(performance.now(), () => (late = true));
  assert.equal(line.size, 0);
  await new Promise((resolve) => setTimeout(resolve, 10)); // a cleared line must stay silent
  assert.equal(late, false);
});

test('stamps: a chunk and its delay round-trip; unstamped chunks pass; a truncated stamp is refused', () => {
  for (const chunk of encodeChunks(9, pattern(300, 2), 128)) {
    assert.deepEqual(readStamp(chunk), { chunk, delayMs: 0 }, 'an unstamped chunk is its own');
    const stamped = stampChunk(chunk, 12.3456);
    assert.equal(stamped.byteLength, chunk.byteLength + STAMP_BYTES);
    const read = readStamp(stamped);
    assert.deepEqual([...read.chunk], [...chunk]);
    assert.equal(read.delayMs, 12.346, 'microsecond resolution');
  }
  assert.equal(readStamp(stampChunk(new Uint8Array([1]), -5)).delayMs, 0, 'a negative delay is 0');
  assert.throws(
    () => readStamp(stampChunk(new Uint8Array([1]), 3).subarray(0, STAMP_BYTES)),
    (err: unknown) => err instanceof TransportError && err.code === 'ERR_MALFORMED_CHUNK',
  );
});

test('a receiver holds back no more than maxShapedBacklogBytes: beyond it the link closes', async () => {
  // 0.1 Mbit/s: 200 kB take 16 s to leave the sender, but reach the receiver at once, stamped.
  const [a, b] = await connectedPair({ linkMbps: 0.1 }, { maxShapedBacklogBytes: 50_000 });
  try {
    const failed = nextEvent(b, 'error');
    const closed = nextEvent(b, 'close');
    a.send(pattern(200_000, 4)).catch(() => undefined); // rejected when the link closes
    const [error] = await failed;
    assert.equal(error.code, 'ERR_SHAPING_BACKLOG');
    assert.deepEqual(await closed, ['error']);
  } finally {
    a.close();
    b.close();
  }
});

test('settings: link shaping is off by default; a zero or negative rate is refused', () => {
  const defaults = resolveLinkSettings();
  assert.equal(defaults.linkMbps, Infinity);
  assert.equal(defaults.linkLatencyMs, 0);
  for (const bad of [{ linkMbps: 0 }, { linkMbps: -2 }, { linkLatencyMs: -1 }, { linkMbps: NaN }]) {
    assert.throws(
      () => resolveLinkSettings(bad),
      (err: unknown) => err instanceof TransportError && err.code === 'ERR_INVALID_OPTION',
    );
  }
});

test('a 4 Mbit/s link moves 1 MB in no less than 0.8x of 2 s; unshaped, many times faster', async () => {
  const timeOneMegabyte = async (linkMbps: number): Promise<number> => {
    const [a, b] = await connectedPair({ linkMbps });
    try {
      const received = nextEvent(b, 'message', 30_000);
      const started = performance.now();
      await a.send(pattern(MB, 7));
      const [message] = await received;
      const elapsed = performance.now() - started;
      assert.ok(matchesPattern(message, MB, 7), 'every byte arrives');
      return elapsed;
    } finally {
      a.close();
      b.close();
    }
  };
  const shapedMs = await timeOneMegabyte(4);
  // The best of three: a load spike on this shared machine can stall one unshaped transfer.
  let unshapedMs = Infinity;
  for (let attempt = 0; attempt < 3; attempt++)
    unshapedMs = Math.min(unshapedMs, await timeOneMegabyte(Infinity));
  const idealMs = ((MB * 8) / 4e6) * 1000;
  assert.ok(shapedMs >= 0.8 * idealMs, `shaped: ${shapedMs.toFixed(0)} ms for an ideal ${idealMs} ms`);
  assert.ok(
    unshapedMs * 4 < shapedMs,
    `unshaped ${unshapedMs.toFixed(0)} ms vs shaped ${shapedMs.toFixed(0)} ms`,
  );
});

test('latency: a small message arrives no sooner than the configured delay, both ways', async () => {
  const [a, b] = await connectedPair({ linkLatencyMs: 150 });
  try {
    for (const [from, to] of [
      [a, b],
      [b, a],
    ] as const) {
      const received = nextEvent(to, 'message');
      const started = performance.now();
      await from.send(pattern(100, 3));
      const [message] = await received;
      const elapsed = performance.now() - started;
      assert.ok(matchesPattern(message, 100, 3));
      assert.ok(elapsed >= 149, `arrived after ${elapsed.toFixed(1)} ms`);
    }
  } finally {
    a.close();
    b.close();
  }
});

test('a shaped downlink is shared: two unshaped senders into one 4 Mbit/s peer take its rate', async () => {
  const hub = new MemorySignalHub();
  const binding = await loadWebRtcBinding();
  const hubPeer = new PeerTransport({
    localId: 'b-hub',
    relay: hub.relay('b-hub'),
    binding,
    link: { linkMbps: 4 },
  });
  const senders = ['a-one', 'c-two'].map(
    (localId) => new PeerTransport({ localId, relay: hub.relay(localId), binding }),
  );
  try {
    await Promise.all(senders.map((s) => s.connect('b-hub')));
    const arrived = new Promise<number>((resolve) => {
      let count = 0;
      hubPeer.on('message', () => {
        count += 1;
        if (count === 2) resolve(performance.now());
      });
    });
    const started = performance.now();
    await Promise.all(senders.map((s, i) => s.send('b-hub', pattern(MB / 2, i))));
    const elapsed = (await arrived) - started;
    const idealMs = ((MB * 8) / 4e6) * 1000; // 1 MB in total through one 4 Mbit/s downlink
    assert.ok(elapsed >= 0.8 * idealMs, `both halves after ${elapsed.toFixed(0)} ms, ideal ${idealMs} ms`);
  } finally {
    hubPeer.stop();
    for (const s of senders) s.stop();
  }
});

test('the uplink meter reads the shaped rate of a peer that sends to two others', async () => {
  const hub = new MemorySignalHub();
  const binding = await loadWebRtcBinding();
  const sender = new PeerTransport({
    localId: 'a-send',
    relay: hub.relay('a-send'),
    binding,
    link: { linkMbps: 8 },
  });
  const others = ['b-one', 'c-two'].map(
    (localId) => new PeerTransport({ localId, relay: hub.relay(localId), binding }),
  );
  try {
    await Promise.all(others.map((o) => sender.connect(o.localId)));
    assert.equal(sender.uplinkBytesPerSecond(), undefined);
    const started = performance.now();
    // Both sends share the one uplink: 2 x 250 kB at 1 MB/s take at least 0.5 s together.
    await sender.broadcast(pattern(250_000, 1));
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= 0.8 * 500, `broadcast took ${elapsed.toFixed(0)} ms`);
    const rate = sender.uplinkBytesPerSecond() ?? 0;
    // Each send saw half the uplink (the other send interleaved): about 0.5 MB/s, never more than 1 MB/s.
    assert.ok(rate > 0.3e6 && rate <= 1.02e6, `measured ${rate.toFixed(0)} B/s`);
  } finally {
    sender.stop();
    for (const o of others) o.stop();
  }
});

test('many sends in flight on a shaped link settle in order, with no listener per send', async () => {
  const [a, b] = await connectedPair({ linkMbps: 8 });
  const warnings: Error[] = [];
  const onWarning = (warning: Error): void => void warnings.push(warning);
  process.on('warning', onWarning);
  try {
    const arrived = collectMessages(b, 40);
    const settled: number[] = [];
    await Promise.all(
      Array.from({ length: 40 }, (_, i) => a.send(pattern(2_000, i)).then(() => void settled.push(i))),
    );
    assert.deepEqual(
      settled,
      Array.from({ length: 40 }, (_, i) => i),
    );
    const messages = await arrived;
    assert.ok(messages.every((m, i) => matchesPattern(m, 2_000, i)));
    await new Promise<void>((resolve) => setImmediate(resolve)); // warnings are emitted on next tick
    assert.deepEqual(
      warnings.map((w) => w.name),
      [],
    );
  } finally {
    process.off('warning', onWarning);
    a.close();
    b.close();
  }
});
