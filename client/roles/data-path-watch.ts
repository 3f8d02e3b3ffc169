/**
 * Failure detection on the data channels, run every LinkLiveness.tickMs: notes the links
 * that received anything (a chunk of a large frame counts), pings the links of this peer's
 * role that carried nothing for settings.aggregatorPingIntervalMs, and then, as a worker,
 * looks at its aggregator (aggregator-watch.ts: silent, faulty, stalled); as the
 * aggregator, stops waiting for silent workers. The runtime (peer.ts) owns the transport and
 * the roles; this owns the clocks.
 *
 * @example
 * const watch = new DataPathWatch({ settings, transport, role: () => role, ... });
 * watch.start();
 * watch.roleChanged(); // with every new term
 * watch.stop();
 */
import type { PeerTransport } from '../transport/index.ts';
import { AggregatorRole } from './aggregator-role.ts';
import { AggregatorWatch, type AggregatorReport } from './aggregator-watch.ts';
import { LinkLiveness } from './link-liveness.ts';
import type { PeerSettings } from './settings.ts';
import type { WorkerRole } from './worker-role.ts';

export interface DataPathWatchInit {
  readonly settings: PeerSettings;
  readonly transport: Pick<PeerTransport, 'connectedPeers' | 'arrivedChunks'>;
  readonly role: () => AggregatorRole | WorkerRole | null;
  /** This worker disconnected `peerId` for invalid frames while it was its aggregator. */
  readonly isFaulty: (peerId: string) => boolean;
  readonly sendPing: (to: string, term: number) => void;
  /** Sends a report on the aggregator to the signaling server. */
  readonly report: (report: AggregatorReport) => void;
  /** Extra quiet time a peer busy with this session's work is allowed (busyAllowanceMs). */
  readonly allowanceMs?: () => number;
}

export class DataPathWatch {
  readonly liveness: LinkLiveness;
  private readonly init: DataPathWatchInit;
  private readonly aggregator: AggregatorWatch;
  /** Chunks that arrived on each link at the last tick: any new one is a sign of life. */
  private readonly receivedChunks = new Map<string, number>();
  /** When the current role began: silences of its peers count from then. */
  private roleStartedAt = performance.now();
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(init: DataPathWatchInit) {
    this.init = init;
    this.liveness = new LinkLiveness(init.settings, undefined, init.allowanceMs);
    this.aggregator = new AggregatorWatch({ settings: init.settings, report: init.report });
  }

  start(): void {
    this.timer ??= setInterval(() => this.tick(), this.liveness.tickMs);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** A new term: silences count from now, nothing reported yet. */
  roleChanged(): void {
    this.roleStartedAt = performance.now();
    this.aggregator.reset();
  }

  /**
   * For the aggregator: `peerId` silent past aggregatorSilenceMs. What it heard before its
   * term counts too: taking over from a silent aggregator, it does not wait for it.
   */
  isSilent(peerId: string): boolean {
    return this.liveness.silence(peerId, this.roleStartedAt, true).silent;
  }

  /** Looks at a worker's aggregator now (after a ban), reporting it afresh. */
  checkAggregatorNow(role: WorkerRole): void {
    this.aggregator.reset();
    this.checkAggregator(role);
  }

  tick(): void {
    const { liveness } = this;
    const { transport } = this.init;
    // Just woken from a stall of its own: judge nothing and send nothing before the links
    // that closed meanwhile have closed here (see outbox.ts).
    if (liveness.observe()) return;
    const linked = transport.connectedPeers();
    for (const id of linked) {
      const chunks = transport.arrivedChunks(id);
      if (chunks === undefined || chunks === this.receivedChunks.get(id)) continue;
      this.receivedChunks.set(id, chunks);
      liveness.noteHeard(id);
    }
    const role = this.init.role();
    if (role === null) return;
    if (role instanceof AggregatorRole) {
      for (const id of linked) if (liveness.pingDue(id)) this.init.sendPing(id, role.term);
      role.dropSilentWorkers();
      return;
    }
    if (!role.active) return;
    if (linked.includes(role.aggregatorId) && liveness.pingDue(role.aggregatorId))
      this.init.sendPing(role.aggregatorId, role.term);
    this.checkAggregator(role);
  }

  private checkAggregator(role: WorkerRole): void {
    const { liveness } = this;
    this.aggregator.check({
      aggregatorId: role.aggregatorId,
      term: role.term,
      silence: liveness.silence(role.aggregatorId, this.roleStartedAt, false),
      faulty: this.init.isFaulty(role.aggregatorId),
      uploadWaitMs: role.uploadWaitMs((since) => liveness.elapsedSince(since)),
      trainingStarted: role.trainingStarted,
    });
  }
}
