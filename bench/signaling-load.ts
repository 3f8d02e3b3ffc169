/**
 * Signaling load: how many peers one signaling instance holds on this machine. For each
 * store (memory; Redis through a local redis-server) and each peer count N, a fresh server
 * process (bench/signaling-server-child.ts) faces N simulated socket.io clients:
 *
 *   join phase       N clients join sessions of `--session-size` at once (each join is
 *                    broadcast to the session); joins/s, join latency p50/p99, server CPU,
 *                    event-loop delay p99/max;
 *   heartbeat phase  every client heartbeats at the default interval (5 s, random phase)
 *                    for `--window-s`; server CPU % (plus redis-server's), event-loop delay.
 *
 * "Peers at half a core" extrapolates the heartbeat phase linearly: the N at which the
 * server would spend 50% of one core on heartbeats and socket.io keep-alives. The clients
 * run in this process and share the 2 cores with the server: figures are lower bounds.
 * Prints a table, writes bench/results/signaling-load.json, stops by itself.
 *
 * @example
 * npm run bench:signaling
 * node --import tsx bench/signaling-load.ts --peers 200,1000 --window-s 10
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { createClient } from 'redis';
import { io, type Socket } from 'socket.io-client';
import { z } from 'zod';
import { DEFAULT_SIGNALING_OPTIONS } from '../signaling/index.ts';
import { REDIS_SKIP, startRedis, type RedisProcess } from '../test/scale/support.ts';
import type { MarkReply } from './signaling-server-child.ts';

const CHILD = fileURLToPath(new URL('./signaling-server-child.ts', import.meta.url));
const SECRET = 'bench-signaling-secret-0123456789';

export interface LoadRow {
  store: 'memory' | 'redis';
  peers: number;
  joinsPerSecond: number;
  joinP50Ms: number;
  joinP99Ms: number;
  joinServerCpuMsPerJoin: number;
  joinLagP99Ms: number;
  heartbeatsPerSecond: number;
  heartbeatServerCpuPercent: number;
  heartbeatRedisCpuPercent: number | null;
  heartbeatLagP99Ms: number;
  heartbeatLagMaxMs: number;
  serverRssMB: number;
  peersAtHalfCore: number;
}

const percentile = (sorted: number[], p: number): number =>
  sorted.length === 0 ? 0 : (sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0);
const round1 = (x: number): number => Math.round(x * 10) / 10;

interface ServerChild {
  url: string;
  mark(): Promise<MarkReply>;
  stop(): Promise<void>;
}

const markSchema = z.object({
  type: z.literal('mark'),
  cpuMs: z.number(),
  wallMs: z.number(),
  lagP50Ms: z.number(),
  lagP99Ms: z.number(),
  lagMaxMs: z.number(),
  rssMB: z.number(),
});

async function startServerChild(settings: object): Promise<ServerChild> {
  const child: ChildProcess = fork(CHILD, [JSON.stringify({ secret: SECRET, ...settings })], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('server child did not start in 60 s')), 60_000);
    child.once('message', (m) => {
      clearTimeout(timer);
      const ready = z.object({ type: z.literal('ready'), url: z.string() }).parse(m);
      resolve(ready.url);
    });
    child.once('exit', (code) => reject(new Error(`server child exited with ${code}`)));
  });
  return {
    url,
    mark: () =>
      new Promise((resolve) => {
        child.once('message', (m) => resolve(markSchema.parse(m)));
        child.send({ type: 'mark' });
      }),
    stop: () =>
      new Promise((resolve) => {
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        child.send({ type: 'stop' });
      }),
  };
}

async function connectAll(url: string, n: number): Promise<Socket[]> {
  const sockets: Socket[] = [];
  const batch = 100;
  for (let i = 0; i < n; i += batch) {
    const opened = Array.from({ length: Math.min(batch, n - i) }, async () => {
      const socket = io(url, { transports: ['websocket'], forceNew: true, reconnection: false });
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', () => resolve());
        socket.once('connect_error', reject);
      });
      return socket;
    });
    sockets.push(...(await Promise.all(opened)));
  }
  return sockets;
}

const okSchema = z.object({ ok: z.literal(true) }).loose();
const createdSchema = okSchema.extend({ sessionId: z.string(), token: z.string() });

async function request<T>(socket: Socket, schema: z.ZodType<T>, event: string, payload: unknown): Promise<T> {
  const reply: unknown = await socket.timeout(60_000).emitWithAck(event, payload);
  return schema.parse(reply);
}

const redisClient = (url: string) => createClient({ url });

/** Redis's CPU seconds (user + sys) so far; null without Redis. */
async function redisCpuSeconds(redis: ReturnType<typeof redisClient> | undefined): Promise<number | null> {
  if (redis === undefined) return null;
  const info = String(await redis.sendCommand(['INFO', 'cpu']));
  const field = (name: string): number => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1] ?? 0);
  return field('used_cpu_sys') + field('used_cpu_user');
}

