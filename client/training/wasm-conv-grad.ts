/**
 * Conv2DBackpropFilter for the wasm backend, which ships without it (TF.js 4.22): the filter
 * gradient of a convolution, dW[r, c, i, o] = sum over batch and output positions of
 * x[b, y * sy + r * dy - top, x * sx + c * dx - left, i] * dY[b, y, x, o], written in plain
 * JavaScript over the wasm heap. Without it a user's Layers model with Conv2D trains only on
 * the cpu backend (whose every other kernel is several times slower); our built-in CNN avoids
 * the kernel altogether (im2col, architectures.ts). NHWC only, as Layers models use.
 *
 * @example
 * registerWasmConvFilterGrad(); // idempotent; a no-op where wasm has the kernel already
 */
import * as tf from '@tensorflow/tfjs';

interface WasmBackendLike {
  readSync(dataId: object): ArrayLike<number>;
  makeOutput(shape: number[], dtype: 'float32'): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array;
}

interface FilterGradAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
}

export function registerWasmConvFilterGrad(): void {
  if (tf.getKernel('Conv2DBackpropFilter', 'wasm') !== undefined) return;
  tf.registerKernel({
    kernelName: 'Conv2DBackpropFilter',
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
      const a = attrs as unknown as FilterGradAttrs;
      if (a.dataFormat !== 'NHWC') throw new Error('Conv2DBackpropFilter (wasm): only NHWC');
      const wasm = backend as unknown as WasmBackendLike;
      const info = tf.backend_util.computeConv2DInfo(
        x.shape as [number, number, number, number],
        a.filterShape,
        a.strides,
        1,
        a.pad,
        a.dimRoundingMode,
        false,
        'channelsLast',
      );
      const xs = wasm.readSync(x.dataId);
      const dys = wasm.readSync(dy.dataId);
      const out = wasm.makeOutput([...a.filterShape], 'float32');
      const dw = wasm.typedArrayFromHeap(out);
      dw.fill(0);
      const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels } = info;
      const { filterHeight, filterWidth, strideHeight, strideWidth, dilationHeight, dilationWidth } = info;
      const top = info.padInfo.top;
      const left = info.padInfo.left;
      for (let b = 0; b < batchSize; b++) {
        for (let y = 0; y < outHeight; y++) {
          for (let r = 0; r < filterHeight; r++) {
            const iy = y * strideHeight + r * dilationHeight - top;
            if (iy < 0 || iy >= inHeight) continue;
            for (let xo = 0; xo < outWidth; xo++) {
              const dyBase = ((b * outHeight + y) * outWidth + xo) * outChannels;
              for (let c = 0; c < filterWidth; c++) {
                const ix = xo * strideWidth + c * dilationWidth - left;
                if (ix < 0 || ix >= inWidth) continue;
                const xBase = ((b * inHeight + iy) * inWidth + ix) * inChannels;
                const wBase = (r * filterWidth + c) * inChannels * outChannels;
                for (let i = 0; i < inChannels; i++) {
                  const xv = xs[xBase + i] ?? 0;
                  if (xv === 0) continue;
                  const row = wBase + i * outChannels;
                  for (let o = 0; o < outChannels; o++)
                    dw[row + o] = (dw[row + o] ?? 0) + xv * (dys[dyBase + o] ?? 0);
                }
              }
            }
          }
        }
      }
      return out;
    },
  });
}
