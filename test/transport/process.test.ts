/**
 * Two processes over real WebRTC on loopback, signals over the child's stdin/stdout: a 64 MiB
 * stream checked byte by byte in the other process, and a child that must exit by itself,
 * promptly, once its links are closed (from either side). simple-peer's lingering 5 s ICE timer
 * would hold it past the guard below.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { PeerTransport } from '../../client/transport/mesh.ts';
import { loadWebRtcBinding } from '../../client/transport/binding.ts';
import { matchesPattern, nextTransportEvent, pattern } from './helpers.ts';
import { createLineRelay } from './fixtures/stdio-relay.ts';

const CHILD = fileURLToPath(new URL('./fixtures/child-peer.ts', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Failure guard only: a clean child exits in well under a second; the ICE timer holds it ~5 s. */
const EXIT_GUARD_MS = 4000;

/** Spawns the child and connects to it; resolves once both sides report their link open. */
async function startChild(childArgs: string[] = []): Promise<{
  transport: PeerTransport;
  exited: Promise<{ code: number | null; at: number }>;
  kill: () => void;
}> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, ...childArgs], {
    cwd: REPO_ROOT,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise<{ code: number | null; at: number }>((resolve) => {
    child.once('exit', (code) => resolve({ code, at: performance.now() }));
  });
  const relay = createLineRelay(child.stdout, child.stdin, 'parent');
  const transport = new PeerTransport({ localId: 'parent', relay, binding: await loadWebRtcBinding() });
  const kill = (): void => {
    transport.stop();
    relay.stop();
    if (child.exitCode === null) child.kill();
  };
  try {
    const childReady = nextTransportEvent(transport, 'message', 30_000);
    await within(transport.connect('child'), 30_000, 'connecting to the child');
    const [, ready] = await childReady;
    assert.deepEqual([...ready], [0x03]);
  } catch (error) {
    kill();
    throw error;
  }
  return { transport, exited, kill };
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([promise, guard]).finally(() => clearTimeout(timer));
}

function streamMessage(index: number, bytes: number): Uint8Array {
  const message = new Uint8Array(bytes);
  message[0] = 0x00;
  new DataView(message.buffer).setUint32(1, index);
  message.set(pattern(bytes - 5, index), 5);
  return message;
}

test('a 64 MiB stream reaches another process intact; told to close, the child exits by itself', async (t) => {
  const { transport, exited, kill } = await startChild();
  try {
    const count = 256;
    const bytes = 256 * 1024;
    const report = nextTransportEvent(transport, 'message', 120_000);
    const started = performance.now();
    await Promise.all(
      Array.from({ length: count }, (_, i) => transport.send('child', streamMessage(i, bytes))),
    );
    await transport.send('child', new Uint8Array([0x01]));
    const [, reply] = await report;
    const seconds = (performance.now() - started) / 1000;
    assert.deepEqual(JSON.parse(new TextDecoder().decode(reply)), {
      received: count,
      bad: 0,
      bytes: count * bytes,
    });
    t.diagnostic(`64 MiB to another process: ${((count * bytes) / 1e6 / seconds).toFixed(1)} MB/s`);

    const lost = nextTransportEvent(transport, 'peer:disconnect');
    const told = performance.now();
    await transport.send('child', new Uint8Array([0x02]));
    const { code, at } = await within(exited, EXIT_GUARD_MS, 'the child exiting by itself');
    assert.equal(code, 0);
    assert.deepEqual(await lost, ['child', 'remote']);
    t.diagnostic(`child exited ${(at - told).toFixed(0)} ms after being told to close`);
  } finally {
    kill();
  }
});

test('when the parent closes all its links right after connecting, the child exits by itself', async (t) => {
  const { transport, exited, kill } = await startChild();
  try {
    const closed = performance.now();
    transport.closeAll();
    const { code, at } = await within(exited, EXIT_GUARD_MS, 'the child exiting by itself');
    assert.equal(code, 0);
    t.diagnostic(`child exited ${(at - closed).toFixed(0)} ms after the parent closed its links`);
  } finally {
    kill();
  }
});

test('a shaped link carries what a peer sent while that peer computes, as a network card would', async (t) => {
  // 2 Mbit/s: the 5 kB message needs 20 ms of uplink; the child then blocks its event loop
  // for BUSY_MS. Paced by timers on the sender, the message could leave only after the
  // block, right before the 0x06 that follows it.
  const BUSY_MS = 1500;
  const { transport, kill } = await startChild(['--link-mbps', '2']);
  try {
    const arrivals = new Map<number, number>();
    const both = new Promise<void>((resolve) => {
      transport.on('message', (_from, message) => {
        const kind = message[0];
        if (kind === 0x05) assert.ok(matchesPattern(message.subarray(1), message.byteLength - 1, 5));
        if (kind !== undefined) arrivals.set(kind, performance.now());
        if (arrivals.has(0x05) && arrivals.has(0x06)) resolve();
      });
    });
    const command = new Uint8Array(9);
    command[0] = 0x04;
    new DataView(command.buffer).setUint32(1, 5000);
    new DataView(command.buffer).setUint32(5, BUSY_MS);
    await transport.send('child', command);
    await within(both, 30_000, 'both messages from the child');
    const gapMs = (arrivals.get(0x06) ?? 0) - (arrivals.get(0x05) ?? 0);
    t.diagnostic(`the message arrived ${gapMs.toFixed(0)} ms before the child's CPU was free again`);
    assert.ok(gapMs > BUSY_MS / 2, `arrived only ${gapMs.toFixed(0)} ms before the end of the block`);
  } finally {
    kill();
  }
});
