/**
 * The aggregator's bookkeeping of closed rounds: frame bytes both ways (and what fp32 SGD
 * would have moved), the test-set evaluation every config.evalEvery rounds (with a metrics
 * message to the workers), and the round events the CLI, the dashboard and the tests read.
 *
 * @example
 * const report = new RoundReport(ctx, (message) => broadcastControl(message));
 * report.countDown(frame);
 * const publish = report.closed({ round, term, counted, ... }); // at the broadcast
 * publish(); // later, off the critical path: evaluates if due, emits the 'round' event
 */
import type { ControlMessage } from '../../shared/protocol/control.ts';
import { fp32PayloadBytes, frameBytes } from '../../shared/protocol/frames.ts';
import type { RoleContext } from './context.ts';

export interface ClosedRound {
  round: number;
  term: number;
  counted: string[];
  /** Expected uploads, this peer included. */
  expected: number;
  lateUploads: { peerId: string; round: number }[];
  loss: number | null;
  /** When the broadcast went out (epochNow). */
  closedAt: number;
  durationMs: number;
  computeMs: number;
  sync: boolean;
  /** Workers the broadcast was sent to. */
  recipients: number;
  /** See RoundEvent.drift. */
  drift: number | null;
}

export class RoundReport {
  private readonly ctx: RoleContext;
  private readonly broadcastControl: (message: ControlMessage) => void;
  private readonly traffic = { up: 0, down: 0, fp32Up: 0, fp32Down: 0 };

  constructor(ctx: RoleContext, broadcastControl: (message: ControlMessage) => void) {
    this.ctx = ctx;
    this.broadcastControl = broadcastControl;
  }

  countUp(frame: { meta: Uint8Array; payload: Uint8Array }): void {
    this.traffic.up += frameBytes(frame.meta.length, frame.payload.length);
  }

  countDown(frame: { meta: Uint8Array; payload: Uint8Array }): void {
    this.traffic.down += frameBytes(frame.meta.length, frame.payload.length);
  }

  get bytes(): { up: number; down: number } {
    return { up: this.traffic.up, down: this.traffic.down };
  }

  /**
   * Counts the round's fp32 equivalent now (with the bytes as they are at its broadcast) and
   * returns what is left to do: evaluate if due and publish the 'round' event.
   */
  closed(round: ClosedRound): () => void {
    const d = this.ctx.state.learner.numParams;
    this.traffic.fp32Up += (round.counted.length - 1) * frameBytes(0, fp32PayloadBytes(d));
    this.traffic.fp32Down += round.recipients * frameBytes(4 * round.counted.length, fp32PayloadBytes(d));
    const traffic = { ...this.traffic };
    return () => {
      const started = performance.now();
      const evaluation = this.evaluateIfDue(round.round);
      this.ctx.events.publish('round', {
        round: round.round,
        term: round.term,
        counted: round.counted.length,
        expected: round.expected,
        participants: round.counted,
        late: round.lateUploads.length,
        lateUploads: round.lateUploads,
        loss: round.loss,
        testAccuracy: evaluation?.accuracy ?? null,
        testLoss: evaluation?.loss ?? null,
        bytesUp: traffic.up,
        bytesDown: traffic.down,
        fp32BytesUp: traffic.fp32Up,
        fp32BytesDown: traffic.fp32Down,
        durationMs: round.durationMs,
        computeMs: round.computeMs,
        evalMs: evaluation === null ? 0 : performance.now() - started,
        closedAt: round.closedAt,
        sync: round.sync,
        drift: round.drift,
      });
    };
  }

  private evaluateIfDue(round: number): { accuracy: number; loss: number } | null {
    const every = this.ctx.config.evalEvery;
    if ((round + 1) % every !== 0 && round + 1 < this.ctx.config.rounds) return null;
    const evaluation = this.ctx.state.learner.evaluate(this.ctx.state.requireWorker().model);
    this.broadcastControl({
      kind: 'metrics',
      round,
      testAccuracy: evaluation.accuracy,
      testLoss: evaluation.loss,
    });
    this.ctx.events.publish('metrics', {
      round,
      testAccuracy: evaluation.accuracy,
      testLoss: evaluation.loss,
    });
    return evaluation;
  }
}

/** Round report metrics the server accepts: finite numbers only (a diverged loss is left out). */
export function finiteMetrics(values: Record<string, number | null>): Record<string, number> {
  const metrics: Record<string, number> = {};
  for (const [name, value] of Object.entries(values))
    if (value !== null && Number.isFinite(value)) metrics[name] = value;
  return metrics;
}
