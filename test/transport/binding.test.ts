/**
 * The two Node WebRTC bindings behind client/transport/binding.ts: each loads by name, they
 * interoperate over loopback (a link with wrtc on one end and node-datachannel on the other),
 * node-datachannel's wrapper gives simple-peer what it needs (plain descriptions, RTT in ms
 * through roundTripMs), LIEC_WEBRTC picks one and refuses an unknown name, and a remote
 * close racing sends on node-datachannel ends the link, not the process (the race that can
 * crash wrtc: see bench/binding.ts, which counts those crashes in separate processes).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  DEFAULT_NODE_BINDING,
  loadWebRtcBinding,
  RELAY_ONLY_NODE_BINDING,
  type WebRtcBinding,
} from '../../client/transport/binding.ts';
import { PeerLink } from '../../client/transport/peer-link.ts';
import { collectMessages, matchesPattern, nextEvent, pattern } from './helpers.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const run = promisify(execFile);

/**
 * Two connected links. With `attempts` > 1 a pair that does not connect (nextEvent's timeout)
 * is closed and built again, as a peer's runtime reconnects: under load 20-60 one
 * node-datachannel pair in a CI run never connected (its ICE checks timed out), and the tests
 * that use this are about what happens once connected.
 */
async function pair(
  a: WebRtcBinding,
  b: WebRtcBinding,
  attempts = 1,
  onAnswer: (sdp: string) => void = () => {},
): Promise<[PeerLink, PeerLink]> {
  for (let attempt = 1; ; attempt++) {
    const left = new PeerLink({ initiator: true, binding: a });
    const right = new PeerLink({ initiator: false, binding: b });
    left.on('signal', (data) => right.signal(data));
    right.on('signal', (data) => {
      if (data.type === 'answer') onAnswer(data.sdp);
      left.signal(data);
    });
    try {
      await Promise.all([nextEvent(left, 'connect'), nextEvent(right, 'connect')]);
      return [left, right];
    } catch (error) {
      left.close();
      right.close();
      if (attempt >= attempts) throw error;
      console.log(`# pair ${a.name}-${b.name} did not connect (attempt ${attempt}): ${String(error)}`);
    }
  }
}

test('each binding loads by name; node-datachannel offers are plain {type, sdp} objects', async () => {
  const wrtc = await loadWebRtcBinding('wrtc');
  const ndc = await loadWebRtcBinding('node-datachannel');
  assert.equal(wrtc.name, 'wrtc');
  assert.equal(ndc.name, 'node-datachannel');
  assert.notEqual(wrtc.implementation.RTCPeerConnection, ndc.implementation.RTCPeerConnection);
  const connection = new ndc.implementation.RTCPeerConnection({ iceServers: [] });
  const channel = connection.createDataChannel('probe');
  try {
    const offer = await connection.createOffer();
    assert.equal(Object.getPrototypeOf(offer), Object.prototype, 'a plain object simple-peer can edit');
    assert.equal(offer.type, 'offer');
    assert.match(offer.sdp ?? '', /m=application/);
    offer.sdp = `${offer.sdp ?? ''}`; // what simple-peer's sdpTransform does: must not throw
    // The offerer is the DTLS client (node-datachannel.ts says why).
    assert.match(offer.sdp, /^a=setup:active\b/m);
    assert.doesNotMatch(offer.sdp, /a=setup:actpass/);
  } finally {
    // Both: a node-datachannel channel left open keeps the process alive after close().
    channel.close();
    connection.close();
  }
});

test('wrtc and node-datachannel interoperate: 6 MB each way intact, RTT read on both ends', async () => {
  const [a, b] = await pair(await loadWebRtcBinding('wrtc'), await loadWebRtcBinding('node-datachannel'));
  try {
    const atB = collectMessages(b, 1);
    const atA = collectMessages(a, 1);
    await Promise.all([a.send(pattern(6e6, 1)), b.send(pattern(6e6, 2))]);
    const [[fromA], [fromB]] = await Promise.all([atB, atA]);
    assert.ok(fromA && matchesPattern(fromA, 6e6, 1), 'wrtc -> node-datachannel intact');
    assert.ok(fromB && matchesPattern(fromB, 6e6, 2), 'node-datachannel -> wrtc intact');
    // libdatachannel reports its RTT in ms (the wrapper converts it to the standard seconds):
    // on loopback it is well under a second either way, never 1000x too large.
    const rtt = await b.roundTripMs();
    assert.ok(rtt === undefined || (rtt >= 0 && rtt < 1000), `node-datachannel RTT ${rtt} ms`);
  } finally {
    a.close();
    b.close();
  }
});

