/**
 * The dashboard's state and the store that holds it. Everything the page shows comes from a
 * `SessionStore`: the signaling feed and /status poller fill it now, the training runtime
 * later (see runtime/attach.ts). The state is immutable: every change replaces the parts it
 * touches, so components compare slices by identity. One `change` event per update (or per
 * `batch`), naming the parts that changed; a peer patch that changes nothing emits none.
 *
 * Besides what it is told, the store derives: each peer's throughput from its byte counters
 * (./throughput.ts), when each new round was seen (the pace and time left, ./progress.ts),
 * when the session finished, and the event list: a new or returning peer is a join, a peer
 * marked dropped a drop, a new aggregator an aggregator change; updates inside `quietly`
 * (a snapshot of who was already there) are not events. Errors are kept by source
 * (`setError`, `clearError`), at most one each, until their source recovers.
 *
 * @example
 * const store = new SessionStore();
 * store.on('change', ({ state, parts }) => parts.has('peers') && render(state.peers));
 * store.batch(() => {
 *   store.updateSession({ id: 'abcd1234', phase: 'training' });
 *   store.upsertPeer({ peerId: 'p1', kind: 'browser', state: 'training' });
 * });
 */
import type { SessionConfig } from '../../shared/protocol/session-config.ts';
import type { PeerKind, PeerRole } from '../../shared/protocol/signaling.ts';
import type { SessionAccuracy } from '../../shared/protocol/signaling-status.ts';
import { TypedEmitter } from '../../shared/typed-emitter.ts';
import type { ReconnectState } from './reconnect.ts';
import { nextThroughput, startThroughput, type ThroughputTracker } from './throughput.ts';

export type SessionPhase = 'waiting' | 'training' | 'syncing' | 'done';
export type PeerState = 'connecting' | 'training' | 'sending' | 'waiting' | 'late' | 'dropped';
/**
 * This tab's link to the signaling server: `reconnecting` while it is down and the tab tries
 * again (the dashboard stays), `closed` once it gave up.
 */
export type ConnectionState = 'idle' | 'connecting' | 'joined' | 'reconnecting' | 'closed';
/** How this tab's WebRTC link reaches a peer: straight, or relayed through a TURN server. */
export type LinkKind = 'direct' | 'relay';

/**
 * What an error is about; each source holds at most its latest error, cleared when that
 * source recovers (or the user dismisses it):
 * - `join`: creating or joining failed (shown by the form);
 * - `signaling`: the signaling connection is gone for good (the membership gave up);
 * - `runtime`: training stopped (the learner failed, a rejoin failed);
 * - `download`: the model download failed;
 * - `status`: /status polls fail (the only sign of trouble for a watching tab).
 */
export type ErrorSource = 'join' | 'signaling' | 'runtime' | 'download' | 'status';

export interface DashboardError {
  source: ErrorSource;
  message: string;
  /** When it was raised (store clock, ms). */
  at: number;
}

/** One line of the session's event list. */
export type SessionEvent = { at: number } & (
  | { kind: 'join'; peerId: string; peerKind: PeerKind }
  | { kind: 'drop'; peerId: string }
  | { kind: 'aggregator'; peerId: string | null; term: number }
  | { kind: 'disconnect'; reason: string }
  | { kind: 'reconnect' }
);
export type SessionEventKind = SessionEvent['kind'];

