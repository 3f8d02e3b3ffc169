/**
 * Turns one Peer's events (client/roles/events.ts) into the dashboard runtime's events
 * (./attach.ts): finished rounds with per-round bytes, this peer's row (state, role, bytes,
 * last counted round), the session phase.
 *
 * What a tab can know depends on its role:
 * - as aggregator, every round event: loss, test accuracy when evaluated, who was counted,
 *   and the session's frame bytes (the peer reports them cumulative per term; charted here
 *   per round, against what fp32 both ways would have moved);
 * - as worker, its own side: each applied broadcast becomes a round with its own batch
 *   loss and its own wire bytes of that round (against an fp32 upload plus an fp32
 *   broadcast); test accuracy arrives with the aggregator's metrics message and is merged
 *   into the round it belongs to. Who else was counted comes from /status (feeds/).
 *
 * This peer's state: `connecting` until it has a model; then `training` while its next
 * gradient is due, `sending` from an upload until the next traffic sample (uploads leave
 * within milliseconds on a LAN), `waiting` for the aggregate after that; `late` while the
 * last broadcast it applied did not count it (its upload missed the deadline; it is folded
 * into the aggregator's error, see DESIGN.md section 3). Model drift (LIEC) is in the
 * aggregator's round events (RoundEvent.drift); a worker's own rounds leave it null and the
 * dashboard fills it from the aggregator's round reports on /status (feeds/status-feed.ts).
 *
 * @example
 * const mapper = new PeerEventMapper({ peer, lastLoss, numParams });
 * mapper.on('round', (record) => store.addRound(record));
 * setInterval(() => mapper.sample(), 500);
 * mapper.dispose();
 */
import { fp32UploadFrameBytes } from '../../../shared/protocol/frames.ts';
import type { PeerEventEmitter, RoundEvent } from '../../roles/events.ts';
import { TypedEmitter } from '../../../shared/typed-emitter.ts';
import type { PeerPatch, PeerState } from '../state.ts';
import type { DashboardRuntimeEvents, RuntimeRoundEvent } from './attach.ts';

/** What the mapper reads of a Peer. */
export interface MappedPeer {
  readonly events: PeerEventEmitter;
  readonly peerId: string;
  traffic(): { sent: number; received: number };
}

export interface PeerEventMapperInit {
  peer: MappedPeer;
  /** This peer's last batch loss (a worker's round has no other source). */
  lastLoss: () => number | null;
  /** Parameters of the model, for the fp32 comparison of a worker's bytes. */
  numParams: () => number;
  /** Rounds kept to merge late metrics into. @default 64 */
  keepRounds?: number;
}

export class PeerEventMapper extends TypedEmitter<DashboardRuntimeEvents> {
  /** performance.now() of this peer's first upload and first counted round; null before. */
  firstUploadAt: number | null = null;
  firstCountedAt: number | null = null;
  /** Rounds this peer was counted in, with when it learned it (performance.now()). */
  readonly counted: { round: number; at: number }[] = [];
  /** This peer's gradient times (gradient + compression), in ms, oldest first. */
  readonly computeMs: number[] = [];
  private readonly init: PeerEventMapperInit;
  private readonly offs: (() => void)[];
  private readonly records = new Map<number, RuntimeRoundEvent>();
  private phaseState: PeerState = 'connecting';
  private late = false;
  private sendingSampled = false;
  private termBytes = { term: -1, up: 0, down: 0, fp32Up: 0, fp32Down: 0 };
  private trafficAtApply: { sent: number; received: number };

  constructor(init: PeerEventMapperInit) {
    super();
    this.init = init;
    const { events } = init.peer;
    this.trafficAtApply = init.peer.traffic();
    this.offs = [
      events.on('role', ({ role }) => this.self({ role })),
      events.on('model', ({ round }) => {
        this.setPhase('training');
        this.emit('phase', { phase: 'training', round });
      }),
      events.on('uploaded', ({ kind, resent, computeMs }) => {
        if (kind === 'upload' && !resent) {
          this.firstUploadAt ??= performance.now();
          this.noteCompute(computeMs);
        }
        this.setPhase('sending');
      }),
      events.on('applied', (event) => this.onApplied(event)),
      events.on('round', (event) => this.onRound(event)),
      events.on('metrics', ({ round, testAccuracy }) => this.onMetrics(round, testAccuracy)),
      events.on('done', ({ round }) => {
        this.setPhase('waiting');
        this.emit('phase', { phase: 'done', round });
      }),
    ];
  }

