/**
 * The aggregator's half of topk:auto (adaptive-ratio.ts has the worker's): how much slack
 * each counted upload had, sent back with the broadcast (shared/protocol/broadcast-meta.ts).
 *
 * Arrivals are measured from the round's opening. The round's close is set by its last
 * counted upload; the target is that close less a margin (`margin` of it), and an upload's
 * slack is the target minus its arrival. The margin keeps the growing uploads clear of the
 * ones that set the round's length, so these do not queue behind them on the aggregator's
 * link (which would push the close later, show more slack, and let the round creep longer):
 * the last arrivals get a small negative slack and shrink, down to minRatio, where they stay
 * and set the round. A positive slack is shared with the uploads that arrived after it:
 * they cross the aggregator's link after it, so when it grows by t seconds of that link they
 * may all arrive t later. A negative slack is the upload's own lateness.
 *
 * @example
 * const slack = uploadSlack([0.012, 0.020, 0.067], 0.05); // seconds after the round opened
 * // target 0.95 * 0.067 = 0.06365: [0.05165 / 3, 0.04365 / 2, -0.00335]
 */

/** Share of the round's close kept free before it (see the module doc). @default 0.05 */
export const DEFAULT_SLACK_MARGIN = 0.05;

/**
 * Slack of each counted upload (seconds, same order as `arrivals`, which are seconds after
 * the round opened; see the module doc). Empty for no arrivals.
 */
export function uploadSlack(arrivals: readonly number[], margin = DEFAULT_SLACK_MARGIN): number[] {
  if (arrivals.length === 0) return [];
  const target = Math.max(...arrivals) * (1 - margin);
  return arrivals.map((at) => {
    const slack = target - at;
    if (!(slack > 0)) return Number.isFinite(slack) ? slack : 0;
    const behind = arrivals.reduce((n, other) => n + (other > at ? 1 : 0), 0);
    return slack / (1 + behind);
  });
}
