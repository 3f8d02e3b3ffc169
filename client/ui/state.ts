/**
 * The dashboard's state and the store that holds it. Everything the page shows comes from a
 * `SessionStore`: the signaling feed and /status poller fill it now, the training runtime
 * later (see runtime/attach.ts). The state is immutable: every change replaces the parts it
 * touches, so components compare slices by identity. One `change` event per update (or per
 * `batch`), naming the parts that changed.
 *
 * @example
 * const store = new SessionStore();
 * store.on('change', ({ state, parts }) => parts.has('peers') && render(state.peers));
 * store.batch(() => {
 *   store.updateSession({ id: 'abcd1234', phase: 'training' });
 *   store.upsertPeer({ peerId: 'p1', kind: 'browser', state: 'training' });
 * });
 */
import type { PeerKind, PeerRole } from '../../shared/protocol/signaling.ts';
import { TypedEmitter } from '../../shared/typed-emitter.ts';

export type SessionPhase = 'waiting' | 'training' | 'syncing' | 'done';
export type PeerState = 'connecting' | 'training' | 'sending' | 'waiting' | 'late' | 'dropped';
/** This tab's link to the signaling server. */
export type ConnectionState = 'idle' | 'connecting' | 'joined' | 'closed';

/** How many of the expected workers a round counted. */
export interface Participation {
  round: number;
  counted: number;
  expected: number;
}

export interface SessionInfo {
  id: string | null;
  /** The round in progress (or last finished when done). */
  round: number;
  /** From the session config; null before joining. */
  totalRounds: number | null;
  phase: SessionPhase;
  aggregatorPeerId: string | null;
  term: number;
  /** One entry per round, oldest first. */
  participation: readonly Participation[];
}

export interface PeerRow {
  peerId: string;
  role: PeerRole;
  kind: PeerKind;
  state: PeerState;
  /** Round-trip time of the data channel to this peer; null when unknown. */
  rttMs: number | null;
  /** Bytes this peer sent (up) and received (down), on the wire. */
  bytesUp: number;
  bytesDown: number;
  /** Last round whose aggregate counted this peer's update; null before any. */
  lastRoundCounted: number | null;
  /** TF.js backend the peer trains on ('webgl', 'wasm', 'cpu', 'tensorflow'); null when unknown. */
  backend: string | null;
}

/** One finished round, as charted. Bytes include sync traffic of that round. */
export interface RoundRecord {
  round: number;
  loss: number | null;
  testAccuracy: number | null;
  bytesUp: number;
  bytesDown: number;
  /** What the same round would have cost with fp32 both ways. */
  fp32Bytes: number;
  /** Mean squared distance of the worker models from their average; null when not measured. */
  drift: number | null;
}

export interface LocalInfo {
  /** This tab's peer id once joined. */
  peerId: string | null;
  /** TF.js backend of this tab (detected until a runtime reports the one it uses). */
  backend: string | null;
  connection: ConnectionState;
  /** Last error worth showing (e.g. a failed join); null when none. */
  error: string | null;
  paused: boolean;
  /** True once a training runtime is attached (enables pause and download). */
  runtimeAttached: boolean;
}

export interface DashboardState {
  session: SessionInfo;
  peers: readonly PeerRow[];
  /** Finished rounds, oldest first. */
  history: readonly RoundRecord[];
  local: LocalInfo;
}

export type DashboardPart = keyof DashboardState;
export interface SessionStoreEvents {
  change: (event: { state: DashboardState; parts: ReadonlySet<DashboardPart> }) => void;
}

/** A peer update: the id plus any fields that changed; new rows get defaults for the rest. */
export type PeerPatch = Partial<PeerRow> & { peerId: string };

export interface SessionStoreOptions {
  /** Rounds of history and participation kept (oldest dropped first). @default 10_000 */
  maxHistory?: number;
  /** Rows of dropped peers kept visible (oldest removed first). @default 32 */
  maxDroppedPeers?: number;
}

export function initialDashboardState(): DashboardState {
  return {
    session: {
      id: null,
      round: 0,
      totalRounds: null,
      phase: 'waiting',
      aggregatorPeerId: null,
      term: 0,
      participation: [],
    },
    peers: [],
    history: [],
    local: {
      peerId: null,
      backend: null,
      connection: 'idle',
      error: null,
      paused: false,
      runtimeAttached: false,
    },
  };
}

