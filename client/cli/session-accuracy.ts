/**
 * The session's accuracy as the signaling server's `GET /status` states it (the sample-weighted
 * mean of the members' own evaluations, signaling/session-accuracy.ts), for `liec join`'s
 * summary, read once the members' final reports are in; null when the server has none for
 * the session or cannot be read.
 *
 * @example
 * const accuracy = await awaitFinalSessionAccuracy('http://localhost:8080', sessionId);
 * if (accuracy !== null) console.log(accuracy.value, accuracy.set, accuracy.peers);
 */
import {
  signalingStatusSchema,
  type SessionAccuracy,
  type SessionStatus,
} from '../../shared/protocol/signaling-status.ts';

/** How long the summary waits for /status. @default 5000 */
const STATUS_TIMEOUT_MS = 5000;
/**
 * How long a peer that sent its final report waits for the other members' (each waits for the
 * others, so the last to finish holds up the rest at most this long). @default 5000
 */
export const FINAL_REPORTS_WAIT_MS = 5000;
/** How often /status is read while waiting for the final reports. @default 200 */
const FINAL_REPORTS_POLL_MS = 200;

async function fetchSession(server: string, sessionId: string): Promise<SessionStatus | null> {
  try {
    const response = await fetch(new URL('/status', server), {
      signal: AbortSignal.timeout(STATUS_TIMEOUT_MS),
    });
    if (!response.ok) return null;
    const status = signalingStatusSchema.parse(await response.json());
    return status.sessions.find((s) => s.sessionId === sessionId) ?? null;
  } catch {
    // The summary says null: the peer's own figures stand without the server's.
    return null;
  }
}

/**
 * Whether every training member has sent its final report: members that are ready to train
 * or have reported at all (a watching tab that never trains is not waited for).
 */
export function finalReportsIn(session: Pick<SessionStatus, 'peers'>): boolean {
  return session.peers
    .filter((p) => p.ready || p.evaluation !== undefined)
    .every((p) => p.evaluation?.final === true);
}

/**
 * The session's accuracy once every training member's final report is in (finalReportsIn), or
 * what /status says after `waitMs`; null when the server has none or cannot be read.
 * `onPending` is called after each read that found a final report missing.
 */
export async function awaitFinalSessionAccuracy(
  server: string,
  sessionId: string,
  options: { waitMs?: number; onPending?: () => void } = {},
): Promise<SessionAccuracy | null> {
  const deadline = performance.now() + (options.waitMs ?? FINAL_REPORTS_WAIT_MS);
  for (;;) {
    const session = await fetchSession(server, sessionId);
    if (session === null) return null;
    if (finalReportsIn(session) || performance.now() >= deadline) return session.accuracy ?? null;
    options.onPending?.();
    await new Promise((resolve) => setTimeout(resolve, FINAL_REPORTS_POLL_MS));
  }
}

/** One line for stderr: "session accuracy 84.20% (validation, 3 peers, 480 examples)". */
export function sessionAccuracyText(accuracy: SessionAccuracy): string {
  return `session accuracy ${(accuracy.value * 100).toFixed(2)}% (${accuracy.set}, ${accuracy.peers} peers, ${accuracy.samples} examples)`;
}
