/**
 * x_common, the model a worker would hold if it applied only the broadcasts and syncs, with the
 * optimizer that moves it. Every worker of a session applies the same broadcasts and syncs to
 * the same start, so x_common is the same in all of them. A real peer keeps its own; the
 * simulator's virtual workers share one (a WorkerGroup, worker.ts), which each operation (a
 * broadcast, a sync, a rolling sync's slice) changes once, for whichever worker applies it
 * first, while the others find it done: one model and one optimizer state instead of N, and
 * one decode of each payload instead of N.
 *
 * Each worker counts the operations it has applied (its position); `applied` counts those the
 * common model has. A worker at `applied` performs the next one; a worker at `applied - 1` finds
 * it done and must bring the same payload (checked byte for byte): workers that share a common
 * model must apply the same operations in the same order. Anything else throws.
 *
 * @example
 * const common = new CommonModel(initial, optimizerOptions, { shared: true });
 * const c = common.broadcast(position++, payload, () => decodeChecked(down, payload, d));
 */
import {
  createOptimizer,
  stepLiecPair,
  type Optimizer,
  type OptimizerOptions,
  type Stepped,
} from './optimizer.ts';
import { add } from './vector.ts';

type OperationKind = 'broadcast' | 'sync';

interface Operation {
  kind: OperationKind;
  payload: Uint8Array;
  start: number;
  end: number;
  /** The broadcast's decoded direction, or the sync's decoded delta on [start, end). */
  decoded: Float32Array;
}

/** Scratch vectors a group's workers borrow, one per value that can be alive at a time. */
export const Scratch = {
  feedback: 0,
  offset: 1,
  offsetVelocity: 2,
  model: 3,
  work: 4,
  /**
   * A worker's own upload, decoded to measure its compression error; a real peer's decoded
   * broadcast (a group keeps each broadcast's own vector). Never both alive at once.
   */
  decoded: 5,
} as const;

export class CommonModel {
  model: Float32Array;
  optimizer: Optimizer;
  /** Operations applied so far. */
  applied = 0;
  /** Shared by several workers (the simulator's): operations are applied once for all. */
  readonly shared: boolean;
  private readonly options: OptimizerOptions;
  private last: Operation | null = null;
  /** The last sync's block [start, end) as it was before the sync (what a worker owed is measured against). */
  private before: Float32Array | null = null;
  private readonly scratches: (Float32Array | undefined)[] = [];

  constructor(initial: Float32Array, options: OptimizerOptions, settings: { shared: boolean }) {
    this.model = Float32Array.from(initial);
    this.options = options;
    this.optimizer = createOptimizer(options, initial.length);
    this.shared = settings.shared;
  }

  get length(): number {
    return this.model.length;
  }

  /** Whether a worker at `position` sees x_common as it is (no operation of others ahead of it). */
  isAt(position: number): boolean {
    return position === this.applied;
  }

  /**
   * The broadcast of the worker at `position`, applied once: x_common <- step(x_common, c).
   * Returns c (decoded once, by `decode`, for all the workers).
   */
  broadcast(position: number, payload: Uint8Array, decode: () => Float32Array): Float32Array {
    const done = this.done(position, 'broadcast', payload, 0, this.length);
    if (done !== null) return done.decoded;
    const decoded = decode();
    this.optimizer.step(this.model, decoded);
    this.record({ kind: 'broadcast', payload, start: 0, end: this.length, decoded });
    return decoded;
  }

  /**
   * A private common model's broadcast (a real peer's) with the worker's own model stepped in
   * the same pass: x_common <- step(x_common, c), own <- own's step(c + residual), bit for bit
   * as broadcast() and stepOwn (own-step.ts) would (optimizer.ts's stepLiecPair). Returns
   * ||own - x_common||^2 after both. Nothing moves when `decode` throws.
   */
  broadcastWithOwn(
    position: number,
    payload: Uint8Array,
    decode: () => Float32Array,
    own: Stepped,
    residual: Float32Array,
  ): number {
    if (this.shared) throw new Error('broadcastWithOwn is for a private common model');
    this.done(position, 'broadcast', payload, 0, this.length);
    const decoded = decode();
    const distance = stepLiecPair(own, this, decoded, residual);
    this.record({ kind: 'broadcast', payload, start: 0, end: this.length, decoded });
    return distance;
  }

  /**
   * A sync's delta on [start, end) of the worker at `position`, added once. Returns the delta
   * (decoded once) and the block as it was before.
   */
  sync(
    position: number,
    payload: Uint8Array,
    start: number,
    end: number,
    decode: () => Float32Array,
  ): { delta: Float32Array; before: Float32Array } {
    const done = this.done(position, 'sync', payload, start, end);
    if (done !== null) return { delta: done.decoded, before: this.before as Float32Array };
    const delta = decode();
    if (this.before?.length !== end - start) this.before = new Float32Array(end - start);
    const before = this.before;
    before.set(this.model.subarray(start, end));
    const block = this.model.subarray(start, end);
    add(block, block, delta);
    this.record({ kind: 'sync', payload, start, end, decoded: delta });
    return { delta, before };
  }

  /** Starts over from `model` with a fresh optimizer (a peer's own common model only). */
  reset(model: Float32Array): void {
    if (this.shared) throw new Error('a shared common model cannot start over for one worker');
    this.model = Float32Array.from(model);
    this.optimizer = createOptimizer(this.options, this.length);
    this.applied = 0;
    this.last = null;
    this.before = null;
  }

  /** A length-d work vector for slot `slot`, contents undefined, reused by every worker of the group. */
  scratch(slot: number): Float32Array {
    let buffer = this.scratches[slot];
    if (buffer === undefined) {
      buffer = new Float32Array(this.length);
      this.scratches[slot] = buffer;
    }
    return buffer;
  }

  private done(
    position: number,
    kind: OperationKind,
    payload: Uint8Array,
    start: number,
    end: number,
  ): Operation | null {
    if (position === this.applied) return null;
    const last = this.last;
    if (position !== this.applied - 1 || last === null)
      throw new Error(`worker at operation ${position}, its common model at ${this.applied}`);
    if (last.kind !== kind || last.start !== start || last.end !== end || !sameBytes(last.payload, payload))
      throw new Error(`workers sharing a common model applied different operations at ${position}`);
    return last;
  }

  private record(operation: Operation): void {
    // A private model is never asked again: keep nothing.
    this.last = this.shared ? operation : null;
    this.applied++;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
