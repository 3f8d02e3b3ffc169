/**
 * The signaling protocol between peers and the signaling server (socket.io): zod schemas
 * for every message, the inferred types, and the typed event maps that both the server
 * (`Server<ClientToServerEvents, ServerToClientEvents>`) and the client use.
 *
 * Flow: `session:create` -> { sessionId, token }; each peer `session:join`s with the token
 * and gets its peerId, the config, the members and the current aggregator; peers relay
 * WebRTC offers/answers/candidates to each other with `signal`; they send `heartbeat`
 * regularly, announce `peer:ready` when they can serve as aggregator, and the aggregator
 * sends `round:report` after each round. A worker that hears nothing from its aggregator on
 * the data channels says so with `aggregator:unreachable`; when a majority of the other
 * ready members have, the server replaces it (a new term). The aggregator names a worker it
 * dropped for invalid frames with `peer:report`; a peer that reaches the server's offence
 * limit is expelled (`expelled`, then its socket closes; its id cannot join again). The server broadcasts `peer:joined`, `peer:left`,
 * `peer:updated` and `aggregator` to the session. Requests are acknowledged with a
 * `Reply` ({ ok: true, ... } or { ok: false, error }); problems without an ack callback
 * arrive as an `error` event. An error with `fatal: true` means the server closes the
 * socket right after sending it.
 *
 * Aggregator election: the server is the single authority. The term increases on every
 * change of aggregator (including to none); every role-related message carries it, and a
 * peer obeys only the aggregator of the highest term it has seen. Besides membership and
 * readiness, `aggregator:unreachable` reports move it: see signaling/sessions.ts
 * (reportUnreachable) for the count.
 *
 * @example
 * const reply = await socket.emitWithAck('session:join', { sessionId, token, kind: 'headless' });
 * if (reply.ok) console.log(reply.peerId, reply.aggregator.term);
 */
import { z } from 'zod';
import type {
  AggregatorAnswer,
  RollbackCommand,
  RollbackRequest,
  SnapshotsListRequest,
  SnapshotsOk,
  SnapshotsQuery,
} from './operator.ts';
import { sessionConfigSchema } from './session-config.ts';

export {
  DEFAULT_SESSION_CONFIG,
  parseSessionConfig,
  sessionConfigSchema,
  type SessionConfig,
  type SessionConfigInput,
} from './session-config.ts';

/** Bumped on any incompatible change of the messages below. */
export const SIGNALING_PROTOCOL_VERSION = 1;

// ---------------------------------------------------------------------------- errors

/** Stable failure codes; tests and callers branch on these, never on message text. */
export const SIGNALING_ERROR_CODES = [
  'BAD_REQUEST', // payload failed validation, or unknown event (fatal)
  'INVALID_CONFIG', // session:create with an invalid config
  'UNKNOWN_SESSION', // valid token but the session does not exist (fatal on join)
  'BAD_TOKEN', // token not signed by this server for this session (fatal)
  'TOKEN_EXPIRED', // token past its expiry (fatal)
  'NOT_JOINED', // a session message before a successful join
  'ALREADY_JOINED', // a second join on the same socket
  'PEER_ID_TAKEN', // requested peerId is used by a live peer of the session
  'SESSION_FULL', // the session reached its peer limit
  'TOO_MANY_SESSIONS', // the server reached its session limit
  'UNKNOWN_PEER', // signal to a peer that is not in the sender's session
  'PAYLOAD_TOO_LARGE', // signal data over the server's size limit
  'RATE_LIMITED', // too many messages or joins; fatal when it persists
  'NOT_AGGREGATOR', // round:report from a peer that is not the aggregator; aggregator:unreachable naming one
  'STALE_TERM', // a message carrying a term other than the current one (or another aggregator than its own)
  'STALE_ROUND', // round:report with a round below the last reported one, or after the last round
  'HEARTBEAT_TIMEOUT', // no heartbeat within the server's timeout (fatal)
  'INTERNAL', // a bug on the server; the server keeps running
  'OPERATOR_REQUIRED', // an operator's request (create, snapshots, rollback) without the operator token
  'NO_AGGREGATOR', // snapshots:list or session:rollback while the session has no aggregator
  'UNKNOWN_SNAPSHOT', // session:rollback to a round the aggregator keeps no snapshot of
  'EXPELLED', // join with the id of a peer expelled from the session for repeated offences (fatal)
  // Raised by the client wrapper only:
  'TIMEOUT', // no reply within the request timeout
  'DISCONNECTED', // the socket is not connected, or closed during the request
  'ABORTED', // the caller's AbortSignal fired
  'BAD_REPLY', // the server sent something that fails validation
] as const;
export const signalingErrorCodeSchema = z.enum(SIGNALING_ERROR_CODES);
export type SignalingErrorCode = z.infer<typeof signalingErrorCodeSchema>;

