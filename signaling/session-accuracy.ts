/**
 * The session's accuracy on `GET /status`. Each peer of a csv or images task reports the
 * accuracy of the model it holds on its own validation part (or on the test set the session
 * names) with its heartbeats; the session's accuracy is the mean of the members' last reports
 * weighted by their sample counts. Test reports, when any member sends one, replace the
 * validation mean: a named test set is the same examples for every peer, so it is the fairer
 * figure.
 *
 * The server keeps a report under reserved keys of the peer's heartbeat stats, so the memory
 * and Redis stores keep it as they keep stats, with no change to either; `withSessionAccuracy`
 * takes it back out for /status.
 *
 * @example
 * await store.heartbeat(member, round, statsWithEvaluation(stats, evaluation));
 * const status = statusSnapshot(sessions.map(withSessionAccuracy), now, startedAt);
 */
import type { PeerStatus, SessionStatus } from '../shared/protocol/signaling-status.ts';
import {
  evaluationReportSchema,
  type EvaluationReport,
  type NumericStats,
} from '../shared/protocol/signaling.ts';

/** The reserved stats keys (EVALUATION_STAT_KEYS of them); a peer's own keys of these names are dropped. */
const KEYS = {
  accuracy: 'evaluation.accuracy',
  samples: 'evaluation.samples',
  round: 'evaluation.round',
  /** 1 for the test set, 0 for the validation part. */
  test: 'evaluation.test',
  /** 1 for a peer's final report (its end-of-session model). */
  final: 'evaluation.final',
} as const;
const RESERVED: ReadonlySet<string> = new Set(Object.values(KEYS));

function withoutReserved(stats: NumericStats | undefined): NumericStats | undefined {
  if (stats === undefined) return undefined;
  return Object.fromEntries(Object.entries(stats).filter(([key]) => !RESERVED.has(key)));
}

/** The stats a heartbeat stores: the peer's own, plus its evaluation when it sent one. */
export function statsWithEvaluation(
  stats: NumericStats | undefined,
  evaluation: EvaluationReport | undefined,
): NumericStats | undefined {
  const own = withoutReserved(stats);
  if (evaluation === undefined) return own;
  return {
    ...own,
    [KEYS.accuracy]: evaluation.accuracy,
    [KEYS.samples]: evaluation.samples,
    ...(evaluation.round === undefined ? {} : { [KEYS.round]: evaluation.round }),
    [KEYS.test]: evaluation.set === 'test' ? 1 : 0,
    ...(evaluation.final === true ? { [KEYS.final]: 1 } : {}),
  };
}

/** A stored peer's evaluation back out of its stats (undefined if it never sent a valid one). */
function evaluationOf(stats: NumericStats | undefined): EvaluationReport | undefined {
  if (stats === undefined || stats[KEYS.accuracy] === undefined) return undefined;
  const round = stats[KEYS.round];
  const parsed = evaluationReportSchema.safeParse({
    accuracy: stats[KEYS.accuracy],
    samples: stats[KEYS.samples],
    ...(round === undefined ? {} : { round }),
    set: stats[KEYS.test] === 1 ? 'test' : 'validation',
    ...(stats[KEYS.final] === 1 ? { final: true } : {}),
  });
  return parsed.success ? parsed.data : undefined;
}

/** The sample-weighted mean over the peers' evaluations: of the test set if any, else validation. */
export function sessionAccuracy(peers: readonly PeerStatus[]): SessionStatus['accuracy'] {
  const reports = peers.flatMap((p) => (p.evaluation === undefined ? [] : [p.evaluation]));
  const tested = reports.filter((r) => r.set === 'test');
  const counted = tested.length > 0 ? tested : reports;
  const samples = counted.reduce((sum, r) => sum + r.samples, 0);
  if (samples === 0) return undefined;
  const value = counted.reduce((sum, r) => sum + r.accuracy * r.samples, 0) / samples;
  return {
    // Rounding in the sum must not push a mean of values in [0, 1] out of it.
    value: Math.min(1, Math.max(0, value)),
    set: tested.length > 0 ? 'test' : 'validation',
    samples,
    peers: counted.length,
  };
}

/** A session's status with each peer's evaluation taken out of its stats and the session's accuracy. */
export function withSessionAccuracy(session: SessionStatus): SessionStatus {
  const peers = session.peers.map((peer): PeerStatus => {
    const evaluation = evaluationOf(peer.stats);
    const stats = withoutReserved(peer.stats);
    const { stats: _stats, evaluation: _evaluation, ...rest } = peer;
    return {
      ...rest,
      ...(stats === undefined ? {} : { stats }),
      ...(evaluation === undefined ? {} : { evaluation }),
    };
  });
  const accuracy = sessionAccuracy(peers);
  return { ...session, peers, ...(accuracy === undefined ? {} : { accuracy }) };
}
