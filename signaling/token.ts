/**
 * Session tokens: HMAC-SHA256 over the session id and an expiry, signed with the server's
 * secret. A token admits joins to exactly one session until it expires; the server keeps
 * no token state, and a restart with a new random secret invalidates all tokens.
 *
 * Format: `<expiresAtMs>.<base64url(hmac)>`, hmac over `liec-session-v1\n<sessionId>\n<expiresAtMs>`.
 *
 * @example
 * const token = signSessionToken(secret, 'abc12345', Date.now() + 3600_000);
 * verifySessionToken(secret, 'abc12345', token, Date.now()); // undefined when valid
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { SignalingErrorCode } from '../shared/protocol/signaling.ts';

const DOMAIN = 'liec-session-v1';

function mac(secret: Uint8Array, sessionId: string, expiresAt: number): Buffer {
  return createHmac('sha256', secret).update(`${DOMAIN}\n${sessionId}\n${expiresAt}`).digest();
}

export function signSessionToken(secret: Uint8Array, sessionId: string, expiresAt: number): string {
  return `${expiresAt}.${mac(secret, sessionId, expiresAt).toString('base64url')}`;
}

/**
 * Checks a token; returns undefined when it is valid, else the failure code. The signature
 * is checked before the expiry so an unsigned token never learns anything about timing.
 */
export function verifySessionToken(
  secret: Uint8Array,
  sessionId: string,
  token: string,
  now: number,
): Extract<SignalingErrorCode, 'BAD_TOKEN' | 'TOKEN_EXPIRED'> | undefined {
  const match = /^(\d{1,16})\.([A-Za-z0-9_-]{43})$/.exec(token);
  if (match === null) return 'BAD_TOKEN';
  const [, expiresText = '', macText = ''] = match;
  const expiresAt = Number(expiresText);
  const given = Buffer.from(macText, 'base64url');
  const expected = mac(secret, sessionId, expiresAt);
  // Canonical form only: re-encoding must give back the same text (no alternative encodings).
  if (given.length !== expected.length || given.toString('base64url') !== macText) return 'BAD_TOKEN';
  if (String(expiresAt) !== expiresText) return 'BAD_TOKEN';
  if (!timingSafeEqual(given, expected)) return 'BAD_TOKEN';
  return now < expiresAt ? undefined : 'TOKEN_EXPIRED';
}
