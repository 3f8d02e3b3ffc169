/**
 * A Node peer on node-datachannel offers with `a=setup:active` (client/transport/node-datachannel.ts:
 * the offerer is the DTLS client). A browser must accept that: headless Chromium answers such an
 * offer as the DTLS server, the data channel opens and a message crosses each way.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadWebRtcBinding } from '../../client/transport/binding.ts';
import { PAGE_TIMEOUT_MS, chromiumSkipReason, collectPageErrors, launchChromium } from './helpers.ts';

/** Resolves once `connection` has gathered every candidate (a non-trickle exchange). */
function gathered(connection: RTCPeerConnection): Promise<void> {
  return new Promise((resolve) => {
    if (connection.iceGatheringState === 'complete') return resolve();
    connection.addEventListener('icegatheringstatechange', () => {
      if (connection.iceGatheringState === 'complete') resolve();
    });
  });
}

function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), PAGE_TIMEOUT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

test(
  'Chromium answers a node-datachannel offer as the DTLS server, and the channel carries messages both ways',
  { skip: chromiumSkipReason() },
  async (t) => {
    const { implementation } = await loadWebRtcBinding('node-datachannel');
    const connection = new implementation.RTCPeerConnection({ iceServers: [] });
    const channel = connection.createDataChannel('probe');
    t.after(() => {
      // A node-datachannel channel left open keeps the process alive after close().
      channel.close();
      connection.close();
    });
    const opened = new Promise<void>((resolve) => channel.addEventListener('open', () => resolve()));
    const fromPage = new Promise<string>((resolve) =>
      channel.addEventListener('message', (event: MessageEvent) => resolve(String(event.data))),
    );
    await connection.setLocalDescription(await connection.createOffer());
    await withTimeout(gathered(connection), 'node-datachannel gathering');
    const offer = connection.localDescription;
    assert.ok(offer !== null);
    assert.match(offer.sdp, /^a=setup:active\b/m, 'the offer makes this end the DTLS client');

    const context = await launchChromium(t);
    const page = await context.newPage();
    const errors = collectPageErrors(page);
    await page.goto('about:blank');
    const answerSdp = await page.evaluate(async (offerSdp) => {
      const remote = new RTCPeerConnection({ iceServers: [] });
      const state = window as unknown as { probeMessage?: Promise<string> };
      state.probeMessage = new Promise<string>((resolve) => {
        remote.addEventListener('datachannel', ({ channel: incoming }) => {
          incoming.addEventListener('message', (event: MessageEvent) => {
            resolve(String(event.data));
            incoming.send('from the page');
          });
        });
      });
      await remote.setRemoteDescription({ type: 'offer', sdp: offerSdp });
      await remote.setLocalDescription(await remote.createAnswer());
      await new Promise<void>((resolve) => {
        if (remote.iceGatheringState === 'complete') return resolve();
        remote.addEventListener('icegatheringstatechange', () => {
          if (remote.iceGatheringState === 'complete') resolve();
        });
      });
      return remote.localDescription?.sdp ?? '';
    }, offer.sdp);
    assert.match(answerSdp, /^a=setup:passive\b/m, 'Chromium answers as the DTLS server');
    // Candidates trickled apart, as simple-peer sends them (libdatachannel refuses them inside an answer).
    const candidateLines = answerSdp.match(/^a=candidate:.*$/gm) ?? [];
    const bare = answerSdp.replace(/^a=(candidate:.*|end-of-candidates)\r?\n/gm, '');
    await connection.setRemoteDescription({ type: 'answer', sdp: bare });
    for (const line of candidateLines)
      await connection.addIceCandidate({ candidate: line.slice(2).trim(), sdpMid: '0' });
    await withTimeout(opened, 'the data channel opening');
    channel.send('from node');
    const atPage = await page.evaluate(() => {
      const state = window as unknown as { probeMessage?: Promise<string> };
      return state.probeMessage ?? Promise.resolve('no channel');
    });
    assert.equal(atPage, 'from node');
    assert.equal(await withTimeout(fromPage, "the page's reply"), 'from the page');
    assert.deepEqual(errors, []);
  },
);