export const errorInfoSchema = z.object({
  code: signalingErrorCodeSchema,
  message: z.string().max(1024),
  /** True when the server closes the socket right after this error. */
  fatal: z.boolean(),
});
export type ErrorInfo = z.infer<typeof errorInfoSchema>;

/** A failure with a stable code, on the server and in the client wrapper. */
export class SignalingError extends Error {
  readonly code: SignalingErrorCode;
  readonly fatal: boolean;
  /** The message without the code prefix, as sent on the wire. */
  readonly detail: string;
  constructor(code: SignalingErrorCode, detail: string, fatal = false) {
    super(`${code}: ${detail}`);
    this.name = 'SignalingError';
    this.code = code;
    this.fatal = fatal;
    this.detail = detail;
  }
  static fromInfo(info: ErrorInfo): SignalingError {
    return new SignalingError(info.code, info.message, info.fatal);
  }
  toInfo(): ErrorInfo {
    return { code: this.code, message: this.detail, fatal: this.fatal };
  }
}

// ---------------------------------------------------------------------------- shared pieces

export const peerIdSchema = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'peerId: 1-64 of [A-Za-z0-9_-]');
export const sessionIdSchema = z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, 'sessionId: 8-64 of [A-Za-z0-9_-]');
export const tokenSchema = z.string().min(1).max(512);
export const peerKindSchema = z.enum(['browser', 'headless']);
export type PeerKind = z.infer<typeof peerKindSchema>;
export const peerRoleSchema = z.enum(['aggregator', 'worker']);
export type PeerRole = z.infer<typeof peerRoleSchema>;

const MAX_RECORD_KEYS = 32;
const boundedKeys = (o: object): boolean => Object.keys(o).length <= MAX_RECORD_KEYS;

/** Free-form facts a peer states about itself (backend, cores, ...): flat and small. */
export const capabilitiesSchema = z
  .record(z.string().max(64), z.union([z.string().max(256), z.number(), z.boolean()]))
  .refine(boundedKeys, `at most ${MAX_RECORD_KEYS} keys`);
export type Capabilities = z.infer<typeof capabilitiesSchema>;

/** Named finite numbers (bytes sent, loss, ...), as a peer or the aggregator reports them. */
export const numericStatsSchema = z
  .record(z.string().max(64), z.number())
  .refine(boundedKeys, `at most ${MAX_RECORD_KEYS} keys`);
export type NumericStats = z.infer<typeof numericStatsSchema>;

export const termSchema = z.number().int().nonnegative();
export const roundSchema = z.number().int().nonnegative();

export const peerInfoSchema = z.object({
  peerId: peerIdSchema,
  kind: peerKindSchema,
  role: peerRoleSchema,
  /** Announced with `peer:ready`: able to serve as aggregator. */
  ready: z.boolean(),
  capabilities: capabilitiesSchema,
  /** Server time (ms since epoch) of the join. */
  connectedAt: z.number(),
});
export type PeerInfo = z.infer<typeof peerInfoSchema>;

