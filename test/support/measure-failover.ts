/**
 * Measures aggregator failover on real processes (test/support/aggregator-failure.ts): for
 * a SIGSTOPped (silent) and a SIGKILLed aggregator, the seconds from the signal to the
 * successor taking the role and to the first round it closed, over a few runs, with the
 * session's default settings (roundDeadlineMs 5000, quorum 0.5) and the peers' default
 * liveness settings. Not a test (no assertions): run it by hand, e.g.
 *
 *   node --import tsx test/support/measure-failover.ts 3
 *
 * and read the medians it prints (docs/failover.md quotes them).
 */
import { DEFAULT_SESSION_CONFIG } from '../../shared/protocol/session-config.ts';
import { runAggregatorFailure } from './aggregator-failure.ts';

const runs = Number(process.argv[2] ?? 3);
const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] ?? NaN)
    : ((sorted[mid - 1] ?? NaN) + (sorted[mid] ?? NaN)) / 2;
};
const seconds = (ms: number): string => (ms / 1000).toFixed(2);

for (const signal of ['SIGSTOP', 'SIGKILL'] as const) {
  const firstRounds: number[] = [];
  const takeovers: number[] = [];
  for (let i = 1; i <= runs; i++) {
    const run = await runAggregatorFailure(signal, {
      rounds: 200,
      roundDeadlineMs: DEFAULT_SESSION_CONFIG.roundDeadlineMs,
    });
    firstRounds.push(run.firstRoundAfterMs);
    takeovers.push(run.takeoverAfterMs);
    const hashes = new Set([...run.summaries.values()].map((s) => s.modelSha256));
    process.stdout.write(
      `${signal} run ${i}: takeover ${seconds(run.takeoverAfterMs)} s, first round (${run.firstRound.round}, ` +
        `term ${run.firstRound.term}) ${seconds(run.firstRoundAfterMs)} s after the signal; ` +
        `${run.summaries.size} peers finished on ${hashes.size} model(s)\n`,
    );
  }
  process.stdout.write(
    `${signal}: median takeover ${seconds(median(takeovers))} s, median first round ${seconds(median(firstRounds))} s ` +
      `(runs: ${firstRounds.map(seconds).join(', ')})\n`,
  );
}
