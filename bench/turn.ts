/**
 * Relay-only next to direct: the same training session (MNIST MLP, LIEC; top-k 1% both
 * ways, then fp32 both ways, whose rounds move ~400 KB per worker each way) run on
 * loopback once with host candidates (direct) and once with iceTransportPolicy 'relay'
 * through a local coturn turnserver, so every byte of every round crosses the relay.
 * Reports the median and p90 round time (the aggregator's time between two broadcasts),
 * the median open-to-broadcast time, the time to the first round, the wire bytes, and a
 * raw link check per path: connect time and one 16 MiB message.
 *
 * All peers run in this process (one thread for their compute, as in the tests); the
 * relay's extra cost is a hop through coturn in user space, so on loopback the difference
 * is a lower bound of what a real TURN server across the internet adds.
 * Prints a table, writes bench/results/turn.json, stops by itself.
 *
 * @example
 * npm run bench:turn
 * node --import tsx bench/turn.ts --rounds 40 --peers 3
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { RoundEvent } from '../client/roles/events.ts';
import { Peer } from '../client/roles/peer.ts';
import { SignalingClient } from '../client/signaling/index.ts';
import { createPeerLink, type LinkSettings } from '../client/transport/index.ts';
import { createSignalingServer } from '../signaling/index.ts';
import { startTurn, TURN_SKIP } from '../test/scale/support.ts';

export interface TurnRow {
  path: 'direct' | 'relay';
  /** Compressor both ways (the session's up and down). */
  codec: string;
  peers: number;
  rounds: number;
  roundMedianMs: number;
  roundP90Ms: number;
  openToBroadcastMedianMs: number;
  startMs: number;
  wireBytesSent: number;
  linkConnectMs: number;
  link16MiBMs: number;
}

const median = (xs: number[]): number => percentile(xs, 50);
function percentile(xs: number[], p: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}
const round1 = (x: number): number => Math.round(x * 10) / 10;

async function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** One link, one 16 MiB message: connect time and transfer time. */
async function linkCheck(link: Partial<LinkSettings>): Promise<{ connectMs: number; transferMs: number }> {
  const a = await createPeerLink({ initiator: true, ...link });
  const b = await createPeerLink({ initiator: false, ...link });
  try {
    a.on('signal', (data) => b.signal(data));
    b.on('signal', (data) => a.signal(data));
    const t0 = performance.now();
    await withDeadline(
      new Promise<void>((resolve) => a.on('connect', () => resolve())),
      20_000,
      'link connect',
    );
    const connectMs = performance.now() - t0;
    const payload = new Uint8Array(16 * 1024 * 1024).fill(7);
    const received = new Promise<number>((resolve) => b.on('message', (m) => resolve(m.byteLength)));
    const t1 = performance.now();
    await a.send(payload);
    await withDeadline(received, 60_000, '16 MiB transfer');
    return { connectMs, transferMs: performance.now() - t1 };
  } finally {
    a.close();
    b.close();
  }
}

async function runSession(
  peerCount: number,
  rounds: number,
  codec: string,
  link: Partial<LinkSettings>,
  verbose: boolean,
) {
  const server = createSignalingServer({ logLevel: 'silent' });
  const url = await server.start({ port: 0 });
  const creator = new SignalingClient();
  await creator.connect(url);
  const { sessionId, token } = await creator.create({
    rounds,
    minPeers: peerCount,
    evalEvery: rounds,
    roundDeadlineMs: 30_000,
    up: codec,
    down: codec,
  });
  creator.close();
  const peers = Array.from(
    { length: peerCount },
    (_, i) =>
      new Peer({
        serverUrl: url,
        sessionId,
        token,
        kind: 'headless',
        peerId: `p${i}`,
        link,
        ...(verbose
          ? { log: (level: string, message: string) => console.error(`p${i} ${level} ${message}`) }
          : {}),
      }),
  );
  try {
    const t0 = performance.now();
    // One at a time: client/signaling drops events that arrive in the same read as a join
    // ack, so a join racing the first peer's readiness can miss the aggregator (reported).
    for (const peer of peers) await peer.start();
    if (verbose) {
      console.error(`peers started: ${peers.map((p) => p.currentRole).join(', ')}`);
      for (const p of peers) {
        p.events.on('role', (e) => console.error(`${p.peerId} role ${e.role} term ${e.term}`));
        p.events.on('round', (e) => console.error(`${p.peerId} round ${e.round} counted ${e.counted}`));
      }
    }
    const aggregator = peers.find((p) => p.currentRole === 'aggregator');
    if (aggregator === undefined) throw new Error('no aggregator');
    const events: RoundEvent[] = [];
    let firstRoundAt = 0;
    aggregator.events.on('round', (e) => {
      if (events.length === 0) firstRoundAt = performance.now();
      events.push(e);
    });
    await withDeadline(Promise.all(peers.map((p) => p.finished)), 600_000, 'training');
    const gaps = events.slice(1).map((e, i) => e.closedAt - (events[i]?.closedAt ?? e.closedAt));
    return {
      roundMedianMs: median(gaps),
      roundP90Ms: percentile(gaps, 90),
      openToBroadcastMedianMs: median(events.map((e) => e.durationMs)),
      startMs: firstRoundAt - t0,
      wireBytesSent: peers.reduce((sum, p) => sum + p.traffic().sent, 0),
      rounds: events.length,
    };
  } finally {
    await Promise.all(peers.map((p) => p.leave()));
    await server.stop();
  }
}