/**
 * The last operator rollback the session's aggregator acknowledged: the snapshot's round, and
 * the round from which every peer continues on it. The server announces it with every new
 * aggregator, so that one elected before the rolled-back model reached it (a failover right
 * after the rollback) applies the rollback again from its own snapshot (snapshots.ts).
 */
export const rollbackMarkSchema = z.object({ round: roundSchema, continuesAt: roundSchema });
export type RollbackMark = z.infer<typeof rollbackMarkSchema>;

/** Who aggregates, under which term, and the last round the aggregators reported done. */
export const aggregatorStateSchema = z.object({
  sessionId: sessionIdSchema,
  /** null while no live peer is ready to aggregate. */
  peerId: peerIdSchema.nullable(),
  term: termSchema,
  /** Last completed round reported with round:report (0 before any); continue from lastRound + 1. */
  lastRound: roundSchema,
  /** In announcements (`aggregator`): the session's last rollback, if it had one. */
  rollback: rollbackMarkSchema.optional(),
});
export type AggregatorState = z.infer<typeof aggregatorStateSchema>;

// ---------------------------------------------------------------------------- client -> server

export const createSessionRequestSchema = z.object({
  config: sessionConfigSchema.prefault({}),
  /**
   * Joins by invitation only: the reply's token is the creator's host token (signaling/token.ts),
   * no token open to anyone exists, and session:invite mints one token per peer id.
   */
  invitations: z.boolean().default(false),
});
export type CreateSessionRequest = z.input<typeof createSessionRequestSchema>;

/** Most invitations one session:invite mints. */
export const MAX_INVITATIONS_PER_REQUEST = 256;

/** Invitations to a session created with `invitations`: `count` new peer ids, or the ids named. */
export const inviteRequestSchema = z
  .object({
    sessionId: sessionIdSchema,
    /** The host token session:create replied with. */
    token: tokenSchema,
    count: z.number().int().min(1).max(MAX_INVITATIONS_PER_REQUEST).optional(),
    peerIds: z.array(peerIdSchema).min(1).max(MAX_INVITATIONS_PER_REQUEST).optional(),
  })
  .refine((r) => (r.count === undefined) !== (r.peerIds === undefined), 'give count or peerIds, not both');
export type InviteRequest = z.input<typeof inviteRequestSchema>;

export const joinRequestSchema = z.object({
  sessionId: sessionIdSchema,
  token: tokenSchema,
  /** A requested id (e.g. when rejoining); the server assigns one when absent. */
  peerId: peerIdSchema.optional(),
  kind: peerKindSchema,
  capabilities: capabilitiesSchema.default({}),
  /** Same as sending peer:ready { ready: true } right after joining. */
  ready: z.boolean().default(false),
});
export type JoinRequest = z.input<typeof joinRequestSchema>;

/** Opaque WebRTC signaling data (SDP or ICE); the server checks only its encoded size. */
export const signalRequestSchema = z.object({
  to: peerIdSchema,
  data: z.unknown().refine((d) => d !== undefined, 'data is required'),
});
export type SignalRequest = z.input<typeof signalRequestSchema>;

/** Largest evaluation set a peer may claim: its weight in the session's mean is bounded. */
export const MAX_EVALUATION_SAMPLES = 100_000_000;

/**
 * A peer's accuracy of the model it holds on its own examples (csv and images tasks): its
 * validation part, or the test set the session names (`set: 'test'`). The session's accuracy
 * is the mean of these weighted by `samples` (signaling/session-accuracy.ts).
 */
export const evaluationReportSchema = z.object({
  accuracy: z.number().min(0).max(1),
  samples: z.number().int().min(1).max(MAX_EVALUATION_SAMPLES),
  /** The round of the model evaluated. */
  round: roundSchema.optional(),
  /** @default 'validation' */
  set: z.enum(['validation', 'test']).optional(),
  /** The peer's last report: of the model it ends the session with (peers wait for these). */
  final: z.boolean().optional(),
});
export type EvaluationReport = z.infer<typeof evaluationReportSchema>;

/** Stats keys the server keeps an evaluation under (so every store keeps it as it keeps stats). */
export const EVALUATION_STAT_KEYS = 5;

