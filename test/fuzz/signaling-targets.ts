/**
 * Fuzz targets for the signaling server's inputs: the zod schema of every client -> server
 * message through the server's own parsePayload (SignalingError BAD_REQUEST, or
 * INVALID_CONFIG for a bad config), session tokens through verifySessionToken (every edit
 * is BAD_TOKEN, never an exception), and random events and payloads sent over a real
 * socket.io connection to a real server (every reply a documented code, never INTERNAL,
 * no handler error logged, the server alive at the end).
 *
 * @example
 * for (const t of signalingTargets) await checkTarget(t);
 */
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { io, type Socket } from 'socket.io-client';
import { z } from 'zod';
import {
  CLIENT_EVENT_NAMES,
  SIGNALING_ERROR_CODES,
  SignalingError,
  createSessionRequestSchema,
  heartbeatSchema,
  joinRequestSchema,
  inviteRequestSchema,
  errorReplySchema,
  peerReportSchema,
  readyRequestSchema,
  roundReportSchema,
  signalRequestSchema,
  unreachableReportSchema,
  type ClientEventName,
  type SessionConfig,
} from '../../shared/protocol/signaling.ts';
import { resolveAlgorithmOptions } from '../../shared/algorithm/index.ts';
import { algorithmSpecOf } from '../../shared/protocol/session-config.ts';
import { parsePayload } from '../../signaling/dispatch.ts';
import {
  createSignalingServer,
  signSessionToken,
  verifySessionToken,
  type SignalingServer,
} from '../../signaling/index.ts';
import { rollbackRequestSchema, snapshotsListRequestSchema } from '../../shared/protocol/operator.ts';
import { coded, describeError, FuzzCrash, invariant, target, type FuzzTarget } from './harness.ts';
import { clientMessageArb, wireValueArb } from './wire-values.ts';

/** Any reply: an error with its info, or ok with whatever fields the request returns. */
const replySchema = z.union([
  errorReplySchema,
  z.looseObject({ ok: z.literal(true), sessionId: z.string().optional(), token: z.string().optional() }),
]);

const SCHEMAS: Record<ClientEventName, z.ZodType> = {
  'session:create': createSessionRequestSchema,
  'session:join': joinRequestSchema,
  'session:invite': inviteRequestSchema,
  signal: signalRequestSchema,
  heartbeat: heartbeatSchema,
  'peer:ready': readyRequestSchema,
  'round:report': roundReportSchema,
  'aggregator:unreachable': unreachableReportSchema,
  'peer:report': peerReportSchema,
  'snapshots:list': snapshotsListRequestSchema,
  'session:rollback': rollbackRequestSchema,
};

function isPlainObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Whether a peer can build its algorithm from a session config (client/roles/peer.ts does this at start). */
function peersCanRun(config: SessionConfig): boolean {
  try {
    resolveAlgorithmOptions(algorithmSpecOf(config));
    return true;
  } catch {
    return false;
  }
}

function schemaTarget(event: ClientEventName): FuzzTarget {
  const schema = SCHEMAS[event];
  return target({
    name: `signaling.${event}`,
    description: `near-valid and random ${event} payloads through the server's zod validation`,
    arbitrary: clientMessageArb(event, true),
    run(payload) {
      // The server's policy (handlers.ts): a bad config inside an object is INVALID_CONFIG.
      const code = event === 'session:create' && isPlainObject(payload) ? 'INVALID_CONFIG' : 'BAD_REQUEST';
      let runnable = true;
      const label = coded(
        () => {
          const parsed: unknown = parsePayload(
            schema,
            event === 'heartbeat' ? (payload ?? {}) : payload,
            code,
          );
          const again = schema.safeParse(parsed);
          invariant(again.success, 'an accepted payload passes its schema again');
          invariant(isDeepStrictEqual(again.data, parsed), 'validation is idempotent');
          if (event === 'session:create')
            runnable = peersCanRun(createSessionRequestSchema.parse(parsed).config);
        },
        SignalingError,
        [code],
      );
      // Not a crash: the server accepts the config, but every peer would refuse it at start.
      return label === 'ok' && !runnable ? 'ok:peers-refuse-config' : label;
    },
    fast: 500,
    full: 5000,
    mustSee: ['ok'],
  });
}

