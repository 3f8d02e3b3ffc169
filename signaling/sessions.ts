/**
 * The server's session state, with no sockets in it: sessions, their members, the elected
 * aggregator and term, and the reported round progress. Every mutation that can change the
 * aggregator returns whether it did, so the caller can broadcast the new term; that includes
 * reports that the aggregator is unreachable (reportUnreachable). It also counts each peer's
 * offences (offend) and expels one at the limit. Failures throw SignalingError with a stable
 * code.
 *
 * @example
 * const registry = new SessionRegistry({ maxSessions: 10, maxPeersPerSession: 8, now: Date.now });
 * const session = registry.create(DEFAULT_SESSION_CONFIG);
 * const { peer, aggregatorChanged } = registry.addPeer(session, { kind: 'headless', ... });
 */
import {
  SignalingError,
  type AggregatorFault,
  type AggregatorState,
  type Capabilities,
  type NumericStats,
  type PeerInfo,
  type PeerKind,
  type RollbackMark,
  type SessionConfig,
} from '../shared/protocol/signaling.ts';
import type { SessionStatus } from '../shared/protocol/signaling-status.ts';
import type { z } from 'zod';
import type { roundReportSchema } from '../shared/protocol/signaling.ts';
import { chooseAggregator } from './election.ts';
import { randomId } from './ids.ts';
import type { Expulsion } from './store.ts';

export type AcceptedRoundReport = z.output<typeof roundReportSchema>;

export interface PeerRecord {
  readonly peerId: string;
  readonly kind: PeerKind;
  readonly capabilities: Capabilities;
  readonly connectedAt: number;
  readonly joinSeq: number;
  /** The socket.io socket id that owns this membership. */
  readonly socketId: string;
  ready: boolean;
  lastHeartbeat: number;
  round?: number;
  stats?: NumericStats;
}

export interface SessionRecord {
  readonly sessionId: string;
  readonly config: SessionConfig;
  readonly createdAt: number;
  readonly peers: Map<string, PeerRecord>;
  aggregatorId: string | null;
  term: number;
  lastRound: number;
  /** The last rollback its aggregator acknowledged (recordRollback). */
  rollback?: RollbackMark;
  lastReport?: AcceptedRoundReport & { receivedAt: number };
  traffic: { up: number; down: number; reportedRounds: number };
  /** Since when the session has had no members (null while it has some). */
  emptySince: number | null;
  /** Members that reported the aggregator of the current term unreachable: when (last report), and why. */
  readonly unreachable: Map<string, { at: number; reason: AggregatorFault }>;
  /**
   * Peers replaced as aggregator for a fault (a report `faulty` or `stalled` among the
   * majority): never elected again in this session. They may stay on as workers.
   */
  readonly barred: Set<string>;
  /**
   * Each peer's offences, in the order they counted: 'barred' (replaced as aggregator for a
   * fault; once), 'report:<aggregator id>' (that aggregator dropped it for invalid frames;
   * once per aggregator). Kept after the peer leaves, for the rest of the session.
   */
  readonly offences: Map<string, Set<string>>;
  /** Peers expelled at the offence limit: their id cannot join this session again. */
  readonly expelled: Set<string>;
}

/**
 * Whether the aggregator has reported the session's last round. From then on it only hands
 * out the final model, and a worker cut off at that moment, alone once the others have left,
 * would be elected and end on a model of its own: a `silent` report no longer counts (its
 * socket closing or the heartbeat timeout still replace it; a fault still counts), and no
 * round report is taken (STALE_ROUND), so the session's figures stay those of its end.
 */
export function lastRoundReported(reportedRounds: number, lastRound: number, rounds: number): boolean {
  return reportedRounds > 0 && lastRound >= rounds - 1;
}

/** The count after an unreachable report (see SessionRegistry.reportUnreachable). */
export interface UnreachableCount {
  readonly reports: number;
  readonly needed: number;
  readonly aggregatorChanged: boolean;
  /** The replaced aggregator was barred from the role (see SessionRecord.barred). */
  readonly barred: boolean;
  /** The barring was its last allowed offence (see SessionRegistry.offend). */
  readonly expelled?: Expulsion;
}

export interface NewPeer {
  peerId?: string;
  kind: PeerKind;
  capabilities: Capabilities;
  ready: boolean;
  socketId: string;
}

