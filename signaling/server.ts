/**
 * The signaling server: an HTTP server carrying socket.io (the protocol in
 * shared/protocol/signaling.ts) plus `GET /status` and `GET /healthz`, and a sweeper that
 * removes peers silent past the heartbeat timeout and deletes long-empty sessions.
 *
 * Session state lives in a SessionStore: this process's memory by default, or Redis with
 * `redisUrl`, where several instances (behind a load balancer with sticky sessions) serve
 * the same sessions. Each instance sweeps the peers whose sockets it holds; with Redis it
 * also renews its lease each sweep and removes the members of instances whose lease ran
 * out (crashed), and if its own lease ran out it drops its sockets so their peers rejoin.
 *
 * @example
 * const server = createSignalingServer({ heartbeatTimeoutMs: 10_000 });
 * const url = await server.start({ port: 0 }); // e.g. "http://127.0.0.1:39211"
 * // ... peers connect with SignalingClient(url) ...
 * await server.stop();
 */
import { createServer, type Server as HttpServer } from 'node:http';
import { Server } from 'socket.io';
import type { SignalingStatus } from '../shared/protocol/signaling-status.ts';
import type { ErrorInfo } from '../shared/protocol/signaling.ts';
import {
  announceAggregator,
  removeMember,
  withRollback,
  type ServerContext,
  type SignalingIo,
} from './context.ts';
import { limitConnections } from './connection-limits.ts';
import { attachHandlers } from './handlers.ts';
import { createHttpHandler, statusSnapshot } from './http-routes.ts';
import { LivenessTracker } from './liveness.ts';
import { createLogger } from './logger.ts';
import { SignalingMetrics } from './metrics.ts';
import { createModelRoutes } from './model-routes.ts';
import { attachOperatorHandlers } from './operator.ts';
import { resolveOptions, type ResolvedOptions, type SignalingServerInit } from './options.ts';
import { KeyedTokenBuckets } from './rate-limit.ts';
import { createStoreBackend } from './scale-out.ts';
import { SocketQueues } from './socket-queue.ts';
import type { SessionStore } from './store.ts';

export interface StartOptions {
  /** @default 0 (any free port) */
  port?: number;
  /** @default '127.0.0.1' (use '0.0.0.0' to serve a LAN) */
  host?: string;
}

export interface SignalingServer {
  readonly httpServer: HttpServer;
  readonly io: SignalingIo;
  readonly options: Readonly<ResolvedOptions>;
  /** Where sessions live (memory, or Redis shared with other instances). */
  readonly store: SessionStore;
  /** Base URL once started, e.g. "http://127.0.0.1:39211"; throws before start(). */
  readonly url: string;
  /** Connects the store (Redis: ERR_REDIS_UNAVAILABLE), listens, starts the sweeper; resolves to the base URL. */
  start(options?: StartOptions): Promise<string>;
  /**
   * Disconnects every socket (their members leave the sessions), stops the sweeper, closes
   * the HTTP server and the store. With Redis the sessions stay for the other instances.
   */
  stop(): Promise<void>;
  /**
   * The snapshot `GET /status` serves, synchronously: exact in memory; with Redis the last
   * one read (each call starts a new read). `readStatus()` reads it now.
   */
  status(): SignalingStatus;
  readStatus(): Promise<SignalingStatus>;
}

const HEARTBEAT_TIMEOUT: ErrorInfo = {
  code: 'HEARTBEAT_TIMEOUT',
  message: 'no heartbeat in time',
  fatal: true,
};
const LEASE_LAPSED: ErrorInfo = {
  code: 'INTERNAL',
  message: 'this signaling instance lost contact with the shared store; rejoin',
  fatal: true,
};

