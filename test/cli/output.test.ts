/**
 * What the command lines print: one progress line per evaluated round off a terminal (never
 * two), a line that fits the terminal on one, traffic labelled with whose it is (the same
 * labels in the progress line and the demo's summary), `liec serve`'s URLs once each,
 * `liec create`'s watch link and full join command, and the demo's peer logs.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { test } from 'node:test';
import type { NetworkInterfaceInfo } from 'node:os';
import { main as createMain } from '../../client/cli/create.ts';
import { demoSummary, reportFailures, runPeer, summaryLines } from '../../client/cli/demo.ts';
import type { PeerSummary } from '../../client/cli/join.ts';
import { fitWidth, showProgress, wireBytesText, type ProgressPeer } from '../../client/cli/progress.ts';
import { main as serveMain, serveUrls } from '../../client/cli/serve.ts';
import { PeerEventEmitter, type RoundEvent } from '../../client/roles/events.ts';
import { createSignalingServer } from '../../signaling/index.ts';
import { captureIo } from './capture.ts';

function fakePeer(role: 'aggregator' | 'worker') {
  const events = new PeerEventEmitter();
  const traffic = { sent: 0, received: 0 };
  const peer: ProgressPeer = { events, currentRole: role, traffic: () => ({ ...traffic }) };
  return { peer, events, traffic };
}

function roundEvent(round: number, testAccuracy: number | null): RoundEvent {
  return {
    round,
    term: 1,
    counted: 4,
    expected: 4,
    participants: ['a', 'b', 'c', 'd'],
    standIns: [],
    late: 0,
    lateUploads: [],
    loss: 0.5,
    testAccuracy,
    testLoss: testAccuracy === null ? null : 0.4,
    bytesUp: 0,
    bytesDown: 0,
    fp32BytesUp: 0,
    fp32BytesDown: 0,
    durationMs: 10,
    computeMs: 5,
    evalMs: 0,
    closedAt: 0,
    sync: false,
    drift: null,
  };
}

function stream(columns?: number) {
  const writes: string[] = [];
  return {
    writes,
    target: Object.assign(
      { write: (text: string) => writes.push(text) > 0 },
      columns === undefined ? {} : { isTTY: true, columns },
    ) as unknown as NodeJS.WritableStream & { isTTY?: boolean; columns?: number },
  };
}

test('off a terminal, the aggregator prints one line per evaluated round, not one per event', () => {
  const { peer, events, traffic } = fakePeer('aggregator');
  const out = stream();
  const view = showProgress(peer, out.target, 30);
  for (let round = 0; round < 30; round++) {
    traffic.sent += 1000;
    traffic.received += 2000;
    const evaluated = (round + 1) % 10 === 0;
    // As round-report.ts publishes them: the metrics of an evaluated round, then its round event.
    if (evaluated) events.publish('metrics', { round, testAccuracy: 0.9, testLoss: 0.3 });
    events.publish('round', roundEvent(round, evaluated ? 0.9 : null));
  }
  view.stop();
  const lines = out.writes.join('').split('\n').filter(Boolean);
  assert.deepEqual(
    lines.map((l) => /round (\d+)\/30/.exec(l)?.[1]),
    ['10', '20', '30'],
  );
  assert.ok(lines.every((l) => l.includes("aggregator's wire bytes: sent")));
});

test('off a terminal, a worker prints the aggregator`s metrics once per evaluated round', () => {
  const { peer, events } = fakePeer('worker');
  const out = stream();
  const view = showProgress(peer, out.target, 20);
  for (let round = 0; round < 20; round++) {
    events.publish('applied', { round, term: 1, counted: true });
    if ((round + 1) % 10 === 0) events.publish('metrics', { round, testAccuracy: 0.8, testLoss: 0.5 });
  }
  events.publish('metrics', { round: 19, testAccuracy: 0.8, testLoss: 0.5 }); // a repeat is not printed
  view.stop();
  const lines = out.writes.join('').split('\n').filter(Boolean);
  assert.equal(lines.length, 2);
  assert.match(lines[0] ?? '', /round 10\/20 acc 80\.0%.*worker's wire bytes/);
});

test('on a terminal, the progress line is redrawn in place and fits the width', () => {
  const { peer, events } = fakePeer('aggregator');
  const out = stream(40);
  const view = showProgress(peer, out.target, 300);
  for (let round = 0; round < 12; round++) events.publish('round', roundEvent(round, null));
  events.publish('role', { role: 'aggregator', term: 2, aggregatorId: 'x' });
  view.stop();
  const drawn = out.writes.filter((w) => w.startsWith('\r') && !w.startsWith('\r\u001b'));
  assert.equal(drawn.length, 12);
  for (const write of drawn) {
    // eslint-disable-next-line no-control-regex
    const visible = write.replace(/\r|\u001b\[K/g, '');
    assert.ok(visible.length <= 39, `${visible.length} columns: ${visible}`);
  }
  assert.ok(out.writes.some((w) => w.includes('role: aggregator (term 2)\n')));
  assert.equal(fitWidth('abcdef', 4), 'ab…');
  assert.equal(fitWidth('abc', 4), 'abc');
});

function summaryOf(peerId: string, role: string, wire: { sent: number; received: number }): PeerSummary {
  return {
    peerId,
    role,
    round: 299,
    finalTestAccuracy: 0.91,
    modelSha256: 'ab',
    sessionTestAccuracy: 0.91,
    backend: 'cpu',
    aggregatorChanges: 0,
    frameBytes: role === 'aggregator' ? { up: 0, down: 3_000_000 } : { up: 1_000_000, down: 0 },
    wire,
    rejections: {},
    timeline: { rounds: [], uploads: [], applied: [], models: [], roles: [], resentUploads: 0 },
    interrupted: false,
    cpuSeconds: 1.5,
  };
}

test('the demo`s summary labels traffic as the progress line does: aggregator`s wire bytes, all peers` frame bytes', () => {
  const aggregatorWire = { sent: 3_480_000, received: 3_470_000 };
  const summary = demoSummary(
    [
      summaryOf('peer-0', 'worker', { sent: 1_100_000, received: 1_000_000 }),
      summaryOf('peer-1', 'aggregator', aggregatorWire),
    ],
    { peerCount: 2, rounds: 300, algorithm: 'liec', up: 'topk:0.01', down: 'topk:0.01', wallSeconds: 15 },
    [0, 0],
  );
  assert.deepEqual(summary.aggregatorWireBytes, aggregatorWire);
  assert.equal(summary.peerCpuSeconds, 3, 'the peers` CPU seconds, summed');
  const lines = summaryLines(summary);
  assert.ok(lines.includes(`traffic: ${wireBytesText('aggregator', aggregatorWire)}`), lines.join('\n'));
  assert.ok(lines.includes("traffic: all peers' frame bytes: up 1.00 MB, down 3.00 MB"), lines.join('\n'));
  assert.ok(lines.includes('final test accuracy 91.00%, 15.0 s'));
});

test('liec serve on every interface prints loopback and each LAN IPv4 address once, never 0.0.0.0', async () => {
  const lan = (address: string, family: 'IPv4' | 'IPv6', internal = false) =>
    ({ address, family, internal, netmask: '', mac: '', cidr: null }) as NetworkInterfaceInfo;
  const interfaces = {
    lo: [lan('127.0.0.1', 'IPv4', true), lan('::1', 'IPv6', true)],
    eth0: [lan('192.168.1.20', 'IPv4'), lan('fe80::1', 'IPv6')],
    wlan0: [lan('10.0.0.5', 'IPv4')],
  };
  assert.deepEqual(serveUrls('0.0.0.0', 8080, interfaces), [
    'http://127.0.0.1:8080/',
    'http://192.168.1.20:8080/',
    'http://10.0.0.5:8080/',
  ]);
  assert.deepEqual(serveUrls('127.0.0.1', 9000, interfaces), ['http://127.0.0.1:9000/']);

  const io = captureIo();
  let stop = () => {};
  const until = new Promise<void>((resolve) => (stop = resolve));
  const running = serveMain(['--port', '0', '--signaling-only', '--log-level', 'silent'], io, until);
  for (let i = 0; i < 200 && !io.stdout().includes('http://'); i++)
    await new Promise((r) => setTimeout(r, 25));
  stop();
  assert.equal(await running, 0);
  const urls = io.stdout().match(/http:\/\/\S+/g) ?? [];
  assert.ok(urls.length >= 1, io.stdout());
  assert.match(urls[0] ?? '', /^http:\/\/127\.0\.0\.1:\d+\/$/);
  assert.equal(new Set(urls).size, urls.length, 'each URL once');
  assert.doesNotMatch(io.stdout(), /0\.0\.0\.0/);
});

test('liec create prints the watch link and the full liec join command line', async () => {
  const server = createSignalingServer({ logLevel: 'silent' });
  const url = await server.start({ port: 0, host: '127.0.0.1' });
  try {
    const io = captureIo();
    assert.equal(await createMain(['--server', url, '--rounds', '50'], io), 0, io.stderr());
    const session = /^session: (\S+)$/m.exec(io.stdout())?.[1];
    const token = /^token: +(\S+)$/m.exec(io.stdout())?.[1];
    assert.ok(session !== undefined && token !== undefined, io.stdout());
    const base = url.replace(/\/$/, '');
    assert.ok(io.stdout().includes(`${base}/?session=${session}&token=${encodeURIComponent(token)}&watch=1`));
    assert.match(
      io.stdout(),
      new RegExp(`^join headless: +liec join --server ${url} --session ${session} --token \\S+$`, 'm'),
    );
  } finally {
    await server.stop();
  }
});

test('the demo keeps a peer`s stderr in its log file and names that file when the peer fails', async () => {
  const dir = await mkdtemp(joinPath(tmpdir(), 'liec-demo-test-'));
  try {
    const log = joinPath(dir, 'peer-0.log');
    const code = await runPeer(['--bogus'], log);
    assert.equal(code, 2);
    assert.match(await readFile(log, 'utf8'), /liec join: unknown option '--bogus'/);
    const io = captureIo();
    const failed = reportFailures([0, 2], (i) => joinPath(dir, `peer-${i}.log`), true, dir, io);
    assert.equal(failed, true);
    assert.equal(io.stderr(), `peer 1 failed (exit code 2); its log: ${joinPath(dir, 'peer-1.log')}\n`);
    assert.equal(
      reportFailures([0, 0], () => '', true, dir, captureIo()),
      false,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
