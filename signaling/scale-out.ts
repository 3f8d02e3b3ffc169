/**
 * Chooses where session state lives: in this process (default) or, with `redisUrl`, in
 * Redis shared by several signaling instances. With Redis it also installs
 * @socket.io/redis-adapter, so a broadcast to a session's room, or an emit to one socket id,
 * reaches sockets held by any instance (signals, peer:joined, aggregator, ...).
 *
 * Three connections per instance: one for the store's scripts and reads (offline queue
 * off, so requests fail fast while Redis is away instead of piling up), and the adapter's
 * publisher and subscriber.
 *
 * @example
 * const backend = createStoreBackend(options, log);
 * await backend.start(io); // connects Redis and installs the adapter (no-op in memory)
 * backend.store.join(...);
 * await backend.stop();
 */
import { createAdapter } from '@socket.io/redis-adapter';
import { createClient } from 'redis';
import type { SignalingIo } from './context.ts';
import type { Logger } from './logger.ts';
import { MemorySessionStore } from './memory-store.ts';
import { MemoryModelStore, RedisModelStore, type ModelStore } from './model-store.ts';
import type { ResolvedOptions } from './options.ts';
import { withReplyTimeout } from './redis-lua.ts';
import { RedisSessionStore } from './redis-store.ts';
import { ScaleOutError } from './scale-out-error.ts';
import type { SessionStore } from './store.ts';

export interface StoreBackend {
  readonly store: SessionStore;
  /** Held weights of sessions' own models: beside the sessions (memory, or the same Redis). */
  readonly models: ModelStore;
  start(io: SignalingIo): Promise<void>;
  stop(): Promise<void>;
}

type RedisClient = ReturnType<typeof redisClient>;

/** The URL without its password, for logs and errors. */
export function redactRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'redis://(unparsable url)';
  }
}

async function connectWithin(client: RedisClient, timeoutMs: number, url: string): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const connecting = client.connect();
  try {
    await Promise.race([
      connecting,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } catch (err) {
    connecting.catch(() => {});
    client.destroy();
    const reason = err instanceof Error ? err.message : String(err);
    throw new ScaleOutError('ERR_REDIS_UNAVAILABLE', `cannot reach Redis at ${url}: ${reason}`, {
      cause: err,
    });
  } finally {
    clearTimeout(timer);
  }
}

function redisClient(url: string, role: string, log: Logger, offlineQueue: boolean) {
  const client = createClient({
    url,
    disableOfflineQueue: !offlineQueue,
    socket: { reconnectStrategy: (retries) => Math.min(50 * 2 ** retries, 2000) },
  });
  let healthy = true;
  client.on('error', (err: unknown) => {
    // node-redis reports every failed reconnect; one line per outage is enough.
    if (healthy) log.warn('redis connection failed', { role, err });
    healthy = false;
  });
  client.on('ready', () => {
    if (!healthy) log.info('redis connection restored', { role });
    healthy = true;
  });
  return client;
}

export function createStoreBackend(options: ResolvedOptions, log: Logger): StoreBackend {
  const { redisUrl } = options;
  if (redisUrl === undefined) {
    const store = new MemorySessionStore(options);
    const models = new MemoryModelStore({
      maxHeldBytes: options.maxHeldModelBytes,
      ttlMs: options.modelTtlMs,
      now: options.now,
    });
    return { store, models, start: () => store.start(), stop: () => store.stop() };
  }
  const shownUrl = redactRedisUrl(redisUrl);
  const command = redisClient(redisUrl, 'store', log, false);
  const publisher = redisClient(redisUrl, 'publisher', log, true);
  const subscriber = redisClient(redisUrl, 'subscriber', log, true);
  const client = withReplyTimeout(command, options.redisCommandTimeoutMs);
  const store = new RedisSessionStore({
    client,
    prefix: options.redisKeyPrefix,
    instanceId: options.instanceId,
    leaseMs: options.instanceLeaseMs,
    maxSessions: options.maxSessions,
    maxPeersPerSession: options.maxPeersPerSession,
    now: options.now,
  });
  const models = new RedisModelStore({ client, prefix: options.redisKeyPrefix, ttlMs: options.modelTtlMs });
  const clients = [command, publisher, subscriber];
  return {
    store,
    models,
    async start(io) {
      try {
        await Promise.all(clients.map((c) => connectWithin(c, options.redisConnectTimeoutMs, shownUrl)));
      } catch (err) {
        for (const c of clients) if (c.isOpen) c.destroy();
        throw err;
      }
      io.adapter(createAdapter(publisher, subscriber, { key: `${options.redisKeyPrefix}io` }));
      await store.start();
      log.info('sessions shared through redis', { redis: shownUrl, instanceId: options.instanceId });
    },
    async stop() {
      try {
        if (command.isReady) await store.stop();
      } catch (err) {
        log.warn('cannot deregister from redis; the lease will expire', { err });
      } finally {
        // close() waits for replies, so only a ready connection gets it; others are cut.
        await Promise.all(
          clients.map(async (c) => {
            if (c.isReady) await c.close();
            else if (c.isOpen) c.destroy();
          }),
        );
      }
    },
  };
}