test('a node-datachannel offerer is the DTLS client: the answer says passive, from node-datachannel and from wrtc', async () => {
  const ndc = await loadWebRtcBinding('node-datachannel');
  for (const answerer of [ndc, await loadWebRtcBinding('wrtc')]) {
    const answers: string[] = [];
    const [left, right] = await pair(ndc, answerer, 2, (sdp) => answers.push(sdp));
    try {
      const arrived = collectMessages(right, 1);
      await left.send(pattern(1000, 4));
      const [message] = await arrived;
      assert.ok(message && matchesPattern(message, 1000, 4), `${answerer.name}: a message arrived intact`);
      assert.match(
        answers.at(-1) ?? '',
        /^a=setup:passive\b/m,
        `${answerer.name} answered as the DTLS server`,
      );
    } finally {
      left.close();
      right.close();
    }
  }
});

test('node-datachannel: a remote close racing back-to-back sends closes the link, never the process', async () => {
  const ndc = await loadWebRtcBinding('node-datachannel');
  const message = pattern(1 << 20, 3);
  for (let i = 0; i < 5; i++) {
    const [sender, closer] = await pair(ndc, ndc, 2);
    const closed = nextEvent(sender, 'close');
    // Sends until the remote's close ends the link (its sends then reject, as they must).
    const sending = (async () => {
      while (!sender.closed) await sender.send(message);
    })().catch((err: unknown) => err);
    // After the first chunks arrive, so the close lands while chunks are still going out.
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no chunk arrived')), 20_000);
      const poll = setInterval(() => {
        if (closer.arrivedChunks < 1 + i * 7) return;
        clearInterval(poll);
        clearTimeout(timer);
        resolve();
      }, 1);
    });
    closer.close();
    const [reason] = await closed;
    assert.notEqual(reason, 'local', `iteration ${i}: closed by the remote, not here`);
    const error = await sending;
    assert.ok(error instanceof Error, `iteration ${i}: the send in flight rejected`);
  }
});

test('LIEC_WEBRTC chooses the binding and an unknown name is refused with ERR_INVALID_OPTION', async () => {
  const script =
    "import('./client/transport/binding.ts').then((m) => m.loadWebRtcBinding())" +
    '.then((b) => console.log(b.name), (e) => console.log(e.code));';
  const env = (value: string): NodeJS.ProcessEnv => ({ ...process.env, LIEC_WEBRTC: value });
  const answer = async (value: string): Promise<string> => {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', '-e', script], {
      cwd: ROOT,
      env: env(value),
    });
    return stdout.trim();
  };
  assert.equal(await answer('wrtc'), 'wrtc');
  assert.equal(await answer('node-datachannel'), 'node-datachannel');
  assert.equal(await answer('webrtc-9000'), 'ERR_INVALID_OPTION');
});

test('without LIEC_WEBRTC a link gets the default binding, a relay-only link wrtc', async () => {
  const script =
    "import('./client/transport/binding.ts').then(async (m) => console.log(" +
    "(await m.loadWebRtcBinding()).name, (await m.loadWebRtcBinding(undefined, { iceTransportPolicy: 'relay' })).name))";
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env['LIEC_WEBRTC'];
  const { stdout } = await run(process.execPath, ['--import', 'tsx', '-e', script], { cwd: ROOT, env });
  assert.equal(stdout.trim(), `${DEFAULT_NODE_BINDING} ${RELAY_ONLY_NODE_BINDING}`);
  assert.equal(RELAY_ONLY_NODE_BINDING, 'wrtc');
});
