/**
 * Settings a deployment passes through the environment rather than argv (secrets and URLs
 * that may carry a password must not show in process lists):
 *   LIEC_SIGNALING_SECRET  HMAC key for session tokens (>= 16 bytes; the same on every instance)
 *   LIEC_OPERATOR_TOKEN    the operator's credential (>= 16 characters; signaling/options.ts operatorToken)
 *   LIEC_REDIS_URL         Redis shared by the instances (unset: sessions in memory, one instance)
 *   LIEC_REDIS_PREFIX      prefix of Redis keys and channels (default 'liec:')
 *   LIEC_INSTANCE_ID       this instance's name (default: random per process)
 *   LIEC_LOG_LEVEL         debug|info|warn|error|silent (default info; `--log-level` wins; logger.ts)
 *
 * @example
 * const server = createSignalingServer({ ...settingsFromEnv(process.env), logLevel: 'info' });
 */
import type { SignalingServerInit } from './options.ts';

export const ENV_USAGE = `env:   LIEC_SIGNALING_SECRET  HMAC key for session tokens (>= 16 bytes; random if unset; required with Redis)
       LIEC_OPERATOR_TOKEN    operator credential for create, rollback, /metrics (>= 16 chars; random if unset, unless --open)
       LIEC_REDIS_URL         share sessions with other instances through this Redis (default: in memory)
       LIEC_REDIS_PREFIX      prefix of Redis keys and channels (default liec:)
       LIEC_INSTANCE_ID       name of this instance among those sharing the Redis (default random)
       LIEC_LOG_LEVEL         debug, info, warn, error or silent (default info; --log-level wins)`;

export function settingsFromEnv(env: NodeJS.ProcessEnv): Partial<SignalingServerInit> {
  const pick = (name: string): string | undefined => {
    const value = env[name];
    return value === undefined || value === '' ? undefined : value;
  };
  const secret = pick('LIEC_SIGNALING_SECRET');
  const redisUrl = pick('LIEC_REDIS_URL');
  const redisKeyPrefix = pick('LIEC_REDIS_PREFIX');
  const instanceId = pick('LIEC_INSTANCE_ID');
  const operatorToken = pick('LIEC_OPERATOR_TOKEN');
  return {
    ...(secret === undefined ? {} : { secret }),
    ...(redisUrl === undefined ? {} : { redisUrl }),
    ...(redisKeyPrefix === undefined ? {} : { redisKeyPrefix }),
    ...(instanceId === undefined ? {} : { instanceId }),
    ...(operatorToken === undefined ? {} : { operatorToken }),
  };
}
