/**
 * HTTP routes of held model weights (model-store.ts), beside /status on the same server:
 *
 * - `PUT /models/<sha256>`: the body is the weights, at most maxCustomModelBytes (413 past
 *   it, read no further), and must hash to the path's SHA-256 (400 MODEL_HASH_MISMATCH);
 *   201 `{ sha256, bytes }`. With an operator token configured it needs `Authorization:
 *   Bearer <token>` (401), as creating a session does.
 * - `GET /models/<sha256>` (and HEAD): the bytes, or 404 MODEL_NOT_FOUND with the reason.
 *   Anyone with the hash (every peer holding the session config) may read them, as anyone with
 *   the config could read inline weights.
 *
 * Every refusal is a JSON `{ error, code }`; a malformed request never throws past here.
 *
 * @example
 * const models = createModelRoutes(store, options, log);
 * if (models.handles(path)) models.handle(req, res);
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from './logger.ts';
import type { ModelStore } from './model-store.ts';
import { isOperatorRequest } from './operator.ts';
import type { ResolvedOptions } from './options.ts';

export const MODELS_PREFIX = '/models/';

export type ModelRouteCode =
  | 'MODEL_NOT_FOUND'
  | 'MODEL_TOO_LARGE'
  | 'MODEL_HASH_MISMATCH'
  | 'MODEL_BAD_PATH'
  | 'OPERATOR_REQUIRED'
  | 'METHOD_NOT_ALLOWED'
  | 'STORE_UNAVAILABLE';

export interface ModelRoutes {
  handles(path: string): boolean;
  handle(req: IncomingMessage, res: ServerResponse): void;
}

function refuse(res: ServerResponse, status: number, code: ModelRouteCode, error: string): void {
  if (res.headersSent) return;
  const text = JSON.stringify({ error, code });
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}

/** The request body, or null once it passes `limit` bytes (the rest is not read). */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.byteLength;
      if (size > limit) {
        req.off('data', onData);
        resolve(null);
        return;
      }
      parts.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(parts, size)));
    req.once('error', reject);
  });
}

export function createModelRoutes(
  store: ModelStore,
  options: Pick<ResolvedOptions, 'maxCustomModelBytes' | 'operatorToken'>,
  log: Logger,
): ModelRoutes {
  const max = options.maxCustomModelBytes;
  const tooLarge = (bytes: number | string): string =>
    `the model's weights are ${bytes} bytes, over this server's limit of ${max} (maxCustomModelBytes)`;

  async function get(req: IncomingMessage, res: ServerResponse, sha256: string): Promise<void> {
    const bytes = await store.get(sha256);
    if (bytes === undefined) {
      refuse(
        res,
        404,
        'MODEL_NOT_FOUND',
        `no model weights with SHA-256 ${sha256} on this server (never uploaded, or dropped after a long time unused)`,
      );
      return;
    }
    res.writeHead(200, {
      'content-type': 'application/octet-stream',
      'content-length': bytes.byteLength,
      // Content-addressed: the bytes of a hash never change.
      'cache-control': 'public, max-age=31536000, immutable',
    });
    res.end(req.method === 'HEAD' ? undefined : bytes);
  }

  async function put(req: IncomingMessage, res: ServerResponse, sha256: string): Promise<void> {
    if (!isOperatorRequest(options, req)) {
      res.setHeader('www-authenticate', 'Bearer realm="liec operator"');
      refuse(res, 401, 'OPERATOR_REQUIRED', 'uploading model weights needs the operator token');
      return;
    }
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (declared > max) {
      res.setHeader('connection', 'close');
      refuse(res, 413, 'MODEL_TOO_LARGE', tooLarge(declared));
      return;
    }
    const body = await readBody(req, max);
    if (body === null) {
      res.setHeader('connection', 'close');
      refuse(res, 413, 'MODEL_TOO_LARGE', tooLarge(`over ${max}`));
      return;
    }
    const actual = createHash('sha256').update(body).digest('hex');
    if (actual !== sha256) {
      refuse(
        res,
        400,
        'MODEL_HASH_MISMATCH',
        `the body (${body.byteLength} bytes) hashes to ${actual}, not the ${sha256} its path names`,
      );
      return;
    }
    await store.put(sha256, new Uint8Array(body.buffer, body.byteOffset, body.byteLength));
    log.info('model weights held', { sha256, bytes: body.byteLength });
    const text = JSON.stringify({ sha256, bytes: body.byteLength });
    res.writeHead(201, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
    res.end(text);
  }

  return {
    handles: (path) => path.startsWith(MODELS_PREFIX),
    handle(req, res) {
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      const sha256 = path.slice(MODELS_PREFIX.length);
      if (!/^[0-9a-f]{64}$/.test(sha256)) {
        refuse(
          res,
          400,
          'MODEL_BAD_PATH',
          'model weights are named by the 64 lower-case hex digits of their SHA-256',
        );
        return;
      }
      const method = req.method ?? 'GET';
      const work =
        method === 'GET' || method === 'HEAD'
          ? get(req, res, sha256)
          : method === 'PUT'
            ? put(req, res, sha256)
            : null;
      if (work === null) {
        res.setHeader('allow', 'GET, HEAD, PUT');
        refuse(res, 405, 'METHOD_NOT_ALLOWED', 'model weights take GET, HEAD and PUT');
        return;
      }
      work.catch((err: unknown) => {
        log.warn('model weights request failed', { err, sha256, method });
        refuse(res, 503, 'STORE_UNAVAILABLE', 'the model store is unavailable');
      });
    },
  };
}
