/**
 * What the socket handlers and the sweeper share: the typed socket.io server, the session
 * store, the liveness of this instance's members, the per-socket queues, the resolved
 * options, the logger, and the announcements every path makes the same way (a member left,
 * the aggregator changed).
 *
 * Incoming events are typed `unknown` on purpose: the server validates every payload with
 * the shared zod schemas before use. Outgoing events use the shared ServerToClientEvents.
 * Room broadcasts go through the socket.io adapter, so with Redis they reach the session's
 * sockets on every instance.
 *
 * @example
 * await removeMember(ctx, { sessionId, peerId, socketId: socket.id }, 'disconnect');
 */
import type { Server, Socket } from 'socket.io';
import type {
  AggregatorState,
  ClientEventName,
  ErrorInfo,
  LeaveReason,
  ServerToClientEvents,
} from '../shared/protocol/signaling.ts';
import type { LivenessTracker } from './liveness.ts';
import type { Logger } from './logger.ts';
import type { ModelStore } from './model-store.ts';
import type { SignalingMetrics } from './metrics.ts';
import type { ResolvedOptions } from './options.ts';
import type { KeyedTokenBuckets } from './rate-limit.ts';
import type { SocketQueues } from './socket-queue.ts';
import type { MemberKey, SessionStore } from './store.ts';

/** Client events as the server receives them: untrusted arguments. */
export type UntrustedClientEvents = { [K in ClientEventName]: (...args: unknown[]) => void };

/** Per-socket membership, set by a successful join. */
export interface SocketData {
  sessionId?: string;
  peerId?: string;
}

export type SignalingIo = Server<
  UntrustedClientEvents,
  ServerToClientEvents,
  Record<string, never>,
  SocketData
>;
export type SignalingSocket = Socket<
  UntrustedClientEvents,
  ServerToClientEvents,
  Record<string, never>,
  SocketData
>;

export interface ServerContext {
  readonly io: SignalingIo;
  readonly store: SessionStore;
  /** Held weights of sessions' own models (model-store.ts): session:create checks they are here. */
  readonly models: ModelStore;
  /** Members whose sockets this instance holds; this instance sweeps them. */
  readonly liveness: LivenessTracker;
  /** Each socket's requests run in order, one at a time. */
  readonly queues: SocketQueues;
  readonly options: ResolvedOptions;
  readonly log: Logger;
  /** What GET /metrics serves (metrics.ts). */
  readonly metrics: SignalingMetrics;
  /** session:create and session:join per client IP (per instance). */
  readonly joinBuckets: KeyedTokenBuckets;
  /**
   * Sessions where a store step failed without a known outcome (a reply lost to a timeout
   * may hide a change of aggregator): the sweep re-announces their aggregator.
   */
  readonly unsettled: Set<string>;
}

export const roomOf = (sessionId: string): string => `session:${sessionId}`;

/** `state` as announced and sent in join replies: with the session's last rollback, if any. */
export async function withRollback(ctx: ServerContext, state: AggregatorState): Promise<AggregatorState> {
  const rollback = await ctx.store.rollbackOf(state.sessionId);
  return rollback === undefined ? state : { ...state, rollback };
}

export function announceAggregator(ctx: ServerContext, state: AggregatorState): void {
  ctx.log.info('aggregator changed', { ...state });
  ctx.io.to(roomOf(state.sessionId)).emit('aggregator', state);
}

/** Removes a member (if its socket still owns it), tells the room, announces a new aggregator. */
export async function removeMember(
  ctx: ServerContext,
  member: MemberKey,
  // An expelled member is removed by the store itself (expulsion.ts), never here.
  reason: Exclude<LeaveReason, 'expelled'>,
): Promise<void> {
  ctx.liveness.forget(member.socketId);
  const outcome = await ctx.store.leave(member);
  if (!outcome.removed) return;
  const { sessionId, peerId } = member;
  ctx.log.info('peer left', { sessionId, peerId, reason });
  ctx.io
    .to(roomOf(sessionId))
    .emit('peer:left', { sessionId, peerId, reason, term: outcome.aggregator.term });
  if (!outcome.aggregatorChanged) return;
  // A member's leaving moves the role only when it held it.
  ctx.metrics.failover(reason);
  announceAggregator(ctx, await withRollback(ctx, outcome.aggregator));
}

/**
 * Reports a failure to the socket: through the ack when the request had one, else as an
 * `error` event; a fatal one then closes the socket (after the reply is flushed).
 */
export function sendFailure(
  socket: SignalingSocket,
  event: string,
  info: ErrorInfo,
  ack: ((reply: unknown) => void) | undefined,
): void {
  if (ack !== undefined) ack({ ok: false, error: info });
  else socket.emit('error', { ...info, event: event.slice(0, 64) });
  // The disconnect handler removes the membership, so every exit path announces peer:left.
  if (info.fatal) socket.disconnect(true);
}
