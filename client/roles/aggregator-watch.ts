/**
 * A worker's watch over its aggregator, run at every liveness tick (peer.ts). It reports
 * the aggregator to the signaling server, whose majority rule replaces it
 * (signaling/sessions.ts, reportUnreachable), for one of three reasons:
 *
 * - `silent`: nothing on the link for settings.aggregatorSilenceMs (link-liveness.ts): a
 *   stopped process, a frozen tab, a dead radio, a cut data path; before the first round,
 *   settings.waitingSilenceMs (an aggregator waiting for peers to join);
 * - `faulty`: this worker disconnected it for settings.maxBadAggregatorFrames invalid
 *   frames (reported at once, without waiting for a tick);
 * - `stalled`: it answers pings but this worker's upload has waited
 *   settings.aggregatorStallMs since it last closed a round.
 *
 * The last two bar it from the role for the rest of the session; it may stay as a worker.
 * A report is sent again every aggregatorSilenceMs while the cause lasts (the server counts
 * one for a limited time), and the watch starts afresh with every new role.
 *
 * @example
 * const watch = new AggregatorWatch({ settings, report, publish, log });
 * watch.check({ aggregatorId, term, silence, faulty: false, uploadWaitMs: null, trainingStarted: true });
 */
import type { AggregatorFault } from '../../shared/protocol/signaling.ts';
import type { Silence } from './link-liveness.ts';
import type { PeerSettings } from './settings.ts';

export interface AggregatorView {
  readonly aggregatorId: string;
  readonly term: number;
  readonly silence: Silence;
  /** This worker disconnected it for invalid frames. */
  readonly faulty: boolean;
  /** WorkerRole.uploadWaitMs: how long an upload has waited for the next round. */
  readonly uploadWaitMs: number | null;
  /** WorkerRole.trainingStarted: false before the session's first round (waitingSilenceMs applies). */
  readonly trainingStarted: boolean;
}

export interface AggregatorReport {
  readonly aggregatorId: string;
  readonly term: number;
  readonly reason: AggregatorFault;
  /** How long the cause has lasted (ms): the silence, or the upload's wait; 0 for `faulty`. */
  readonly forMs: number;
}

export interface AggregatorWatchInit {
  readonly settings: Pick<PeerSettings, 'aggregatorSilenceMs' | 'aggregatorStallMs' | 'waitingSilenceMs'>;
  /** Sends the report to the signaling server. */
  readonly report: (report: AggregatorReport) => void;
  readonly now?: () => number;
}

export class AggregatorWatch {
  private readonly init: AggregatorWatchInit;
  private readonly now: () => number;
  /** When this watch last reported (null: not since the role began, or the cause ended). */
  private reportedAt: number | null = null;

  constructor(init: AggregatorWatchInit) {
    this.init = init;
    this.now = init.now ?? (() => performance.now());
  }

  /** A new role: nothing reported yet. */
  reset(): void {
    this.reportedAt = null;
  }

  /** What is wrong with the aggregator, if anything, and for how long. */
  static diagnose(
    view: AggregatorView,
    stallMs: number,
    waitingSilenceMs: number,
  ): { reason: AggregatorFault; forMs: number } | null {
    if (view.faulty) return { reason: 'faulty', forMs: 0 };
    const silent = view.trainingStarted ? view.silence.silent : view.silence.ms > waitingSilenceMs;
    if (silent) return { reason: 'silent', forMs: view.silence.ms };
    if (view.uploadWaitMs !== null && view.uploadWaitMs > stallMs)
      return { reason: 'stalled', forMs: view.uploadWaitMs };
    return null;
  }

  /** Reports the aggregator when something is wrong and the last report is old enough. */
  check(view: AggregatorView): void {
    const { aggregatorSilenceMs, aggregatorStallMs, waitingSilenceMs } = this.init.settings;
    const fault = AggregatorWatch.diagnose(view, aggregatorStallMs, waitingSilenceMs);
    if (fault === null) {
      this.reportedAt = null;
      return;
    }
    const now = this.now();
    if (this.reportedAt !== null && now - this.reportedAt < aggregatorSilenceMs) return;
    this.reportedAt = now;
    this.init.report({
      aggregatorId: view.aggregatorId,
      term: view.term,
      reason: fault.reason,
      forMs: Math.round(fault.forMs),
    });
  }
}