export interface SessionRegistryInit {
  maxSessions: number;
  maxPeersPerSession: number;
  now: () => number;
}

export class SessionRegistry {
  private readonly sessions = new Map<string, SessionRecord>();
  private readonly init: SessionRegistryInit;
  private joinSeq = 0;

  constructor(init: SessionRegistryInit) {
    this.init = init;
  }

  create(config: SessionConfig): SessionRecord {
    if (this.sessions.size >= this.init.maxSessions) {
      throw new SignalingError('TOO_MANY_SESSIONS', `server holds ${this.sessions.size} sessions`);
    }
    const now = this.init.now();
    const session: SessionRecord = {
      sessionId: randomId(12),
      config,
      createdAt: now,
      peers: new Map(),
      aggregatorId: null,
      term: 0,
      lastRound: 0,
      traffic: { up: 0, down: 0, reportedRounds: 0 },
      emptySince: now,
      unreachable: new Map(),
      barred: new Set(),
      offences: new Map(),
      expelled: new Set(),
    };
    this.sessions.set(session.sessionId, session);
    return session;
  }

  get(sessionId: string): SessionRecord | undefined {
    return this.sessions.get(sessionId);
  }

  all(): IterableIterator<SessionRecord> {
    return this.sessions.values();
  }

  addPeer(session: SessionRecord, joining: NewPeer): { peer: PeerRecord; aggregatorChanged: boolean } {
    if (joining.peerId !== undefined && session.expelled.has(joining.peerId)) {
      throw new SignalingError('EXPELLED', `peer ${joining.peerId} was expelled from this session`, true);
    }
    if (session.peers.size >= this.init.maxPeersPerSession) {
      throw new SignalingError('SESSION_FULL', `session has ${session.peers.size} peers`);
    }
    let peerId = joining.peerId;
    if (peerId !== undefined && session.peers.has(peerId)) {
      throw new SignalingError('PEER_ID_TAKEN', `peer ${peerId} is already in the session`);
    }
    while (peerId === undefined || session.peers.has(peerId) || session.expelled.has(peerId))
      peerId = randomId(6);
    const now = this.init.now();
    const peer: PeerRecord = {
      peerId,
      kind: joining.kind,
      capabilities: joining.capabilities,
      connectedAt: now,
      joinSeq: ++this.joinSeq,
      socketId: joining.socketId,
      ready: joining.ready,
      lastHeartbeat: now,
    };
    session.peers.set(peerId, peer);
    session.emptySince = null;
    return { peer, aggregatorChanged: this.elect(session) };
  }

  /** Removes the peer if `socketId` still owns it; returns what changed. */
  removePeer(
    session: SessionRecord,
    peerId: string,
    socketId: string,
  ): { removed: boolean; aggregatorChanged: boolean } {
    const peer = session.peers.get(peerId);
    if (peer === undefined || peer.socketId !== socketId) return { removed: false, aggregatorChanged: false };
    session.peers.delete(peerId);
    session.unreachable.delete(peerId);
    if (session.peers.size === 0) session.emptySince = this.init.now();
    return { removed: true, aggregatorChanged: this.elect(session) };
  }

  setReady(session: SessionRecord, peer: PeerRecord, ready: boolean): boolean {
    peer.ready = ready;
    return this.elect(session);
  }

  recordHeartbeat(peer: PeerRecord, round: number | undefined, stats: NumericStats | undefined): void {
    peer.lastHeartbeat = this.init.now();
    if (round !== undefined) peer.round = round;
    if (stats !== undefined) peer.stats = stats;
  }

  /** Any valid message proves the peer alive, not only heartbeats. */
  touch(peer: PeerRecord): void {
    peer.lastHeartbeat = this.init.now();
  }

