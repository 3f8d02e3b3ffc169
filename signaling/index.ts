/**
 * The signaling server's public surface.
 *
 * @example
 * import { createSignalingServer } from './signaling/index.ts';
 * const server = createSignalingServer();
 * console.log(await server.start({ port: 8080, host: '0.0.0.0' }));
 */
export { createSignalingServer, type SignalingServer, type StartOptions } from './server.ts';
export { DEFAULT_SIGNALING_OPTIONS, resolveOptions, type SignalingServerInit } from './options.ts';
export {
  createLogger,
  resolveLogLevel,
  LOG_LEVEL_ENV,
  LOG_LEVELS,
  type Logger,
  type LoggerInit,
  type LogLevel,
} from './logger.ts';
export { signSessionToken, verifySessionToken } from './token.ts';
export { chooseAggregator } from './election.ts';
export type { RateLimit } from './rate-limit.ts';
export type {
  JoinOutcome,
  LeaseOutcome,
  LeaveOutcome,
  MemberKey,
  NewMember,
  ReadyOutcome,
  SessionStore,
} from './store.ts';
export { MemorySessionStore } from './memory-store.ts';
export { RedisSessionStore, type RedisSessionStoreInit } from './redis-store.ts';
export { ScaleOutError, type ScaleOutErrorCode } from './scale-out-error.ts';
export { settingsFromEnv } from './env.ts';
export { createAppServer, DEFAULT_APP_DIR, BUILD_COMMAND, type AppServerInit } from './app-server.ts';
export { createStaticHandler, type StaticHandler, type StaticHandlerInit } from './static.ts';
