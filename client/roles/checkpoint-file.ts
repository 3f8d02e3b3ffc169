/**
 * The checkpoint file of a headless peer: its format, its validation and its atomic write.
 *
 * Layout (all integers little-endian):
 *   0   8 bytes  magic "LIECCKP1"
 *   8   u32      length M of the metadata JSON
 *   12  u32      count N of float32 values in the body
 *   16  32 bytes SHA-256 of bytes 48.. (metadata + body)
 *   48  M bytes  metadata JSON (zod-checked: session, peer, shard, session config, round...)
 *   48+M 4N bytes the model x_i, then (LIEC) x_common
 * A file is accepted only if its length is exactly 48 + M + 4N, its hash matches, its
 * metadata parses and its values are finite; anything else is a CheckpointError with a code.
 *
 * Written atomically: a temp file in the same directory, fsync, rename over the old file,
 * fsync the directory. A process killed at any point leaves the old file or the new one,
 * never a mix (a stray temp file at worst, removed by removeStaleTemps).
 *
 * @example
 * await writeCheckpointFile(dir, checkpoint);
 * const restored = await readCheckpointFile(dir); // throws CheckpointError
 */
import { createHash } from 'node:crypto';
import { open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { endianness } from 'node:os';
import { join as joinPath } from 'node:path';
import { z } from 'zod';
import { sessionConfigSchema, type SessionConfig } from '../../shared/protocol/session-config.ts';
import { peerIdSchema, sessionIdSchema } from '../../shared/protocol/signaling.ts';

/** The file a checkpoint directory holds (one peer per directory). */
export const CHECKPOINT_FILE = 'checkpoint.liec';
const MAGIC = 'LIECCKP1';
const HEADER_BYTES = 48;
/** Float32Array memory is the file's byte order: copy it whole rather than value by value. */
const NATIVE_LE = endianness() === 'LE';
/** Largest checkpoint read back (a CNN or MLP is well under 2 MB). @default 256 MiB */
export const MAX_CHECKPOINT_BYTES = 256 * 1024 * 1024;

export type CheckpointErrorCode =
  | 'CHECKPOINT_NOT_FOUND' // no checkpoint file in the directory
  | 'CHECKPOINT_TRUNCATED' // shorter than its header says (or than a header)
  | 'CHECKPOINT_BAD_MAGIC' // not a checkpoint file
  | 'CHECKPOINT_CHECKSUM' // the SHA-256 does not match the content
  | 'CHECKPOINT_INVALID' // metadata or values fail validation, trailing bytes, too large
  | 'CHECKPOINT_MISMATCH'; // valid, but for another session config or model size

export class CheckpointError extends Error {
  readonly code: CheckpointErrorCode;
  constructor(code: CheckpointErrorCode, message: string, options?: { cause?: unknown }) {
    super(`${code}: ${message}`, options);
    this.name = 'CheckpointError';
    this.code = code;
  }
}

/** What a peer restores: its state between two rounds (nothing pending). */
export interface CheckpointState {
  /** The round this peer uploads for next. */
  round: number;
  /** The term of the last broadcast it applied (0 before any). */
  term: number;
  shard: number;
  /** x_i: the model this peer computes its gradients at. */
  model: Float32Array;
  /** LIEC: x_common, the broadcast-only model (x_i - x_common is what its next sync sends). */
  common: Float32Array | null;
}

export interface Checkpoint extends CheckpointState {
  sessionId: string;
  peerId: string;
  config: SessionConfig;
  /** Epoch ms. */
  savedAt: number;
  reason: 'periodic' | 'exit';
}

const metaSchema = z.object({
  version: z.literal(1),
  sessionId: sessionIdSchema,
  peerId: peerIdSchema,
  config: sessionConfigSchema,
  round: z.number().int().min(0),
  term: z.number().int().min(0),
  shard: z.number().int().min(0),
  savedAt: z.number().finite(),
  reason: z.enum(['periodic', 'exit']),
  modelLength: z.number().int().positive(),
  hasCommon: z.boolean(),
});

export function encodeCheckpoint(checkpoint: Checkpoint): Uint8Array {
  const { model, common } = checkpoint;
  if (common !== null && common.length !== model.length)
    throw new RangeError(`x_common has ${common.length} values, the model ${model.length}`);
  const meta = Buffer.from(
    JSON.stringify({
      version: 1,
      sessionId: checkpoint.sessionId,
      peerId: checkpoint.peerId,
      config: checkpoint.config,
      round: checkpoint.round,
      term: checkpoint.term,
      shard: checkpoint.shard,
      savedAt: checkpoint.savedAt,
      reason: checkpoint.reason,
      modelLength: model.length,
      hasCommon: common !== null,
    }),
  );
  const count = model.length + (common?.length ?? 0);
  const bytes = Buffer.alloc(HEADER_BYTES + meta.length + 4 * count);
  bytes.write(MAGIC, 0, 'latin1');
  bytes.writeUInt32LE(meta.length, 8);
  bytes.writeUInt32LE(count, 12);
  meta.copy(bytes, HEADER_BYTES);
  let offset = HEADER_BYTES + meta.length;
  for (const vector of common === null ? [model] : [model, common]) {
    if (NATIVE_LE) {
      bytes.set(new Uint8Array(vector.buffer, vector.byteOffset, vector.byteLength), offset);
      offset += vector.byteLength;
    } else for (const value of vector) offset = bytes.writeFloatLE(value, offset);
  }
  createHash('sha256').update(bytes.subarray(HEADER_BYTES)).digest().copy(bytes, 16);
  return bytes;
}

export function decodeCheckpoint(data: Uint8Array): Checkpoint {
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (bytes.length < HEADER_BYTES)
    throw new CheckpointError('CHECKPOINT_TRUNCATED', `${bytes.length} bytes, a header alone is 48`);
  if (bytes.toString('latin1', 0, 8) !== MAGIC)
    throw new CheckpointError('CHECKPOINT_BAD_MAGIC', 'not a LIEC checkpoint file');
  const metaLength = bytes.readUInt32LE(8);
  const count = bytes.readUInt32LE(12);
  const expected = HEADER_BYTES + metaLength + 4 * count;
  if (bytes.length < expected)
    throw new CheckpointError('CHECKPOINT_TRUNCATED', `${bytes.length} bytes, header says ${expected}`);
  if (bytes.length > expected)
    throw new CheckpointError('CHECKPOINT_INVALID', `${bytes.length - expected} trailing bytes`);
  const digest = createHash('sha256').update(bytes.subarray(HEADER_BYTES)).digest();
  if (!digest.equals(bytes.subarray(16, HEADER_BYTES)))
    throw new CheckpointError('CHECKPOINT_CHECKSUM', 'content does not match its SHA-256');
  let meta: z.infer<typeof metaSchema>;
  try {
    meta = metaSchema.parse(JSON.parse(bytes.toString('utf8', HEADER_BYTES, HEADER_BYTES + metaLength)));
  } catch (error) {
    throw new CheckpointError('CHECKPOINT_INVALID', `metadata: ${String(error)}`, { cause: error });
  }
  if (count !== meta.modelLength * (meta.hasCommon ? 2 : 1))
    throw new CheckpointError('CHECKPOINT_INVALID', `${count} values for a model of ${meta.modelLength}`);
  const readVector = (start: number): Float32Array => {
    const vector = new Float32Array(meta.modelLength);
    if (NATIVE_LE) new Uint8Array(vector.buffer).set(bytes.subarray(start, start + vector.byteLength));
    else for (let i = 0; i < vector.length; i++) vector[i] = bytes.readFloatLE(start + 4 * i);
    const bad = vector.findIndex((value) => !Number.isFinite(value));
    if (bad >= 0) throw new CheckpointError('CHECKPOINT_INVALID', `non-finite value at index ${bad}`);
    return vector;
  };
  const bodyStart = HEADER_BYTES + metaLength;
  return {
    sessionId: meta.sessionId,
    peerId: meta.peerId,
    config: meta.config,
    round: meta.round,
    term: meta.term,
    shard: meta.shard,
    savedAt: meta.savedAt,
    reason: meta.reason,
    model: readVector(bodyStart),
    common: meta.hasCommon ? readVector(bodyStart + 4 * meta.modelLength) : null,
  };
}

let tempSequence = 0;

/** Writes `checkpoint` to `dir`/CHECKPOINT_FILE atomically (temp file, fsync, rename, fsync dir). */
export async function writeCheckpointFile(dir: string, checkpoint: Checkpoint): Promise<number> {
  const bytes = encodeCheckpoint(checkpoint);
  const temp = joinPath(dir, `.${CHECKPOINT_FILE}.${process.pid}.${++tempSequence}.tmp`);
  try {
    const handle = await open(temp, 'w', 0o600);
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, joinPath(dir, CHECKPOINT_FILE));
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  // The rename itself is durable only once the directory entry is.
  const directory = await open(dir, 'r');
  try {
    await directory.sync();
  } catch {
    // Some filesystems refuse fsync on a directory; the rename is still atomic.
  } finally {
    await directory.close();
  }
  return bytes.length;
}

/** Reads and validates `dir`/CHECKPOINT_FILE; throws CheckpointError. */
export async function readCheckpointFile(dir: string, maxBytes = MAX_CHECKPOINT_BYTES): Promise<Checkpoint> {
  const path = joinPath(dir, CHECKPOINT_FILE);
  const info = await stat(path).catch(() => null);
  if (info === null) throw new CheckpointError('CHECKPOINT_NOT_FOUND', `no checkpoint at ${path}`);
  if (info.size > maxBytes)
    throw new CheckpointError('CHECKPOINT_INVALID', `${info.size} bytes, more than ${maxBytes}`);
  return decodeCheckpoint(await readFile(path));
}

/** Removes temp files a killed writer left behind (not this process's own). */
export async function removeStaleTemps(dir: string): Promise<number> {
  const prefix = `.${CHECKPOINT_FILE}.`;
  const own = `${prefix}${process.pid}.`;
  const names = await readdir(dir).catch(() => [] as string[]);
  const stale = names.filter((n) => n.startsWith(prefix) && n.endsWith('.tmp') && !n.startsWith(own));
  await Promise.all(stale.map((n) => rm(joinPath(dir, n), { force: true })));
  return stale.length;
}

/**
 * Checks that a checkpoint can continue in the session a peer joined: the same config (the
 * model, algorithm and codecs it was trained with) and the learner's model size.
 */
export function assertResumable(checkpoint: Checkpoint, config: SessionConfig, numParams: number): void {
  const saved = canonicalJson(checkpoint.config);
  const current = canonicalJson(config);
  if (saved !== current)
    throw new CheckpointError(
      'CHECKPOINT_MISMATCH',
      `the session's config differs from the checkpoint's: ${current} vs ${saved}`,
    );
  if (checkpoint.model.length !== numParams)
    throw new CheckpointError(
      'CHECKPOINT_MISMATCH',
      `checkpoint model has ${checkpoint.model.length} values, the learner ${numParams}`,
    );
}

function canonicalJson(value: object): string {
  return JSON.stringify(Object.fromEntries(Object.entries(value).sort(([a], [b]) => a.localeCompare(b))));
}
