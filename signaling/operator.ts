/**
 * The operator's side of the server (shared/protocol/operator.ts): who is an operator (the
 * socket handshake's `auth.operatorToken`, or `Authorization: Bearer` over HTTP, compared
 * in constant time with the configured token; everyone when none is configured), and the
 * two requests relayed to a session's aggregator, `snapshots:list` and `session:rollback`.
 * The relay finds the aggregator's socket through the adapter (any instance, with Redis),
 * waits operatorRelayTimeoutMs for its answer, and checks the answer like any untrusted
 * input.
 *
 * @example
 * if (!isOperator(ctx.options, socket.handshake.auth)) throw operatorRequired();
 * attachOperatorHandlers(ctx, socket);
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import {
  aggregatorAnswerSchema,
  operatorAuthSchema,
  rollbackRequestSchema,
  snapshotsListRequestSchema,
  type AggregatorAnswer,
  type SnapshotsOk,
} from '../shared/protocol/operator.ts';
import { SignalingError } from '../shared/protocol/signaling.ts';
import {
  announceAggregator,
  roomOf,
  withRollback,
  type ServerContext,
  type SignalingSocket,
} from './context.ts';
import { handle, parsePayload } from './dispatch.ts';
import type { ResolvedOptions } from './options.ts';

/** Constant-time comparison of two secrets of any length (their hashes are compared). */
function sameSecret(given: string, expected: string): boolean {
  const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/** Whether a socket's handshake `auth` carries the operator token (always, in open mode). */
export function isOperator(options: Pick<ResolvedOptions, 'operatorToken'>, auth: unknown): boolean {
  if (options.operatorToken === undefined) return true;
  const parsed = operatorAuthSchema.safeParse(auth);
  const given = parsed.success ? parsed.data.operatorToken : undefined;
  return given !== undefined && sameSecret(given, options.operatorToken);
}

/** Whether an HTTP request carries `Authorization: Bearer <operator token>` (always, in open mode). */
export function isOperatorRequest(
  options: Pick<ResolvedOptions, 'operatorToken'>,
  req: IncomingMessage,
): boolean {
  if (options.operatorToken === undefined) return true;
  const match = /^Bearer (\S{1,512})$/.exec(req.headers.authorization ?? '');
  return match?.[1] !== undefined && sameSecret(match[1], options.operatorToken);
}

export function operatorRequired(): SignalingError {
  return new SignalingError('OPERATOR_REQUIRED', 'this needs the operator token');
}

/** Installs `snapshots:list` and `session:rollback` on a socket (refused unless it is an operator's). */
export function attachOperatorHandlers(ctx: ServerContext, socket: SignalingSocket): void {
  const requireOperator = (): void => {
    if (!isOperator(ctx.options, socket.handshake.auth)) throw operatorRequired();
  };

  handle(ctx, socket, 'snapshots:list', async (payload) => {
    requireOperator();
    const { sessionId } = parsePayload(snapshotsListRequestSchema, payload, 'BAD_REQUEST', false);
    const reply = await relay(ctx, sessionId, (to, term) =>
      to.emitWithAck('snapshots:query', { sessionId, term }),
    );
    return { reply };
  });

  handle(ctx, socket, 'session:rollback', async (payload) => {
    requireOperator();
    const { sessionId, round } = parsePayload(rollbackRequestSchema, payload, 'BAD_REQUEST', false);
    const reply = await relay(ctx, sessionId, (to, term) =>
      to.emitWithAck('snapshot:rollback', { sessionId, term, round }),
    );
    ctx.log.warn('session rolled back by an operator', {
      sessionId,
      round,
      aggregator: reply.aggregatorId,
      continuesAt: reply.continuesAt,
    });
    if (reply.continuesAt !== undefined) {
      // Announced with every aggregator from now on (RollbackMark); one already elected in the
      // meantime hears it again, with the same term.
      await ctx.store.recordRollback(sessionId, { round, continuesAt: reply.continuesAt });
      const current = await ctx.store.aggregatorOf(sessionId);
      if (current !== undefined && current.peerId !== reply.aggregatorId)
        announceAggregator(ctx, await withRollback(ctx, current));
    }
    return { reply };
  });
}

type RelayTarget = ReturnType<ReturnType<ServerContext['io']['to']>['timeout']>;

/** Asks the session's current aggregator; its answer, checked, as the operator's reply fields. */
async function relay(
  ctx: ServerContext,
  sessionId: string,
  ask: (to: RelayTarget, term: number) => Promise<unknown[]>,
): Promise<Omit<SnapshotsOk, 'ok'>> {
  const state = await ctx.store.aggregatorOf(sessionId);
  if (state === undefined) throw new SignalingError('UNKNOWN_SESSION', 'no such session');
  const aggregatorId = state.peerId;
  if (aggregatorId === null) throw new SignalingError('NO_AGGREGATOR', 'the session has no aggregator now');
  const sockets = await ctx.io.in(roomOf(sessionId)).fetchSockets();
  const target = sockets.find((s) => s.data.peerId === aggregatorId && s.data.sessionId === sessionId);
  if (target === undefined) throw new SignalingError('NO_AGGREGATOR', 'the aggregator is not connected');
  let answers: unknown[];
  try {
    answers = await ask(ctx.io.to(target.id).timeout(ctx.options.operatorRelayTimeoutMs), state.term);
  } catch {
    throw new SignalingError('TIMEOUT', `no answer from aggregator ${aggregatorId}`);
  }
  const parsed = aggregatorAnswerSchema.safeParse(answers[0]);
  if (!parsed.success) throw new SignalingError('BAD_REPLY', `aggregator ${aggregatorId} answered nonsense`);
  const answer: AggregatorAnswer = parsed.data;
  if (!answer.ok) {
    const code = answer.code === 'UNKNOWN_SNAPSHOT' ? 'UNKNOWN_SNAPSHOT' : 'NO_AGGREGATOR';
    throw new SignalingError(code, answer.message.slice(0, 512));
  }
  return {
    sessionId,
    aggregatorId,
    term: state.term,
    snapshots: answer.snapshots,
    ...(answer.continuesAt === undefined ? {} : { continuesAt: answer.continuesAt }),
  };
}
