/**
 * The server's own HTTP routes, next to socket.io's: `GET /status` (read-only JSON of the
 * sessions, members, aggregator, term, round and reported traffic; tokens never appear)
 * and `GET /healthz`. Anything else goes to the fallback handler, or 404.
 *
 * @example
 * const server = http.createServer(createHttpHandler(() => store.readStatus(), options, startedAt));
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SessionStatus, SignalingStatus } from '../shared/protocol/signaling-status.ts';
import type { ResolvedOptions } from './options.ts';

function sendJson(res: ServerResponse, statusCode: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(statusCode, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    // Read-only and free of secrets, so a dashboard on another origin may read it.
    'access-control-allow-origin': '*',
  });
  res.end(text);
}

export function statusSnapshot(sessions: SessionStatus[], now: number, startedAt: number): SignalingStatus {
  return { serverTime: now, startedAt, sessions };
}

export function createHttpHandler(
  readSessions: () => Promise<SessionStatus[]>,
  options: ResolvedOptions,
  startedAt: number,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const route = path === '/status' || path === '/healthz' ? path : undefined;
    if (route === undefined) {
      if (options.fallbackHandler !== undefined) options.fallbackHandler(req, res);
      else sendJson(res, 404, { error: 'not found' });
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      sendJson(res, 405, { error: 'method not allowed' });
      return;
    }
    const now = options.now();
    if (route === '/healthz') {
      sendJson(res, 200, { ok: true, uptimeMs: now - startedAt });
      return;
    }
    readSessions().then(
      (sessions) => sendJson(res, 200, statusSnapshot(sessions, options.now(), startedAt)),
      () => sendJson(res, 503, { error: 'session store unavailable' }),
    );
  };
}
