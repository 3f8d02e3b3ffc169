/**
 * When this tab tries the signaling server again after its connection dropped. A session
 * membership (client/signaling/membership.ts) waits `rejoinDelayMs` (1000 ms by default),
 * then connects and joins; a refused connection fails within milliseconds and the next
 * attempt waits the same delay. So attempt k comes about k delays after the drop, and the
 * dashboard's countdown counts down to the next multiple of the delay.
 *
 * The app passes SIGNALING_RETRY_DELAY_MS to every membership it starts (the tab's training
 * peer, or its non-training member), so the countdown and the retries share one number.
 *
 * @example
 * const state = reconnectingSince(Date.now(), SIGNALING_RETRY_DELAY_MS, 'transport close');
 * nextAttemptIn(state, Date.now() + 2300); // 700
 */

/** Pause before each attempt to join again after the signaling connection dropped. */
export const SIGNALING_RETRY_DELAY_MS = 1000;

/** Attempts before the membership gives up (SessionMembership's default). */
export const SIGNALING_RETRY_ATTEMPTS = 30;

export interface ReconnectState {
  /** When the connection dropped (Date.now() ms). */
  since: number;
  retryDelayMs: number;
  /** Why it dropped (socket.io's reason, or the server's fatal error). */
  reason: string;
}

export function reconnectingSince(since: number, retryDelayMs: number, reason: string): ReconnectState {
  return { since, retryDelayMs: Math.max(1, retryDelayMs), reason };
}

/** Milliseconds until the next attempt (in (0, retryDelayMs]). */
export function nextAttemptIn(state: ReconnectState, now: number): number {
  const elapsed = Math.max(0, now - state.since);
  const delay = state.retryDelayMs;
  return delay - (elapsed % delay);
}

/** Attempts made so far (about one per delay since the drop). */
export function attemptsSoFar(state: ReconnectState, now: number): number {
  return Math.floor(Math.max(0, now - state.since) / state.retryDelayMs);
}

/** The countdown as shown: tenths of a second rounded up, so it never reads 0 before the attempt. */
export function formatCountdown(ms: number): string {
  const tenths = Math.max(1, Math.ceil(ms / 100));
  return tenths >= 100 ? `${Math.ceil(tenths / 10)} s` : `${(tenths / 10).toFixed(1)} s`;
}
