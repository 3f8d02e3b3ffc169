/**
 * Every setting of the signaling server, with its default. `resolveOptions` fills the
 * defaults and checks the values, so the rest of the server reads plain numbers.
 *
 * @example
 * const options = resolveOptions({ heartbeatTimeoutMs: 200, logLevel: 'silent' });
 * const shared = resolveOptions({ redisUrl: 'redis://127.0.0.1:6379', secret: process.env.SECRET });
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger, LogLevel } from './logger.ts';
import type { RateLimit } from './rate-limit.ts';
import { ScaleOutError } from './scale-out-error.ts';
import { randomId } from './ids.ts';

export interface SignalingServerInit {
  /**
   * HMAC key for session tokens. Required with `redisUrl`: every instance must verify the
   * tokens the others sign. @default 32 random bytes, new per process
   */
  secret?: Uint8Array | string;
  /**
   * Redis shared by several signaling instances (e.g. "redis://127.0.0.1:6379"): session
   * state lives there and socket.io broadcasts cross instances through @socket.io/redis-adapter.
   * @default undefined (sessions in this process's memory; one instance)
   */
  redisUrl?: string;
  /** Prefix of every Redis key and of the adapter's channels. @default 'liec:' */
  redisKeyPrefix?: string;
  /** How long start() waits for Redis before failing with ERR_REDIS_UNAVAILABLE. @default 5000 */
  redisConnectTimeoutMs?: number;
  /**
   * A store command without a reply after this long fails (the request gets INTERNAL)
   * instead of holding the socket's queue; the sweep then repairs what the lost reply
   * may have hidden. @default 5000
   */
  redisCommandTimeoutMs?: number;
  /** This instance's name among those sharing a Redis (logs, lease). @default random per process */
  instanceId?: string;
  /**
   * With Redis: an instance that has not renewed its lease for this long counts as crashed,
   * and another instance removes its members. Renewed every sweep. @default heartbeatTimeoutMs
   */
  instanceLeaseMs?: number;
  /**
   * The operator's credential (shared/protocol/operator.ts): with it, creating sessions,
   * listing snapshots, rolling a session back and reading `GET /metrics` need this token
   * (socket handshake `auth.operatorToken`, or `Authorization: Bearer` for /metrics) and are
   * refused with OPERATOR_REQUIRED (401) without it. At least 16 characters.
   * @default undefined: open mode, anyone who reaches the server may (a LAN demo, tests)
   */
  operatorToken?: string;
  /** How long the server waits for the aggregator's answer to a relayed snapshot request. @default 10_000 */
  operatorRelayTimeoutMs?: number;
  /** How long a session token admits joins. @default 86_400_000 (24 h) */
  tokenTtlMs?: number;
  /** How often clients are told to send a heartbeat. @default 5000 */
  heartbeatIntervalMs?: number;
  /** A peer silent for this long is removed. @default 15_000 */
  heartbeatTimeoutMs?: number;
  /** How often the server looks for silent peers and idle sessions. @default 1000 */
  sweepIntervalMs?: number;
  /**
   * How long a member's `aggregator:unreachable` report counts toward replacing the
   * aggregator. A member still cut off reports again every aggregatorSilenceMs of its peer
   * settings (1500 ms by default), so this must exceed that; a member that hears the
   * aggregator again stops, and its report lapses. @default 10_000
   */
  unreachableReportTtlMs?: number;
  /**
   * Offences that expel a peer from its session (it is removed, told why, and its id cannot
   * join that session again): being replaced as aggregator for a fault (barred), and each
   * aggregator that dropped it as a worker for invalid frames (`peer:report`, one per
   * aggregator). At 2 one bad aggregator cannot expel an honest worker alone. @default 2
   */
  maxOffences?: number;
  /** A session with no members for this long is deleted. @default 600_000 (10 min) */
  sessionIdleTimeoutMs?: number;
  /** Largest socket.io message (socket.io maxHttpBufferSize); larger ones close the connection. @default 262_144 */
  maxMessageBytes?: number;
  /** Largest `signal` data, measured as JSON. @default 65_536 */
  maxSignalBytes?: number;
  /**
   * Largest weights of a session's own Layers model the server holds for its peers (`liec
   * create --model` uploads a model over the inline limit, PUT /models/<sha256>); a larger
   * upload is refused (413) and so is a session naming one. 64 MiB: 16M float32 parameters.
   * @default 67_108_864
   */
  maxCustomModelBytes?: number;
  /**
   * Most bytes of model weights held in this process at once (the least recently used model
   * is dropped for a new one). With Redis, Redis's maxmemory bounds them instead. @default 268_435_456
   */
  maxHeldModelBytes?: number;
  /** Held model weights neither uploaded nor fetched for this long are dropped. @default tokenTtlMs */
  modelTtlMs?: number;
  /** @default 1000 */
  maxSessions?: number;
  /** @default 256 */
  maxPeersPerSession?: number;
  /**
   * Sockets one client address may hold open at once; beyond it the handshake is refused
   * (connect_error with data { code: 'RATE_LIMITED' }). Generous because many local nodes
   * share 127.0.0.1. @default 1024
   */
  maxConnectionsPerAddress?: number;
  /** A socket that has not joined a session this long after connecting is closed (NOT_JOINED). @default 30_000 */
  joinTimeoutMs?: number;
  /**
   * session:create and session:join per client IP; generous because many local nodes share
   * 127.0.0.1. @default { perSecond: 20, burst: 100 }
   */
  joinRateLimit?: RateLimit;
  /**
   * Messages of any kind per socket. Generous because an aggregator meeting many peers at
   * once sends each an offer and a dozen ICE candidates. @default { perSecond: 100, burst: 1000 }
   */
  messageRateLimit?: RateLimit;
  /**
   * Rejections (rate-limited messages) a socket may cause before it is disconnected; it
   * earns the budget back slowly. @default { perSecond: 1, burst: 50 }
   */
  violationLimit?: RateLimit;
  /** Origins allowed to open a socket.io connection from a browser (CORS). @default none (same origin) */
  corsOrigin?: string | string[];
  /** Serves HTTP requests the server does not handle itself (e.g. the UI). @default 404 */
  fallbackHandler?: (req: IncomingMessage, res: ServerResponse) => void;
  /** @default 'info', 'silent' under node --test, or LIEC_LOG_LEVEL */
  logLevel?: LogLevel;
  /** Replaces the default stderr logger scoped `signaling`. */
  logger?: Logger;
  /** Clock, in ms since epoch. @default Date.now */
  now?: () => number;
}

