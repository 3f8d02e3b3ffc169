/**
 * The network shapes the trainer knows: their parameter list (names, shapes, the fixed
 * order of the flattened weight vector), their seeded initialisation and their forward pass.
 *
 * Flattened order: parameters in the order listed, each row-major in its TF.js shape.
 * - mlp (default hidden H = 128, 101,770 parameters): dense1/kernel [784, H], dense1/bias [H],
 *   dense2/kernel [H, 10], dense2/bias [10]. ReLU hidden layer, softmax output.
 * - mlp-large (H = 1,280: 1,017,610 parameters) and mlp-xlarge (H = 12,800: 10,176,010): the
 *   same network, wider, for what compression and rounds cost at 1M and 10M parameters
 *   (one hidden layer keeps the gradient a single pair of matrix products at every size).
 * - cnn (9,098 parameters): conv1/kernel [3, 3, 1, 8], conv1/bias [8], conv2/kernel
 *   [3, 3, 8, 16], conv2/bias [16], dense/kernel [784, 10], dense/bias [10]. Two 3x3 'same'
 *   ReLU convolutions, each followed by 2x2 max pooling (28 -> 14 -> 7), then a dense layer.
 *   Convolutions run as im2col matrix products (see conv3x3Relu), so the CNN trains on
 *   every backend, wasm included, but slowly: measured per batch-64 step on a loaded 2-core
 *   machine, about 0.2-0.3 s on wasm and 3 s on cpu (the MLP: 6 ms and 60 ms). Evaluate it
 *   on a subset of the test set (2,000 images take about 5 s on wasm, 50 s on cpu).
 *
 * Other tasks (csv, images): the same shapes with the task's input size in place of 784 and
 * its class count in place of 10 (`io`); the CNN takes only 28x28 grayscale inputs.
 *
 * Initial weights come from the shared seeded Rng, not TF.js's random ops, so a seed gives
 * the same model on every backend and machine: He-uniform for ReLU layers, Glorot-uniform
 * for the output layer, zero biases.
 *
 * @example
 * const arch = architecture('mlp', 128);
 * const flat = initialWeights(arch, 42); // Float32Array(101770)
 */
import * as tf from '@tensorflow/tfjs';
import { createRng } from '../../shared/random.ts';

export type ArchName = 'mlp' | 'mlp-large' | 'mlp-xlarge' | 'cnn';

/** Hidden units of each MLP when the caller names none (see the module doc for sizes). */
export const MLP_HIDDEN: Readonly<Record<Exclude<ArchName, 'cnn'>, number>> = {
  mlp: 128,
  'mlp-large': 1_280,
  'mlp-xlarge': 12_800,
};

export interface ParamSpec {
  name: string;
  shape: number[];
  /** How the parameter starts: he/glorot uniform from fan-in and fan-out, or zeros. */
  init: 'he' | 'glorot' | 'zeros';
  fanIn: number;
  fanOut: number;
}

export interface Architecture {
  name: ArchName;
  params: ParamSpec[];
  /** Values in one input and number of classes (784 and 10 for MNIST). */
  inputSize: number;
  numClasses: number;
  /** Logits [batch, classes] from flat inputs [batch, inputSize] and the parameters in list order. */
  forward(images: tf.Tensor2D, params: readonly tf.Tensor[]): tf.Tensor;
}

export const INPUT_PIXELS = 784;
export const NUM_CLASSES = 10;

/** A task's input and output sizes. */
export interface TaskShape {
  inputSize: number;
  numClasses: number;
}

export const MNIST_SHAPE: Readonly<TaskShape> = { inputSize: INPUT_PIXELS, numClasses: NUM_CLASSES };

/**
 * The architecture `name`; `hidden` sets an MLP's width (default MLP_HIDDEN[name]), `io`
 * the task's input size and class count (default MNIST's). Throws a RangeError for a CNN
 * whose input is not 28x28x1.
 */
export function architecture(name: ArchName, hidden?: number, io: TaskShape = MNIST_SHAPE): Architecture {
  if (name !== 'cnn') return mlp(name, hidden ?? MLP_HIDDEN[name], io);
  if (io.inputSize !== INPUT_PIXELS)
    throw new RangeError(`the cnn model takes 28x28 grayscale inputs (784 values), not ${io.inputSize}`);
  return cnn(io.numClasses);
}

function denseParams(name: string, inputs: number, outputs: number, init: 'he' | 'glorot'): ParamSpec[] {
  return [
    { name: `${name}/kernel`, shape: [inputs, outputs], init, fanIn: inputs, fanOut: outputs },
    { name: `${name}/bias`, shape: [outputs], init: 'zeros', fanIn: inputs, fanOut: outputs },
  ];
}

function convParams(name: string, inChannels: number, outChannels: number): ParamSpec[] {
  const area = 3 * 3;
  return [
    {
      name: `${name}/kernel`,
      shape: [3, 3, inChannels, outChannels],
      init: 'he',
      fanIn: area * inChannels,
      fanOut: area * outChannels,
    },
    { name: `${name}/bias`, shape: [outChannels], init: 'zeros', fanIn: 0, fanOut: 0 },
  ];
}

