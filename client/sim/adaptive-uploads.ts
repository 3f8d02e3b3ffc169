/**
 * The simulator's `topk:auto` bookkeeping: what each virtual worker measured of its uplink
 * (a ThroughputMeter, as on real peers), the ratio it last picked and what the last broadcast
 * told it about its upload, from which it picks its next ratio (nextTopKRatio). With a fixed
 * up codec it only keeps the meters and picks nothing.
 *
 * @example
 * const uploads = new AdaptiveUploads(d, options.adaptiveUp, 6, 0.2);
 * const up = uploads.compressorFor(worker); // undefined: the algorithm's own C_up
 * uploads.recordTransfer(worker, frame.length, 12.5);
 * uploads.afterBroadcast([{ worker, slackSeconds: 0.004 }], [lateWorker]);
 */
import {
  nextTopKRatio,
  NO_FEEDBACK,
  type AdaptiveRatioSettings,
  type UploadFeedback,
} from '../../shared/algorithm/adaptive-ratio.ts';
import { createTopK, type Compressor } from '../../shared/compress/index.ts';
import { ThroughputMeter } from '../transport/shaping.ts';

export class AdaptiveUploads {
  /** Each worker's upload rate over its last uploads, end to end (bytes/s). */
  private readonly meters: ThroughputMeter[];
  /** Each worker's last ratio (undefined before its first upload). */
  private readonly ratios: (number | undefined)[];
  private readonly feedback: UploadFeedback[];

  constructor(
    private readonly d: number,
    /** The session's `topk:auto` settings; undefined with a fixed up codec. */
    private readonly adaptive: AdaptiveRatioSettings | undefined,
    workers: number,
    private readonly deadlineSeconds: number,
  ) {
    this.meters = Array.from({ length: workers }, () => new ThroughputMeter());
    this.ratios = Array.from({ length: workers }, () => undefined);
    this.feedback = Array.from({ length: workers }, () => NO_FEEDBACK);
  }

  /** This round's up compressor of `worker` (undefined with a fixed codec). */
  compressorFor(worker: number): Compressor | undefined {
    if (this.adaptive === undefined) return undefined;
    const ratio = nextTopKRatio(
      {
        d: this.d,
        previousRatio: this.ratios[worker],
        bytesPerSecond: this.measuredRate(worker),
        deadlineSeconds: this.deadlineSeconds,
        feedback: this.feedback[worker] ?? NO_FEEDBACK,
      },
      this.adaptive,
    );
    this.ratios[worker] = ratio;
    this.feedback[worker] = NO_FEEDBACK;
    return createTopK({ ratio });
  }

  /** The ratio `worker` picked last (null before it picked one). */
  ratioOf(worker: number): number | null {
    return this.ratios[worker] ?? null;
  }

  /** An upload of `bytes` took `ms` from its start to its arrival at the aggregator. */
  recordTransfer(worker: number, bytes: number, ms: number): void {
    this.meters[worker]?.record({ bytes, ms });
  }

  /** What the broadcast told each worker: its slack if counted, or that it was late. */
  afterBroadcast(
    counted: readonly { worker: number; slackSeconds: number }[],
    lateWorkers: readonly number[],
  ): void {
    if (this.adaptive === undefined) return;
    for (const c of counted) this.feedback[c.worker] = { kind: 'counted', slackSeconds: c.slackSeconds };
    for (const worker of lateWorkers) this.feedback[worker] = { kind: 'late' };
  }

  private measuredRate(worker: number): number | undefined {
    const meter = this.meters[worker];
    if (meter === undefined || meter.samples === 0) return undefined;
    return meter.bytesPerSecond() ?? Infinity; // uploads that took no time: an unshaped path
  }
}