async function measure(
  store: 'memory' | 'redis',
  peers: number,
  sessionSize: number,
  windowMs: number,
  redisProcess: RedisProcess | undefined,
): Promise<LoadRow> {
  const server = await startServerChild({
    maxPeersPerSession: sessionSize,
    ...(redisProcess === undefined ? {} : { redisUrl: redisProcess.url }),
  });
  const redis = redisProcess === undefined ? undefined : redisClient(redisProcess.url);
  await redis?.connect();
  const sockets = await connectAll(server.url, peers);
  try {
    const [creator] = sockets;
    if (creator === undefined) throw new Error('no clients');
    const sessions = await Promise.all(
      Array.from({ length: Math.ceil(peers / sessionSize) }, () =>
        request(creator, createdSchema, 'session:create', { config: {} }),
      ),
    );
    await server.mark();
    const latencies: number[] = [];
    const started = performance.now();
    await Promise.all(
      sockets.map(async (socket, i) => {
        const session = sessions[Math.floor(i / sessionSize)];
        const t0 = performance.now();
        await request(socket, okSchema, 'session:join', {
          sessionId: session?.sessionId,
          token: session?.token,
          kind: 'headless',
          ready: i % sessionSize === 0,
        });
        latencies.push(performance.now() - t0);
      }),
    );
    const joinWallMs = performance.now() - started;
    const joinMark = await server.mark();
    latencies.sort((a, b) => a - b);

    const intervalMs = DEFAULT_SIGNALING_OPTIONS.heartbeatIntervalMs;
    const redisCpuBefore = await redisCpuSeconds(redis);
    await server.mark();
    let heartbeats = 0;
    const timers = sockets.map((socket, i) =>
      setTimeout(() => {
        const beat = (): void => {
          heartbeats += 1;
          socket.emit('heartbeat', { round: 1, stats: { bytesSent: heartbeats } });
        };
        beat();
        timers[i] = setInterval(beat, intervalMs);
      }, Math.random() * intervalMs),
    );
    await new Promise((resolve) => setTimeout(resolve, windowMs));
    const beatMark = await server.mark();
    const redisCpuAfter = await redisCpuSeconds(redis);
    for (const timer of timers) clearInterval(timer);
    const cpuFraction = beatMark.cpuMs / beatMark.wallMs;
    return {
      store,
      peers,
      joinsPerSecond: Math.round(peers / (joinWallMs / 1000)),
      joinP50Ms: round1(percentile(latencies, 50)),
      joinP99Ms: round1(percentile(latencies, 99)),
      joinServerCpuMsPerJoin: round1(joinMark.cpuMs / peers),
      joinLagP99Ms: round1(joinMark.lagP99Ms),
      heartbeatsPerSecond: round1(heartbeats / (windowMs / 1000)),
      heartbeatServerCpuPercent: round1(cpuFraction * 100),
      heartbeatRedisCpuPercent:
        redisCpuBefore === null || redisCpuAfter === null
          ? null
          : round1(((redisCpuAfter - redisCpuBefore) * 1000 * 100) / beatMark.wallMs),
      heartbeatLagP99Ms: round1(beatMark.lagP99Ms),
      heartbeatLagMaxMs: round1(beatMark.lagMaxMs),
      serverRssMB: Math.round(beatMark.rssMB),
      peersAtHalfCore: Math.round((0.5 * peers) / Math.max(cpuFraction, 1e-6)),
    };
  } finally {
    for (const socket of sockets) socket.disconnect();
    await server.stop();
    await redis?.close();
  }
}

export async function main(argv: string[]): Promise<LoadRow[]> {
  const { values } = parseArgs({
    args: argv,
    options: {
      peers: { type: 'string', default: '250,1000' },
      'session-size': { type: 'string', default: '50' },
      'window-s': { type: 'string', default: '10' },
      stores: { type: 'string', default: 'memory,redis' },
      out: {
        type: 'string',
        default: join(dirname(fileURLToPath(import.meta.url)), 'results', 'signaling-load.json'),
      },
    },
  });
  const counts = values.peers.split(',').map(Number);
  const sessionSize = Number(values['session-size']);
  const windowMs = Number(values['window-s']) * 1000;
  const stores = values.stores
    .split(',')
    .filter((s): s is 'memory' | 'redis' => s === 'memory' || s === 'redis');
  const load = loadavg().map((x) => x.toFixed(1));
  console.log(`signaling load: ${cpus().length} cores, load average ${load.join(' ')} at start`);
  const rows: LoadRow[] = [];
  for (const store of stores) {
    if (store === 'redis' && REDIS_SKIP !== false) {
      console.log(`redis: skipped (${REDIS_SKIP})`);
      continue;
    }
    const redis = store === 'redis' ? await startRedis(undefined) : undefined;
    try {
      for (const peers of counts) {
        const row = await measure(store, peers, sessionSize, windowMs, redis);
        rows.push(row);
        console.log(JSON.stringify(row));
      }
    } finally {
      await redis?.stop();
    }
  }
  console.table(
    rows.map((r) => ({
      store: r.store,
      peers: r.peers,
      'joins/s': r.joinsPerSecond,
      'join p50/p99 ms': `${r.joinP50Ms}/${r.joinP99Ms}`,
      'cpu ms/join': r.joinServerCpuMsPerJoin,
      'hb/s': r.heartbeatsPerSecond,
      'hb cpu %': r.heartbeatServerCpuPercent,
      'redis cpu %': r.heartbeatRedisCpuPercent ?? '-',
      'lag p99/max ms': `${r.heartbeatLagP99Ms}/${r.heartbeatLagMaxMs}`,
      'rss MB': r.serverRssMB,
      'peers @ 50% core': r.peersAtHalfCore,
    })),
  );
  mkdirSync(dirname(values.out), { recursive: true });
  const result = { machine: { cores: cpus().length, loadAverageAtStart: load }, sessionSize, windowMs, rows };
  writeFileSync(values.out, `${JSON.stringify(result, null, 2)}\n`);
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
