/**
 * Session tokens: HMAC-SHA256 over the session id and an expiry, signed with the server's
 * secret. A token admits joins to exactly one session until it expires; the server keeps
 * no token state, and a restart with a new random secret invalidates all tokens.
 *
 * Three kinds, each under its own HMAC domain so none passes for another:
 * - session `<expiresAtMs>.<mac>`: anyone holding it joins under any id;
 * - host `h.<expiresAtMs>.<mac>`, of a session created with invitations (no session token
 *   exists for it): its creator joins with it and mints invitations;
 * - invitation `i.<peerId>.<expiresAtMs>.<mac>`: admits one peer id only, so a device
 *   expelled from the session (its id refused for good) cannot come back under another id.
 *
 * @example
 * const token = signSessionToken(secret, 'abc12345', Date.now() + 3600_000);
 * verifySessionToken(secret, 'abc12345', token, Date.now()); // undefined when valid
 * verifyJoinToken(secret, 'abc12345', signInvitation(secret, 'abc12345', 'p1', exp), now); // { peerId: 'p1' }
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { SignalingErrorCode } from '../shared/protocol/signaling.ts';

const DOMAIN = 'liec-session-v1';
const HOST_DOMAIN = 'liec-host-v1';
const INVITATION_DOMAIN = 'liec-invite-v1';

type TokenProblem = Extract<SignalingErrorCode, 'BAD_TOKEN' | 'TOKEN_EXPIRED'>;

function mac(secret: Uint8Array, subject: string, expiresAt: number, domain = DOMAIN): Buffer {
  return createHmac('sha256', secret).update(`${domain}\n${subject}\n${expiresAt}`).digest();
}

export function signSessionToken(secret: Uint8Array, sessionId: string, expiresAt: number): string {
  return signed(secret, sessionId, expiresAt, DOMAIN);
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
): TokenProblem | undefined {
  return verifySigned(secret, sessionId, token, now, DOMAIN);
}

/** The creator's token of a session created with invitations: it joins and mints invitations. */
export function signHostToken(secret: Uint8Array, sessionId: string, expiresAt: number): string {
  return `h.${signed(secret, sessionId, expiresAt, HOST_DOMAIN)}`;
}

/** Like verifySessionToken, for a host token. */
export function verifyHostToken(
  secret: Uint8Array,
  sessionId: string,
  token: string,
  now: number,
): TokenProblem | undefined {
  if (!token.startsWith('h.')) return 'BAD_TOKEN';
  return verifySigned(secret, sessionId, token.slice(2), now, HOST_DOMAIN);
}

/** An invitation: admits `peerId` (1-64 of [A-Za-z0-9_-]) to the session, and no other id. */
export function signInvitation(
  secret: Uint8Array,
  sessionId: string,
  peerId: string,
  expiresAt: number,
): string {
  return `i.${peerId}.${signed(secret, `${sessionId}\n${peerId}`, expiresAt, INVITATION_DOMAIN)}`;
}

/**
 * Any token that admits a join to `sessionId`: the session's, its host's or an invitation,
 * with the peer id an invitation binds the join to.
 */
export function verifyJoinToken(
  secret: Uint8Array,
  sessionId: string,
  token: string,
  now: number,
): { problem: TokenProblem } | { peerId?: string } {
  const invitation = /^i\.([A-Za-z0-9_-]{1,64})\.(.*)$/s.exec(token);
  if (invitation !== null) {
    const [, peerId = '', rest = ''] = invitation;
    const problem = verifySigned(secret, `${sessionId}\n${peerId}`, rest, now, INVITATION_DOMAIN);
    return problem === undefined ? { peerId } : { problem };
  }
  const problem = token.startsWith('h.')
    ? verifyHostToken(secret, sessionId, token, now)
    : verifySessionToken(secret, sessionId, token, now);
  return problem === undefined ? {} : { problem };
}

function signed(secret: Uint8Array, subject: string, expiresAt: number, domain: string): string {
  return `${expiresAt}.${mac(secret, subject, expiresAt, domain).toString('base64url')}`;
}

function verifySigned(
  secret: Uint8Array,
  subject: string,
  token: string,
  now: number,
  domain: string,
): TokenProblem | undefined {
  const match = /^(\d{1,16})\.([A-Za-z0-9_-]{43})$/.exec(token);
  if (match === null) return 'BAD_TOKEN';
  const [, expiresText = '', macText = ''] = match;
  const expiresAt = Number(expiresText);
  const given = Buffer.from(macText, 'base64url');
  const expected = mac(secret, subject, expiresAt, domain);
  // Canonical form only: re-encoding must give back the same text (no alternative encodings).
  if (given.length !== expected.length || given.toString('base64url') !== macText) return 'BAD_TOKEN';
  if (String(expiresAt) !== expiresText) return 'BAD_TOKEN';
  if (!timingSafeEqual(given, expected)) return 'BAD_TOKEN';
  return now < expiresAt ? undefined : 'TOKEN_EXPIRED';
}
