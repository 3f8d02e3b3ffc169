/**
 * Flat weights into a model's TF.js variables and a flat gradient out of a tensor, without
 * model-sized garbage where the backend allows it: each round a learner sets its weights
 * and reads a gradient, and on the 1M model every copy is 4 MB that a tab's GC must find.
 *
 * - In: the wasm backend copies a tensor's values into its WebAssembly memory when it is
 *   made, so a view (subarray) of the caller's vector is enough. Other backends may keep the
 *   very array they are given (cpu, tensorflow; webgl until it uploads), and the caller
 *   changes its vector in place next round: they get a copy, as before.
 * - Out: on wasm the tensor's values are read through a view of its WebAssembly memory
 *   (typedArrayFromHeap) and copied once, into the caller's vector when it passes one; elsewhere
 *   dataSync()'s array is itself a fresh copy, and the gradient is a view of it.
 * The values are the same bits on every path.
 *
 * @example
 * assignFlat(variables, layout, weights);
 * const out = tf.tidy(() => tf.concat([...grads, loss.reshape([1])]));
 * const { gradient, loss } = readGradientAndLoss(out, numParams, reused); // gradient === reused on wasm
 * out.dispose();
 */
import * as tf from '@tensorflow/tfjs';
import { nonFiniteFlags } from '../../shared/compress/finite.ts';
import { TrainingError } from './errors.ts';

/** Backends whose write() copies the values it is given, so a view of the caller's array is safe. */
const COPYING_BACKENDS: ReadonlySet<string> = new Set(['wasm']);

/** A backend that lends a view of a tensor's memory (tfjs-backend-wasm's BackendWasm). */
interface HeapBackend {
  typedArrayFromHeap(tensor: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
}

function isHeapBackend(backend: unknown): backend is HeapBackend {
  return typeof (backend as Partial<HeapBackend> | null)?.typedArrayFromHeap === 'function';
}

/**
 * Throws WEIGHTS_LENGTH_MISMATCH or NON_FINITE_WEIGHTS unless `flat` is `numParams` finite
 * values (the codecs' check, nonFiniteFlags, twice a round on a worker).
 */
export function checkWeights(flat: Float32Array, numParams: number): void {
  if (flat.length !== numParams)
    throw new TrainingError('WEIGHTS_LENGTH_MISMATCH', `expected ${numParams} weights, got ${flat.length}`);
  if (nonFiniteFlags(flat) >= 0) return;
  const at = flat.findIndex((v) => !Number.isFinite(v));
  throw new TrainingError('NON_FINITE_WEIGHTS', `weight ${at} is ${flat[at]}`);
}

/** Overwrites the variables with `flat`, cut by `layout` (offsets and shapes in flat order). */
export function assignFlat(
  variables: readonly tf.Variable[],
  layout: readonly { offset: number; size: number; shape: readonly number[] }[],
  flat: Float32Array,
): void {
  const view = COPYING_BACKENDS.has(tf.getBackend());
  tf.tidy(() => {
    layout.forEach((p, i) => {
      const end = p.offset + p.size;
      variables[i]?.assign(
        tf.tensor(view ? flat.subarray(p.offset, end) : flat.slice(p.offset, end), [...p.shape]),
      );
    });
  });
}

/**
 * The first `numParams` values of a float32 tensor as the gradient, the next one as the loss.
 * With `into` (numParams long) the gradient is written there and `into` is returned; without
 * it, a vector of its own. Read before the tensor is disposed.
 */
export function readGradientAndLoss(
  flat: tf.Tensor,
  numParams: number,
  into?: Float32Array,
): { gradient: Float32Array; loss: number } {
  if (into !== undefined && into.length !== numParams)
    throw new RangeError(`gradient buffer has ${into.length} values, the model ${numParams}`);
  const backend = tf.backend();
  if (flat.dtype === 'float32' && isHeapBackend(backend)) {
    // A view of WebAssembly memory: valid only until the next TF.js call, so copied at once.
    const heap = backend.typedArrayFromHeap(flat) as Float32Array;
    const gradient = into ?? new Float32Array(numParams);
    gradient.set(heap.subarray(0, numParams));
    return { gradient, loss: heap[numParams] ?? Number.NaN };
  }
  const values = flat.dataSync() as Float32Array;
  const loss = values[numParams] ?? Number.NaN;
  if (into === undefined) return { gradient: values.subarray(0, numParams), loss };
  into.set(values.subarray(0, numParams));
  return { gradient: into, loss };
}
