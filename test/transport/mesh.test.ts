/**
 * PeerTransport over real WebRTC on loopback, with peers introduced by an in-memory relay:
 * deterministic initiator, hello from the other side, broadcast, disconnects, timeouts,
 * star teardown and rebuild, a restarted peer, and hostile signaling input.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadWebRtcBinding } from '../../client/transport/binding.ts';
import { TransportError } from '../../client/transport/errors.ts';
import { MemorySignalHub } from '../../client/transport/memory-relay.ts';
import { PeerTransport, type PeerTransportOptions } from '../../client/transport/mesh.ts';
import { matchesPattern, nextTransportEvent, pattern } from './helpers.ts';

function isCode(code: string) {
  return (err: unknown): boolean => err instanceof TransportError && err.code === code;
}

async function makeTransports(
  hub: MemorySignalHub,
  ids: string[],
  options: Partial<PeerTransportOptions> = {},
): Promise<PeerTransport[]> {
  const binding = await loadWebRtcBinding();
  return ids.map((localId) => new PeerTransport({ ...options, localId, relay: hub.relay(localId), binding }));
}

function messagesFrom(transport: PeerTransport, count: number): Promise<[string, Uint8Array][]> {
  return new Promise((resolve) => {
    const got: [string, Uint8Array][] = [];
    const off = transport.on('message', (from, message) => {
      got.push([from, message]);
      if (got.length === count) {
        off();
        resolve(got);
      }
    });
  });
}

test('a star: the hub connects to two workers, one of which asked first; broadcast reaches both', async () => {
  const hub = new MemorySignalHub();
  const [agg, w1, w2] = await makeTransports(hub, ['b-agg', 'a-worker', 'c-worker']);
  assert.ok(agg && w1 && w2);
  try {
    assert.equal(agg.isInitiatorFor('a-worker'), false); // a-worker initiates
    assert.equal(agg.isInitiatorFor('c-worker'), true);
    const w1Connected = nextTransportEvent(w1, 'peer:connect');
    const w2Connected = nextTransportEvent(w2, 'peer:connect');
    // c-worker is not the initiator: its connect() sends a hello and b-agg offers.
    await Promise.all([w2.connect('b-agg'), agg.connect('a-worker')]);
    assert.deepEqual(await w2Connected, ['b-agg']);
    assert.deepEqual(agg.connectedPeers().sort(), ['a-worker', 'c-worker']);
    assert.deepEqual(await w1Connected, ['b-agg']); // a-worker accepted the hello and offered
    assert.ok(w1.isConnected('b-agg'));

    const atW1 = messagesFrom(w1, 1);
    const atW2 = messagesFrom(w2, 1);
    const result = await agg.broadcast(pattern(300_000, 9));
    assert.deepEqual(result.sent.sort(), ['a-worker', 'c-worker']);
    assert.deepEqual(result.failed, []);
    for (const [first] of await Promise.all([atW1, atW2])) {
      assert.equal(first?.[0], 'b-agg');
      assert.ok(matchesPattern(first?.[1] ?? new Uint8Array(), 300_000, 9));
    }

    const atAgg = messagesFrom(agg, 2);
    await Promise.all([w1.send('b-agg', pattern(70_000, 1)), w2.send('b-agg', pattern(70_000, 2))]);
    const got = new Map(await atAgg);
    assert.ok(matchesPattern(got.get('a-worker') ?? new Uint8Array(), 70_000, 1));
    assert.ok(matchesPattern(got.get('c-worker') ?? new Uint8Array(), 70_000, 2));
    assert.deepEqual(agg.stats('a-worker')?.received, w1.stats('b-agg')?.sent);
    assert.deepEqual(agg.totalStats().sent.payloadBytes, 600_000);

    const failed = await agg.broadcast(new Uint8Array(1), ['a-worker', 'nobody']);
    assert.deepEqual(failed.sent, ['a-worker']);
    assert.equal(failed.failed[0]?.error.code, 'ERR_UNKNOWN_PEER');
    await assert.rejects(agg.send('nobody', new Uint8Array(1)), isCode('ERR_UNKNOWN_PEER'));
  } finally {
    for (const t of [agg, w1, w2]) t.stop();
  }
});

test('both sides calling connect() at once converge on one link, with a single offer', async () => {
  const hub = new MemorySignalHub();
  const binding = await loadWebRtcBinding();
  const hubRelay = hub.relay('a');
  const offerLinks = new Set<string>();
  const countingRelay = {
    onSignal: hubRelay.onSignal,
    sendSignal: (to: string, data: unknown) => {
      const envelope = data instanceof Object ? data : {};
      const payload: unknown = Reflect.get(envelope, 'data');
      if (payload instanceof Object && Reflect.get(payload, 'type') === 'offer') {
        offerLinks.add(String(Reflect.get(envelope, 'link')));
      }
      hubRelay.sendSignal(to, data);
    },
  };
  const a = new PeerTransport({ localId: 'a', relay: countingRelay, binding });
  const b = new PeerTransport({ localId: 'b', relay: hub.relay('b'), binding });
  try {
    await Promise.all([a.connect('b'), b.connect('a')]);
    assert.deepEqual(a.connectedPeers(), ['b']);
    assert.deepEqual(b.connectedPeers(), ['a']);
    assert.equal(offerLinks.size, 1, 'the hello re-sent the pending offer instead of starting a second link');
    const got = messagesFrom(b, 1);
    await a.send('b', pattern(10, 3));
    assert.ok(matchesPattern((await got)[0]?.[1] ?? new Uint8Array(), 10, 3));
  } finally {
    a.stop();
    b.stop();
  }
});

test('an offer sent before the remote listened is re-sent when its hello arrives', async () => {
  const hub = new MemorySignalHub();
  const binding = await loadWebRtcBinding();
  const a = new PeerTransport({ localId: 'a', relay: hub.relay('a'), binding });
  try {
    const aOpen = a.connect('b'); // nobody listens on 'b' yet: the offer is dropped
    while (hub.dropped === 0) await new Promise((resolve) => setImmediate(resolve));
    const b = new PeerTransport({ localId: 'b', relay: hub.relay('b'), binding });
    try {
      await Promise.all([b.connect('a'), aOpen]);
      assert.deepEqual(b.connectedPeers(), ['a']);
    } finally {
      b.stop();
    }
  } finally {
    a.stop();
  }
});

test('close(remoteId) disconnects both sides; closeAll() then connect() rebuilds a new star', async () => {
  const hub = new MemorySignalHub();
  const [a, b, c] = await makeTransports(hub, ['a', 'b', 'c']);
  assert.ok(a && b && c);
  try {
    // connect() from both ends: each resolves once its own side is open.
    await Promise.all([a.connect('b'), a.connect('c'), b.connect('a'), c.connect('a')]);
    const bLost = nextTransportEvent(b, 'peer:disconnect');
    const aLost = nextTransportEvent(a, 'peer:disconnect');
    a.close('b');
    assert.deepEqual(await aLost, ['b', 'local']);
    assert.deepEqual(await bLost, ['a', 'remote']);
    assert.deepEqual(a.connectedPeers(), ['c']);
    assert.equal(a.stats('b'), undefined);

    // The aggregator changes from a to c: tear down, rebuild around c.
    const cLost = nextTransportEvent(c, 'peer:disconnect');
    a.closeAll();
    await cLost;
    assert.deepEqual(a.connectedPeers(), []);
    await Promise.all([c.connect('a'), c.connect('b'), a.connect('c'), b.connect('c')]);
    assert.deepEqual(c.connectedPeers().sort(), ['a', 'b']);
    assert.deepEqual(b.connectedPeers().sort(), ['c']);
  } finally {
    for (const t of [a, b, c]) t.stop();
  }
});

test('a connect that never opens rejects with ERR_CONNECT_TIMEOUT, emits an error and is cleaned up', async () => {
  const hub = new MemorySignalHub();
  const [a] = await makeTransports(hub, ['a'], { link: { connectTimeoutMs: 300 } });
  assert.ok(a);
  try {
    const error = nextTransportEvent(a, 'error');
    await assert.rejects(a.connect('z-absent'), isCode('ERR_CONNECT_TIMEOUT'));
    const [err, remoteId] = await error;
    assert.equal(err.code, 'ERR_CONNECT_TIMEOUT');
    assert.equal(remoteId, 'z-absent');
    assert.equal(a.stats('z-absent'), undefined);
    assert.ok(hub.dropped > 0);
    // A non-initiator whose hello goes unanswered times out the same way.
    await assert.rejects(a.connect('0-absent'), isCode('ERR_CONNECT_TIMEOUT'));
  } finally {
    a.stop();
  }
});

test('acceptIncoming can refuse a peer; close() rejects a pending connect', async () => {
  const hub = new MemorySignalHub();
  const binding = await loadWebRtcBinding();
  const a = new PeerTransport({
    localId: 'a',
    relay: hub.relay('a'),
    binding,
    link: { connectTimeoutMs: 5000 },
  });
  const b = new PeerTransport({ localId: 'b', relay: hub.relay('b'), binding, acceptIncoming: () => false });
  try {
    const pending = a.connect('b');
    // b ignores the offer; closing the pending link ends the wait at once.
    while (hub.delivered === 0) await new Promise((resolve) => setImmediate(resolve));
    a.close('b');
    await assert.rejects(pending, isCode('ERR_LINK_CLOSED'));
    assert.deepEqual(b.connectedPeers(), []);
    assert.equal(b.stats('a'), undefined, 'b made no link for the refused offer');
  } finally {
    a.stop();
    b.stop();
  }
});

test('a link closed mid-handshake says bye: the remote gives up at once, not at its connect timeout', async () => {
  const hub = new MemorySignalHub();
  const binding = await loadWebRtcBinding();
  // The aggregator drops every link right after sending its offer, as `dropLinks` can land.
  let dropAfterOffer = true;
  let agg: PeerTransport | undefined = undefined;
  const aggRelay = hub.relay('p1');
  const dropping = {
    sendSignal: (to: string, data: unknown) => {
      aggRelay.sendSignal(to, data);
      if (dropAfterOffer && Reflect.get(Object(data), 'kind') === 'signal') {
        dropAfterOffer = false;
        queueMicrotask(() => agg?.closeAll());
      }
    },
    onSignal: aggRelay.onSignal,
  };
  agg = new PeerTransport({ localId: 'p1', relay: dropping, binding });
  // Far longer than a handshake takes: ERR_CONNECT_TIMEOUT instead means no bye arrived.
  const worker = new PeerTransport({
    localId: 'p3',
    relay: hub.relay('p3'),
    binding,
    link: { connectTimeoutMs: 20_000 },
  });
  try {
    await assert.rejects(
      worker.connect('p1'),
      (err: unknown) =>
        isCode('ERR_LINK_CLOSED')(err) && /p1 closed the link before it opened/.test(String(err)),
    );
    assert.equal(worker.stats('p1'), undefined);
    // The next attempt opens, on both ends: each side's link says so in its own time.
    const aggOpened = nextTransportEvent(agg, 'peer:connect');
    await worker.connect('p1');
    assert.deepEqual(await aggOpened, ['p3']);
    assert.deepEqual(agg.connectedPeers(), ['p3']);
  } finally {
    agg.stop();
    worker.stop();
  }
});

test('a bye closes only a link still opening, and only the one it names', async () => {
  const hub = new MemorySignalHub();
  const [a, b] = await makeTransports(hub, ['a', 'b'], { link: { connectTimeoutMs: 20_000 } });
  const fromB = hub.relay('b');
  assert.ok(a && b);
  try {
    // a's link is opening (a initiates, its offer names the link): a bye naming another link
    // (a leftover of an older attempt) leaves it alone.
    const aOpen = a.connect('b');
    fromB.sendSignal('a', { v: 1, kind: 'bye', link: 'an-older-link' });
    await Promise.all([aOpen, b.connect('a')]);
    // An open link ignores a bye: its channel says when it closes.
    fromB.sendSignal('a', { v: 1, kind: 'bye' });
    const got = messagesFrom(a, 1);
    await b.send('a', pattern(100, 3));
    assert.ok(matchesPattern((await got)[0]?.[1] ?? new Uint8Array(), 100, 3));
    assert.deepEqual(a.connectedPeers(), ['b']);
  } finally {
    a.stop();
    b.stop();
  }
});

test('a peer that restarts with the same id replaces its old, still-open link', async () => {
  const hub = new MemorySignalHub();
  const binding = await loadWebRtcBinding();
  // b's relay can be cut, as when its process dies: its old link stays open on a's side.
  const unsubscribes: (() => void)[] = [];
  const hubRelay = hub.relay('b');
  const cuttable = {
    sendSignal: hubRelay.sendSignal,
    onSignal: (handler: (from: string, data: unknown) => void) => {
      const off = hubRelay.onSignal(handler);
      unsubscribes.push(off);
      return off;
    },
  };
  const a = new PeerTransport({ localId: 'a', relay: hub.relay('a'), binding });
  const b = new PeerTransport({ localId: 'b', relay: cuttable, binding });
  let b2: PeerTransport | undefined;
  try {
    await Promise.all([b.connect('a'), a.connect('b')]); // b is not the initiator: hello, then a offers
    for (const off of unsubscribes) off();

    b2 = new PeerTransport({ localId: 'b', relay: hub.relay('b'), binding });
    const aLost = nextTransportEvent(a, 'peer:disconnect');
    const aBack = nextTransportEvent(a, 'peer:connect');
    await Promise.all([b2.connect('a'), aBack]);
    assert.deepEqual(await aLost, ['b', 'replaced']);
    assert.deepEqual(a.connectedPeers(), ['b']);
    const got = messagesFrom(b2, 1);
    await a.send('b', pattern(1234, 5));
    assert.ok(matchesPattern((await got)[0]?.[1] ?? new Uint8Array(), 1234, 5));
  } finally {
    a.stop();
    b.stop();
    b2?.stop();
  }
});

test('malformed envelopes and protocol violations emit ERR_SIGNAL_INVALID without crashing', async () => {
  const hub = new MemorySignalHub();
  const [a, b] = await makeTransports(hub, ['a', 'b']);
  assert.ok(a && b);
  const rogue = hub.relay('0-rogue');
  try {
    const errors: string[] = [];
    b.on('error', (err, from) => errors.push(`${from}:${err.code}`));
    rogue.sendSignal('b', 'not an envelope');
    rogue.sendSignal('b', { v: 2, kind: 'hello' });
    rogue.sendSignal('b', { v: 1, kind: 'hello' }); // 0-rogue < b: rogue must initiate itself
    rogue.sendSignal('b', { v: 1, kind: 'signal', link: 'x', data: { type: 'offer', sdp: 7 } });
    await new Promise((resolve) => setTimeout(resolve, 0)); // let the relay deliver (microtasks)
    assert.deepEqual(errors.slice(0, 3), [
      '0-rogue:ERR_SIGNAL_INVALID',
      '0-rogue:ERR_SIGNAL_INVALID',
      '0-rogue:ERR_SIGNAL_INVALID',
    ]);
    assert.equal(errors[3], '0-rogue:ERR_SIGNAL_INVALID'); // the bad offer closed its new link
    assert.deepEqual(b.connectedPeers(), []);
    await Promise.all([a.connect('b'), b.connect('a')]); // b still works
    assert.deepEqual(b.connectedPeers(), ['a']);
  } finally {
    a.stop();
    b.stop();
  }
});
