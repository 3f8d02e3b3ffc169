/**
 * Runs the store's Lua scripts by hash (EVALSHA), falling back to EVAL when Redis does not
 * know the script yet (first use, or after a Redis restart flushed its script cache), and
 * turns the scripts' `{'ERR', code, detail}` replies into thrown SignalingErrors.
 *
 * @example
 * const lua = new LuaRunner(client);
 * const reply = await lua.run('join', [sessionKey], [sessionId, peerId, ...]);
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { SignalingError, signalingErrorCodeSchema } from '../shared/protocol/signaling.ts';
import { SCRIPTS, type ScriptName } from './redis-scripts.ts';

/** The one method of a node-redis client the store uses. */
export interface RedisCaller {
  sendCommand(args: readonly string[]): Promise<unknown>;
}

const shas = new Map<ScriptName, string>();
function shaOf(name: ScriptName): string {
  let sha = shas.get(name);
  if (sha === undefined) {
    sha = createHash('sha1').update(SCRIPTS[name]).digest('hex');
    shas.set(name, sha);
  }
  return sha;
}

function isNoScript(err: unknown): boolean {
  return err instanceof Error && err.message.startsWith('NOSCRIPT');
}

export class LuaRunner {
  private readonly redis: RedisCaller;

  constructor(redis: RedisCaller) {
    this.redis = redis;
  }

  async run(name: ScriptName, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    const tail = [String(keys.length), ...keys, ...args.map(String)];
    try {
      return await this.redis.sendCommand(['EVALSHA', shaOf(name), ...tail]);
    } catch (err) {
      if (!isNoScript(err)) throw err;
      return await this.redis.sendCommand(['EVAL', SCRIPTS[name], ...tail]);
    }
  }
}

const errorReply = z.tuple([z.literal('ERR'), z.string()]).rest(z.union([z.string(), z.number()]));

/**
 * If `reply` is a script's error reply, throws it as a SignalingError (messages from
 * `describe`, keyed by code); else returns nothing. 'RETRY' is returned for the caller.
 */
export function throwIfError(
  reply: unknown,
  describe: (code: string, detail: string) => string,
  fatalCodes: readonly string[] = [],
): 'RETRY' | undefined {
  const parsed = errorReply.safeParse(reply);
  if (!parsed.success) return undefined;
  const [, codeText, detail] = parsed.data;
  if (codeText === 'RETRY') return 'RETRY';
  const code = signalingErrorCodeSchema.safeParse(codeText);
  if (!code.success) throw new Error(`unexpected script error ${codeText}`);
  throw new SignalingError(
    code.data,
    describe(code.data, String(detail ?? '')),
    fatalCodes.includes(code.data),
  );
}

/** Parses a script's success reply; a reply of another shape is a bug, not a client error. */
export function expectReply<S extends z.ZodType>(schema: S, reply: unknown, script: string): z.output<S> {
  const parsed = schema.safeParse(reply);
  if (!parsed.success) throw new Error(`unexpected reply from the ${script} script`);
  return parsed.data;
}

/** A flat [k1, v1, k2, v2, ...] reply (HGETALL) as a Map. */
export function pairs(flat: readonly string[]): Map<string, string> {
  const map = new Map<string, string>();
  for (let i = 0; i + 1 < flat.length; i += 2) map.set(flat[i] ?? '', flat[i + 1] ?? '');
  return map;
}
