/**
 * The chaos bench's fault plan: how many faults of each kind, spread evenly (with seeded
 * jitter and a seeded order) over a window of the session's rounds.
 *
 * Kinds: kill-worker (SIGKILL a worker, restart it with --resume), kill-aggregator (the same
 * for the aggregator: a failover), slow-restart (SIGKILL a worker, restart it with a compute
 * delay beyond the round deadline for some rounds, then SIGKILL and resume it normally),
 * pause (SIGSTOP a worker for longer than a deadline, then SIGCONT), drop-links (SIGUSR2: a
 * peer closes every data channel but stays in the session), silent-aggregator (SIGSTOP the
 * aggregator for longer than failure detection, then SIGCONT), partition-aggregator (SIGPWR:
 * the aggregator's data path is cut for 4 s while its signaling socket stays up),
 * corrupt-aggregator (SIGURG: the aggregator truncates 30% of its frames until it is
 * replaced, then SIGURG again: repaired).
 *
 * @example
 * const plan = planFaults(defaultFaultCounts(6), 300, [0.1, 0.8], createRng(7));
 * // [{ atRound: 31, kind: 'pause' }, { atRound: 52, kind: 'kill-aggregator' }, ...]
 */
import type { Rng } from '../../shared/random.ts';

export const FAULT_KINDS = [
  'kill-worker',
  'kill-aggregator',
  'slow-restart',
  'pause',
  'drop-links',
  'silent-aggregator',
  'partition-aggregator',
  'corrupt-aggregator',
] as const;
/** The faults that take the aggregator out of the session: each ends its term. */
export const AGGREGATOR_FAULTS: ReadonlySet<FaultKind> = new Set([
  'kill-aggregator',
  'silent-aggregator',
  'partition-aggregator',
  'corrupt-aggregator',
]);
export type FaultKind = (typeof FAULT_KINDS)[number];
export type FaultCounts = Record<FaultKind, number>;

export interface PlannedFault {
  atRound: number;
  kind: FaultKind;
}

/**
 * Defaults for `peers` peers: round(0.3 * peers) random worker kills (at least 1), one slow
 * restart (that worker is killed twice), the aggregator killed twice, two pauses, three
 * dropped-link events, and one each of a silent, a partitioned and a corrupting aggregator.
 */
export function defaultFaultCounts(peers: number): FaultCounts {
  return {
    'kill-worker': Math.max(1, Math.round(0.3 * peers)),
    'kill-aggregator': 2,
    'slow-restart': 1,
    pause: 2,
    'drop-links': 3,
    'silent-aggregator': 1,
    'partition-aggregator': 1,
    'corrupt-aggregator': 1,
  };
}

export function planFaults(
  counts: FaultCounts,
  rounds: number,
  window: readonly [number, number],
  rng: Rng,
): PlannedFault[] {
  const kinds: FaultKind[] = FAULT_KINDS.flatMap((kind) => Array<FaultKind>(counts[kind]).fill(kind));
  // Fisher-Yates with the seeded generator: the same seed, the same order.
  for (let i = kinds.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [kinds[i], kinds[j]] = [kinds[j] as FaultKind, kinds[i] as FaultKind];
  }
  const [from, to] = window;
  const first = from * rounds;
  const step = kinds.length > 0 ? ((to - from) * rounds) / kinds.length : 0;
  return kinds.map((kind, i) => ({
    atRound: Math.max(1, Math.round(first + step * (i + 0.25 + 0.5 * rng.next()))),
    kind,
  }));
}