const SECRET = Buffer.from('fuzzing secret, at least sixteen bytes long');
const OTHER_SECRET = Buffer.from('another secret, also long enough!');

type TokenEdit =
  | { kind: 'none' }
  | { kind: 'char'; at: number; char: string }
  | { kind: 'append'; text: string }
  | { kind: 'truncate'; at: number }
  | { kind: 'random'; text: string }
  | { kind: 'other-session' }
  | { kind: 'other-secret' }
  | { kind: 'expiry'; expiresAt: number };

const tokenEditArb: fc.Arbitrary<TokenEdit> = fc.oneof(
  fc.constant({ kind: 'none' as const }),
  fc.record({
    kind: fc.constant('char' as const),
    at: fc.nat(),
    char: fc.string({ minLength: 1, maxLength: 1 }),
  }),
  fc.record({ kind: fc.constant('append' as const), text: fc.string({ minLength: 1, maxLength: 4 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant('random' as const),
    text: fc.oneof(fc.string({ maxLength: 80 }), fc.stringMatching(/^\d{1,17}\.[A-Za-z0-9_=+/-]{42,44}$/)),
  }),
  fc.constant({ kind: 'other-session' as const }),
  fc.constant({ kind: 'other-secret' as const }),
  fc.record({ kind: fc.constant('expiry' as const), expiresAt: fc.nat({ max: 2 ** 50 }) }),
);

function editToken(token: string, edit: TokenEdit, sessionId: string, expiresAt: number): string {
  switch (edit.kind) {
    case 'none':
      return token;
    case 'char': {
      const at = edit.at % token.length;
      return token.slice(0, at) + edit.char + token.slice(at + 1);
    }
    case 'append':
      return token + edit.text;
    case 'truncate':
      return token.slice(0, edit.at % token.length);
    case 'random':
      return edit.text;
    case 'other-session':
      return signSessionToken(SECRET, `${sessionId}x`, expiresAt);
    case 'other-secret':
      return signSessionToken(OTHER_SECRET, sessionId, expiresAt);
    case 'expiry': // a new expiry with the old signature: a replay with extended validity
      return `${edit.expiresAt}.${token.split('.')[1] ?? ''}`;
    default: {
      const unreachable: never = edit;
      throw new Error(`unknown edit ${JSON.stringify(unreachable)}`);
    }
  }
}

const tokenTarget = target({
  name: 'signaling.token',
  description:
    'session tokens edited (characters, length, expiry, session, secret) through verifySessionToken',
  arbitrary: fc.record({
    sessionId: fc.stringMatching(/^[A-Za-z0-9_-]{8,64}$/),
    expiresAt: fc.nat({ max: 2 ** 45 }),
    now: fc.nat({ max: 2 ** 45 }),
    edit: tokenEditArb,
  }),
  run({ sessionId, expiresAt, now, edit }) {
    const token = signSessionToken(SECRET, sessionId, expiresAt);
    const edited = editToken(token, edit, sessionId, expiresAt);
    let verdict: string | undefined;
    try {
      verdict = verifySessionToken(SECRET, sessionId, edited, now);
    } catch (error) {
      throw new FuzzCrash(`verifySessionToken threw ${describeError(error)}`);
    }
    const genuine = edited === token;
    const expected = genuine ? (now < expiresAt ? undefined : 'TOKEN_EXPIRED') : 'BAD_TOKEN';
    invariant(verdict === expected, `token ${JSON.stringify(edited)} gave ${verdict}, expected ${expected}`);
    return verdict ?? 'ok';
  },
  fast: 1000,
  full: 6000,
  mustSee: ['ok', 'BAD_TOKEN', 'TOKEN_EXPIRED'],
});

// ---------------------------------------------------------------------------- real sockets

interface SocketFuzzState {
  server: SignalingServer;
  url: string;
  session: { sessionId: string; token: string };
  joined: Socket | null;
  fresh: Socket | null;
  loggedErrors: string[];
}

let state: SocketFuzzState | null = null;

async function connect(url: string): Promise<Socket> {
  const socket = io(url, { transports: ['websocket'], forceNew: true, reconnection: false });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', (error) => reject(error));
  });
  // Error events (failures without an ack) are expected; just keep them from being unhandled.
  socket.on('error', () => {});
  return socket;
}

