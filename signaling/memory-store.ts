/**
 * The in-memory SessionStore: the SessionRegistry of one process behind the async store
 * interface. The default; every operation is atomic because it runs to completion on the
 * one event loop. There is no other instance, so no lease and no orphans.
 *
 * @example
 * const store = new MemorySessionStore({ maxSessions: 1000, maxPeersPerSession: 256, now: Date.now });
 * const sessionId = await store.create(DEFAULT_SESSION_CONFIG);
 */
import {
  SignalingError,
  type AggregatorFault,
  type AggregatorState,
  type NumericStats,
  type RollbackMark,
  type SessionConfig,
} from '../shared/protocol/signaling.ts';
import type { SessionStatus } from '../shared/protocol/signaling-status.ts';
import {
  SessionRegistry,
  type PeerRecord,
  type SessionRecord,
  type SessionRegistryInit,
} from './sessions.ts';
import type {
  AcceptedRoundReport,
  JoinOutcome,
  LeaseOutcome,
  LeaveOutcome,
  MemberKey,
  NewMember,
  PeerReportOutcome,
  ReadyOutcome,
  SessionStore,
  UnreachableOutcome,
} from './store.ts';

export class MemorySessionStore implements SessionStore {
  readonly kind = 'memory';
  readonly registry: SessionRegistry;

  constructor(init: SessionRegistryInit) {
    this.registry = new SessionRegistry(init);
  }

  async start(): Promise<void> {}

  async stop(): Promise<void> {}

  async create(config: SessionConfig): Promise<string> {
    return this.registry.create(config).sessionId;
  }

  async join(sessionId: string, member: NewMember): Promise<JoinOutcome> {
    const { registry } = this;
    const session = registry.get(sessionId);
    if (session === undefined) throw new SignalingError('UNKNOWN_SESSION', 'no such session', true);
    const { peer, aggregatorChanged } = registry.addPeer(session, member);
    return {
      peer: registry.peerInfo(session, peer),
      peers: [...session.peers.values()].map((p) => registry.peerInfo(session, p)),
      config: session.config,
      aggregator: registry.aggregatorState(session),
      aggregatorChanged,
    };
  }

  async leave({ sessionId, peerId, socketId }: MemberKey): Promise<LeaveOutcome> {
    const session = this.registry.get(sessionId);
    if (session === undefined) return { removed: false };
    const { removed, aggregatorChanged } = this.registry.removePeer(session, peerId, socketId);
    if (!removed) return { removed: false };
    return { removed: true, aggregator: this.registry.aggregatorState(session), aggregatorChanged };
  }

  async setReady(key: MemberKey, ready: boolean): Promise<ReadyOutcome> {
    const { session, peer } = this.member(key);
    const changed = peer.ready !== ready;
    const aggregatorChanged = this.registry.setReady(session, peer, ready);
    return {
      changed,
      peer: this.registry.peerInfo(session, peer),
      aggregator: this.registry.aggregatorState(session),
      aggregatorChanged,
    };
  }

  async signalTarget(key: MemberKey, to: string): Promise<string> {
    const { session } = this.member(key);
    const target = session.peers.get(to);
    if (target === undefined || to === key.peerId) {
      throw new SignalingError('UNKNOWN_PEER', `no peer ${to} in this session`);
    }
    return target.socketId;
  }

  async heartbeat(key: MemberKey, round: number | undefined, stats: NumericStats | undefined): Promise<void> {
    this.registry.recordHeartbeat(this.member(key).peer, round, stats);
  }

  async report(key: MemberKey, report: AcceptedRoundReport): Promise<void> {
    const { session, peer } = this.member(key);
    this.registry.recordReport(session, peer, report);
  }

  async reportUnreachable(
    key: MemberKey,
    report: { term: number; peerId: string; reason: AggregatorFault },
    ttlMs: number,
    maxOffences: number,
  ): Promise<UnreachableOutcome> {
    const { session, peer } = this.member(key);
    const count = this.registry.reportUnreachable(session, peer, report, ttlMs, maxOffences);
    const deposed = count.aggregatorChanged ? session.peers.get(report.peerId) : undefined;
    return {
      ...count,
      aggregator: this.registry.aggregatorState(session),
      ...(deposed && { deposed: this.registry.peerInfo(session, deposed) }),
    };
  }

  async reportPeer(
    key: MemberKey,
    report: { term: number; peerId: string },
    maxOffences: number,
  ): Promise<PeerReportOutcome> {
    const { session, peer } = this.member(key);
    return this.registry.reportPeer(session, peer, report, maxOffences);
  }

  async recordRollback(sessionId: string, mark: RollbackMark): Promise<void> {
    const session = this.registry.get(sessionId);
    if (session !== undefined) session.rollback = { ...mark };
  }

  async rollbackOf(sessionId: string): Promise<RollbackMark | undefined> {
    const mark = this.registry.get(sessionId)?.rollback;
    return mark === undefined ? undefined : { ...mark };
  }

  async aggregatorOf(sessionId: string): Promise<AggregatorState | undefined> {
    const session = this.registry.get(sessionId);
    return session === undefined ? undefined : this.registry.aggregatorState(session);
  }

  async pruneIdle(idleMs: number): Promise<string[]> {
    return this.registry.pruneIdle(idleMs);
  }

  async renewLease(): Promise<LeaseOutcome> {
    return { lapsed: false, orphans: [] };
  }

  async readStatus(): Promise<SessionStatus[]> {
    return this.cachedStatus();
  }

  cachedStatus(): SessionStatus[] {
    return [...this.registry.all()].map((session) => this.registry.sessionStatus(session));
  }

  private member({ sessionId, peerId, socketId }: MemberKey): { session: SessionRecord; peer: PeerRecord } {
    const session = this.registry.get(sessionId);
    const peer = session?.peers.get(peerId);
    if (session === undefined || peer === undefined || peer.socketId !== socketId) {
      throw new SignalingError('NOT_JOINED', 'join a session first');
    }
    return { session, peer };
  }
}