function newPeerRow(peerId: string): PeerRow {
  return {
    peerId,
    role: 'worker',
    kind: 'headless',
    state: 'connecting',
    rttMs: null,
    bytesUp: 0,
    bytesDown: 0,
    lastRoundCounted: null,
    backend: null,
  };
}

/** Inserts by round (replacing an entry of the same round), keeping at most `max`. */
function upsertByRound<T extends { round: number }>(list: readonly T[], item: T, max: number): T[] {
  const next = list.filter((x) => x.round !== item.round);
  let at = next.length;
  while (at > 0 && (next[at - 1]?.round ?? -Infinity) > item.round) at--;
  next.splice(at, 0, item);
  return next.length > max ? next.slice(next.length - max) : next;
}

export class SessionStore extends TypedEmitter<SessionStoreEvents> {
  private current: DashboardState = initialDashboardState();
  private readonly maxHistory: number;
  private readonly maxDroppedPeers: number;
  private pending = new Set<DashboardPart>();
  private batchDepth = 0;

  constructor(options: SessionStoreOptions = {}) {
    super();
    this.maxHistory = options.maxHistory ?? 10_000;
    this.maxDroppedPeers = options.maxDroppedPeers ?? 32;
  }

  get state(): DashboardState {
    return this.current;
  }

  /** Runs `update` and emits one `change` for everything it changed. */
  batch(update: () => void): void {
    this.batchDepth++;
    try {
      update();
    } finally {
      this.batchDepth--;
      if (this.batchDepth === 0) this.flush();
    }
  }

  updateSession(patch: Partial<Omit<SessionInfo, 'participation'>>): void {
    this.set('session', { ...this.current.session, ...patch });
  }

  /** Records a round's participation (replaces an earlier record of the same round). */
  recordParticipation(entry: Participation): void {
    const { session } = this.current;
    this.set('session', {
      ...session,
      participation: upsertByRound(session.participation, entry, this.maxHistory),
    });
  }

  upsertPeer(patch: PeerPatch): void {
    const peers = [...this.current.peers];
    const index = peers.findIndex((p) => p.peerId === patch.peerId);
    const before = index >= 0 ? peers[index] : undefined;
    const row = { ...(before ?? newPeerRow(patch.peerId)), ...patch };
    if (index >= 0) peers[index] = row;
    else peers.push(row);
    this.set('peers', this.pruneDropped(peers));
  }

  /** Keeps the row, marked dropped, so the table shows who left. */
  markDropped(peerId: string): void {
    const row = this.current.peers.find((p) => p.peerId === peerId);
    if (row !== undefined && row.state !== 'dropped') this.upsertPeer({ peerId, state: 'dropped' });
  }

  removePeer(peerId: string): void {
    if (!this.current.peers.some((p) => p.peerId === peerId)) return;
    this.set(
      'peers',
      this.current.peers.filter((p) => p.peerId !== peerId),
    );
  }

  /** Adds a finished round (replacing an earlier record of the same round). */
  /**
   * Adds or replaces the record of a round. A replacement without drift keeps a drift already
   * known (a worker's own record arrives after the aggregator's report of that round, or before).
   */
  addRound(record: RoundRecord): void {
    const known =
      record.drift === null ? this.current.history.find((r) => r.round === record.round) : undefined;
    const merged = known?.drift == null ? record : { ...record, drift: known.drift };
    this.set('history', upsertByRound(this.current.history, merged, this.maxHistory));
  }

  setLocal(patch: Partial<LocalInfo>): void {
    this.set('local', { ...this.current.local, ...patch });
  }

  /** Back to the initial state (after leaving a session), keeping the local backend. */
  reset(): void {
    const backend = this.current.local.backend;
    const fresh = initialDashboardState();
    this.batch(() => {
      this.set('session', fresh.session);
      this.set('peers', fresh.peers);
      this.set('history', fresh.history);
      this.set('local', { ...fresh.local, backend });
    });
  }

  private pruneDropped(peers: PeerRow[]): PeerRow[] {
    let excess = peers.filter((p) => p.state === 'dropped').length - this.maxDroppedPeers;
    if (excess <= 0) return peers;
    return peers.filter((p) => !(p.state === 'dropped' && excess-- > 0));
  }

  private set<K extends DashboardPart>(part: K, value: DashboardState[K]): void {
    this.current = { ...this.current, [part]: value };
    this.pending.add(part);
    if (this.batchDepth === 0) this.flush();
  }

  private flush(): void {
    if (this.pending.size === 0) return;
    const parts = this.pending;
    this.pending = new Set();
    this.emit('change', { state: this.current, parts });
  }
}
