/**
 * The aggregator's bookkeeping of closed rounds: frame bytes both ways (and what fp32 SGD
 * would have moved), the test-set evaluation every config.evalEvery rounds (with a metrics
 * message to the workers), the round report to the signaling server (what a dashboard that
 * only watches sees: the round's bytes, loss, drift, and the test accuracy when evaluated),
 * and the round events the CLI, the dashboard and the tests read.
 *
 * @example
 * const report = new RoundReport(ctx, (message) => broadcastControl(message));
 * report.countDown(frame);
 * const publish = report.closed({ round, term, counted, ... }); // at the broadcast: reports it
 * publish(); // later, off the critical path: evaluates if due (then reports it), emits 'round'
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
  /** Absent workers stood in for (RoundEvent.standIns). */
  standIns: string[];
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
  /** The traffic already in a report to the server (reports carry each round's own bytes). */
  private readonly reported = { up: 0, down: 0 };
  /**
   * The last test evaluation, repeated in every report until the next one: a dashboard that
   * polls /status sees only the last report, and most rounds are not evaluated.
   */
  private latestEvaluation: { round: number; accuracy: number; loss: number } | null = null;

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

  /**
   * Counts the round's fp32 equivalent now (with the bytes as they are at its broadcast),
   * reports the round to the server unless it is evaluated, and returns what is left to do:
   * evaluate if due (and report the round with its accuracy) and publish the 'round' event.
   */
  closed(round: ClosedRound): () => void {
    const d = this.ctx.state.learner.numParams;
    this.traffic.fp32Up += (round.counted.length - 1) * frameBytes(0, fp32PayloadBytes(d));
    this.traffic.fp32Down += round.recipients * frameBytes(4 * round.counted.length, fp32PayloadBytes(d));
    const traffic = { ...this.traffic };
    const serverReport = {
      term: round.term,
      round: round.round,
      participants: round.counted,
      bytes: { up: traffic.up - this.reported.up, down: traffic.down - this.reported.down },
      durationMs: Math.max(0, round.durationMs),
      metrics: finiteMetrics({
        expected: round.expected,
        loss: round.loss,
        drift: round.drift,
        ...this.evaluationMetrics(),
      }),
    };
    this.reported.up = traffic.up;
    this.reported.down = traffic.down;
    // Right away (one small message): the server's status and a successor see the round. An
    // evaluated round is reported once its accuracy is known, a few ms later.
    const evaluationDue = this.evaluationDue(round.round);
    if (!evaluationDue) this.ctx.reportRound(serverReport);
    return () => {
      const started = performance.now();
      const evaluation = evaluationDue ? this.evaluate(round.round) : null;
      if (evaluation !== null)
        this.ctx.reportRound({
          ...serverReport,
          metrics: { ...serverReport.metrics, ...finiteMetrics(this.evaluationMetrics()) },
        });
      this.ctx.events.publish('round', {
        round: round.round,
        term: round.term,
        counted: round.counted.length,
        expected: round.expected,
        participants: round.counted,
        standIns: round.standIns,
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

  /** Every config.evalEvery rounds, and the last round. */
  private evaluationDue(round: number): boolean {
    return (round + 1) % this.ctx.config.evalEvery === 0 || round + 1 >= this.ctx.config.rounds;
  }

  /** Report metrics of the last evaluation: testAccuracy, testLoss and the evaluatedRound. */
  private evaluationMetrics(): Record<string, number> {
    const latest = this.latestEvaluation;
    if (latest === null) return {};
    return { testAccuracy: latest.accuracy, testLoss: latest.loss, evaluatedRound: latest.round };
  }

  private evaluate(round: number): { accuracy: number; loss: number } {
    const evaluation = this.ctx.state.learner.evaluate(this.ctx.state.requireWorker().model);
    this.latestEvaluation = { round, accuracy: evaluation.accuracy, loss: evaluation.loss };
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