export const heartbeatSchema = z
  .object({
    /** The round the peer is in, if training. */
    round: roundSchema.optional(),
    stats: numericStatsSchema.optional(),
    /** Absent from older peers and before a peer has evaluated a model. */
    evaluation: evaluationReportSchema.optional(),
  })
  .refine(
    (h) =>
      h.evaluation === undefined ||
      Object.keys(h.stats ?? {}).length <= MAX_RECORD_KEYS - EVALUATION_STAT_KEYS,
    `with an evaluation, at most ${MAX_RECORD_KEYS - EVALUATION_STAT_KEYS} stats keys`,
  );
export type Heartbeat = z.input<typeof heartbeatSchema>;

export const readyRequestSchema = z.object({ ready: z.boolean() });
export type ReadyRequest = z.input<typeof readyRequestSchema>;

export const roundReportSchema = z.object({
  term: termSchema,
  round: roundSchema,
  /** Peers whose updates the round used. */
  participants: z.array(peerIdSchema).max(4096),
  /** Bytes of this round on the wire, summed over peers, per direction. */
  bytes: z.object({ up: z.number().nonnegative(), down: z.number().nonnegative() }),
  durationMs: z.number().nonnegative().optional(),
  /** Anything else worth showing (loss, accuracy, drift, late updates, ...). */
  metrics: numericStatsSchema.optional(),
});
export type RoundReport = z.input<typeof roundReportSchema>;

export const aggregatorFaultSchema = z.enum(['silent', 'faulty', 'stalled']);
export type AggregatorFault = z.infer<typeof aggregatorFaultSchema>;

/**
 * A member cannot hear the aggregator of `term` on its data channel (nothing for
 * settings.aggregatorSilenceMs, client/roles/link-liveness.ts). Sent again while it lasts;
 * the server counts each member once per term, for a limited time (unreachableReportTtlMs).
 */
export const unreachableReportSchema = z.object({
  term: termSchema,
  /** The aggregator of that term, as the reporter knows it. */
  peerId: peerIdSchema,
  /**
   * Why: `silent` (nothing on the link), `faulty` (the reporter disconnected it for invalid
   * frames) or `stalled` (it answers but closes no round). A replacement with any report of
   * the last two bars the aggregator from the role for the rest of the session.
   */
  reason: aggregatorFaultSchema.default('silent'),
});
export type UnreachableReport = z.input<typeof unreachableReportSchema>;

/**
 * What counts against a peer (signaling/sessions.ts, offences): `faulty-aggregator` when it
 * was replaced as aggregator for a fault (barred), `invalid-frames` when an aggregator
 * dropped it as a worker for invalid frames.
 */
export const offenceSchema = z.enum(['faulty-aggregator', 'invalid-frames']);
export type Offence = z.infer<typeof offenceSchema>;

/**
 * From the aggregator of `term`: it disconnected its worker `peerId` for invalid frames
 * (`count` of them, over settings.maxBadFrames). One offence per reporting aggregator and
 * worker, however often it reports; STALE_TERM for another term, NOT_AGGREGATOR from anyone
 * but the term's aggregator, UNKNOWN_PEER for a non-member or itself.
 */
export const peerReportSchema = z.object({
  term: termSchema,
  peerId: peerIdSchema,
  reason: z.literal('invalid-frames'),
  count: z.number().int().nonnegative(),
});
export type PeerReport = z.input<typeof peerReportSchema>;

// ---------------------------------------------------------------------------- server -> client

export const peerJoinedEventSchema = z.object({
  sessionId: sessionIdSchema,
  peer: peerInfoSchema,
  term: termSchema,
});
export type PeerJoinedEvent = z.infer<typeof peerJoinedEventSchema>;

