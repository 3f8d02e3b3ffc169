/**
 * The silent-loss test: wrtc drops data once ~16 MiB are buffered while the channel stays
 * open. 64 MiB of messages are queued at once (as fast as the API allows) and every byte must
 * arrive, in order. Prints the throughput as a diagnostic (no timing assertion).
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { collectMessages, connectedPair, matchesPattern, pattern } from './helpers.ts';

const MESSAGE_BYTES = 256 * 1024;
const MESSAGE_COUNT = 256; // 64 MiB in total

test('a 64 MiB stream of 256 KiB messages crosses intact and in order', async (t) => {
  const [a, b] = await connectedPair();
  try {
    const messages = Array.from({ length: MESSAGE_COUNT }, (_, i) => pattern(MESSAGE_BYTES, i));
    const received = collectMessages(b, MESSAGE_COUNT, 120_000);
    const started = performance.now();
    await Promise.all(messages.map((message) => a.send(message)));
    // A lost chunk shows up as a broken chunk sequence at b: fail at once instead of waiting.
    let stopWatching = (): void => undefined;
    const broken = new Promise<never>((_, reject) => {
      stopWatching = b.on('error', reject);
    });
    const got = await Promise.race([received, broken]).finally(stopWatching);
    const seconds = (performance.now() - started) / 1000;

    got.forEach((message, i) => assert.ok(matchesPattern(message, MESSAGE_BYTES, i), `message ${i}`));
    assert.deepEqual(b.stats().received, a.stats().sent);
    assert.equal(b.stats().received.payloadBytes, MESSAGE_BYTES * MESSAGE_COUNT);
    const megabytes = (MESSAGE_BYTES * MESSAGE_COUNT) / 1e6;
    t.diagnostic(`64 MiB in one process: ${(megabytes / seconds).toFixed(1)} MB/s (${seconds.toFixed(2)} s)`);
  } finally {
    a.close();
    b.close();
  }
});
