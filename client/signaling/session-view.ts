/**
 * The client's picture of its session, kept from the join reply and the server's events:
 * the members with their roles, and the aggregator of the highest term seen. An aggregator
 * event with a term not above the known one is stale and ignored, so an old aggregator is
 * never obeyed after a newer one was announced.
 *
 * @example
 * const view = new SessionView(joinReply);
 * if (view.applyAggregator(ev)) console.log('now aggregating:', view.aggregator.peerId);
 */
import type {
  AggregatorState,
  JoinOk,
  PeerInfo,
  PeerJoinedEvent,
  PeerLeftEvent,
  SessionConfig,
} from '../../shared/protocol/signaling.ts';

export class SessionView {
  readonly sessionId: string;
  readonly peerId: string;
  readonly config: SessionConfig;
  private readonly members = new Map<string, PeerInfo>();
  private current: AggregatorState;

  constructor(reply: JoinOk) {
    this.sessionId = reply.sessionId;
    this.peerId = reply.peerId;
    this.config = reply.config;
    this.current = reply.aggregator;
    for (const peer of reply.peers) this.members.set(peer.peerId, peer);
  }

  get peers(): ReadonlyMap<string, PeerInfo> {
    return this.members;
  }

  get aggregator(): AggregatorState {
    return this.current;
  }

  get term(): number {
    return this.current.term;
  }

  get isAggregator(): boolean {
    return this.current.peerId === this.peerId;
  }

  /** Returns false for events of another session. */
  applyJoined(ev: PeerJoinedEvent): boolean {
    if (ev.sessionId !== this.sessionId) return false;
    this.members.set(ev.peer.peerId, this.withRole(ev.peer));
    return true;
  }

  applyLeft(ev: PeerLeftEvent): boolean {
    if (ev.sessionId !== this.sessionId) return false;
    return this.members.delete(ev.peerId);
  }

  /** Returns true when the event is newer than what is known (and was applied). */
  applyAggregator(ev: AggregatorState): boolean {
    if (ev.sessionId !== this.sessionId || ev.term < this.current.term) return false;
    // The same term again only with a newer rollback (signaling/operator.ts announces it).
    const newer = (ev.rollback?.continuesAt ?? -1) > (this.current.rollback?.continuesAt ?? -1);
    if (ev.term === this.current.term && !newer) return false;
    this.current = ev;
    for (const [id, peer] of this.members) this.members.set(id, this.withRole(peer));
    return true;
  }

  private withRole(peer: PeerInfo): PeerInfo {
    const role = peer.peerId === this.current.peerId ? 'aggregator' : 'worker';
    return role === peer.role ? peer : { ...peer, role };
  }
}