export async function main(argv: string[]): Promise<TurnRow[]> {
  const { values } = parseArgs({
    args: argv,
    options: {
      rounds: { type: 'string', default: '40' },
      peers: { type: 'string', default: '3' },
      paths: { type: 'string', default: 'direct,relay' },
      codecs: { type: 'string', default: 'topk:0.01,identity' },
      verbose: { type: 'boolean', default: false },
      out: { type: 'string', default: join(dirname(fileURLToPath(import.meta.url)), 'results', 'turn.json') },
    },
  });
  const rounds = Number(values.rounds);
  const peerCount = Number(values.peers);
  const load = loadavg().map((x) => x.toFixed(1));
  console.log(`turn bench: ${cpus().length} cores, load average ${load.join(' ')} at start`);
  if (TURN_SKIP !== false) {
    console.log(`relay path skipped: ${TURN_SKIP}`);
  }
  const turn = TURN_SKIP === false ? await startTurn(undefined) : undefined;
  const rows: TurnRow[] = [];
  try {
    const wanted = values.paths.split(',');
    const paths: ['direct' | 'relay', Partial<LinkSettings>][] = [];
    if (wanted.includes('direct')) paths.push(['direct', {}]);
    if (turn !== undefined && wanted.includes('relay'))
      paths.push(['relay', { iceServers: turn.iceServers, iceTransportPolicy: 'relay' }]);
    const checks = new Map<string, { connectMs: number; transferMs: number }>();
    for (const [path, link] of paths) {
      if (values.verbose) console.error(`${path}: link check`);
      checks.set(path, await linkCheck(link));
    }
    for (const codec of values.codecs.split(',')) {
      for (const [path, link] of paths) {
        if (values.verbose) console.error(`${path} ${codec}: session`);
        const session = await runSession(peerCount, rounds, codec, link, values.verbose);
        const check = checks.get(path);
        const row: TurnRow = {
          path,
          codec,
          peers: peerCount,
          ...session,
          roundMedianMs: round1(session.roundMedianMs),
          roundP90Ms: round1(session.roundP90Ms),
          openToBroadcastMedianMs: round1(session.openToBroadcastMedianMs),
          startMs: Math.round(session.startMs),
          linkConnectMs: Math.round(check?.connectMs ?? 0),
          link16MiBMs: Math.round(check?.transferMs ?? 0),
        };
        rows.push(row);
        console.log(JSON.stringify(row));
      }
    }
  } finally {
    await turn?.stop();
  }
  console.table(
    rows.map((r) => ({
      path: r.path,
      codec: r.codec,
      peers: r.peers,
      rounds: r.rounds,
      'round median ms': r.roundMedianMs,
      'round p90 ms': r.roundP90Ms,
      'open->broadcast ms': r.openToBroadcastMedianMs,
      'start ms': r.startMs,
      'link connect ms': r.linkConnectMs,
      '16 MiB ms': r.link16MiBMs,
      'wire bytes': r.wireBytesSent,
    })),
  );
  mkdirSync(dirname(values.out), { recursive: true });
  writeFileSync(
    values.out,
    `${JSON.stringify({ machine: { cores: cpus().length, loadAverageAtStart: load }, rows }, null, 2)}\n`,
  );
  console.log(`wrote ${values.out}`);
  return rows;
}

const isEntry = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isEntry) {
  main(process.argv.slice(2)).then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