export interface ResolvedOptions {
  secret: Uint8Array;
  redisUrl: string | undefined;
  redisKeyPrefix: string;
  redisConnectTimeoutMs: number;
  redisCommandTimeoutMs: number;
  instanceId: string;
  instanceLeaseMs: number;
  operatorToken: string | undefined;
  operatorRelayTimeoutMs: number;
  tokenTtlMs: number;
  heartbeatIntervalMs: number;
  heartbeatTimeoutMs: number;
  sweepIntervalMs: number;
  unreachableReportTtlMs: number;
  maxOffences: number;
  sessionIdleTimeoutMs: number;
  maxMessageBytes: number;
  maxSignalBytes: number;
  maxCustomModelBytes: number;
  maxHeldModelBytes: number;
  modelTtlMs: number;
  maxSessions: number;
  maxPeersPerSession: number;
  maxConnectionsPerAddress: number;
  joinTimeoutMs: number;
  joinRateLimit: RateLimit;
  messageRateLimit: RateLimit;
  violationLimit: RateLimit;
  corsOrigin: string | string[] | undefined;
  fallbackHandler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  logLevel: LogLevel | undefined;
  logger: Logger | undefined;
  now: () => number;
}

export const DEFAULT_SIGNALING_OPTIONS = {
  redisKeyPrefix: 'liec:',
  redisConnectTimeoutMs: 5000,
  redisCommandTimeoutMs: 5000,
  operatorRelayTimeoutMs: 10_000,
  tokenTtlMs: 86_400_000,
  heartbeatIntervalMs: 5000,
  heartbeatTimeoutMs: 15_000,
  sweepIntervalMs: 1000,
  unreachableReportTtlMs: 10_000,
  maxOffences: 2,
  sessionIdleTimeoutMs: 600_000,
  maxMessageBytes: 262_144,
  maxSignalBytes: 65_536,
  maxCustomModelBytes: 67_108_864,
  maxHeldModelBytes: 268_435_456,
  maxSessions: 1000,
  maxPeersPerSession: 256,
  maxConnectionsPerAddress: 1024,
  joinTimeoutMs: 30_000,
  joinRateLimit: { perSecond: 20, burst: 100 },
  messageRateLimit: { perSecond: 100, burst: 1000 },
  violationLimit: { perSecond: 1, burst: 50 },
} as const satisfies Partial<ResolvedOptions>;

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0)
    throw new RangeError(`${name} must be a positive number, got ${value}`);
  return value;
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value <= 0)
    throw new RangeError(`${name} must be a positive integer, got ${value}`);
  return value;
}

function rate(name: string, limit: RateLimit): RateLimit {
  return {
    perSecond: positive(`${name}.perSecond`, limit.perSecond),
    burst: positive(`${name}.burst`, limit.burst),
  };
}

