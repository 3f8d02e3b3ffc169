/**
 * The signaling server: an HTTP server carrying socket.io (the protocol in
 * shared/protocol/signaling.ts) plus `GET /status` and `GET /healthz`, and a sweeper that
 * removes peers silent past the heartbeat timeout and deletes long-empty sessions.
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
import { removeMember, type ServerContext, type SignalingIo } from './context.ts';
import { limitConnections } from './connection-limits.ts';
import { attachHandlers } from './handlers.ts';
import { createHttpHandler, statusSnapshot } from './http-routes.ts';
import { createLogger } from './logger.ts';
import { resolveOptions, type ResolvedOptions, type SignalingServerInit } from './options.ts';
import { KeyedTokenBuckets } from './rate-limit.ts';
import { SessionRegistry } from './sessions.ts';

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
  /** Base URL once started, e.g. "http://127.0.0.1:39211"; throws before start(). */
  readonly url: string;
  /** Listens and starts the sweeper; resolves to the base URL. */
  start(options?: StartOptions): Promise<string>;
  /** Disconnects every socket, stops the sweeper and closes the HTTP server. */
  stop(): Promise<void>;
  /** The same snapshot `GET /status` serves. */
  status(): SignalingStatus;
}

export function createSignalingServer(init: SignalingServerInit = {}): SignalingServer {
  const options = resolveOptions(init);
  const log = options.logger ?? createLogger('signaling', options.logLevel);
  const startedAt = options.now();
  const registry = new SessionRegistry({
    maxSessions: options.maxSessions,
    maxPeersPerSession: options.maxPeersPerSession,
    now: options.now,
  });
  const httpServer = createServer(createHttpHandler(registry, options, startedAt));
  const io: SignalingIo = new Server(httpServer, {
    maxHttpBufferSize: options.maxMessageBytes,
    serveClient: false,
    ...(options.corsOrigin === undefined ? {} : { cors: { origin: options.corsOrigin } }),
  });
  limitConnections(io, options, log);
  const ctx: ServerContext = {
    io,
    registry,
    options,
    log,
    joinBuckets: new KeyedTokenBuckets(options.joinRateLimit, options.now),
  };
  io.on('connection', (socket) => {
    try {
      attachHandlers(ctx, socket);
    } catch (err) {
      log.error('cannot attach handlers', { err });
      socket.disconnect(true);
    }
  });

  const sweep = (): void => {
    try {
      for (const { session, peer } of [...registry.silentPeers(options.heartbeatTimeoutMs)]) {
        removeMember(ctx, session, peer.peerId, peer.socketId, 'heartbeat-timeout');
        const socket = io.sockets.sockets.get(peer.socketId);
        if (socket === undefined) continue;
        socket.emit('error', { code: 'HEARTBEAT_TIMEOUT', message: 'no heartbeat in time', fatal: true });
        socket.disconnect(true);
      }
      for (const sessionId of registry.pruneIdle(options.sessionIdleTimeoutMs)) {
        log.info('session deleted after idling empty', { sessionId });
      }
      ctx.joinBuckets.prune();
    } catch (err) {
      log.error('sweep failed', { err });
    }
  };

  let sweeper: NodeJS.Timeout | undefined;
  let url: string | undefined;

  return {
    httpServer,
    io,
    options,
    get url(): string {
      if (url === undefined) throw new Error('signaling server not started');
      return url;
    },
    async start({ port = 0, host = '127.0.0.1' }: StartOptions = {}): Promise<string> {
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
    async stop(): Promise<void> {
      if (sweeper !== undefined) clearInterval(sweeper);
      sweeper = undefined;
      const wasListening = httpServer.listening;
      // io.close() disconnects every socket, then closes the HTTP server.
      await new Promise<void>((resolve) => {
        void io.close(() => resolve());
      });
      httpServer.closeAllConnections();
      if (wasListening) log.info('signaling server stopped', { url });
      url = undefined;
    },
    status: () => statusSnapshot(registry, options.now(), startedAt),
  };
}