async function joinedSocket(s: SocketFuzzState): Promise<Socket> {
  if (s.joined?.connected === true) return s.joined;
  s.joined?.disconnect();
  const socket = await connect(s.url);
  const reply = replySchema.parse(
    await socket.timeout(5000).emitWithAck('session:join', { ...s.session, kind: 'headless' }),
  );
  if (!reply.ok) throw new Error(`fuzz setup: join refused with ${reply.error.code}`);
  s.joined = socket;
  return socket;
}

async function freshSocket(s: SocketFuzzState): Promise<Socket> {
  if (s.fresh?.connected === true) return s.fresh;
  s.fresh?.disconnect();
  s.fresh = await connect(s.url);
  return s.fresh;
}

type SocketInput =
  | { kind: 'emit'; joined: boolean; event: ClientEventName; payload: unknown; extraArgs: unknown[] }
  | { kind: 'raw'; joined: boolean; packet: string };

const RESERVED_OR_UNKNOWN = [
  'hack',
  'connect',
  'connect_error',
  'disconnect',
  'disconnecting',
  'newListener',
  'removeListener',
  '__proto__',
  'error',
  '',
];

const socketInputArb: fc.Arbitrary<SocketInput> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .record({
        joined: fc.boolean(),
        event: fc.constantFrom(...CLIENT_EVENT_NAMES),
        extraArgs: fc.array(wireValueArb, { maxLength: 2 }),
      })
      .chain(({ joined, event, extraArgs }) =>
        clientMessageArb(event).map((payload) => ({
          kind: 'emit' as const,
          joined,
          event,
          payload,
          extraArgs,
        })),
      ),
  },
  {
    // Packets a socket.io client library would never send: reserved or unknown event names,
    // broken JSON, other packet types, a binary-event header without attachments.
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('raw' as const),
      joined: fc.boolean(),
      packet: fc.oneof(
        fc
          .tuple(
            fc.oneof(fc.constantFrom(...RESERVED_OR_UNKNOWN), fc.constantFrom(...CLIENT_EVENT_NAMES)),
            wireValueArb,
          )
          .map(([event, payload]) => `2${JSON.stringify([event, payload])}`),
        fc
          .tuple(
            fc.constantFrom('0', '1', '2', '3', '4', '5', '6', '7', '9', '21', '51-'),
            fc.string({ maxLength: 60 }),
          )
          .map(([t, rest]) => t + rest),
        fc.constantFrom(
          '2[',
          '2{}',
          '2[]',
          '2[1,2]',
          '2["signal"',
          '51-["signal",{"_placeholder":true,"num":0}]',
          '2/other,["signal",{}]',
          '0/admin,',
        ),
      ),
    }),
  },
);

/** Writes a raw socket.io packet and tells what the server did: an error code, CLOSED or IGNORED. */
async function rawOutcome(socket: Socket, packet: string): Promise<string> {
  const errors: string[] = [];
  const onError = (ev: unknown): void => {
    const parsed = z.object({ code: z.string() }).safeParse(ev);
    errors.push(parsed.success ? parsed.data.code : 'MALFORMED_ERROR_EVENT');
  };
  socket.on('error', onError);
  let onDisconnect: () => void = () => {};
  const closed = new Promise<'closed'>((resolve) => {
    onDisconnect = () => resolve('closed');
    socket.once('disconnect', onDisconnect);
  });
  try {
    socket.io.engine.write(packet);
    // The server handles a socket's packets in order: the probe's reply comes after the verdict.
    const probe = socket
      .timeout(5000)
      .emitWithAck('heartbeat', {})
      .then(() => 'alive' as const);
    probe.catch(() => {}); // rejects once the socket closed; the race tells
    // A DISCONNECT packet ("1") is the client leaving: the server drops the socket without a word.
    if (packet.startsWith('1')) {
      socket.disconnect();
      return 'LEFT';
    }
    const result = await Promise.race([probe, closed]);
    const [code] = errors;
    if (code !== undefined) {
      invariant(
        SIGNALING_ERROR_CODES.some((c) => c === code),
        `documented code ${code}`,
      );
      return code;
    }
    return result === 'closed' ? 'CLOSED' : 'IGNORED';
  } finally {
    socket.off('error', onError);
    socket.off('disconnect', onDisconnect);
  }
}

