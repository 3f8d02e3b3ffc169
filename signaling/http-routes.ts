/**
 * The server's own HTTP routes, next to socket.io's: `GET /status` (read-only JSON of the
 * sessions, members, aggregator, term, round and reported traffic; tokens never appear),
 * `GET /healthz`, and `GET /metrics` (Prometheus text, metrics.ts; with an operator token
 * configured it needs `Authorization: Bearer <token>`, else 401). Anything else goes to the
 * fallback handler, or 404.
 *
 * @example
 * const server = http.createServer(createHttpHandler(() => store.readStatus(), options, startedAt, metrics));
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SessionStatus, SignalingStatus } from '../shared/protocol/signaling-status.ts';
import type { SignalingMetrics } from './metrics.ts';
import type { ModelRoutes } from './model-routes.ts';
import { isOperatorRequest } from './operator.ts';
import type { ResolvedOptions } from './options.ts';
import { withSessionAccuracy } from './session-accuracy.ts';

const ROUTES = new Set(['/status', '/healthz', '/metrics']);

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
  return { serverTime: now, startedAt, sessions: sessions.map(withSessionAccuracy) };
}

export function createHttpHandler(
  readSessions: () => Promise<SessionStatus[]>,
  options: ResolvedOptions,
  startedAt: number,
  metrics: SignalingMetrics,
  models?: ModelRoutes,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== undefined && models?.handles(path) === true) {
      models.handle(req, res);
      return;
    }
    const route = path !== undefined && ROUTES.has(path) ? path : undefined;
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
    if (route === '/metrics') {
      sendMetrics(req, res, options, metrics);
      return;
    }
    readSessions().then(
      (sessions) => sendJson(res, 200, statusSnapshot(sessions, options.now(), startedAt)),
      () => sendJson(res, 503, { error: 'session store unavailable' }),
    );
  };
}

function sendMetrics(
  req: IncomingMessage,
  res: ServerResponse,
  options: ResolvedOptions,
  metrics: SignalingMetrics,
): void {
  if (!isOperatorRequest(options, req)) {
    res.setHeader('www-authenticate', 'Bearer realm="liec operator"');
    sendJson(res, 401, { error: 'operator token required', code: 'OPERATOR_REQUIRED' });
    return;
  }
  metrics.render().then(
    (text) => {
      res.writeHead(200, {
        'content-type': metrics.contentType,
        'content-length': Buffer.byteLength(text),
        'cache-control': 'no-store',
      });
      res.end(text);
    },
    () => sendJson(res, 500, { error: 'metrics unavailable' }),
  );
}
