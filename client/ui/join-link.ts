/**
 * Join links: `<origin>/?session=<id>&token=<token>`. Whoever opens one joins the session
 * from a browser tab. The token admits joins until it expires; share it like a password.
 *
 * @example
 * const link = makeJoinLink('http://10.0.0.5:8080', 'abcd1234', 'tok');
 * parseJoinLink(link); // { sessionId: 'abcd1234', token: 'tok' }
 */
import { sessionIdSchema, tokenSchema } from '../../shared/protocol/signaling.ts';

export interface JoinParams {
  sessionId: string;
  token: string;
}

export function makeJoinLink(origin: string, sessionId: string, token: string): string {
  const url = new URL('/', origin);
  url.searchParams.set('session', sessionId);
  url.searchParams.set('token', token);
  return url.href;
}

/**
 * Reads the session and token from a link, a query string (`?session=..&token=..`) or
 * URLSearchParams; null when either is missing or malformed.
 */
export function parseJoinLink(
  input: string | URLSearchParams,
  base = 'http://localhost/',
): JoinParams | null {
  let params: URLSearchParams;
  if (typeof input !== 'string') params = input;
  else {
    try {
      params = new URL(input.trim(), base).searchParams;
    } catch {
      return null;
    }
  }
  const sessionId = sessionIdSchema.safeParse(params.get('session'));
  const token = tokenSchema.safeParse(params.get('token'));
  return sessionId.success && token.success ? { sessionId: sessionId.data, token: token.data } : null;
}

/** True for a watch link (`&watch=1`): follow the session without joining it. */
export function isWatchLink(params: URLSearchParams): boolean {
  return params.get('watch') === '1';
}
