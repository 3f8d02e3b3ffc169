/**
 * The session's accuracy as the signaling server's `GET /status` states it (the sample-weighted
 * mean of the members' own evaluations, signaling/session-accuracy.ts), for `liec join`'s
 * summary; null when the server has none for the session or cannot be read.
 *
 * @example
 * const accuracy = await fetchSessionAccuracy('http://localhost:8080', sessionId);
 * if (accuracy !== null) console.log(accuracy.value, accuracy.set, accuracy.peers);
 */
import { signalingStatusSchema, type SessionAccuracy } from '../../shared/protocol/signaling-status.ts';

/** How long the summary waits for /status. @default 5000 */
const STATUS_TIMEOUT_MS = 5000;

export async function fetchSessionAccuracy(
  server: string,
  sessionId: string,
): Promise<SessionAccuracy | null> {
  try {
    const response = await fetch(new URL('/status', server), {
      signal: AbortSignal.timeout(STATUS_TIMEOUT_MS),
    });
    if (!response.ok) return null;
    const status = signalingStatusSchema.parse(await response.json());
    return status.sessions.find((s) => s.sessionId === sessionId)?.accuracy ?? null;
  } catch {
    // The summary says null: the peer's own figures stand without the server's.
    return null;
  }
}

/** One line for stderr: "session accuracy 84.20% (validation, 3 peers, 480 examples)". */
export function sessionAccuracyText(accuracy: SessionAccuracy): string {
  return `session accuracy ${(accuracy.value * 100).toFixed(2)}% (${accuracy.set}, ${accuracy.peers} peers, ${accuracy.samples} examples)`;
}