export function resolveOptions(init: SignalingServerInit = {}): ResolvedOptions {
  const d = DEFAULT_SIGNALING_OPTIONS;
  const secret = typeof init.secret === 'string' ? Buffer.from(init.secret, 'utf8') : init.secret;
  if (secret !== undefined && secret.byteLength < 16)
    throw new RangeError('secret must be at least 16 bytes');
  if (init.redisUrl !== undefined && secret === undefined) {
    throw new ScaleOutError(
      'ERR_SECRET_REQUIRED',
      'redisUrl needs a secret shared by every instance (LIEC_SIGNALING_SECRET)',
    );
  }
  if (init.operatorToken !== undefined && init.operatorToken.length < 16)
    throw new RangeError('operatorToken must be at least 16 characters');
  const heartbeatTimeoutMs = positive('heartbeatTimeoutMs', init.heartbeatTimeoutMs ?? d.heartbeatTimeoutMs);
  const instanceId = init.instanceId ?? randomId(6);
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(instanceId))
    throw new RangeError('instanceId must be 1-64 of [A-Za-z0-9_-]');
  const options: ResolvedOptions = {
    secret: secret ?? randomBytes(32),
    redisUrl: init.redisUrl,
    redisKeyPrefix: init.redisKeyPrefix ?? d.redisKeyPrefix,
    redisConnectTimeoutMs: positive(
      'redisConnectTimeoutMs',
      init.redisConnectTimeoutMs ?? d.redisConnectTimeoutMs,
    ),
    redisCommandTimeoutMs: positive(
      'redisCommandTimeoutMs',
      init.redisCommandTimeoutMs ?? d.redisCommandTimeoutMs,
    ),
    instanceId,
    instanceLeaseMs: positive('instanceLeaseMs', init.instanceLeaseMs ?? heartbeatTimeoutMs),
    operatorToken: init.operatorToken,
    operatorRelayTimeoutMs: positive(
      'operatorRelayTimeoutMs',
      init.operatorRelayTimeoutMs ?? d.operatorRelayTimeoutMs,
    ),
    tokenTtlMs: positive('tokenTtlMs', init.tokenTtlMs ?? d.tokenTtlMs),
    heartbeatIntervalMs: positive('heartbeatIntervalMs', init.heartbeatIntervalMs ?? d.heartbeatIntervalMs),
    heartbeatTimeoutMs,
    sweepIntervalMs: positive('sweepIntervalMs', init.sweepIntervalMs ?? d.sweepIntervalMs),
    unreachableReportTtlMs: positive(
      'unreachableReportTtlMs',
      init.unreachableReportTtlMs ?? d.unreachableReportTtlMs,
    ),
    maxOffences: positiveInteger('maxOffences', init.maxOffences ?? d.maxOffences),
    sessionIdleTimeoutMs: positive(
      'sessionIdleTimeoutMs',
      init.sessionIdleTimeoutMs ?? d.sessionIdleTimeoutMs,
    ),
    maxMessageBytes: positive('maxMessageBytes', init.maxMessageBytes ?? d.maxMessageBytes),
    maxSignalBytes: positive('maxSignalBytes', init.maxSignalBytes ?? d.maxSignalBytes),
    maxCustomModelBytes: positive('maxCustomModelBytes', init.maxCustomModelBytes ?? d.maxCustomModelBytes),
    maxHeldModelBytes: positive('maxHeldModelBytes', init.maxHeldModelBytes ?? d.maxHeldModelBytes),
    modelTtlMs: positive('modelTtlMs', init.modelTtlMs ?? init.tokenTtlMs ?? d.tokenTtlMs),
    maxSessions: positive('maxSessions', init.maxSessions ?? d.maxSessions),
    maxPeersPerSession: positive('maxPeersPerSession', init.maxPeersPerSession ?? d.maxPeersPerSession),
    maxConnectionsPerAddress: positive(
      'maxConnectionsPerAddress',
      init.maxConnectionsPerAddress ?? d.maxConnectionsPerAddress,
    ),
    joinTimeoutMs: positive('joinTimeoutMs', init.joinTimeoutMs ?? d.joinTimeoutMs),
    joinRateLimit: rate('joinRateLimit', init.joinRateLimit ?? d.joinRateLimit),
    messageRateLimit: rate('messageRateLimit', init.messageRateLimit ?? d.messageRateLimit),
    violationLimit: rate('violationLimit', init.violationLimit ?? d.violationLimit),
    corsOrigin: init.corsOrigin,
    fallbackHandler: init.fallbackHandler,
    logLevel: init.logLevel,
    logger: init.logger,
    now: init.now ?? Date.now,
  };
  if (options.heartbeatTimeoutMs <= options.heartbeatIntervalMs) {
    throw new RangeError('heartbeatTimeoutMs must exceed heartbeatIntervalMs');
  }
  if (options.instanceLeaseMs <= options.sweepIntervalMs) {
    // The sweep renews the lease; a lease shorter than a sweep would lapse every time.
    throw new RangeError('instanceLeaseMs must exceed sweepIntervalMs');
  }
  return options;
}
