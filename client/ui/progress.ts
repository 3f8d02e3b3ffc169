/**
 * The session's progress as the overview shows it, from the store's state and a clock:
 * elapsed time since the session was created, seconds per round over the recent rounds,
 * the time left at that pace, and the latest loss and test accuracy. Pure, so it is tested
 * without a DOM; the overview re-reads it every second.
 *
 * @example
 * const p = sessionProgress(store.state, Date.now());
 * formatDuration(p.remainingMs); // '3 min 05 s'
 */
import type { DashboardState, RoundRecord, RoundTime } from './state.ts';

/** Round times the pace is measured over (the latest ones). */
export const PACE_WINDOW = 20;

export interface SessionProgress {
  /** Since the session was created (until it finished); null until known. */
  elapsedMs: number | null;
  /** Milliseconds per round over the last PACE_WINDOW rounds seen; null before two. */
  msPerRound: number | null;
  /** Rounds left times the pace; 0 once done; null when unknown. */
  remainingMs: number | null;
  /** The latest loss and test accuracy, with the round they belong to. */
  loss: { value: number; round: number } | null;
  accuracy: { value: number; round: number } | null;
}

/** Milliseconds per round over the latest `window` round times; null without two distinct rounds. */
export function msPerRound(times: readonly RoundTime[], window = PACE_WINDOW): number | null {
  const recent = times.slice(-window);
  const first = recent[0];
  const last = recent.at(-1);
  if (first === undefined || last === undefined || last.round <= first.round) return null;
  return (last.at - first.at) / (last.round - first.round);
}

function latest(
  history: readonly RoundRecord[],
  pick: (r: RoundRecord) => number | null,
): { value: number; round: number } | null {
  for (let i = history.length - 1; i >= 0; i--) {
    const record = history[i];
    const value = record === undefined ? null : pick(record);
    if (record !== undefined && value !== null && Number.isFinite(value))
      return { value, round: record.round };
  }
  return null;
}

export function sessionProgress(
  state: Pick<DashboardState, 'session' | 'history'>,
  now: number,
): SessionProgress {
  const { session, history } = state;
  const done = session.phase === 'done';
  const end = done && session.finishedAt !== null ? session.finishedAt : now;
  const elapsedMs = session.createdAt === null ? null : Math.max(0, end - session.createdAt);
  const pace = msPerRound(session.roundTimes);
  const roundsLeft = session.totalRounds === null ? null : Math.max(0, session.totalRounds - session.round);
  const remainingMs = done ? 0 : pace === null || roundsLeft === null ? null : roundsLeft * pace;
  return {
    elapsedMs,
    msPerRound: pace,
    remainingMs,
    loss: latest(history, (r) => r.loss),
    accuracy: latest(history, (r) => r.testAccuracy),
  };
}
