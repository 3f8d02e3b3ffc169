/**
 * Small in-place vector operations over Float32Array, the only arithmetic the
 * algorithms need. Loops are plain for-loops: they sit on every round's hot path.
 *
 * A model-sized loop is best a function of its own that ends with the loop: on Node 20's V8,
 * a long loop inside a larger function is optimized on its own (on-stack replacement) before
 * the code after it has run, and that code bailed out of it at every call in some peer
 * processes for the whole session (seen with --trace-deopt: setWeights' finiteness check,
 * the aggregator's aggregate, a worker's prepareUpload).
 */

/** Throws unless a and b have the same length (a programming error, not bad input). */
export function assertSameLength(a: Float32Array, b: Float32Array, what: string): void {
  if (a.length !== b.length) throw new RangeError(`${what}: length ${a.length} != ${b.length}`);
}

/** y += alpha * x */
export function axpy(y: Float32Array, alpha: number, x: Float32Array): void {
  assertSameLength(y, x, 'axpy');
  for (let i = 0; i < y.length; i++) y[i] = (y[i] as number) + alpha * (x[i] as number);
}

/** out = a + b (out may alias a or b) */
export function add(out: Float32Array, a: Float32Array, b: Float32Array): Float32Array {
  assertSameLength(a, b, 'add');
  for (let i = 0; i < a.length; i++) out[i] = (a[i] as number) + (b[i] as number);
  return out;
}

/** out = a - b (out may alias a) */
export function subtract(out: Float32Array, a: Float32Array, b: Float32Array): Float32Array {
  assertSameLength(a, b, 'subtract');
  for (let i = 0; i < a.length; i++) out[i] = (a[i] as number) - (b[i] as number);
  return out;
}

/** A copy of `x`: into `into` when given (same length, else RangeError), else a new vector. */
export function copyOf(x: Float32Array, into?: Float32Array): Float32Array {
  if (into === undefined) return Float32Array.from(x);
  assertSameLength(x, into, 'copyOf');
  into.set(x);
  return into;
}

/** ||x||^2, accumulated in double precision. */
export function normSq(x: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < x.length; i++) {
    const v = x[i] as number;
    sum += v * v;
  }
  return sum;
}

/** ||a - b||^2, accumulated in double precision. */
export function distanceSq(a: Float32Array, b: Float32Array): number {
  assertSameLength(a, b, 'distanceSq');
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const v = (a[i] as number) - (b[i] as number);
    sum += v * v;
  }
  return sum;
}

/** Mean of equally long vectors, in double precision, rounded once to float32 (a fresh vector). */
export function mean(vectors: readonly Float32Array[], length: number): Float32Array {
  return meanInto(vectors, new Float32Array(length));
}

/**
 * mean() into the caller's `out` (out.length values): each entry summed in double precision in
 * the order of `vectors`, divided and rounded once, so the bits are those of mean(). Reads
 * each vector once, in one pass (a list may decode its element on each access). One vector
 * (the aggregator's running mean) needs no float64 sum and allocates nothing; more allocate
 * the sum. An empty list gives zeros. out may be one of the vectors.
 */
export function meanInto(vectors: readonly Float32Array[], out: Float32Array): Float32Array {
  const length = out.length;
  const n = vectors.length;
  if (n === 0) return out.fill(0);
  if (n === 1) {
    const only = vectors[0] as Float32Array;
    if (only.length !== length) throw new RangeError(`mean: length ${only.length} != ${length}`);
    // 0 + v, as a sum that starts from 0: -0 becomes +0 there too.
    for (let i = 0; i < length; i++) out[i] = 0 + (only[i] as number);
    return out;
  }
  const acc = new Float64Array(length);
  for (const v of vectors) {
    if (v.length !== length) throw new RangeError(`mean: length ${v.length} != ${length}`);
    for (let i = 0; i < length; i++) acc[i] = (acc[i] as number) + (v[i] as number);
  }
  for (let i = 0; i < length; i++) out[i] = (acc[i] as number) / n;
  return out;
}
