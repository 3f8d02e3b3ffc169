/**
 * Serves the built web app from one folder: GET and HEAD of known file types only, never
 * outside the folder (paths are decoded, resolved and checked, symlinks included), `/` as
 * index.html, ETags with 304 answers, a precompressed `<file>.gz` twin when the browser
 * accepts gzip, and long caching for the big immutable-ish assets (mnist.bin, .wasm).
 *
 * @example
 * const serve = createStaticHandler({ root: '/srv/app' });
 * http.createServer(async (req, res) => {
 *   if (!(await serve(req, res))) { res.statusCode = 404; res.end(); }
 * });
 */
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';

/** Content types of the files served; other extensions are not served at all. */
export const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.wasm': 'application/wasm',
  '.bin': 'application/octet-stream',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
};

/** One day for the large assets that change only with a new build; revalidation for the rest. */
export function defaultCacheControl(path: string): string {
  return path.endsWith('.bin') || path.endsWith('.wasm') ? 'public, max-age=86400' : 'no-cache';
}

export interface StaticHandlerInit {
  /** The folder served. */
  root: string;
  /** File served for `/`. @default 'index.html' */
  index?: string;
  /** Cache-Control value per served path (relative, with a leading slash). @default defaultCacheControl */
  cacheControl?: (path: string) => string;
}

/** Answers the request and resolves true, or resolves false (nothing sent) when no file matches. */
export type StaticHandler = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

/** The decoded, dot-free request path, or null when it is malformed or could escape the root. */
export function safeRequestPath(url: string | undefined): string | null {
  const raw = (url ?? '/').split('?')[0] ?? '/';
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    return null;
  }
  if (!decoded.startsWith('/') || decoded.includes('\0') || decoded.includes('\\')) return null;
  if (decoded.split('/').some((segment) => segment === '..' || segment.startsWith('.'))) return null;
  return decoded;
}

async function fileStat(path: string): Promise<{ size: number; mtimeMs: number } | undefined> {
  try {
    const s = await stat(path);
    return s.isFile() ? s : undefined;
  } catch {
    return undefined;
  }
}

export function createStaticHandler(init: StaticHandlerInit): StaticHandler {
  const root = resolve(init.root);
  const index = init.index ?? 'index.html';
  const cacheControl = init.cacheControl ?? defaultCacheControl;
  let realRoot: Promise<string> | undefined;

  const locate = async (path: string): Promise<string | undefined> => {
    const file = resolve(root, `.${path.endsWith('/') ? `${path}${index}` : path}`);
    if (!file.startsWith(root + sep)) return undefined;
    try {
      realRoot ??= realpath(root);
      const real = await realpath(file);
      return real.startsWith((await realRoot) + sep) ? real : undefined;
    } catch {
      realRoot = undefined;
      return undefined;
    }
  };

  return async (req, res) => {
    const path = safeRequestPath(req.url);
    if (path === null) return false;
    const file = await locate(path);
    const type = file === undefined ? undefined : CONTENT_TYPES[extname(file)];
    const info = file === undefined || type === undefined ? undefined : await fileStat(file);
    if (file === undefined || type === undefined || info === undefined) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' });
      res.end('method not allowed\n');
      return true;
    }
    const etag = `W/"${info.size.toString(16)}-${Math.floor(info.mtimeMs).toString(16)}"`;
    const headers: Record<string, string | number> = {
      'content-type': type,
      'cache-control': cacheControl(path),
      etag,
      'x-content-type-options': 'nosniff',
      vary: 'accept-encoding',
    };
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304, headers);
      res.end();
      return true;
    }
    const gz = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))
      ? await fileStat(`${file}.gz`)
      : undefined;
    const useGz = gz !== undefined && gz.mtimeMs >= info.mtimeMs;
    if (useGz) headers['content-encoding'] = 'gzip';
    headers['content-length'] = useGz ? gz.size : info.size;
    res.writeHead(200, headers);
    if (req.method === 'HEAD') {
      res.end();
      return true;
    }
    try {
      await pipeline(createReadStream(useGz ? `${file}.gz` : file), res);
    } catch {
      res.destroy(); // client went away or the file vanished mid-read; nothing more to say
    }
    return true;
  };
}
