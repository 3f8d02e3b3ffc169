/**
 * Test support for scale-out and TURN: a real redis-server and a real coturn turnserver
 * started on loopback on free ports with temp dirs, and stopped after the test; signaling
 * instances sharing one Redis. A missing binary makes the tests SKIP with the reason and
 * the install command printed, never silently (LIEC_REDIS_SERVER_PATH and
 * LIEC_TURNSERVER_PATH override the paths, e.g. to check the skip).
 *
 * @example
 * test('...', { skip: REDIS_SKIP }, async (t) => {
 *   const redis = await startRedis(t);
 *   const [a, b] = await startInstances(t, redis.url, 2);
 * });
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';
import type { SessionStatus } from '../../shared/protocol/signaling-status.ts';
import {
  createSignalingServer,
  type SignalingServer,
  type SignalingServerInit,
} from '../../signaling/index.ts';

export const REDIS_SERVER_PATH = process.env['LIEC_REDIS_SERVER_PATH'] ?? '/usr/bin/redis-server';
export const TURNSERVER_PATH = process.env['LIEC_TURNSERVER_PATH'] ?? '/usr/bin/turnserver';
/** Every instance of a test cluster signs and verifies tokens with this. */
export const SHARED_SECRET = 'scale-test-secret-0123456789abcdef';
/** Upper bound for one expected event or process start on a loaded 2-core machine. */
export const WAIT_MS = 10_000;

/** False when `path` is executable, else the skip reason (also printed to stderr). */
export function skipUnlessExecutable(path: string, what: string, install: string): string | false {
  try {
    accessSync(path, constants.X_OK);
    return false;
  } catch {
    const reason = `${what} not found at ${path}; install it with: ${install}`;
    process.stderr.write(`SKIP: ${reason}\n`);
    return reason;
  }
}

export const REDIS_SKIP = skipUnlessExecutable(
  REDIS_SERVER_PATH,
  'redis-server',
  'apt-get install redis-server',
);
export const TURN_SKIP = skipUnlessExecutable(
  TURNSERVER_PATH,
  'turnserver (coturn)',
  'apt-get install coturn',
);

const cleanups = new WeakMap<TestContext, (() => Promise<void>)[]>();

/**
 * Registers `fn` to run after the test, in reverse order of registration (t.after runs
 * hooks in order; servers must stop before the Redis they use).
 */
export function deferCleanup(t: TestContext, fn: () => Promise<void>): void {
  let stack = cleanups.get(t);
  if (stack === undefined) {
    const created: (() => Promise<void>)[] = [];
    stack = created;
    cleanups.set(t, created);
    t.after(async () => {
      for (const cleanup of created.reverse()) await cleanup();
    });
  }
  stack.push(fn);
}

/** A free TCP port on loopback (free now; the caller binds it right away). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

export interface ServerProcess {
  readonly child: ChildProcess;
  /** Everything it printed so far. */
  output(): string;
  /** Resolves when its output matches `pattern` (checked on every chunk), or rejects after timeoutMs. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** The same with any test of the whole output so far. */
  waitForText(accept: (text: string) => boolean, timeoutMs?: number): Promise<void>;
  /** SIGTERM, then SIGKILL if it lingers; resolves once it exited. */
  stop(): Promise<void>;
  /** SIGKILL: a crash. */
  kill(): Promise<void>;
}

function spawnServer(
  command: string,
  args: string[],
  cleanup: () => Promise<void>,
  env: NodeJS.ProcessEnv = process.env,
): ServerProcess {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  let text = '';
  const watchers = new Set<() => void>();
  const onData = (chunk: Buffer): void => {
    text += chunk.toString('utf8');
    for (const watcher of [...watchers]) watcher();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  child.once('error', () => {});
  const end = async (signal: NodeJS.Signals): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    await cleanup();
  };
  return {
    child,
    output: () => text,
    waitForText(accept, timeoutMs = WAIT_MS) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          if (!accept(text)) return;
          finish();
          resolve();
        };
        const timer = setTimeout(() => {
          finish();
          reject(
            new Error(`${command}: expected output not seen within ${timeoutMs} ms:\n${text.slice(-2000)}`),
          );
        }, timeoutMs);
        const onExit = (): void => {
          finish();
          reject(new Error(`${command} exited early:\n${text.slice(-2000)}`));
        };
        const finish = (): void => {
          clearTimeout(timer);
          watchers.delete(check);
          child.off('exit', onExit);
        };
        watchers.add(check);
        child.once('exit', onExit);
        check();
      });
    },
    async waitForOutput(pattern, timeoutMs = WAIT_MS) {
      let match: RegExpMatchArray | null = null;
      await this.waitForText((output) => (match = pattern.exec(output)) !== null, timeoutMs);
      if (match === null) throw new Error('unreachable: matched output vanished');
      return match;
    },
    stop: () => end('SIGTERM'),
    kill: () => end('SIGKILL'),
  };
}

export interface RedisProcess extends ServerProcess {
  readonly port: number;
  readonly url: string;
}

/** A throwaway redis-server: loopback, free port, temp dir, no persistence. Stopped after `t`. */
export async function startRedis(t: TestContext | undefined, port?: number): Promise<RedisProcess> {
  const dir = await mkdtemp(joinPath(tmpdir(), 'liec-redis-'));
  const chosen = port ?? (await freePort());
  const args = [
    '--port',
    String(chosen),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    '--appendonly',
    'no',
  ];
  const server = spawnServer(REDIS_SERVER_PATH, args, () => rm(dir, { recursive: true, force: true }));
  if (t !== undefined) deferCleanup(t, () => server.stop());
  await server.waitForOutput(/Ready to accept connections/);
  return { ...server, port: chosen, url: `redis://127.0.0.1:${chosen}` };
}

