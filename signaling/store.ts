/**
 * Where the signaling server keeps its session state: sessions, their members, the elected
 * aggregator and its term, and the reported round progress. Two implementations:
 * MemorySessionStore (one process, the default) and RedisSessionStore (several signaling
 * instances sharing one Redis, selected by the `redisUrl` option).
 *
 * Every method that acts for a member names it by (sessionId, peerId, socketId) and checks,
 * atomically with the change, that this socket still owns the membership (else NOT_JOINED).
 * Every change that can move the aggregator runs the election in the same atomic step and
 * bumps the term exactly once per change of aggregator. Failures throw SignalingError with
 * a stable code; anything else (Redis down) is an internal error.
 *
 * @example
 * const sessionId = await store.create(DEFAULT_SESSION_CONFIG);
 * const joined = await store.join(sessionId, { kind: 'headless', capabilities: {}, ready: true, socketId });
 * if (joined.aggregatorChanged) announce(joined.aggregator);
 */
import type { z } from 'zod';
import type {
  AggregatorFault,
  AggregatorState,
  Capabilities,
  NumericStats,
  PeerInfo,
  PeerKind,
  RollbackMark,
  roundReportSchema,
  SessionConfig,
} from '../shared/protocol/signaling.ts';
import type { SessionStatus } from '../shared/protocol/signaling-status.ts';

export type AcceptedRoundReport = z.output<typeof roundReportSchema>;

/** One membership: the peer, its session, and the socket that owns it. */
export interface MemberKey {
  readonly sessionId: string;
  readonly peerId: string;
  readonly socketId: string;
}

export interface NewMember {
  /** Requested id; PEER_ID_TAKEN if a live member has it. Random when absent. */
  peerId?: string;
  kind: PeerKind;
  capabilities: Capabilities;
  ready: boolean;
  socketId: string;
}

export interface JoinOutcome {
  /** The new member as the others see it. */
  readonly peer: PeerInfo;
  /** Every member, the new one included, in join order. */
  readonly peers: PeerInfo[];
  readonly config: SessionConfig;
  /** After the election this join triggered. */
  readonly aggregator: AggregatorState;
  readonly aggregatorChanged: boolean;
}

export type LeaveOutcome =
  | { readonly removed: false }
  | { readonly removed: true; readonly aggregator: AggregatorState; readonly aggregatorChanged: boolean };

export interface ReadyOutcome {
  /** Whether the member's ready flag actually changed. */
  readonly changed: boolean;
  readonly peer: PeerInfo;
  readonly aggregator: AggregatorState;
  readonly aggregatorChanged: boolean;
}

export interface UnreachableOutcome {
  /** Ready members but the aggregator that reported it within the time-to-live. */
  readonly reports: number;
  /** How many reports replace it: a majority of those members. */
  readonly needed: number;
  /** After the election this report may have triggered. */
  readonly aggregator: AggregatorState;
  readonly aggregatorChanged: boolean;
  /** The replaced aggregator is barred from the role for the rest of the session. */
  readonly barred: boolean;
  /** Present when the barring was the offender's last allowed offence: it is out. */
  readonly expelled?: Expulsion;
  /** The replaced aggregator as it is now (a worker, not ready), when this report replaced it. */
  readonly deposed?: PeerInfo;
}

/**
 * A member removed from its session for reaching the offence limit (rules:
 * SessionRegistry.offend, which both stores follow): the server tells its socket why and
 * closes it, and refuses its peer id in that session from then on (EXPELLED).
 */
export interface Expulsion {
  readonly peerId: string;
  /** The socket that held the membership (on any instance). */
  readonly socketId: string;
  /** Its offences in the order they counted: 'barred', or 'report:<aggregator id>'. */
  readonly offences: readonly string[];
}

export interface PeerReportOutcome {
  /** The reported peer's offences so far (this one included when it counts). */
  readonly offences: number;
  readonly expelled?: Expulsion;
}

export interface LeaseOutcome {
  /**
   * True when this instance had gone silent past its lease, so other instances may have
   * removed its members: the server then drops its sockets and lets the peers rejoin.
   */
  readonly lapsed: boolean;
  /** Members of instances whose lease expired, claimed by this instance for removal. */
  readonly orphans: MemberKey[];
}

export interface SessionStore {
  readonly kind: 'memory' | 'redis';
  start(): Promise<void>;
  /** Releases connections; in Redis, also deregisters this instance (its members must be gone). */
  stop(): Promise<void>;
  /** Creates a session; TOO_MANY_SESSIONS at the limit. Returns its id. */
  create(config: SessionConfig): Promise<string>;
  /** UNKNOWN_SESSION (fatal), EXPELLED (fatal: see reportPeer), SESSION_FULL, PEER_ID_TAKEN. */
  join(sessionId: string, member: NewMember): Promise<JoinOutcome>;
  /** Removes the member if `socketId` still owns it (idempotent). */
  leave(member: MemberKey): Promise<LeaveOutcome>;
  setReady(member: MemberKey, ready: boolean): Promise<ReadyOutcome>;
  /** The socket id of `to` for relaying a signal; UNKNOWN_PEER if absent or the sender itself. */
  signalTarget(member: MemberKey, to: string): Promise<string>;
  /** Records a heartbeat's round and stats for /status. */
  heartbeat(member: MemberKey, round: number | undefined, stats: NumericStats | undefined): Promise<void>;
  /**
   * STALE_TERM, NOT_AGGREGATOR, STALE_ROUND (checked in that order; STALE_ROUND too once the
   * session's last round is reported: SessionRegistry.recordReport).
   */
  report(member: MemberKey, report: AcceptedRoundReport): Promise<void>;
  /**
   * The member cannot hear the aggregator of `report.term` on its data channel; a majority
   * of reports replaces it (rules: SessionRegistry.reportUnreachable, which both stores
   * follow). STALE_TERM, NOT_AGGREGATOR.
   */
  reportUnreachable(
    member: MemberKey,
    report: { term: number; peerId: string; reason: AggregatorFault },
    ttlMs: number,
    maxOffences: number,
  ): Promise<UnreachableOutcome>;
  /**
   * The member, the aggregator of `report.term`, dropped its worker `report.peerId` for
   * invalid frames: an offence (rules: SessionRegistry.reportPeer). STALE_TERM,
   * NOT_AGGREGATOR, UNKNOWN_PEER.
   */
  reportPeer(
    member: MemberKey,
    report: { term: number; peerId: string },
    maxOffences: number,
  ): Promise<PeerReportOutcome>;
  /** Remembers the session's last acknowledged rollback (a no-op if the session is gone). */
  recordRollback(sessionId: string, mark: RollbackMark): Promise<void>;
  /** The session's last acknowledged rollback, if any. */
  rollbackOf(sessionId: string): Promise<RollbackMark | undefined>;
  /** The session's current aggregator and term, or undefined if the session is gone. */
  aggregatorOf(sessionId: string): Promise<AggregatorState | undefined>;
  /** Deletes sessions empty for at least `idleMs`; returns their ids. */
  pruneIdle(idleMs: number): Promise<string[]>;
  /** Renews this instance's lease and claims the members of crashed instances. */
  renewLease(): Promise<LeaseOutcome>;
  /** Every session as `GET /status` shows it, read now. */
  readStatus(): Promise<SessionStatus[]>;
  /**
   * The same, synchronously: exact for the memory store; for Redis, the last snapshot read
   * (each call starts a fresh read, so polling converges).
   */
  cachedStatus(): SessionStatus[];
}
