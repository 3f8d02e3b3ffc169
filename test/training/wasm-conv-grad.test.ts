import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../client/training/backend.ts';
import { registerWasmConvFilterGrad } from '../../client/training/wasm-conv-grad.ts';

/** The filter gradient of sum(conv2d(x, w)^2) on one backend, for fixed x and w. */
async function filterGrad(
  backend: 'cpu' | 'wasm',
  x: number[],
  w: number[],
  strides: number,
  pad: 'same' | 'valid',
): Promise<Float32Array> {
  await selectBackend(backend, { log: () => {} });
  registerWasmConvFilterGrad();
  return tf.tidy(() => {
    const xs = tf.tensor4d(x, [3, 9, 10, 2]);
    const grad = tf.grad((f: tf.Tensor) => tf.sum(tf.square(tf.conv2d(xs, f as tf.Tensor4D, strides, pad))))(
      tf.tensor4d(w, [3, 3, 2, 4]),
    );
    return Float32Array.from(grad.dataSync());
  });
}

test('the wasm Conv2DBackpropFilter kernel matches the cpu backend', async () => {
  let seed = 7;
  const next = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
  const x = Array.from({ length: 3 * 9 * 10 * 2 }, next);
  const w = Array.from({ length: 3 * 3 * 2 * 4 }, next);
  try {
    for (const [strides, pad] of [
      [1, 'same'],
      [2, 'valid'],
      [2, 'same'],
    ] as const) {
      const cpu = await filterGrad('cpu', x, w, strides, pad);
      const wasm = await filterGrad('wasm', x, w, strides, pad);
      assert.equal(tf.getBackend(), 'wasm');
      assert.equal(wasm.length, cpu.length);
      for (let i = 0; i < cpu.length; i++) {
        const want = cpu[i] ?? 0;
        assert.ok(Math.abs((wasm[i] ?? 0) - want) <= 1e-4 * (1 + Math.abs(want)), `${strides} ${pad} [${i}]`);
      }
    }
  } finally {
    await selectBackend('wasm', { log: () => {} });
  }
});