  recordReport(session: SessionRecord, peer: PeerRecord, report: AcceptedRoundReport): void {
    if (report.term !== session.term) {
      throw new SignalingError(
        'STALE_TERM',
        `report for term ${report.term}, current term is ${session.term}`,
      );
    }
    if (session.aggregatorId !== peer.peerId) {
      throw new SignalingError(
        'NOT_AGGREGATOR',
        `${peer.peerId} is not the aggregator of term ${session.term}`,
      );
    }
    // Once the last round is reported, training is over: a worker that missed the end and was
    // elected afterwards (see lastRoundReported) reports rounds of a model of its own.
    const finished = lastRoundReported(
      session.traffic.reportedRounds,
      session.lastRound,
      session.config.rounds,
    );
    if (report.round < session.lastRound || finished) {
      throw new SignalingError(
        'STALE_ROUND',
        `round ${report.round}: the last round reported is ${session.lastRound}${finished ? ', the session is over' : ''}`,
      );
    }
    session.lastRound = report.round;
    session.lastReport = { ...report, receivedAt: this.init.now() };
    session.traffic.up += report.bytes.up;
    session.traffic.down += report.bytes.down;
    session.traffic.reportedRounds += 1;
  }

  /**
   * `reporter` hears nothing from `report.peerId`, the aggregator of `report.term`, on its
   * data channel. Each member counts once per term, for `ttlMs` after its last report (one
   * still cut off reports again; the report of one that recovered lapses). The electorate is
   * the ready members but the aggregator: those it serves, which hear it or not. Members
   * that do not train (a dashboard) never report, and a joiner waiting for its first model
   * is not ready yet, so neither counts. When a majority of the electorate has reported
   * (floor(n/2) + 1 of n: all of them while n < 3), a new term begins with the aggregator
   * chosen by the election policy without the one reported (it stays a member, not ready
   * until it announces `peer:ready` again, which a peer does once it has caught up with its
   * successor: client/roles/readiness.ts; then a candidate in later elections, unless a
   * counted report says `faulty` or `stalled`: then it
   * is barred from the role for the rest of the session, an offence). STALE_TERM for a report
   * of another term, NOT_AGGREGATOR when the term is current but the peer named is not its
   * aggregator; the aggregator's own report changes nothing.
   */
  reportUnreachable(
    session: SessionRecord,
    reporter: PeerRecord,
    report: { term: number; peerId: string; reason: AggregatorFault },
    ttlMs: number,
    maxOffences: number,
  ): UnreachableCount {
    if (report.term !== session.term) {
      throw new SignalingError(
        'STALE_TERM',
        `report for term ${report.term}, current term is ${session.term}`,
      );
    }
    const accused = report.peerId;
    if (session.aggregatorId !== accused) {
      throw new SignalingError('NOT_AGGREGATOR', `${accused} is not the aggregator of term ${session.term}`);
    }
    const now = this.init.now();
    if (reporter.peerId !== accused)
      session.unreachable.set(reporter.peerId, { at: now, reason: report.reason });
    const finished = lastRoundReported(
      session.traffic.reportedRounds,
      session.lastRound,
      session.config.rounds,
    );
    let electorate = 0;
    let reports = 0;
    let faults = 0;
    for (const peer of session.peers.values()) {
      if (!peer.ready || peer.peerId === accused) continue;
      electorate += 1;
      const last = session.unreachable.get(peer.peerId);
      if (last === undefined || now - last.at > ttlMs) continue;
      if (finished && last.reason === 'silent') continue;
      reports += 1;
      if (last.reason !== 'silent') faults += 1;
    }
    const needed = Math.floor(electorate / 2) + 1;
    if (reports < needed) return { reports, needed, aggregatorChanged: false, barred: false };
    if (faults > 0) session.barred.add(accused);
    // Not ready until it says so again: frozen or cut off, it cannot say it is behind, and
    // the next election (the ready member connected longest) would choose it.
    const deposed = session.peers.get(accused);
    if (deposed !== undefined) deposed.ready = false;
    const excluded = new Set(session.barred).add(accused);
    session.aggregatorId = chooseAggregator(null, session.peers.values(), excluded);
    session.term += 1;
    session.unreachable.clear();
    if (faults === 0) return { reports, needed, aggregatorChanged: true, barred: false };
    const expelled = this.offend(session, accused, 'barred', maxOffences);
    return { reports, needed, aggregatorChanged: true, barred: true, ...(expelled && { expelled }) };
  }