/** When the session's round advanced (store clock, ms): the pace and time left come from these. */
export interface RoundTime {
  round: number;
  at: number;
}

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
  /** The running session's configuration; null before joining. */
  config: SessionConfig | null;
  /** When the session was created (store clock, from /status); null until known. */
  createdAt: number | null;
  /** When this tab saw the session finish; null before. */
  finishedAt: number | null;
  /** When each new round was seen (at most the last ROUND_TIMES_KEPT), oldest first. */
  roundTimes: readonly RoundTime[];
  /**
   * csv and images tasks: the session's accuracy as /status states it (the members' own
   * evaluations weighted by their sizes, or the named test set's); null until reported.
   */
  accuracy: SessionAccuracy | null;
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
  /** Current throughput in bytes/s each way (from the byte counters); null when unknown. */
  rateUp: number | null;
  rateDown: number | null;
  /** How this tab's own link reaches the peer; null when this tab has no link to it. */
  link: LinkKind | null;
  /** The ICE candidate types of that link, local then remote (e.g. "host/srflx"); null when unknown. */
  linkCandidates: string | null;
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
  /** While `reconnecting`: since when, why, and the retry delay; null otherwise. */
  reconnect: ReconnectState | null;
  /** Errors to show, at most one per source, oldest first. */
  errors: readonly DashboardError[];
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
  /** Joins, drops, aggregator changes and signaling drops, oldest first (bounded). */
  events: readonly SessionEvent[];
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
  /** Entries of the event list kept (oldest dropped first). @default 200 */
  maxEvents?: number;
  /** The clock of every timestamp in the state (ms). @default Date.now */
  now?: () => number;
}

