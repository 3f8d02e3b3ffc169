/**
 * The weights of sessions' own Layers models that are too large to travel inline in a session
 * config (shared/protocol/custom-model.ts), held by the signaling server under the SHA-256 of
 * their bytes: `liec create` puts them, every peer gets them (model-routes.ts). Content
 * addressed, so a put of the same bytes twice is one model, and a hash names one set of bytes.
 *
 * Where they live follows the session state: this process's memory by default, Redis with
 * `redisUrl` (every instance behind the load balancer serves every model; the upload and a
 * peer's fetch may reach different instances). Each model is kept for modelTtlMs after its
 * last put or get; in memory the total is also bounded (maxHeldModelBytes, the least recently
 * used model goes first). In Redis the bytes are base64 strings (node-redis replies are text
 * here; 4/3 the size) and Redis's own maxmemory policy bounds the total.
 *
 * @example
 * const models = new MemoryModelStore({ maxHeldBytes: 256 << 20, ttlMs: 86_400_000, now: Date.now });
 * await models.put(sha256, bytes);
 * (await models.get(sha256))?.byteLength;
 */
import { customWeightBytes, modelWeightsPath, type CustomModel } from '../shared/protocol/custom-model.ts';
import type { RedisCaller } from './redis-lua.ts';

export interface ModelStore {
  /** Keeps `bytes` under `sha256` (the caller has checked that it is their hash). */
  put(sha256: string, bytes: Uint8Array): Promise<void>;
  /** The bytes held under `sha256`, or undefined; a get keeps them for another TTL. */
  get(sha256: string): Promise<Uint8Array | undefined>;
  /** Bytes held under `sha256`, or undefined, without reading them. */
  sizeOf(sha256: string): Promise<number | undefined>;
}

export interface MemoryModelStoreInit {
  /** Most bytes held at once; older models are dropped to make room. */
  maxHeldBytes: number;
  /** A model neither put nor fetched for this long is dropped. */
  ttlMs: number;
  now: () => number;
}

interface HeldModel {
  bytes: Uint8Array;
  usedAt: number;
}

export class MemoryModelStore implements ModelStore {
  // Map order is use order: a use deletes and re-inserts, so the first entry is the oldest.
  private readonly models = new Map<string, HeldModel>();
  private held = 0;
  private readonly init: MemoryModelStoreInit;

  constructor(init: MemoryModelStoreInit) {
    this.init = init;
  }

  put(sha256: string, bytes: Uint8Array): Promise<void> {
    this.drop(sha256);
    this.prune(bytes.byteLength);
    this.models.set(sha256, { bytes, usedAt: this.init.now() });
    this.held += bytes.byteLength;
    return Promise.resolve();
  }

  get(sha256: string): Promise<Uint8Array | undefined> {
    this.prune(0);
    const model = this.models.get(sha256);
    if (model === undefined) return Promise.resolve(undefined);
    this.models.delete(sha256);
    this.models.set(sha256, { bytes: model.bytes, usedAt: this.init.now() });
    return Promise.resolve(model.bytes);
  }

  sizeOf(sha256: string): Promise<number | undefined> {
    this.prune(0);
    return Promise.resolve(this.models.get(sha256)?.bytes.byteLength);
  }

  /** Bytes held now (tests, metrics). */
  get heldBytes(): number {
    return this.held;
  }

  private drop(sha256: string): void {
    const model = this.models.get(sha256);
    if (model === undefined) return;
    this.models.delete(sha256);
    this.held -= model.bytes.byteLength;
  }

  /** Drops expired models, then the oldest until `incoming` more bytes fit. */
  private prune(incoming: number): void {
    const expired = this.init.now() - this.init.ttlMs;
    for (const [sha256, model] of this.models) {
      if (model.usedAt > expired && this.held + incoming <= this.init.maxHeldBytes) break;
      this.drop(sha256);
    }
  }
}

export interface RedisModelStoreInit {
  client: RedisCaller;
  /** Prefix of the keys (the session store's, so one FLUSH of a deployment's prefix clears both). */
  prefix: string;
  ttlMs: number;
}

export class RedisModelStore implements ModelStore {
  private readonly init: RedisModelStoreInit;

  constructor(init: RedisModelStoreInit) {
    this.init = init;
  }

  private key(sha256: string): string {
    return `${this.init.prefix}model:${sha256}`;
  }

  async put(sha256: string, bytes: Uint8Array): Promise<void> {
    const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
    await this.init.client.sendCommand(['SET', this.key(sha256), text, 'PX', String(this.init.ttlMs)]);
  }

  async get(sha256: string): Promise<Uint8Array | undefined> {
    const reply = await this.init.client.sendCommand([
      'GETEX',
      this.key(sha256),
      'PX',
      String(this.init.ttlMs),
    ]);
    if (typeof reply !== 'string') return undefined;
    return new Uint8Array(Buffer.from(reply, 'base64'));
  }

  async sizeOf(sha256: string): Promise<number | undefined> {
    const length = await this.init.client.sendCommand(['STRLEN', this.key(sha256)]);
    if (typeof length !== 'number' || length === 0) return undefined;
    // base64 of n bytes is 4 * ceil(n / 3) characters; the padding says the rest.
    const tail = await this.init.client.sendCommand(['GETRANGE', this.key(sha256), String(length - 2), '-1']);
    const padding = typeof tail === 'string' ? (tail.match(/=+$/)?.[0].length ?? 0) : 0;
    return (length / 4) * 3 - padding;
  }
}

/**
 * Why a session may not be created naming these held weights, or null: over the server's
 * limit, not uploaded (or dropped), or not as many bytes as the model's specs announce.
 */
export async function heldWeightsIssue(
  models: ModelStore,
  maxBytes: number,
  custom: CustomModel | undefined,
): Promise<string | null> {
  const sha256 = custom?.weightsSha256;
  if (custom === undefined || sha256 === undefined) return null;
  const expected = customWeightBytes(custom);
  if (expected > maxBytes)
    return `the model's weights are ${expected} bytes, over this server's limit of ${maxBytes} (maxCustomModelBytes)`;
  const held = await models.sizeOf(sha256);
  if (held === undefined)
    return `the model's weights ${sha256} are not on this server: upload them first (PUT ${modelWeightsPath(sha256)}; liec create --model does)`;
  if (held !== expected)
    return `the weights held as ${sha256} are ${held} bytes, the model's specs announce ${expected}`;
  return null;
}
