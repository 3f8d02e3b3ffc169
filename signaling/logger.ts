/**
 * A small scoped logger: `[signaling] message {fields}` on stderr, filtered by level.
 * The default level is `silent` under `node --test` (which sets NODE_TEST_CONTEXT) and
 * `info` otherwise; LIEC_LOG_LEVEL overrides the default.
 *
 * @example
 * const log = createLogger('signaling', 'debug');
 * log.info('peer joined', { sessionId, peerId });
 */

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

function isLogLevel(value: string | undefined): value is LogLevel {
  return LOG_LEVELS.some((level) => level === value);
}

/** The level used when none is given: env override, else quiet in tests. */
export function defaultLogLevel(env: NodeJS.ProcessEnv = process.env): LogLevel {
  const fromEnv = env['LIEC_LOG_LEVEL'];
  if (isLogLevel(fromEnv)) return fromEnv;
  return env['NODE_TEST_CONTEXT'] !== undefined ? 'silent' : 'info';
}

export function createLogger(scope: string, level: LogLevel = defaultLogLevel()): Logger {
  const threshold = LOG_LEVELS.indexOf(level);
  const write =
    (at: Exclude<LogLevel, 'silent'>) =>
    (message: string, fields?: Record<string, unknown>): void => {
      if (LOG_LEVELS.indexOf(at) < threshold) return;
      const suffix = fields === undefined ? '' : ` ${safeJson(fields)}`;
      process.stderr.write(
        `${new Date().toISOString()} ${at.toUpperCase()} [${scope}] ${message}${suffix}\n`,
      );
    };
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value, (_key, v: unknown) => (v instanceof Error ? `${v.name}: ${v.message}` : v));
  } catch {
    return '[unserializable]';
  }
}
