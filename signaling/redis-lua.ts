/**
 * Runs the store's Lua scripts by hash (EVALSHA; all are loaded when the store starts),
 * falling back to EVAL when Redis does not know a script (after a Redis restart), and
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

/**
 * The client with a bound on each reply. (node-redis's own command timeout stops counting
 * once the command is written, so a stalled Redis would hold the request forever.) A late
 * reply is dropped; the connection stays in order because Redis answers in order.
 */
export function withReplyTimeout(client: RedisCaller, timeoutMs: number): RedisCaller {
  return {
    sendCommand(args) {
      const reply = client.sendCommand(args);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`redis: no reply to ${args[0] ?? '?'} within ${timeoutMs} ms`)),
          timeoutMs,
        );
      });
      reply.catch(() => {}); // after a timeout nobody awaits it
      return Promise.race([reply, timeout]).finally(() => clearTimeout(timer));
    },
  };
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

  /** Loads every script into Redis's cache, so the first EVALSHA of each finds it. */
  async load(): Promise<void> {
    await Promise.all(
      Object.entries(SCRIPTS).map(([, text]) => this.redis.sendCommand(['SCRIPT', 'LOAD', text])),
    );
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