export const leaveReasonSchema = z.enum(['disconnect', 'heartbeat-timeout', 'expelled']);
export type LeaveReason = z.infer<typeof leaveReasonSchema>;
export const peerLeftEventSchema = z.object({
  sessionId: sessionIdSchema,
  peerId: peerIdSchema,
  reason: leaveReasonSchema,
  term: termSchema,
});
export type PeerLeftEvent = z.infer<typeof peerLeftEventSchema>;

/** A member's announced state changed (for now: ready). */
export const peerUpdatedEventSchema = peerJoinedEventSchema;
export type PeerUpdatedEvent = PeerJoinedEvent;

export const aggregatorEventSchema = aggregatorStateSchema;
export type AggregatorEvent = AggregatorState;

/** To an expelled peer, right before the server closes its socket: why. */
export const expelledEventSchema = z.object({
  sessionId: sessionIdSchema,
  peerId: peerIdSchema,
  /** The offence that reached the limit. */
  reason: offenceSchema,
  /** Its offences in this session, the last one included. */
  offences: z.number().int().positive(),
  /** The offences, said for a person. */
  message: z.string().max(1024),
});
export type ExpelledEvent = z.infer<typeof expelledEventSchema>;

export const signalEventSchema = z.object({ from: peerIdSchema, data: z.unknown() });
export type SignalEvent = z.infer<typeof signalEventSchema>;

export const errorEventSchema = errorInfoSchema.extend({
  /** The client event that caused it, when there is one. */
  event: z.string().max(64).optional(),
});
export type ErrorEvent = z.infer<typeof errorEventSchema>;

// ---------------------------------------------------------------------------- replies

export const errorReplySchema = z.object({ ok: z.literal(false), error: errorInfoSchema });
export type ErrorReply = z.infer<typeof errorReplySchema>;

/** A success reply: `ok: true` plus the fields of `shape`. */
function okSchema<T extends z.ZodRawShape>(shape: T) {
  return z.object({ ok: z.literal(true), ...shape });
}

export const createSessionOkSchema = okSchema({
  sessionId: sessionIdSchema,
  /** The join token; with `invitations`, the creator's host token. */
  token: tokenSchema,
  /** Server time (ms since epoch) after which the token no longer admits joins. */
  expiresAt: z.number(),
  config: sessionConfigSchema,
  /** Joins by invitation only (session:invite). */
  invitations: z.boolean().default(false),
});
export type CreateSessionOk = z.infer<typeof createSessionOkSchema>;

export const inviteOkSchema = okSchema({
  /** One token per peer id; each admits that id only (a peer joining with it is given the id). */
  invitations: z.array(z.object({ peerId: peerIdSchema, token: tokenSchema })),
  /** Server time after which these invitations no longer admit joins. */
  expiresAt: z.number(),
});
export type InviteOk = z.infer<typeof inviteOkSchema>;
export const inviteReplySchema = z.discriminatedUnion('ok', [inviteOkSchema, errorReplySchema]);
export type InviteReply = z.infer<typeof inviteReplySchema>;
export const createSessionReplySchema = z.discriminatedUnion('ok', [createSessionOkSchema, errorReplySchema]);
export type CreateSessionReply = z.infer<typeof createSessionReplySchema>;

export const joinOkSchema = okSchema({
  sessionId: sessionIdSchema,
  peerId: peerIdSchema,
  config: sessionConfigSchema,
  /** Every member, this peer included. */
  peers: z.array(peerInfoSchema),
  aggregator: aggregatorStateSchema,
  /** Send a heartbeat at least this often. */
  heartbeatIntervalMs: z.number().int().positive(),
  /** The server removes a peer silent for this long. */
  heartbeatTimeoutMs: z.number().int().positive(),
  serverTime: z.number(),
});
export type JoinOk = z.infer<typeof joinOkSchema>;
export const joinReplySchema = z.discriminatedUnion('ok', [joinOkSchema, errorReplySchema]);
export type JoinReply = z.infer<typeof joinReplySchema>;

