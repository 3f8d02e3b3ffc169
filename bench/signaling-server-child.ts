/**
 * The signaling server under test in bench/signaling-load.ts, in its own process so its CPU
 * time and event-loop delay are its own. Started with fork(); settings as JSON in argv[2].
 * Sends { type: 'ready', url } once listening; answers { type: 'mark' } with the CPU time
 * and event-loop delay since the previous mark; exits on { type: 'stop' }.
 *
 * @example
 * fork('bench/signaling-server-child.ts', [JSON.stringify({ redisUrl })], { execArgv: ['--import', 'tsx'] });
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { z } from 'zod';
import { createSignalingServer } from '../signaling/index.ts';

const settingsSchema = z.object({
  redisUrl: z.string().optional(),
  secret: z.string().min(16),
  maxPeersPerSession: z.number().int().positive(),
});

export interface MarkReply {
  type: 'mark';
  /** CPU time (user + system) since the previous mark, ms. */
  cpuMs: number;
  wallMs: number;
  lagP50Ms: number;
  lagP99Ms: number;
  lagMaxMs: number;
  rssMB: number;
}

const settings = settingsSchema.parse(JSON.parse(process.argv[2] ?? '{}'));
const server = createSignalingServer({
  ...(settings.redisUrl === undefined ? {} : { redisUrl: settings.redisUrl }),
  secret: settings.secret,
  maxPeersPerSession: settings.maxPeersPerSession,
  maxSessions: 100_000,
  // Every simulated peer comes from 127.0.0.1: the per-address limits would measure themselves.
  joinRateLimit: { perSecond: 1e6, burst: 1e6 },
  maxConnectionsPerAddress: 1e6,
  logLevel: 'silent',
});
const url = await server.start({ port: 0 });
const lag = monitorEventLoopDelay({ resolution: 5 });
lag.enable();
let cpu = process.cpuUsage();
let wall = performance.now();

const messageSchema = z.object({ type: z.enum(['mark', 'stop']) });
process.on('message', (raw) => {
  const message = messageSchema.safeParse(raw);
  if (!message.success) return;
  if (message.data.type === 'stop') {
    void server.stop().then(() => process.exit(0));
    return;
  }
  const used = process.cpuUsage(cpu);
  const now = performance.now();
  const reply: MarkReply = {
    type: 'mark',
    cpuMs: (used.user + used.system) / 1000,
    wallMs: now - wall,
    lagP50Ms: lag.percentile(50) / 1e6,
    lagP99Ms: lag.percentile(99) / 1e6,
    lagMaxMs: lag.max / 1e6,
    rssMB: process.memoryUsage().rss / 2 ** 20,
  };
  cpu = process.cpuUsage();
  wall = now;
  lag.reset();
  process.send?.(reply);
});
process.send?.({ type: 'ready', url });
// The bench died: do not outlive it.
process.once('disconnect', () => void server.stop().then(() => process.exit(0)));
