/**
 * The signaling server's answer to each client event (see shared/protocol/signaling.ts for
 * the messages): create and join sessions, relay signals within a session, record
 * heartbeats, readiness and round reports, and announce membership changes.
 *
 * Failure policy: a payload that fails validation, a bad or expired token and an unknown
 * session are fatal (error, then the socket is closed); races and mistakes a well-behaved
 * peer can make (signal to a peer that just left, a stale term, a taken peerId) are not.
 *
 * @example
 * io.on('connection', (socket) => attachHandlers(ctx, socket));
 */
import {
  SignalingError,
  createSessionRequestSchema,
  heartbeatSchema,
  joinRequestSchema,
  readyRequestSchema,
  roundReportSchema,
  signalRequestSchema,
} from '../shared/protocol/signaling.ts';
import {
  announceAggregator,
  removeMember,
  roomOf,
  type ServerContext,
  type SignalingSocket,
} from './context.ts';
import { guardSocket, handle, parsePayload } from './dispatch.ts';
import type { PeerRecord, SessionRecord } from './sessions.ts';
import { signSessionToken, verifySessionToken } from './token.ts';

function isPlainObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value) ?? '', 'utf8');
}

export function attachHandlers(ctx: ServerContext, socket: SignalingSocket): void {
  const { registry, options, log } = ctx;
  const ip = socket.handshake.address;
  guardSocket(ctx, socket);

  const takeJoinToken = (): void => {
    if (!ctx.joinBuckets.take(ip))
      throw new SignalingError('RATE_LIMITED', 'too many joins from this address');
  };

  /** The caller's session membership, or NOT_JOINED. Any valid message proves it alive. */
  const membership = (): { session: SessionRecord; peer: PeerRecord } => {
    const { sessionId, peerId } = socket.data;
    const session = sessionId === undefined ? undefined : registry.get(sessionId);
    const peer = peerId === undefined ? undefined : session?.peers.get(peerId);
    if (session === undefined || peer === undefined || peer.socketId !== socket.id) {
      throw new SignalingError('NOT_JOINED', 'join a session first');
    }
    registry.touch(peer);
    return { session, peer };
  };

  handle(ctx, socket, 'session:create', (payload) => {
    takeJoinToken();
    // A non-object is a protocol error; an object with a bad config is a user mistake.
    const invalidConfig = isPlainObject(payload);
    const { config } = parsePayload(
      createSessionRequestSchema,
      payload,
      invalidConfig ? 'INVALID_CONFIG' : 'BAD_REQUEST',
      !invalidConfig,
    );
    const session = registry.create(config);
    const expiresAt = options.now() + options.tokenTtlMs;
    const token = signSessionToken(options.secret, session.sessionId, expiresAt);
    log.info('session created', { sessionId: session.sessionId, config });
    return { reply: { sessionId: session.sessionId, token, expiresAt, config } };
  });

  handle(ctx, socket, 'session:join', (payload) => {
    if (socket.data.peerId !== undefined)
      throw new SignalingError('ALREADY_JOINED', 'this socket is in a session');
    takeJoinToken();
    const req = parsePayload(joinRequestSchema, payload);
    const tokenProblem = verifySessionToken(options.secret, req.sessionId, req.token, options.now());
    if (tokenProblem !== undefined)
      throw new SignalingError(tokenProblem, 'cannot join with this token', true);
    const session = registry.get(req.sessionId);
    if (session === undefined) throw new SignalingError('UNKNOWN_SESSION', 'no such session', true);
    const { peer, aggregatorChanged } = registry.addPeer(session, { ...req, socketId: socket.id });
    socket.data = { sessionId: session.sessionId, peerId: peer.peerId };
    const room = roomOf(session.sessionId);
    void socket.join(room);
    log.info('peer joined', { sessionId: session.sessionId, peerId: peer.peerId, kind: peer.kind, ip });
    return {
      reply: {
        sessionId: session.sessionId,
        peerId: peer.peerId,
        config: session.config,
        peers: [...session.peers.values()].map((p) => registry.peerInfo(session, p)),
        aggregator: registry.aggregatorState(session),
        heartbeatIntervalMs: options.heartbeatIntervalMs,
        heartbeatTimeoutMs: options.heartbeatTimeoutMs,
        serverTime: options.now(),
      },
      after: () => {
        const info = registry.peerInfo(session, peer);
        socket.to(room).emit('peer:joined', { sessionId: session.sessionId, peer: info, term: session.term });
        if (aggregatorChanged) announceAggregator(ctx, session);
      },
    };
  });

  handle(ctx, socket, 'signal', (payload) => {
    const { session, peer } = membership();
    const { to, data } = parsePayload(signalRequestSchema, payload);
    const size = jsonBytes(data);
    if (size > options.maxSignalBytes) {
      throw new SignalingError(
        'PAYLOAD_TOO_LARGE',
        `signal data is ${size} bytes, limit ${options.maxSignalBytes}`,
      );
    }
    const target = session.peers.get(to);
    if (target === undefined || to === peer.peerId) {
      throw new SignalingError('UNKNOWN_PEER', `no peer ${to} in this session`);
    }
    ctx.io.to(target.socketId).emit('signal', { from: peer.peerId, data });
    return { reply: {} };
  });

  handle(ctx, socket, 'heartbeat', (payload) => {
    const { peer } = membership();
    const { round, stats } = parsePayload(heartbeatSchema, payload ?? {});
    registry.recordHeartbeat(peer, round, stats);
    return { reply: {} };
  });

  handle(ctx, socket, 'peer:ready', (payload) => {
    const { session, peer } = membership();
    const { ready } = parsePayload(readyRequestSchema, payload);
    const changed = peer.ready !== ready;
    const aggregatorChanged = registry.setReady(session, peer, ready);
    return {
      reply: {},
      after: () => {
        if (!changed) return;
        const ev = {
          sessionId: session.sessionId,
          peer: registry.peerInfo(session, peer),
          term: session.term,
        };
        ctx.io.to(roomOf(session.sessionId)).emit('peer:updated', ev);
        if (aggregatorChanged) announceAggregator(ctx, session);
      },
    };
  });

  handle(ctx, socket, 'round:report', (payload) => {
    const { session, peer } = membership();
    const report = parsePayload(roundReportSchema, payload);
    registry.recordReport(session, peer, report);
    return { reply: {} };
  });

  socket.on('disconnect', (reason) => {
    const { sessionId, peerId } = socket.data;
    if (sessionId === undefined || peerId === undefined) return;
    const session = registry.get(sessionId);
    if (session === undefined) return;
    log.debug('socket closed', { sessionId, peerId, reason });
    removeMember(ctx, session, peerId, socket.id, 'disconnect');
  });
}