export function createSignalingServer(init: SignalingServerInit = {}): SignalingServer {
  const options = resolveOptions(init);
  const log = options.logger ?? createLogger('signaling', options.logLevel);
  const startedAt = options.now();
  const backend = createStoreBackend(options, options.logger ?? createLogger('redis', options.logLevel));
  const { store, models } = backend;
  const metrics = new SignalingMetrics(() => store.cachedStatus());
  const modelRoutes = createModelRoutes(models, options, log);
  const httpServer = createServer(
    createHttpHandler(() => store.readStatus(), options, startedAt, metrics, modelRoutes),
  );
  const io: SignalingIo = new Server(httpServer, {
    maxHttpBufferSize: options.maxMessageBytes,
    serveClient: false,
    ...(options.corsOrigin === undefined ? {} : { cors: { origin: options.corsOrigin } }),
  });
  limitConnections(io, options, log);
  const ctx: ServerContext = {
    io,
    store,
    models,
    liveness: new LivenessTracker(options.now),
    queues: new SocketQueues(),
    options,
    log,
    metrics,
    joinBuckets: new KeyedTokenBuckets(options.joinRateLimit, options.now),
    unsettled: new Set(),
  };
  io.on('connection', (socket) => {
    try {
      attachHandlers(ctx, socket);
      attachOperatorHandlers(ctx, socket);
    } catch (err) {
      log.error('cannot attach handlers', { err });
      socket.disconnect(true);
    }
  });

  /** Closes a local socket with a fatal error (its disconnect handler removes the member). */
  const drop = (socketId: string, info: ErrorInfo): void => {
    const socket = io.sockets.sockets.get(socketId);
    if (socket === undefined) return;
    socket.emit('error', info);
    socket.disconnect(true);
  };

  const renewLease = async (): Promise<void> => {
    const lease = await store.renewLease();
    if (lease.lapsed) {
      log.warn('lease lapsed: other instances may have removed our members; dropping their sockets');
      for (const member of ctx.liveness.members()) drop(member.socketId, LEASE_LAPSED);
    }
    for (const orphan of lease.orphans) {
      log.info('removing a member of a crashed instance', { ...orphan });
      await removeMember(ctx, orphan, 'heartbeat-timeout');
    }
  };

  const sweepOnce = async (): Promise<void> => {
    const silent = ctx.liveness.silentSince(options.now() - options.heartbeatTimeoutMs);
    for (const member of silent) {
      await removeMember(ctx, member, 'heartbeat-timeout');
      drop(member.socketId, HEARTBEAT_TIMEOUT);
    }
    for (const member of ctx.liveness.takeRetries()) await removeMember(ctx, member, 'disconnect');
    await renewLease();
    for (const sessionId of [...ctx.unsettled]) {
      const state = await store.aggregatorOf(sessionId);
      ctx.unsettled.delete(sessionId);
      // Clients ignore an announcement whose term they already know: repeating it is safe.
      if (state !== undefined) announceAggregator(ctx, await withRollback(ctx, state));
    }
    for (const sessionId of await store.pruneIdle(options.sessionIdleTimeoutMs)) {
      log.info('session deleted after idling empty', { sessionId });
    }
    ctx.joinBuckets.prune();
  };

  let sweeping: Promise<void> | undefined;
  const sweep = (): void => {
    if (sweeping !== undefined) return; // a slow store must not stack sweeps up
    sweeping = sweepOnce()
      .catch((err: unknown) => log.error('sweep failed', { err }))
      .finally(() => (sweeping = undefined));
  };

  let sweeper: NodeJS.Timeout | undefined;
  let stopping: Promise<void> | undefined;
  let url: string | undefined;

  return {
    httpServer,
    io,
    options,
    store,
    get url(): string {
      if (url === undefined) throw new Error('signaling server not started');
      return url;
    },
    async start({ port = 0, host = '127.0.0.1' }: StartOptions = {}): Promise<string> {
      await backend.start(io);
      await renewLease(); // registers this instance before it takes any member
      await new Promise<void>((resolve, reject) => {
        httpServer.once('error', reject);
        httpServer.listen(port, host, () => {
          httpServer.off('error', reject);
          resolve();
        });
      });
      const address = httpServer.address();
      if (address === null || typeof address === 'string') throw new Error('unexpected server address');
      const hostForUrl = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      url = `http://${hostForUrl}:${address.port}`;
      sweeper = setInterval(sweep, options.sweepIntervalMs);
      log.info('signaling server listening', { url });
      return url;
    },
    stop(): Promise<void> {
      stopping ??= stopOnce();
      return stopping;
    },
    status: () => statusSnapshot(store.cachedStatus(), options.now(), startedAt),
    readStatus: async () => statusSnapshot(await store.readStatus(), options.now(), startedAt),
  };

  /**
   * io.close() disconnects every socket and, once the adapters are closed, closes the HTTP
   * server, whose close waits for every connection to end. A browser keeps its keep-alive
   * connections (a dashboard polling /status) open for as long as it runs, so stop() would
   * wait for the browser: once the server takes no new connections, the open ones are ended.
   */
  async function closeSocketsAndHttp(): Promise<void> {
    let settled = false;
    const closed = io.close().finally(() => (settled = true));
    while (httpServer.listening && !settled) await new Promise((resolve) => setImmediate(resolve));
    httpServer.closeAllConnections();
    await closed;
  }

  async function stopOnce(): Promise<void> {
    if (sweeper !== undefined) clearInterval(sweeper);
    sweeper = undefined;
    const wasListening = httpServer.listening;
    await closeSocketsAndHttp();
    // The disconnect handlers remove the members from the store: let them finish first.
    await ctx.queues.idle();
    await sweeping;
    await backend.stop();
    if (wasListening) log.info('signaling server stopped', { url });
    url = undefined;
  }
}
