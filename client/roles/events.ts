/**
 * The peer runtime's typed events: what the CLI progress bar, the browser dashboard and the
 * tests observe.
 */
import type { AggregatorFault } from '../../shared/protocol/signaling.ts';
import { TypedEmitter } from '../../shared/typed-emitter.ts';

export type Role = 'aggregator' | 'worker';

export interface RoundEvent {
  round: number;
  term: number;
  /** Uploads counted in the aggregate (the aggregator's own included). */
  counted: number;
  /** Workers the aggregator expected this round (itself included). */
  expected: number;
  /** Peer ids counted. */
  participants: string[];
  /**
   * Absent workers whose average upload stood in for them (shared/algorithm/stand-ins.ts):
   * remembered, neither counted nor late.
   */
  standIns: string[];
  /** Late uploads folded into the error since the previous round event. */
  late: number;
  /** Who those late uploads came from, and the round each belonged to. */
  lateUploads: { peerId: string; round: number }[];
  loss: number | null;
  testAccuracy: number | null;
  testLoss: number | null;
  /** Cumulative frame bytes this aggregator received from workers / sent to them. */
  bytesUp: number;
  bytesDown: number;
  /** What fp32 SGD would have moved for the same rounds and participants. */
  fp32BytesUp: number;
  fp32BytesDown: number;
  /** Wall time from opening the round to sending its broadcast. */
  durationMs: number;
  /** This peer's own gradient computation time in the round (gradient + upload compression). */
  computeMs: number;
  /** Time spent measuring test accuracy after the broadcast (0 when not evaluated). */
  evalMs: number;
  /** When the broadcast was sent, in ms since the epoch (sub-ms precision). */
  closedAt: number;
  sync: boolean;
  /**
   * LIEC model drift: the mean over this round's counted uploads of ||x_i - x_common||^2,
   * each model's squared distance from the model every peer shares (it bounds the spread
   * around the average from above; a sync brings it back to the sync codec's residual).
   * Null for the other algorithms, whose models do not drift.
   */
  drift: number | null;
}

export interface UploadEvent {
  round: number;
  term: number;
  kind: 'upload' | 'syncUpload';
  /** True when this is the cached upload sent again on a (re)connection. */
  resent: boolean;
  /** Time to compute it (gradient + compression; 0 for a resend or a sync delta). */
  computeMs: number;
}

export interface PeerEvents {
  /** Emitted by the aggregator after each round it closed. */
  round: (event: RoundEvent) => void;
  /** Emitted by a worker each time it sends an upload (a resend included). */
  uploaded: (event: UploadEvent) => void;
  /** Emitted by a worker after it applied a broadcast. */
  applied: (event: { round: number; term: number; counted: boolean }) => void;
  role: (event: { role: Role; term: number; aggregatorId: string | null }) => void;
  metrics: (event: { round: number; testAccuracy: number; testLoss: number }) => void;
  /** Training reached its last round. */
  done: (event: { round: number; testAccuracy: number | null }) => void;
  /**
   * Emitted by a worker each time it reports its aggregator to the signaling server
   * (aggregator-watch.ts): `silent` (nothing heard on the data channel for `silentMs`),
   * `faulty` (disconnected for invalid frames) or `stalled` (its upload waited `silentMs`).
   */
  unreachable: (event: {
    aggregatorId: string;
    term: number;
    silentMs: number;
    reason: AggregatorFault;
  }) => void;
  /** A peer sent something invalid; it was dropped (and the peer disconnected past a limit). */
  rejected: (event: { peerId: string; code: string; message: string }) => void;
  /** A peer sent more than settings.maxBadFrames invalid frames: disconnected, not accepted again. */
  banned: (event: { peerId: string; strikes: number }) => void;
  model: (event: { round: number; source: 'seed' | 'aggregator' | 'checkpoint' }) => void;
  /** A data channel to `remoteId` opened (a worker's to its aggregator, an aggregator's to a worker). */
  linked: (event: { remoteId: string }) => void;
  /**
   * Emitted by the aggregator when a rolling sync's block delta of `round` leaves: the slices
   * it averages (its own included) out of those it asked for (itself included).
   */
  sliceSynced: (event: { round: number; term: number; counted: number; expected: number }) => void;
  /**
   * Emitted by the aggregator when a full sync of `round` closes: the peers whose deltas it
   * averaged (its own included) out of those it waited for (itself included). A worker left
   * out keeps what it owed (its drift stays); silent or late ones are why.
   */
  synced: (event: { round: number; term: number; counted: readonly string[]; expected: number }) => void;
}

/** Wall-clock time in ms since the epoch with sub-ms precision (comparable across processes). */
export function epochNow(): number {
  return performance.timeOrigin + performance.now();
}

export class PeerEventEmitter extends TypedEmitter<PeerEvents> {
  /** Emits to listeners; the roles publish, everyone else listens. */
  publish<K extends keyof PeerEvents>(event: K, ...args: Parameters<PeerEvents[K]>): void {
    this.emit(event, ...args);
  }
}
