/**
 * The pace of a demo session from the peers' timelines (the rounds each closed as aggregator):
 * rounds per second from the opening of the first round to the close of the last, and how
 * many peers each round counted. A round closed twice (by an aggregator that was replaced
 * while its broadcast went out, and again by its successor) counts once, the later close.
 *
 * @example
 * const stats = roundStats(summaries.map((s) => s.timeline));
 * stats.countedPerRound.median; // 63 of 64 peers: partial participation at work
 */
import type { ClosedRound, Timeline } from './timeline.ts';

export interface RoundStats {
  /** Rounds closed (each once). */
  rounds: number;
  /** From the opening of the first round to the close of the last (s). */
  trainingSeconds: number;
  roundsPerSecond: number;
  /** Peers counted per round, the aggregator included. */
  countedPerRound: { min: number; median: number; max: number };
}

export function roundStats(timelines: readonly Timeline[]): RoundStats | null {
  const byRound = new Map<number, ClosedRound>();
  for (const record of timelines.flatMap((t) => t.rounds)) {
    const kept = byRound.get(record.round);
    if (kept === undefined || record.closedAt > kept.closedAt) byRound.set(record.round, record);
  }
  const rounds = [...byRound.values()];
  if (rounds.length === 0) return null;
  const openedAt = Math.min(...rounds.map((r) => r.closedAt - r.durationMs));
  const closedAt = Math.max(...rounds.map((r) => r.closedAt));
  const trainingSeconds = (closedAt - openedAt) / 1000;
  const counted = rounds.map((r) => r.counted).sort((a, b) => a - b);
  return {
    rounds: rounds.length,
    trainingSeconds,
    roundsPerSecond: trainingSeconds > 0 ? rounds.length / trainingSeconds : 0,
    countedPerRound: {
      min: counted[0] ?? 0,
      median: counted[Math.floor(counted.length / 2)] ?? 0,
      max: counted.at(-1) ?? 0,
    },
  };
}
