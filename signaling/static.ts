/**
 * Serves the built web app from one folder, through sirv: GET and HEAD of known file types
 * only (405 for other methods), `/` (and any `dir/`) as index.html, ETags with 304 answers,
 * byte ranges, and a precompressed `<file>.gz` twin when the browser accepts gzip (and the twin
 * is not older than its original). Nothing outside the folder is reachable: the request path is
 * decoded and refused with dot segments, backslashes or NUL (safeRequestPath), and the file's
 * real path (symlinks resolved) must lie inside the folder's before sirv sees the request.
 *
 * Files are looked up per request (sirv's `dev` mode, no listing cached at start): the folder may
 * be built, or rebuilt, while the server runs. Caching (defaultCacheControl): names carrying a
 * content hash are immutable for a year, the large assets (mnist.bin, .wasm) keep a day, the
 * rest (index.html, app.js) is revalidated on each load with its ETag.
 *
 * @example
 * const serve = createStaticHandler({ root: '/srv/app' });
 * http.createServer(async (req, res) => {
 *   if (!(await serve(req, res))) { res.statusCode = 404; res.end(); }
 * });
 */
import { realpath, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { basename, extname, resolve, sep } from 'node:path';
import sirv from 'sirv';

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

/** A year: the longest max-age caches honour; a hashed name never changes content. */
export const IMMUTABLE_CACHE_CONTROL = 'public, max-age=31536000, immutable';

/**
 * True for a name carrying a content hash, as bundlers write them: `app-5GZ7QK2M.js`,
 * `chunk.3f9a1c0d.js` (8+ hex or upper-case base32 characters, at least one digit).
 */
export function isHashedName(path: string): boolean {
  return /[.-](?=[A-Za-z0-9]*\d)(?:[0-9a-f]{8,}|[0-9A-Z]{8,})\.[A-Za-z0-9]+$/.test(basename(path));
}

/**
 * Hashed names: a year, immutable. mnist.bin and the .wasm files (same name every build,
 * changing only with a dependency): a day. Everything else, index.html first: `no-cache`,
 * i.e. revalidated with its ETag on every load, so a new build shows on the next reload.
 */
export function defaultCacheControl(path: string): string {
  if (isHashedName(path)) return IMMUTABLE_CACHE_CONTROL;
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

interface FileInfo {
  real: string;
  mtimeMs: number;
}

export function createStaticHandler(init: StaticHandlerInit): StaticHandler {
  const root = resolve(init.root);
  const index = init.index ?? 'index.html';
  const cacheControl = init.cacheControl ?? defaultCacheControl;
  const sirvHandler = sirv(root, {
    dev: true, // per-request lookups: the folder may be (re)built while serving
    etag: true,
    gzip: true,
    extensions: [], // no `/page` for page.html: only the exact names checked below
    dotfiles: false,
    setHeaders: (res) => res.setHeader('vary', 'accept-encoding'), // sirv sets it capitalized
  });

  /** The file's real path when it is a regular file inside the root's real path. */
  const locate = async (file: string): Promise<FileInfo | undefined> => {
    try {
      const [realRoot, real] = await Promise.all([realpath(root), realpath(file)]);
      if (!real.startsWith(realRoot + sep)) return undefined;
      const info = await stat(real);
      return info.isFile() ? { real, mtimeMs: info.mtimeMs } : undefined;
    } catch {
      return undefined;
    }
  };

  return async (req, res) => {
    const requested = safeRequestPath(req.url);
    if (requested === null) return false;
    const path = requested.endsWith('/') ? `${requested}${index}` : requested;
    const type = CONTENT_TYPES[extname(path)];
    const file = resolve(root, `.${path}`);
    if (type === undefined || !file.startsWith(root + sep)) return false;
    const original = await locate(file);
    if (original === undefined) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' });
      res.end('method not allowed\n');
      return true;
    }
    // sirv picks `<file>.gz` whenever the browser accepts gzip; a twin that is older than its
    // original (a partial rebuild) or that leads outside the folder is hidden from it.
    const acceptEncoding = req.headers['accept-encoding'];
    const acceptsGzip = /\bgzip\b/.test(String(acceptEncoding ?? ''));
    const twin = acceptsGzip ? await locate(`${file}.gz`) : undefined;
    const hideTwin = acceptsGzip && (twin === undefined || twin.mtimeMs < original.mtimeMs);

    // Set before sirv runs, so its 304 answers carry them too; sirv keeps headers already set.
    res.setHeader('content-type', type);
    res.setHeader('cache-control', cacheControl(path));
    res.setHeader('x-content-type-options', 'nosniff');
    const url = req.url;
    req.url = encodeURI(path); // exactly the file checked above, whatever sirv would guess
    if (hideTwin) delete req.headers['accept-encoding'];
    let missed = false;
    // sirv pipes a read stream with no error listener: a file removed between its stat and its
    // open (a rebuild copying over index.html) would throw from the stream and end the process.
    res.once('pipe', (source: NodeJS.ReadableStream) => source.once('error', () => res.destroy()));
    try {
      // Synchronous up to the response's head: sirv stats, then writes the head and pipes.
      sirvHandler(req, res, () => {
        missed = true; // vanished since locate(): not ours to answer
      });
    } finally {
      req.url = url;
      if (hideTwin) req.headers['accept-encoding'] = acceptEncoding;
    }
    if (missed) {
      for (const name of ['content-type', 'cache-control', 'x-content-type-options']) res.removeHeader(name);
    }
    return !missed;
  };
}
