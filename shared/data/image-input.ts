/**
 * Decoded pixels to one model input, pure: any size and channel count in, the task's
 * width x height x channels out as values in [0, 1], row-major, channels interleaved (the
 * layout of a canvas's ImageData minus alpha, and of the MNIST digits). The browser feeds
 * it `getImageData(...).data` (RGBA); Node feeds it what pngjs or jpeg-js decoded.
 *
 * - Resizing: each output pixel is the mean of the source area it covers (box filter,
 *   partial pixels weighted by their overlap), so shrinking a photo does not alias and a
 *   same-size image passes through unchanged.
 * - Grayscale from colour: luma 0.299 R + 0.587 G + 0.114 B (ITU-R BT.601).
 * - Alpha: composited over black (a transparent background reads as 0, like MNIST's).
 *
 * @example
 * const input = imageToInput({ pixels: imageData.data, width: 640, height: 480, channels: 4 }, { width: 28, height: 28, channels: 1 });
 * input.length; // 784
 */

export interface DecodedImage {
  /** width * height * channels bytes (0..255), row-major, channels interleaved. */
  pixels: ArrayLike<number>;
  width: number;
  height: number;
  /** 1 gray, 2 gray + alpha, 3 RGB, 4 RGBA. */
  channels: 1 | 2 | 3 | 4;
}

export interface InputShape {
  width: number;
  height: number;
  channels: 1 | 3;
}

/** Writes the input of `image` into `out` at `offset` (or a new array); returns `out`. */
export function imageToInput(
  image: DecodedImage,
  shape: InputShape,
  out: Float32Array = new Float32Array(shape.width * shape.height * shape.channels),
  offset = 0,
): Float32Array {
  const { width, height, channels } = image;
  if (image.pixels.length !== width * height * channels)
    throw new RangeError(`${image.pixels.length} bytes do not match ${width}x${height}x${channels}`);
  const colour = flatten(image);
  const planes = shape.channels;
  const sx = width / shape.width;
  const sy = height / shape.height;
  const acc = new Float64Array(planes);
  for (let oy = 0; oy < shape.height; oy++) {
    const y0 = oy * sy;
    const y1 = y0 + sy;
    for (let ox = 0; ox < shape.width; ox++) {
      const x0 = ox * sx;
      const x1 = x0 + sx;
      acc.fill(0);
      let area = 0;
      for (let y = Math.floor(y0); y < Math.min(height, Math.ceil(y1)); y++) {
        const wy = Math.min(y + 1, y1) - Math.max(y, y0);
        for (let x = Math.floor(x0); x < Math.min(width, Math.ceil(x1)); x++) {
          const w = wy * (Math.min(x + 1, x1) - Math.max(x, x0));
          if (w <= 0) continue;
          const at = (y * width + x) * 3;
          if (planes === 1) acc[0] = (acc[0] ?? 0) + w * luma(colour, at);
          else for (let c = 0; c < 3; c++) acc[c] = (acc[c] ?? 0) + w * (colour[at + c] ?? 0);
          area += w;
        }
      }
      const base = offset + (oy * shape.width + ox) * planes;
      for (let c = 0; c < planes; c++) out[base + c] = area > 0 ? (acc[c] ?? 0) / area / 255 : 0;
    }
  }
  return out;
}

/** RGB bytes per pixel, alpha composited over black. */
function flatten(image: DecodedImage): Float32Array {
  const { pixels, channels } = image;
  const count = image.width * image.height;
  const rgb = new Float32Array(count * 3);
  for (let p = 0; p < count; p++) {
    const at = p * channels;
    const gray = channels <= 2;
    const alpha = channels === 2 || channels === 4 ? (pixels[at + channels - 1] ?? 255) / 255 : 1;
    for (let c = 0; c < 3; c++) rgb[p * 3 + c] = (pixels[at + (gray ? 0 : c)] ?? 0) * alpha;
  }
  return rgb;
}

function luma(rgb: Float32Array, at: number): number {
  const r = rgb[at] ?? 0;
  // Gray stays bit-exact (the weights' float sum is not exactly 1).
  if (r === rgb[at + 1] && r === rgb[at + 2]) return r;
  return 0.299 * (rgb[at] ?? 0) + 0.587 * (rgb[at + 1] ?? 0) + 0.114 * (rgb[at + 2] ?? 0);
}