/** Parameter `index` in list order (the model always passes the full list). */
function param(params: readonly tf.Tensor[], index: number): tf.Tensor {
  const tensor = params[index];
  if (tensor === undefined) throw new RangeError(`missing parameter tensor ${index}`);
  return tensor;
}

/** The conv ops want a statically 4-D filter; the variables were created with that shape. */
function rank4(t: tf.Tensor): tf.Tensor4D {
  if (t.rank !== 4) throw new RangeError('expected a 4-D tensor');
  return t as tf.Tensor4D;
}

/**
 * x w + b, with a hand-written gradient that transposes explicitly: the wasm backend's
 * matMul with a transpose flag (what TF.js's own matMul gradient uses) takes a slow path,
 * about 14 ms instead of 2 ms for the 784x64x128 product here. The input gradient is
 * computed only when `inputGrad`; the image layer gets zeros (nobody reads them).
 * Operands reach the gradient through save(): TF.js disposes forward intermediates.
 */
function denseLayer(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor, inputGrad: boolean): tf.Tensor {
  return tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [xIn, wIn, bIn, save] = args;
    if (!(xIn instanceof tf.Tensor && wIn instanceof tf.Tensor && bIn instanceof tf.Tensor)) {
      throw new TypeError('denseLayer expects three tensors');
    }
    if (typeof save === 'function') save([xIn, wIn]);
    return {
      value: tf.fused.matMul({ a: xIn, b: wIn, bias: bIn }),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs = xIn, ws = wIn] = saved;
        const dx = inputGrad ? tf.matMul(dy, tf.transpose(ws)) : tf.zerosLike(xs);
        return [dx, tf.matMul(tf.transpose(xs), dy), tf.sum(dy, 0)];
      },
    };
  })(x, w, b);
}

function mlp(name: Exclude<ArchName, 'cnn'>, hidden: number, io: TaskShape): Architecture {
  return {
    name,
    ...io,
    params: [
      ...denseParams('dense1', io.inputSize, hidden, 'he'),
      ...denseParams('dense2', hidden, io.numClasses, 'glorot'),
    ],
    forward(images, params) {
      const h = tf.relu(denseLayer(images, param(params, 0), param(params, 1), false));
      return denseLayer(h, param(params, 2), param(params, 3), true);
    },
  };
}

function cnn(numClasses: number): Architecture {
  return {
    name: 'cnn',
    inputSize: INPUT_PIXELS,
    numClasses,
    params: [
      ...convParams('conv1', 1, 8),
      ...convParams('conv2', 8, 16),
      ...denseParams('dense', 7 * 7 * 16, numClasses, 'glorot'),
    ],
    forward(images, params) {
      const x = rank4(images.reshape([-1, 28, 28, 1]));
      const p1 = tf.maxPool(conv3x3Relu(x, param(params, 0), param(params, 1), false), 2, 2, 'valid');
      const p2 = tf.maxPool(conv3x3Relu(p1, param(params, 2), param(params, 3), true), 2, 2, 'valid');
      return denseLayer(p2.reshape([-1, 7 * 7 * 16]), param(params, 4), param(params, 5), true);
    },
  };
}

/**
 * A 3x3 'same' convolution with bias and ReLU, computed as one matrix product of im2col
 * patches (nine shifted slices of the padded input, concatenated on the channel axis, so
 * column (row * 3 + col) * channels + c matches the [3, 3, in, out] kernel layout) and the
 * kernel viewed as [9 * in, out]. Every op involved has a gradient on every backend,
 * whereas wasm has no Conv2DBackpropFilter kernel and cpu's is a naive loop (about 10 s a
 * batch of 64 for this model, against well under 1 s this way).
 */
export function conv3x3Relu(
  x: tf.Tensor4D,
  kernel: tf.Tensor,
  bias: tf.Tensor,
  inputGrad: boolean,
): tf.Tensor4D {
  const [batch, height, width, channels] = x.shape;
  const padded = tf.pad(x, [
    [0, 0],
    [1, 1],
    [1, 1],
    [0, 0],
  ]);
  const shifted: tf.Tensor[] = [];
  for (let row = 0; row < 3; row++) {
    for (let col = 0; col < 3; col++) {
      shifted.push(tf.slice(padded, [0, row, col, 0], [batch, height, width, channels]));
    }
  }
  const patches = tf.concat(shifted, 3).reshape([batch * height * width, 9 * channels]);
  const out = denseLayer(patches, kernel.reshape([9 * channels, -1]), bias, inputGrad);
  return rank4(tf.relu(out).reshape([batch, height, width, -1]));
}

export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** The seeded initial weight vector, in the flattened order of the module doc. */
export function initialWeights(arch: Architecture, seed: number): Float32Array {
  const rng = createRng(seed);
  const flat = new Float32Array(arch.params.reduce((n, p) => n + sizeOf(p.shape), 0));
  let offset = 0;
  for (const p of arch.params) {
    const size = sizeOf(p.shape);
    const limit = p.init === 'he' ? Math.sqrt(6 / p.fanIn) : Math.sqrt(6 / (p.fanIn + p.fanOut));
    if (p.init !== 'zeros') for (let i = 0; i < size; i++) flat[offset + i] = (2 * rng.next() - 1) * limit;
    offset += size;
  }
  return flat;
}
