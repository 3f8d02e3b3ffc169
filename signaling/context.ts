/**
 * What the socket handlers and the sweeper share: the typed socket.io server, the session
 * registry, the resolved options, the logger, and the announcements every path makes the
 * same way (a member left, the aggregator changed).
 *
 * Incoming events are typed `unknown` on purpose: the server validates every payload with
 * the shared zod schemas before use. Outgoing events use the shared ServerToClientEvents.
 *
 * @example
 * removeMember(ctx, session, peerId, socket.id, 'disconnect');
 */
import type { Server, Socket } from 'socket.io';
import type {
  ClientEventName,
  ErrorInfo,
  LeaveReason,
  ServerToClientEvents,
} from '../shared/protocol/signaling.ts';
import type { Logger } from './logger.ts';
import type { ResolvedOptions } from './options.ts';
import type { KeyedTokenBuckets } from './rate-limit.ts';
import type { SessionRecord, SessionRegistry } from './sessions.ts';

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
  readonly registry: SessionRegistry;
  readonly options: ResolvedOptions;
  readonly log: Logger;
  /** session:create and session:join per client IP. */
  readonly joinBuckets: KeyedTokenBuckets;
}

export const roomOf = (sessionId: string): string => `session:${sessionId}`;

export function announceAggregator(ctx: ServerContext, session: SessionRecord): void {
  const state = ctx.registry.aggregatorState(session);
  ctx.log.info('aggregator changed', { ...state });
  ctx.io.to(roomOf(session.sessionId)).emit('aggregator', state);
}

/** Removes a member (if `socketId` still owns it), tells the room, re-elects if needed. */
export function removeMember(
  ctx: ServerContext,
  session: SessionRecord,
  peerId: string,
  socketId: string,
  reason: LeaveReason,
): void {
  const { removed, aggregatorChanged } = ctx.registry.removePeer(session, peerId, socketId);
  if (!removed) return;
  ctx.log.info('peer left', { sessionId: session.sessionId, peerId, reason });
  const room = roomOf(session.sessionId);
  ctx.io.to(room).emit('peer:left', { sessionId: session.sessionId, peerId, reason, term: session.term });
  if (aggregatorChanged) announceAggregator(ctx, session);
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
