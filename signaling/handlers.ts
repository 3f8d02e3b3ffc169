/**
 * The signaling server's answer to each client event (see shared/protocol/signaling.ts for
 * the messages): create and join sessions, relay signals within a session, record
 * heartbeats, readiness and round reports, count reports that the aggregator is unreachable
 * (replacing it at a majority) and the aggregator's reports of workers it dropped (offences:
 * at the limit the offender is expelled, expulsion.ts), and announce membership changes.
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
  inviteRequestSchema,
  peerReportSchema,
  readyRequestSchema,
  roundReportSchema,
  signalRequestSchema,
  unreachableReportSchema,
} from '../shared/protocol/signaling.ts';
import { statsWithEvaluation } from './session-accuracy.ts';
import {
  announceAggregator,
  withRollback,
  removeMember,
  roomOf,
  type ServerContext,
  type SignalingSocket,
} from './context.ts';
import { guardSocket, handle, parsePayload } from './dispatch.ts';
import { expel } from './expulsion.ts';
import { randomId } from './ids.ts';
import { heldWeightsIssue } from './model-store.ts';
import { isOperator, operatorRequired } from './operator.ts';
import type { MemberKey } from './store.ts';
import {
  signHostToken,
  signInvitation,
  signSessionToken,
  verifyHostToken,
  verifyJoinToken,
} from './token.ts';

function isPlainObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value) ?? '', 'utf8');
}

export function attachHandlers(ctx: ServerContext, socket: SignalingSocket): void {
  const { store, options, log, liveness } = ctx;
  const ip = socket.handshake.address;
  guardSocket(ctx, socket);

  const takeJoinToken = (): void => {
    if (!ctx.joinBuckets.take(ip))
      throw new SignalingError('RATE_LIMITED', 'too many joins from this address');
  };

  /**
   * The caller's membership, or NOT_JOINED. Any valid message proves it alive. The store
   * checks again, atomically with each change, that this socket still owns it.
   */
  const membership = (): MemberKey => {
    const { sessionId, peerId } = socket.data;
    if (sessionId === undefined || peerId === undefined) {
      throw new SignalingError('NOT_JOINED', 'join a session first');
    }
    liveness.touch(socket.id);
    return { sessionId, peerId, socketId: socket.id };
  };

  handle(ctx, socket, 'session:create', async (payload) => {
    takeJoinToken();
    if (!isOperator(options, socket.handshake.auth)) throw operatorRequired();
    // A non-object is a protocol error; an object with a bad config is a user mistake.
    const invalidConfig = isPlainObject(payload);
    const { config, invitations } = parsePayload(
      createSessionRequestSchema,
      payload,
      invalidConfig ? 'INVALID_CONFIG' : 'BAD_REQUEST',
      !invalidConfig,
    );
    // A model over the inline limit: its weights must be here, whole, for the peers to fetch.
    const heldIssue = await heldWeightsIssue(ctx.models, options.maxCustomModelBytes, config.customModel);
    if (heldIssue !== null) throw new SignalingError('INVALID_CONFIG', heldIssue);
    const sessionId = await store.create(config);
    const expiresAt = options.now() + options.tokenTtlMs;
    // By invitation: only the creator's host token exists; it mints one token per peer id.
    const token = invitations
      ? signHostToken(options.secret, sessionId, expiresAt)
      : signSessionToken(options.secret, sessionId, expiresAt);
    log.info('session created', { sessionId, config, invitations });
    return { reply: { sessionId, token, expiresAt, config, invitations } };
  });

  handle(ctx, socket, 'session:invite', async (payload) => {
    takeJoinToken();
    const req = parsePayload(inviteRequestSchema, payload);
    const tokenProblem = verifyHostToken(options.secret, req.sessionId, req.token, options.now());
    if (tokenProblem !== undefined)
      throw new SignalingError(
        tokenProblem,
        'only the host token of a session created with invitations invites',
      );
    if ((await store.aggregatorOf(req.sessionId)) === undefined)
      throw new SignalingError('UNKNOWN_SESSION', `no session ${req.sessionId}`, true);
    const expiresAt = options.now() + options.tokenTtlMs;
    const peerIds = req.peerIds ?? Array.from({ length: req.count ?? 1 }, () => randomId(6));
    const invitations = peerIds.map((peerId) => ({
      peerId,
      token: signInvitation(options.secret, req.sessionId, peerId, expiresAt),
    }));
    log.info('invitations minted', { sessionId: req.sessionId, peerIds });
    return { reply: { invitations, expiresAt } };
  });

  handle(ctx, socket, 'session:join', async (payload) => {
    if (socket.data.peerId !== undefined)
      throw new SignalingError('ALREADY_JOINED', 'this socket is in a session');
    takeJoinToken();
    const req = parsePayload(joinRequestSchema, payload);
    const admitted = verifyJoinToken(options.secret, req.sessionId, req.token, options.now());
    if ('problem' in admitted)
      throw new SignalingError(admitted.problem, 'cannot join with this token', true);
    // An invitation names the one id it admits.
    if (admitted.peerId !== undefined && req.peerId !== undefined && req.peerId !== admitted.peerId)
      throw new SignalingError('BAD_TOKEN', `this invitation admits peer ${admitted.peerId} only`, true);
    const room = roomOf(req.sessionId);
    // In the room before the store records the member: an announcement made after the
    // store step (by any instance) then reaches this socket. Ones that arrive before the
    // ack are already in the reply's snapshot; the ack follows the store step with no
    // await in between, so no announcement is processed in that gap.
    await socket.join(room);
    // Chosen here, so a join whose outcome a store failure hides can still be undone.
    const peerId = admitted.peerId ?? req.peerId ?? randomId(6);
    let joined;
    try {
      joined = await store.join(req.sessionId, { ...req, peerId, socketId: socket.id });
    } catch (err) {
      await socket.leave(room);
      if (!(err instanceof SignalingError)) {
        liveness.retryLater({ sessionId: req.sessionId, peerId, socketId: socket.id });
        ctx.unsettled.add(req.sessionId);
      }
      throw err;
    }
    const { peer } = joined;
    const aggregator = await withRollback(ctx, joined.aggregator);
    socket.data = { sessionId: req.sessionId, peerId: peer.peerId };
    liveness.track({ sessionId: req.sessionId, peerId: peer.peerId, socketId: socket.id });
    log.info('peer joined', { sessionId: req.sessionId, peerId: peer.peerId, kind: peer.kind, ip });
    return {
      reply: {
        sessionId: req.sessionId,
        peerId: peer.peerId,
        config: joined.config,
        peers: joined.peers,
        aggregator,
        heartbeatIntervalMs: options.heartbeatIntervalMs,
        heartbeatTimeoutMs: options.heartbeatTimeoutMs,
        serverTime: options.now(),
      },
      after: () => {
        socket.to(room).emit('peer:joined', { sessionId: req.sessionId, peer, term: aggregator.term });
        if (joined.aggregatorChanged) announceAggregator(ctx, aggregator);
      },
    };
  });

  handle(ctx, socket, 'signal', async (payload) => {
    const member = membership();
    const { to, data } = parsePayload(signalRequestSchema, payload);
    const size = jsonBytes(data);
    if (size > options.maxSignalBytes) {
      throw new SignalingError(
        'PAYLOAD_TOO_LARGE',
        `signal data is ${size} bytes, limit ${options.maxSignalBytes}`,
      );
    }
    const targetSocketId = await store.signalTarget(member, to);
    // Every socket is in a room named by its id, so the adapter finds it on any instance.
    ctx.io.to(targetSocketId).emit('signal', { from: member.peerId, data });
    return { reply: {} };
  });

  handle(ctx, socket, 'heartbeat', async (payload) => {
    const member = membership();
    const { round, stats, evaluation } = parsePayload(heartbeatSchema, payload ?? {});
    await store.heartbeat(member, round, statsWithEvaluation(stats, evaluation));
    return { reply: {} };
  });

  handle(ctx, socket, 'peer:ready', async (payload) => {
    const member = membership();
    const { ready } = parsePayload(readyRequestSchema, payload);
    let outcome;
    try {
      outcome = await store.setReady(member, ready);
    } catch (err) {
      if (!(err instanceof SignalingError)) ctx.unsettled.add(member.sessionId);
      throw err;
    }
    const announced = outcome.aggregatorChanged ? await withRollback(ctx, outcome.aggregator) : null;
    return {
      reply: {},
      after: () => {
        if (!outcome.changed) return;
        const ev = { sessionId: member.sessionId, peer: outcome.peer, term: outcome.aggregator.term };
        ctx.io.to(roomOf(member.sessionId)).emit('peer:updated', ev);
        if (announced !== null) announceAggregator(ctx, announced);
      },
    };
  });

  handle(ctx, socket, 'round:report', async (payload) => {
    const member = membership();
    const report = parsePayload(roundReportSchema, payload);
    await store.report(member, report);
    ctx.metrics.roundReported(report);
    return { reply: {} };
  });

  handle(ctx, socket, 'aggregator:unreachable', async (payload) => {
    const member = membership();
    const report = parsePayload(unreachableReportSchema, payload);
    let outcome;
    try {
      outcome = await store.reportUnreachable(
        member,
        report,
        options.unreachableReportTtlMs,
        options.maxOffences,
      );
    } catch (err) {
      if (!(err instanceof SignalingError)) ctx.unsettled.add(member.sessionId);
      throw err;
    }
    const { reports, needed, aggregatorChanged, aggregator, barred } = outcome;
    const { peerId: accused, reason } = report;
    log.debug('aggregator reported unreachable', { ...member, accused, reason, reports, needed });
    if (aggregatorChanged) {
      ctx.metrics.failover(barred ? 'faulty' : 'unreachable');
      log.warn(
        barred
          ? 'aggregator replaced and barred: reported faulty'
          : 'aggregator replaced: a majority cannot reach it',
        {
          sessionId: member.sessionId,
          replaced: accused,
          term: aggregator.term,
          aggregator: aggregator.peerId,
          reports,
        },
      );
    }
    const announced = aggregatorChanged ? await withRollback(ctx, aggregator) : null;
    return {
      reply: { reports, needed, replaced: aggregatorChanged },
      after: () => {
        if (announced !== null) announceAggregator(ctx, announced);
        // It stays a member, not ready until it catches up: everyone's view of it changes.
        if (outcome.deposed !== undefined)
          ctx.io.to(roomOf(member.sessionId)).emit('peer:updated', {
            sessionId: member.sessionId,
            peer: outcome.deposed,
            term: aggregator.term,
          });
        if (outcome.expelled) expel(ctx, member.sessionId, outcome.expelled, aggregator.term);
      },
    };
  });

  handle(ctx, socket, 'peer:report', async (payload) => {
    const member = membership();
    const report = parsePayload(peerReportSchema, payload);
    let outcome;
    try {
      outcome = await store.reportPeer(member, report, options.maxOffences);
    } catch (err) {
      if (!(err instanceof SignalingError)) ctx.unsettled.add(member.sessionId);
      throw err;
    }
    const { offences, expelled } = outcome;
    log.warn('aggregator dropped a worker for invalid frames', {
      ...member,
      worker: report.peerId,
      invalidFrames: report.count,
      offences,
    });
    return {
      reply: { offences, limit: options.maxOffences, expelled: expelled !== undefined },
      after: () => {
        if (expelled) expel(ctx, member.sessionId, expelled, report.term);
      },
    };
  });

  socket.on('disconnect', (reason) => {
    // Queued behind the socket's pending requests, so a join still in flight is undone too.
    void ctx.queues.run(socket.id, async () => {
      const { sessionId, peerId } = socket.data;
      liveness.forget(socket.id);
      if (sessionId === undefined || peerId === undefined) return;
      log.debug('socket closed', { sessionId, peerId, reason });
      try {
        await removeMember(ctx, { sessionId, peerId, socketId: socket.id }, 'disconnect');
      } catch (err) {
        log.error('cannot remove a disconnected member', { sessionId, peerId, err });
      }
    });
  });
}
