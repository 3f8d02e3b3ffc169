import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { connect } from 'node:net';
import { createSignalingServer } from '../../signaling/index.ts';

const FIXTURE = fileURLToPath(new URL('./fixtures/full-cycle.ts', import.meta.url));
/** A clean exit takes well under a second; a leaked handle keeps the process up for good. */
const EXIT_DEADLINE_MS = 20_000;

test('server and clients closed: the process exits on its own, with no hanging handles', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE], {
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), EXIT_DEADLINE_MS);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.on('exit', (c, s) => resolve([c, s])),
  );
  clearTimeout(timer);
  assert.equal(
    signal,
    null,
    `killed after ${EXIT_DEADLINE_MS} ms: something kept the process alive\n${stderr}`,
  );
  assert.equal(code, 0, stderr);
  assert.equal(stdout, 'done\n');
});

test('stop() does not wait for a client that keeps its HTTP connection open', async () => {
  // Browsers open connections ahead of their requests (preconnect) and keep them open while
  // they run. Such a connection is not idle to Node (no request finished on it), and the
  // headers timeout that would end it stops being checked once the server closes.
  const server = createSignalingServer({ logLevel: 'silent' });
  const url = new URL(await server.start({ port: 0 }));
  const silent = connect(Number(url.port), url.hostname);
  const ended = new Promise<void>((resolve) => silent.on('close', () => resolve()));
  silent.on('error', () => {});
  try {
    await new Promise<void>((resolve) => silent.once('connect', () => resolve()));
    const outcome = await Promise.race([
      server.stop().then(() => 'stopped'),
      new Promise((resolve) => setTimeout(() => resolve('still waiting'), EXIT_DEADLINE_MS)),
    ]);
    assert.equal(outcome, 'stopped');
    await ended; // the server ended it
  } finally {
    silent.destroy();
  }
});