const socketTarget = target({
  name: 'signaling.socket',
  description: 'random events and payloads over real socket.io connections to a real server',
  arbitrary: socketInputArb,
  async setup() {
    const loggedErrors: string[] = [];
    const record = (message: string, fields?: Record<string, unknown>): void => {
      loggedErrors.push(`${message} ${describeError(fields?.['err'])}`);
    };
    const server = createSignalingServer({
      logger: { debug: () => {}, info: () => {}, warn: () => {}, error: record },
      joinRateLimit: { perSecond: 1e6, burst: 1e6 },
      messageRateLimit: { perSecond: 1e6, burst: 1e6 },
      maxSessions: 1e6,
      // The campaign keeps one unjoined socket open throughout (not-joined paths).
      joinTimeoutMs: 3_600_000,
    });
    const url = await server.start({ port: 0 });
    const creator = await connect(url);
    const created = replySchema.parse(
      await creator.timeout(5000).emitWithAck('session:create', { config: {} }),
    );
    creator.disconnect();
    if (!created.ok || created.sessionId === undefined || created.token === undefined)
      throw new Error('fuzz setup: cannot create a session');
    const s: SocketFuzzState = {
      server,
      url,
      session: { sessionId: created.sessionId, token: created.token },
      joined: null,
      fresh: null,
      loggedErrors,
    };
    state = s;
    return async () => {
      s.joined?.disconnect();
      s.fresh?.disconnect();
      state = null;
      // The server survived everything: a new client still gets a session.
      const check = await connect(url);
      const reply = replySchema.parse(await check.timeout(5000).emitWithAck('session:create', {}));
      check.disconnect();
      await server.stop();
      if (!reply.ok) throw new Error('the server no longer creates sessions after the fuzzing');
    };
  },
  async runAsync(input) {
    const s = state;
    if (s === null) throw new Error('socket target used without setup');
    const socket = input.joined ? await joinedSocket(s) : await freshSocket(s);
    if (input.kind === 'raw') {
      const label = await rawOutcome(socket, input.packet);
      invariant(s.loggedErrors.length === 0, `server logged an error: ${s.loggedErrors.join('; ')}`);
      invariant(label !== 'INTERNAL', `raw packet caused an INTERNAL error`);
      return label;
    }
    const { event, payload, extraArgs } = input;
    let reply: unknown;
    try {
      reply = await socket.timeout(5000).emitWithAck(event, payload, ...extraArgs);
    } catch (error) {
      throw new FuzzCrash(`no reply to ${event}: ${describeError(error)}`);
    }
    const parsed = replySchema.safeParse(reply);
    invariant(parsed.success, `reply ${JSON.stringify(reply)?.slice(0, 200)} is a Reply`);
    invariant(s.loggedErrors.length === 0, `server logged an error: ${s.loggedErrors.join('; ')}`);
    if (parsed.data.ok) return 'ok';
    const { code } = parsed.data.error;
    invariant(code !== 'INTERNAL', `${event} caused an INTERNAL error`);
    invariant(SIGNALING_ERROR_CODES.includes(code), `documented code ${code}`);
    return code;
  },
  fast: 150,
  full: 3000,
  mustSee: ['ok', 'BAD_REQUEST', 'CLOSED'],
});

export const signalingTargets: readonly FuzzTarget[] = [
  ...CLIENT_EVENT_NAMES.map(schemaTarget),
  tokenTarget,
  socketTarget,
];