  /** Reports this peer's traffic; a `sending` state seen by two samples turns `waiting`. */
  sample(): void {
    const { sent, received } = this.init.peer.traffic();
    this.self({ bytesUp: sent, bytesDown: received });
    if (this.phaseState !== 'sending') return;
    if (this.sendingSampled) this.setPhase('waiting');
    else this.sendingSampled = true;
  }

  dispose(): void {
    for (const off of this.offs) off();
  }

  private onApplied({ round, counted }: { round: number; counted: boolean }): void {
    const traffic = this.init.peer.traffic();
    const bytesUp = traffic.sent - this.trafficAtApply.sent;
    const bytesDown = traffic.received - this.trafficAtApply.received;
    this.trafficAtApply = traffic;
    this.markCounted(round, counted);
    this.record({
      round,
      loss: this.init.lastLoss(),
      testAccuracy: this.records.get(round)?.testAccuracy ?? null,
      bytesUp,
      bytesDown,
      fp32Bytes: 2 * fp32UploadFrameBytes(this.init.numParams()),
      drift: null,
    });
    this.setPhase('training');
    this.emit('phase', { phase: 'training', round: round + 1 });
  }

  private onRound(event: RoundEvent): void {
    const previous =
      this.termBytes.term === event.term ? this.termBytes : { up: 0, down: 0, fp32Up: 0, fp32Down: 0 };
    this.termBytes = {
      term: event.term,
      up: event.bytesUp,
      down: event.bytesDown,
      fp32Up: event.fp32BytesUp,
      fp32Down: event.fp32BytesDown,
    };
    this.markCounted(event.round, event.participants.includes(this.init.peer.peerId));
    if (event.computeMs > 0) this.noteCompute(event.computeMs);
    this.record({
      round: event.round,
      loss: event.loss,
      testAccuracy: event.testAccuracy ?? this.records.get(event.round)?.testAccuracy ?? null,
      bytesUp: event.bytesUp - previous.up,
      bytesDown: event.bytesDown - previous.down,
      fp32Bytes: event.fp32BytesUp - previous.fp32Up + (event.fp32BytesDown - previous.fp32Down),
      drift: event.drift,
      participants: event.participants,
      expected: event.expected,
    });
    this.setPhase('training');
    this.emit('phase', { phase: event.sync ? 'syncing' : 'training', round: event.round + 1 });
  }

  private onMetrics(round: number, testAccuracy: number): void {
    const known = this.records.get(round);
    // The metrics of a round come before its record (aggregator) or after it (worker).
    if (known === undefined || isPlaceholder(known))
      this.records.set(round, { ...placeholder(round), testAccuracy });
    else this.record({ ...known, testAccuracy });
  }

  private noteCompute(ms: number): void {
    this.computeMs.push(ms);
    if (this.computeMs.length > (this.init.keepRounds ?? 64) * 16) this.computeMs.shift();
  }

  private markCounted(round: number, counted: boolean): void {
    this.late = !counted;
    if (!counted) return;
    const at = performance.now();
    this.firstCountedAt ??= at;
    this.counted.push({ round, at });
    this.self({ lastRoundCounted: round });
  }

  private record(event: RuntimeRoundEvent): void {
    this.records.set(event.round, event);
    const keep = this.init.keepRounds ?? 64;
    for (const round of this.records.keys()) if (round <= event.round - keep) this.records.delete(round);
    this.emit('round', event);
  }

  private setPhase(state: PeerState): void {
    this.phaseState = state;
    this.sendingSampled = false;
    this.self({ state: this.late && state !== 'connecting' ? 'late' : state });
  }

  private self(patch: Omit<PeerPatch, 'peerId'>): void {
    this.emit('peer', { peerId: this.init.peer.peerId, ...patch });
  }
}

/** Holds the metrics of a round whose record has not come yet (never emitted). */
function placeholder(round: number): RuntimeRoundEvent {
  return { round, loss: null, testAccuracy: null, bytesUp: -1, bytesDown: 0, fp32Bytes: 0, drift: null };
}

function isPlaceholder(event: RuntimeRoundEvent): boolean {
  return event.bytesUp < 0;
}