/** The server's count after an `aggregator:unreachable` report. */
export const unreachableOkSchema = okSchema({
  /** Members that reported this term's aggregator recently (this one included if it counts). */
  reports: z.number().int().nonnegative(),
  /** Reports it takes: a majority of the ready members other than the aggregator. */
  needed: z.number().int().nonnegative(),
  /** True when this report completed the majority: a new term began with another aggregator. */
  replaced: z.boolean(),
});
export type UnreachableOk = z.infer<typeof unreachableOkSchema>;
export const unreachableReplySchema = z.discriminatedUnion('ok', [unreachableOkSchema, errorReplySchema]);
export type UnreachableReply = z.infer<typeof unreachableReplySchema>;

/** The server's count after a `peer:report`. */
export const peerReportOkSchema = okSchema({
  /** The peer's offences in this session so far. */
  offences: z.number().int().nonnegative(),
  /** Offences that expel a peer (the server's maxOffences). */
  limit: z.number().int().positive(),
  /** True when this report expelled it. */
  expelled: z.boolean(),
});
export type PeerReportOk = z.infer<typeof peerReportOkSchema>;
export const peerReportReplySchema = z.discriminatedUnion('ok', [peerReportOkSchema, errorReplySchema]);
export type PeerReportReply = z.infer<typeof peerReportReplySchema>;

export const emptyOkSchema = okSchema({});
export type EmptyOk = z.infer<typeof emptyOkSchema>;
export const emptyReplySchema = z.discriminatedUnion('ok', [emptyOkSchema, errorReplySchema]);
export type EmptyReply = z.infer<typeof emptyReplySchema>;

// ---------------------------------------------------------------------------- event maps

export interface ClientToServerEvents {
  'session:create': (req: CreateSessionRequest, ack: (res: CreateSessionReply) => void) => void;
  'session:join': (req: JoinRequest, ack: (res: JoinReply) => void) => void;
  'session:invite': (req: InviteRequest, ack: (res: InviteReply) => void) => void;
  signal: (req: SignalRequest, ack: (res: EmptyReply) => void) => void;
  heartbeat: (msg: Heartbeat, ack: (res: EmptyReply) => void) => void;
  'peer:ready': (req: ReadyRequest, ack: (res: EmptyReply) => void) => void;
  'round:report': (req: RoundReport, ack: (res: EmptyReply) => void) => void;
  'aggregator:unreachable': (req: UnreachableReport, ack: (res: UnreachableReply) => void) => void;
  'peer:report': (req: PeerReport, ack: (res: PeerReportReply) => void) => void;
  /** Operator requests (shared/protocol/operator.ts): need no join, but the operator token. */
  'snapshots:list': (req: SnapshotsListRequest, ack: (res: SnapshotsOk | ErrorReply) => void) => void;
  'session:rollback': (req: RollbackRequest, ack: (res: SnapshotsOk | ErrorReply) => void) => void;
}

export interface ServerToClientEvents {
  'peer:joined': (ev: PeerJoinedEvent) => void;
  'peer:left': (ev: PeerLeftEvent) => void;
  'peer:updated': (ev: PeerUpdatedEvent) => void;
  aggregator: (ev: AggregatorEvent) => void;
  signal: (ev: SignalEvent) => void;
  error: (ev: ErrorEvent) => void;
  /** This peer is out of the session for repeated offences; its socket closes next. */
  expelled: (ev: ExpelledEvent) => void;
  /** To the aggregator only: an operator's requests, relayed (shared/protocol/operator.ts). */
  'snapshots:query': (ev: SnapshotsQuery, ack: (res: AggregatorAnswer) => void) => void;
  'snapshot:rollback': (ev: RollbackCommand, ack: (res: AggregatorAnswer) => void) => void;
}

export type ClientEventName = keyof ClientToServerEvents;
export type ServerEventName = keyof ServerToClientEvents;
export const CLIENT_EVENT_NAMES: readonly ClientEventName[] = [
  'session:create',
  'session:join',
  'session:invite',
  'signal',
  'heartbeat',
  'peer:ready',
  'round:report',
  'aggregator:unreachable',
  'peer:report',
  'snapshots:list',
  'session:rollback',
];