  /**
   * `reporter`, the aggregator of `report.term`, disconnected its worker `report.peerId` for
   * invalid frames: an offence of that worker, counted once per reporting aggregator (one
   * bad aggregator cannot expel an honest worker alone, however often it reports).
   * STALE_TERM for another term, NOT_AGGREGATOR from anyone but the term's aggregator,
   * UNKNOWN_PEER for a non-member or the reporter itself.
   */
  reportPeer(
    session: SessionRecord,
    reporter: PeerRecord,
    report: { term: number; peerId: string },
    maxOffences: number,
  ): { offences: number; expelled?: Expulsion } {
    if (report.term !== session.term) {
      throw new SignalingError(
        'STALE_TERM',
        `report for term ${report.term}, current term is ${session.term}`,
      );
    }
    if (session.aggregatorId !== reporter.peerId) {
      throw new SignalingError(
        'NOT_AGGREGATOR',
        `${reporter.peerId} is not the aggregator of term ${session.term}`,
      );
    }
    if (report.peerId === reporter.peerId || !session.peers.has(report.peerId)) {
      throw new SignalingError('UNKNOWN_PEER', `no peer ${report.peerId} in this session`);
    }
    const expelled = this.offend(session, report.peerId, `report:${reporter.peerId}`, maxOffences);
    return { offences: session.offences.get(report.peerId)?.size ?? 0, ...(expelled && { expelled }) };
  }

  /** Members whose last sign of life is older than `timeoutMs`. */
  *silentPeers(timeoutMs: number): Generator<{ session: SessionRecord; peer: PeerRecord }> {
    const deadline = this.init.now() - timeoutMs;
    for (const session of this.sessions.values()) {
      for (const peer of session.peers.values()) if (peer.lastHeartbeat < deadline) yield { session, peer };
    }
  }

  /** Deletes sessions that have had no members for `idleMs`; returns their ids. */
  pruneIdle(idleMs: number): string[] {
    const deadline = this.init.now() - idleMs;
    const pruned: string[] = [];
    for (const [id, session] of this.sessions) {
      if (session.emptySince !== null && session.emptySince <= deadline) {
        this.sessions.delete(id);
        pruned.push(id);
      }
    }
    return pruned;
  }

  aggregatorState(session: SessionRecord): AggregatorState {
    return {
      sessionId: session.sessionId,
      peerId: session.aggregatorId,
      term: session.term,
      lastRound: session.lastRound,
    };
  }

  peerInfo(session: SessionRecord, peer: PeerRecord): PeerInfo {
    return {
      peerId: peer.peerId,
      kind: peer.kind,
      role: session.aggregatorId === peer.peerId ? 'aggregator' : 'worker',
      ready: peer.ready,
      capabilities: peer.capabilities,
      connectedAt: peer.connectedAt,
    };
  }

  sessionStatus(session: SessionRecord): SessionStatus {
    return {
      sessionId: session.sessionId,
      createdAt: session.createdAt,
      config: session.config,
      aggregator: this.aggregatorState(session),
      peers: [...session.peers.values()].map((peer) => ({
        ...this.peerInfo(session, peer),
        lastHeartbeat: peer.lastHeartbeat,
        ...(peer.round === undefined ? {} : { round: peer.round }),
        ...(peer.stats === undefined ? {} : { stats: peer.stats }),
      })),
      ...(session.lastReport === undefined ? {} : { lastReport: session.lastReport }),
      traffic: { ...session.traffic },
    };
  }

  /**
   * Counts `offence` against `peerId` (once per key: see SessionRecord.offences); at
   * `maxOffences` removes it from the session and bars its id from joining again. Callers
   * run the election before (the peer is never the aggregator when removed).
   */
  private offend(
    session: SessionRecord,
    peerId: string,
    offence: string,
    maxOffences: number,
  ): Expulsion | undefined {
    let offences = session.offences.get(peerId);
    if (offences === undefined) session.offences.set(peerId, (offences = new Set()));
    offences.add(offence);
    if (offences.size < maxOffences) return undefined;
    session.expelled.add(peerId);
    const peer = session.peers.get(peerId);
    if (peer === undefined) return undefined;
    session.peers.delete(peerId);
    session.unreachable.delete(peerId);
    if (session.peers.size === 0) session.emptySince = this.init.now();
    return { peerId, socketId: peer.socketId, offences: [...offences] };
  }

  /** Applies the election policy; bumps the term when the aggregator changes. */
  private elect(session: SessionRecord): boolean {
    const chosen = chooseAggregator(session.aggregatorId, session.peers.values(), session.barred);
    if (chosen === session.aggregatorId) return false;
    session.aggregatorId = chosen;
    session.term += 1;
    session.unreachable.clear();
    return true;
  }
}
