/**
 * The guard in front of every socket's handlers: a per-socket message rate limit (with a
 * budget of rejections before the socket is dropped), refusal of unknown events, and a
 * wrapper that turns a handler's result or SignalingError into the ack reply or an `error`
 * event. Handlers may be async (the session store may be Redis); a socket's requests run
 * one at a time in arrival order (SocketQueues). No exception ever leaves a listener.
 *
 * @example
 * guardSocket(ctx, socket);
 * handle(ctx, socket, 'signal', async (payload) => ({ reply: {} }));
 */
import { z } from 'zod';
import {
  CLIENT_EVENT_NAMES,
  SignalingError,
  type ClientEventName,
  type ErrorInfo,
  type SignalingErrorCode,
} from '../shared/protocol/signaling.ts';
import { sendFailure, type ServerContext, type SignalingSocket } from './context.ts';
import { TokenBucket } from './rate-limit.ts';

/** What a handler returns: fields of the success reply, and work to do after replying. */
export interface Outcome {
  reply?: Record<string, unknown>;
  /** Runs after the ack is sent, so the requester sees its reply before any broadcast. */
  after?: () => void;
}

type Ack = (reply: unknown) => void;

/** Refusals counted in the metrics: joins and operator requests (refused creates are an attack's trace). */
const COUNTED_REFUSALS: ReadonlySet<ClientEventName> = new Set([
  'session:create',
  'session:join',
  'snapshots:list',
  'session:rollback',
]);

function splitArgs(args: unknown[]): { payload: unknown; ack: Ack | undefined } {
  const last = args[args.length - 1];
  if (typeof last !== 'function') return { payload: args[0], ack: undefined };
  const ack: Ack = (reply) => {
    last(reply);
  };
  return { payload: args.length > 1 ? args[0] : undefined, ack };
}

function isClientEvent(event: unknown): event is ClientEventName {
  return CLIENT_EVENT_NAMES.some((name) => name === event);
}

/** Validates a payload, or throws SignalingError(code) with zod's explanation. */
export function parsePayload<S extends z.ZodType>(
  schema: S,
  payload: unknown,
  code: SignalingErrorCode = 'BAD_REQUEST',
  fatal = true,
): z.output<S> {
  const result = schema.safeParse(payload);
  if (result.success) return result.data;
  throw new SignalingError(code, z.prettifyError(result.error).slice(0, 900), fatal);
}

function toErrorInfo(ctx: ServerContext, event: string, err: unknown): ErrorInfo {
  if (err instanceof SignalingError) return err.toInfo();
  ctx.log.error('handler failed', { event, err });
  return { code: 'INTERNAL', message: 'internal error', fatal: false };
}

/** Installs the rate limit and the unknown-event check; call once per connection. */
export function guardSocket(ctx: ServerContext, socket: SignalingSocket): void {
  const { messageRateLimit, violationLimit, now } = ctx.options;
  const messages = new TokenBucket(messageRateLimit, now);
  const violations = new TokenBucket(violationLimit, now);
  let warnedSinceLastAccepted = false;
  socket.use((packet, next) => {
    const [event, ...args] = packet;
    const eventName = typeof event === 'string' ? event : '?';
    const { ack } = splitArgs(args);
    if (!messages.take()) {
      const persistent = !violations.take();
      if (persistent) ctx.log.warn('socket dropped for flooding', { socketId: socket.id });
      // Without an ack, one error event per streak: answering every flooded message would amplify it.
      if (persistent || ack !== undefined || !warnedSinceLastAccepted) {
        const info = { code: 'RATE_LIMITED', message: 'too many messages', fatal: persistent } as const;
        sendFailure(socket, eventName, info, ack);
      }
      warnedSinceLastAccepted = true;
      return;
    }
    warnedSinceLastAccepted = false;
    if (!isClientEvent(event)) {
      sendFailure(socket, eventName, { code: 'BAD_REQUEST', message: 'unknown event', fatal: true }, ack);
      return;
    }
    next();
  });
}

/** Registers a handler for one client event, with the reply/failure plumbing around it. */
export function handle(
  ctx: ServerContext,
  socket: SignalingSocket,
  event: ClientEventName,
  handler: (payload: unknown) => Promise<Outcome | undefined>,
): void {
  socket.on(event, (...args: unknown[]) => {
    const { payload, ack } = splitArgs(args);
    void ctx.queues.run(socket.id, async () => {
      let outcome: Outcome | undefined;
      try {
        outcome = await handler(payload);
      } catch (err) {
        const info = toErrorInfo(ctx, event, err);
        ctx.log.debug('request refused', { event, socketId: socket.id, ...info });
        if (COUNTED_REFUSALS.has(event)) ctx.metrics.refusedRequest(event, info.code);
        sendFailure(socket, event, info, ack);
        return;
      }
      // No await between the handler's result and the ack: see the join handler.
      ack?.({ ok: true, ...outcome?.reply });
      try {
        outcome?.after?.();
      } catch (err) {
        ctx.log.error('after-reply step failed', { event, err });
      }
    });
  });
}
