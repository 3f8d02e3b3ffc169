/**
 * The server's logs, through pino: one JSON object a line on stderr (`level` as pino's number,
 * `time` as ISO 8601, `component`, `msg`, then the fields), or a pretty, coloured line
 * (pino-pretty, as a stream in this process) when stderr is a terminal. Each logger is scoped
 * to a component (a pino child logger with `{ component }`), e.g. 'signaling', 'redis', 'app'.
 *
 * The level: `--log-level` of signaling/main.ts, else LIEC_LOG_LEVEL, else `info`, or
 * `silent` under `node --test` (which sets NODE_TEST_CONTEXT) so tests print nothing.
 *
 * @example
 * const log = createLogger('signaling', 'debug');
 * log.info('peer joined', { sessionId, peerId }); // {"level":30,...,"component":"signaling","msg":"peer joined","sessionId":...}
 * const lines: string[] = [];
 * const quiet = createLogger('signaling', 'info', { destination: { write: (line) => lines.push(line) } });
 */
import {
  pino,
  stdSerializers,
  stdTimeFunctions,
  type DestinationStream,
  type Logger as PinoLogger,
} from 'pino';
import pinoPretty, { prettyFactory } from 'pino-pretty';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The environment variable read when no level is given (the `--log-level` flag wins over it). */
export const LOG_LEVEL_ENV = 'LIEC_LOG_LEVEL';

/**
 * What the rest of signaling/ logs through: a message, then structured fields (an Error under
 * `err` is serialized with its type, message and stack). Any object with these four methods
 * will do (tests pass recorders); `child` is there on loggers made by createLogger.
 */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  /** A logger adding `bindings` to every line (pino child logger). */
  child?(bindings: Record<string, unknown>): Logger;
}

export interface LoggerInit {
  /** Where the lines go (anything with `write(line)`). @default stderr */
  destination?: DestinationStream;
  /** pino-pretty lines instead of JSON. @default true when writing to stderr and stderr is a TTY */
  pretty?: boolean;
}

export function isLogLevel(value: string | undefined): value is LogLevel {
  return LOG_LEVELS.some((level) => level === value);
}

/** The level used when none is given: LIEC_LOG_LEVEL if it is a level, else `info` (`silent` in tests). */
export function defaultLogLevel(env: NodeJS.ProcessEnv = process.env): LogLevel {
  const fromEnv = env[LOG_LEVEL_ENV];
  if (isLogLevel(fromEnv)) return fromEnv;
  return env['NODE_TEST_CONTEXT'] !== undefined ? 'silent' : 'info';
}

/**
 * The level from a flag and the environment: the flag wins, then LIEC_LOG_LEVEL, then `info`
 * (`silent` under node --test). A value that is not a level is a RangeError naming the flag
 * or the variable (unlike defaultLogLevel, which ignores it).
 */
export function resolveLogLevel(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): LogLevel {
  const choices = LOG_LEVELS.join(', ');
  if (flag !== undefined) {
    if (!isLogLevel(flag)) throw new RangeError(`--log-level must be one of ${choices}`);
    return flag;
  }
  const fromEnv = env[LOG_LEVEL_ENV];
  if (fromEnv !== undefined && fromEnv !== '' && !isLogLevel(fromEnv))
    throw new RangeError(`${LOG_LEVEL_ENV} must be one of ${choices}`);
  return defaultLogLevel(env);
}

// One stderr stream per process, shared by every logger (a server per test must not open a
// new file stream each). Synchronous writes: a line is out before the process exits.
let stderrJson: DestinationStream | undefined;
let stderrPretty: DestinationStream | undefined;

const PRETTY_FORMAT = {
  translateTime: 'SYS:HH:MM:ss.l',
  ignore: 'pid,hostname,component',
  messageFormat: '[{component}] {msg}',
};

function stderrStream(pretty: boolean): DestinationStream {
  if (pretty) {
    stderrPretty ??= pinoPretty({
      destination: 2,
      sync: true,
      colorize: true,
      ...PRETTY_FORMAT,
    });
    return stderrPretty;
  }
  stderrJson ??= pino.destination({ dest: 2, sync: true });
  return stderrJson;
}

/** pino-pretty lines (no colours) into any destination, formatted in this process. */
function prettyInto(destination: DestinationStream): DestinationStream {
  const format = prettyFactory({ colorize: false, ...PRETTY_FORMAT });
  return { write: (line: string) => destination.write(format(line)) };
}

function adapt(log: PinoLogger): Logger & { child(bindings: Record<string, unknown>): Logger } {
  const at =
    (level: 'debug' | 'info' | 'warn' | 'error') =>
    (message: string, fields?: Record<string, unknown>): void => {
      if (fields === undefined) log[level](message);
      else log[level](fields, message);
    };
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (bindings) => adapt(log.child(bindings)),
  };
}

/** A logger for one component (`{ component }` on every line) at `level`. */
export function createLogger(
  component: string,
  level: LogLevel = defaultLogLevel(),
  init: LoggerInit = {},
): Logger & { child(bindings: Record<string, unknown>): Logger } {
  const pretty = init.pretty ?? (init.destination === undefined && process.stderr.isTTY === true);
  const destination =
    init.destination === undefined
      ? stderrStream(pretty)
      : pretty
        ? prettyInto(init.destination)
        : init.destination;
  const root = pino(
    {
      level,
      timestamp: stdTimeFunctions.isoTime,
      serializers: { err: stdSerializers.err },
    },
    destination,
  );
  return adapt(root.child({ component }));
}
