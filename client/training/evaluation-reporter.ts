/**
 * A csv or images peer's live accuracy: wraps its learner so that every `everyRounds`
 * gradients it measures the model it holds (the weights it was just asked to train from) on
 * its own validation part, or on the test set the session names, and keeps the last figure
 * for its heartbeats (`evaluation` of shared/protocol/signaling.ts). The signaling server's
 * /status weighs the members' figures by their sample counts into the session's accuracy.
 *
 * The measurement runs on a copy of the weights after the gradient has returned (a timer),
 * so the round's upload does not wait for it. Nothing here knows the peer runtime: the
 * caller hands `heartbeat` to SignalingClient.addToHeartbeats. `switchTo` moves the reports to
 * another set while training runs (a tab that picks the session's test set after joining).
 *
 * @example
 * const reporting = reportEvaluations(learner, { everyRounds: config.evalEvery, samples: 160, evaluate: (w) => learner.evaluate(w) });
 * new Peer({ ..., createLearner: async () => reporting.learner, onJoined: (client) => client.addToHeartbeats(reporting.heartbeat) });
 */
import type { EvaluationReport } from '../../shared/protocol/signaling.ts';
import type { Learner } from './learner.ts';

export interface EvaluationReporterInit {
  /** Gradients between two measurements (the session's evalEvery is a good choice). */
  everyRounds: number;
  /** Examples `evaluate` measures on (the report's weight in the session's mean); 0: never report. */
  samples: number;
  /** Accuracy of `weights` on those examples. */
  evaluate: (weights: Float32Array) => { accuracy: number };
  /** The peer's current round, sent with the report (undefined: none yet). @default none */
  round?: () => number | undefined;
  /** @default 'validation' */
  set?: 'validation' | 'test';
  /** Called after each measurement (a dashboard shows it). */
  onReport?: (report: EvaluationReport) => void;
}

/** What a reporter measures on: the examples' count, the measurement, the set they are. */
export type EvaluationTarget = Pick<EvaluationReporterInit, 'samples' | 'evaluate'> & {
  set: 'validation' | 'test';
};

export interface EvaluationReporting<L extends Learner> {
  /** The learner to hand the peer runtime: the same learner, measuring as it trains. */
  readonly learner: L;
  /** The last measurement, undefined before the first. */
  readonly latest: EvaluationReport | undefined;
  /** What each heartbeat adds (nothing before the first measurement). */
  heartbeat(): { evaluation?: EvaluationReport };
  /** Measures `weights` now (the final model at the end of training). */
  measure(weights: Float32Array): EvaluationReport | undefined;
  /**
   * Measures on other examples from now on: the last report, of the old set, is dropped (no
   * heartbeat carries a figure of one set under the other's name) and the next gradient measures.
   */
  switchTo(target: EvaluationTarget): void;
  /** Cancels a measurement still waiting for its timer. */
  stop(): void;
}

export function reportEvaluations<L extends Learner>(
  inner: L,
  init: EvaluationReporterInit,
): EvaluationReporting<L> {
  const every = Math.max(1, Math.floor(init.everyRounds));
  let measuredOn: EvaluationTarget = {
    samples: init.samples,
    evaluate: init.evaluate,
    set: init.set ?? 'validation',
  };
  let gradients = 0;
  let latest: EvaluationReport | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const measure = (weights: Float32Array): EvaluationReport | undefined => {
    if (measuredOn.samples <= 0) return undefined;
    const { samples, set } = measuredOn;
    const { accuracy } = measuredOn.evaluate(weights);
    // A NaN or out-of-range accuracy would fail the heartbeat's validation: not reported.
    if (!(accuracy >= 0 && accuracy <= 1)) return latest;
    const round = init.round?.();
    latest = { accuracy, samples, ...(round === undefined ? {} : { round }), set };
    init.onReport?.(latest);
    return latest;
  };
  // An object spread would drop the learner's prototype methods; a Proxy keeps every member.
  const learner = new Proxy(inner, {
    get(target, key, receiver) {
      if (key !== 'gradient') return Reflect.get(target, key, receiver) as unknown;
      return (worker: number, weights: Float32Array) => {
        const result = target.gradient(worker, weights);
        if (gradients++ % every === 0 && timer === undefined && measuredOn.samples > 0) {
          const copy = weights.slice();
          timer = setTimeout(() => {
            timer = undefined;
            try {
              measure(copy);
            } catch {
              // The learner was disposed meanwhile (the peer left): nothing left to report.
            }
          }, 0);
        }
        return result;
      };
    },
  });
  return {
    learner,
    get latest() {
      return latest;
    },
    heartbeat: () => (latest === undefined ? {} : { evaluation: latest }),
    measure,
    switchTo(next) {
      measuredOn = { ...next };
      latest = undefined;
      gradients = 0;
    },
    stop() {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    },
  };
}