export interface TurnProcess extends ServerProcess {
  readonly port: number;
  /** RTCIceServer entries for LinkSettings.iceServers. */
  readonly iceServers: RTCIceServer[];
}

export const TURN_USER = 'liec';
export const TURN_PASSWORD = 'liec-turn-test';

/** A coturn turnserver on 127.0.0.1 with one static user and verbose logs on stdout. */
export async function startTurn(t: TestContext | undefined): Promise<TurnProcess> {
  const dir = await mkdtemp(joinPath(tmpdir(), 'liec-turn-'));
  const port = await freePort();
  const relayMin = 20_000 + Math.floor(Math.random() * 20_000);
  const config = [
    `listening-port=${port}`,
    'listening-ip=127.0.0.1',
    'relay-ip=127.0.0.1',
    `min-port=${relayMin}`,
    `max-port=${relayMin + 200}`,
    'fingerprint',
    'lt-cred-mech',
    `user=${TURN_USER}:${TURN_PASSWORD}`,
    'realm=liec.test',
    'allow-loopback-peers',
    'no-tls',
    'no-dtls',
    'no-cli',
    `userdb=${joinPath(dir, 'turndb')}`,
    `pidfile=${joinPath(dir, 'turnserver.pid')}`,
    'log-file=stdout',
    'simple-log',
    'verbose',
  ].join('\n');
  const configPath = joinPath(dir, 'turnserver.conf');
  await writeFile(configPath, `${config}\n`);
  const server = spawnServer(TURNSERVER_PATH, ['-c', configPath], () =>
    rm(dir, { recursive: true, force: true }),
  );
  if (t !== undefined) deferCleanup(t, () => server.stop());
  await server.waitForOutput(/UDP listener opened on\s*:?\s*127\.0\.0\.1:\d+/);
  return {
    ...server,
    port,
    iceServers: [
      { urls: `turn:127.0.0.1:${port}?transport=udp`, username: TURN_USER, credential: TURN_PASSWORD },
    ],
  };
}

/** Relay accounting from coturn's log: allocations made, closed, and bytes relayed to peers. */
export function turnUsage(log: string): { allocations: number; closed: number; relayedBytes: number } {
  const allocations = (log.match(/ALLOCATE processed, success/g) ?? []).length;
  const closed = (log.match(/closed \(2nd stage\)/g) ?? []).length;
  let relayedBytes = 0;
  // "peer usage: ... sb=N": bytes the relay sent to peers, logged per interval and at close.
  for (const match of log.matchAll(/peer usage: [^\n]*?sb=(\d+)/g)) relayedBytes += Number(match[1]);
  return { allocations, closed, relayedBytes };
}

const INSTANCE_FIXTURE = fileURLToPath(new URL('./fixtures/instance.ts', import.meta.url));

/** A signaling instance in a child process (crash it with kill()); stopped after `t`. */
export async function spawnInstance(
  t: TestContext,
  redisUrl: string,
  instanceId: string,
  leaseMs: number,
): Promise<ServerProcess & { url: string }> {
  const child = spawnServer(process.execPath, ['--import', 'tsx', INSTANCE_FIXTURE], async () => {}, {
    ...process.env,
    LIEC_REDIS_URL: redisUrl,
    LIEC_SIGNALING_SECRET: SHARED_SECRET,
    LIEC_INSTANCE_ID: instanceId,
    LIEC_INSTANCE_LEASE_MS: String(leaseMs),
  });
  deferCleanup(t, () => child.stop());
  const [, url = ''] = await child.waitForOutput(/LISTENING (\S+)/, 30_000);
  return { ...child, url };
}

/**
 * Resolves with the first session status (read from the store now) that satisfies
 * `predicate`, re-reading every 25 ms, or rejects after timeoutMs: for state that arrives
 * without an event to this process (a report still in flight).
 */
export async function waitForSession(
  server: SignalingServer,
  sessionId: string,
  predicate: (status: SessionStatus) => boolean,
  timeoutMs = WAIT_MS,
): Promise<SessionStatus> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const status = (await server.readStatus()).sessions.find((s) => s.sessionId === sessionId);
    if (status !== undefined && predicate(status)) return status;
    if (performance.now() > deadline)
      throw new Error(`session ${sessionId}: status never matched: ${JSON.stringify(status)}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Signaling instances sharing one Redis and one secret; stopped after `t`. */
export async function startInstances(
  t: TestContext,
  redisUrl: string,
  count: number,
  init: SignalingServerInit = {},
): Promise<{ server: SignalingServer; url: string }[]> {
  const started: { server: SignalingServer; url: string }[] = [];
  for (let i = 0; i < count; i++) {
    started.push(await startInstance(t, redisUrl, { instanceId: `i${i}`, ...init }));
  }
  return started;
}

export async function startInstance(
  t: TestContext,
  redisUrl: string,
  init: SignalingServerInit = {},
): Promise<{ server: SignalingServer; url: string }> {
  const server = createSignalingServer({ logLevel: 'silent', secret: SHARED_SECRET, redisUrl, ...init });
  deferCleanup(t, () => server.stop());
  const url = await server.start({ port: 0 });
  return { server, url };
}