/** Round times kept for the pace (seconds per round). */
export const ROUND_TIMES_KEPT = 64;

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
      config: null,
      createdAt: null,
      finishedAt: null,
      roundTimes: [],
      accuracy: null,
    },
    peers: [],
    history: [],
    local: {
      peerId: null,
      backend: null,
      connection: 'idle',
      reconnect: null,
      errors: [],
      paused: false,
      runtimeAttached: false,
    },
    events: [],
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
    rateUp: null,
    rateDown: null,
    link: null,
    linkCandidates: null,
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
  private readonly maxEvents: number;
  private readonly now: () => number;
  private pending = new Set<DashboardPart>();
  private batchDepth = 0;
  /** While > 0, transitions are not written to the event list (see `quietly`). */
  private quietDepth = 0;
  private readonly throughput = new Map<string, ThroughputTracker>();

  constructor(options: SessionStoreOptions = {}) {
    super();
    this.maxHistory = options.maxHistory ?? 10_000;
    this.maxDroppedPeers = options.maxDroppedPeers ?? 32;
    this.maxEvents = options.maxEvents ?? 200;
    this.now = options.now ?? Date.now;
  }

  get state(): DashboardState {
    return this.current;
  }

  /** The store's clock (ms), the one its timestamps use. */
  clock(): number {
    return this.now();
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

  /**
   * A batch whose joins, drops and aggregator changes are not events: a snapshot of who is
   * already there (the join reply, a watching tab's first /status), not news.
   */
  quietly(update: () => void): void {
    this.quietDepth++;
    try {
      this.batch(update);
    } finally {
      this.quietDepth--;
    }
  }

  updateSession(patch: Partial<Omit<SessionInfo, 'participation' | 'roundTimes'>>): void {
    const before = this.current.session;
    const next: SessionInfo = { ...before, ...patch };
    if (next.round > before.round || (before.roundTimes.length === 0 && patch.round !== undefined)) {
      const times = [...before.roundTimes, { round: next.round, at: this.now() }];
      next.roundTimes = times.length > ROUND_TIMES_KEPT ? times.slice(-ROUND_TIMES_KEPT) : times;
    }
    if (next.phase === 'done' && before.phase !== 'done') next.finishedAt ??= this.now();
    const aggregatorChanged =
      patch.aggregatorPeerId !== undefined && patch.aggregatorPeerId !== before.aggregatorPeerId;
    this.batch(() => {
      this.set('session', next);
      if (aggregatorChanged)
        this.logEvent({ kind: 'aggregator', peerId: next.aggregatorPeerId, term: next.term });
    });
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
    const row: PeerRow = { ...(before ?? newPeerRow(patch.peerId)), ...patch };
    if (patch.bytesUp !== undefined || patch.bytesDown !== undefined) this.trackThroughput(row);
    if (before !== undefined && shallowSame(before, row)) return; // nothing changed: no update
    if (index >= 0) peers[index] = row;
    else peers.push(row);
    const joined = row.state !== 'dropped' && (before === undefined || before.state === 'dropped');
    this.batch(() => {
      this.set('peers', this.pruneDropped(peers));
      if (joined) this.logEvent({ kind: 'join', peerId: row.peerId, peerKind: row.kind });
    });
  }

  /** Keeps the row, marked dropped, so the table shows who left. */
  markDropped(peerId: string): void {
    const row = this.current.peers.find((p) => p.peerId === peerId);
    if (row === undefined || row.state === 'dropped') return;
    this.throughput.delete(peerId);
    this.batch(() => {
      this.upsertPeer({
        peerId,
        state: 'dropped',
        rateUp: null,
        rateDown: null,
        link: null,
        linkCandidates: null,
      });
      this.logEvent({ kind: 'drop', peerId });
    });
  }

  removePeer(peerId: string): void {
    if (!this.current.peers.some((p) => p.peerId === peerId)) return;
    this.throughput.delete(peerId);
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

  setLocal(patch: Partial<Omit<LocalInfo, 'errors'>>): void {
    this.set('local', { ...this.current.local, ...patch });
  }

  /** Shows `message` for `source`, replacing that source's previous error. */
  setError(source: ErrorSource, message: string): void {
    const errors = this.current.local.errors.filter((e) => e.source !== source);
    this.set('local', {
      ...this.current.local,
      errors: [...errors, { source, message, at: this.now() }],
    });
  }

  /** The source recovered (or the user dismissed its error). */
  clearError(source: ErrorSource): void {
    const { errors } = this.current.local;
    if (!errors.some((e) => e.source === source)) return;
    this.set('local', { ...this.current.local, errors: errors.filter((e) => e.source !== source) });
  }

  /** The error of `source`, if any. */
  errorOf(source: ErrorSource): string | null {
    return this.current.local.errors.find((e) => e.source === source)?.message ?? null;
  }

  /** The signaling connection dropped; the tab tries again (see ./reconnect.ts). */
  startReconnecting(reconnect: ReconnectState): void {
    this.batch(() => {
      this.setLocal({ connection: 'reconnecting', reconnect });
      this.logEvent({ kind: 'disconnect', reason: reconnect.reason });
    });
  }

  /** Appends to the event list (not inside `quietly`). */
  logEvent(event: DistributiveOmit<SessionEvent, 'at'>): void {
    if (this.quietDepth > 0) return;
    const events = [...this.current.events, { ...event, at: this.now() } as SessionEvent];
    this.set('events', events.length > this.maxEvents ? events.slice(-this.maxEvents) : events);
  }

  /** Back to the initial state (after leaving a session), keeping the local backend. */
  reset(): void {
    const backend = this.current.local.backend;
    const fresh = initialDashboardState();
    this.throughput.clear();
    this.batch(() => {
      this.set('session', fresh.session);
      this.set('peers', fresh.peers);
      this.set('history', fresh.history);
      this.set('local', { ...fresh.local, backend });
      this.set('events', fresh.events);
    });
  }

  /** Updates the row's rates from its byte counters (mutates the fresh row). */
  private trackThroughput(row: PeerRow): void {
    const counters = { up: row.bytesUp, down: row.bytesDown };
    const at = this.now();
    const tracker = this.throughput.get(row.peerId);
    const next =
      tracker === undefined ? startThroughput(counters, at) : nextThroughput(tracker, counters, at);
    this.throughput.set(row.peerId, next);
    row.rateUp = next.rate?.up ?? null;
    row.rateDown = next.rate?.down ?? null;
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

function shallowSame(a: PeerRow, b: PeerRow): boolean {
  return (Object.keys(b) as (keyof PeerRow)[]).every((key) => Object.is(a[key], b[key]));
}

/** Omit over each member of a union. */
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
