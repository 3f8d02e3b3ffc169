/**
 * Frozen copies of the sign and topk encoders as they were before the issue 20 speed-ups
 * (shared/compress at commit 2ba091c: sign.ts, topk.ts, select.ts, bits.ts, half.ts), kept
 * self-contained so later changes to the shared helpers cannot change them. Other peers
 * decode these payloads, so the fast encoders must produce exactly these bytes
 * (test/compress/identical-payloads.test.ts). Slow on purpose: clarity over speed.
 *
 * @example
 * referenceEncode('topk:0.01:sign', x); // the bytes today's createTopK must also write
 */

const NON_FINITE_BITS = 0x7f800000;
const SAMPLE_SIZE = 16384;

function nonFinite(): never {
  throw new Error('NON_FINITE_INPUT');
}

class Writer {
  readonly bytes: Uint8Array;
  private readonly view: DataView;
  pos = 0;
  constructor(size: number) {
    this.bytes = new Uint8Array(size);
    this.view = new DataView(this.bytes.buffer);
  }
  u8(v: number): void {
    this.view.setUint8(this.pos++, v);
  }
  i16(v: number): void {
    this.view.setInt16(this.pos, v, true);
    this.pos += 2;
  }
  u32(v: number): void {
    this.view.setUint32(this.pos, v, true);
    this.pos += 4;
  }
  f32(v: number): void {
    this.view.setFloat32(this.pos, v, true);
    this.pos += 4;
  }
  array(a: ArrayBufferView): void {
    this.bytes.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), this.pos);
    this.pos += a.byteLength;
  }
  header(id: number, d: number): void {
    this.u8(id);
    this.u32(d);
  }
  finish(): Uint8Array {
    if (this.pos !== this.bytes.length) throw new Error(`wrote ${this.pos} of ${this.bytes.length} bytes`);
    return this.bytes;
  }
}

class BitWriter {
  private acc = 0;
  private n = 0;
  constructor(
    private readonly bytes: Uint8Array,
    public pos: number,
  ) {}
  write(v: number, bits: number): void {
    this.acc |= v << this.n;
    this.n += bits;
    while (this.n >= 8) {
      this.bytes[this.pos++] = this.acc & 0xff;
      this.acc >>>= 8;
      this.n -= 8;
    }
  }
  writeWide(v: number, bits: number): void {
    if (bits <= 24) {
      this.write(v & ((1 << bits) - 1), bits);
    } else {
      this.write(v & 0xffff, 16);
      this.write(Math.floor(v / 65536) & ((1 << (bits - 16)) - 1), bits - 16);
    }
  }
  rice(v: number, b: number): void {
    let q = b === 0 ? v : Math.floor(v / 2 ** b);
    while (q > 16) {
      this.write(0, 16);
      q -= 16;
    }
    this.write(1 << q, q + 1);
    if (b > 0) this.writeWide(v, b);
  }
  flush(): void {
    if (this.n > 0) this.bytes[this.pos++] = this.acc & 0xff;
    this.acc = 0;
    this.n = 0;
  }
}

function riceBits(values: Uint32Array, b: number): number {
  let total = values.length * (b + 1);
  for (let i = 0; i < values.length; i++) total += values[i]! >>> b;
  return total;
}

function kthLargest(a: Uint32Array, r: number): number {
  let lo = 0;
  let hi = a.length - 1;
  let seed = 0x2545f491;
  for (;;) {
    if (lo === hi) return a[lo]!;
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    const pivot = a[lo + ((seed >>> 0) % (hi - lo + 1))]!;
    let gt = lo;
    let i = lo;
    let lt = hi;
    while (i <= lt) {
      const v = a[i]!;
      if (v > pivot) {
        a[i] = a[gt]!;
        a[gt++] = v;
        i++;
      } else if (v < pivot) {
        a[i] = a[lt]!;
        a[lt--] = v;
      } else {
        i++;
      }
    }
    if (r < gt) hi = gt - 1;
    else if (r <= lt) return pivot;
    else lo = lt + 1;
  }
}

function collectAtLeast(u: Uint32Array, bound: number, capacity: number): Uint32Array | undefined {
  const out = new Uint32Array(Math.min(capacity, u.length));
  let c = 0;
  for (let i = 0; i < u.length; i++) {
    if ((u[i]! & 0x7fffffff) >= bound) {
      if (c === out.length) return undefined;
      out[c++] = i;
    }
  }
  return out.subarray(0, c);
}

function sampledLowerBound(u: Uint32Array, k: number): { bound: number; capacity: number } | undefined {
  const d = u.length;
  const rank = (k / d) * SAMPLE_SIZE;
  const safeRank = Math.ceil(rank + 4 * Math.sqrt(rank) + 4);
  if (safeRank >= SAMPLE_SIZE / 2) return undefined;
  const sample = new Uint32Array(SAMPLE_SIZE);
  let state = 0x9e3779b9;
  for (let j = 0; j < SAMPLE_SIZE; j++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    sample[j] = u[(state >>> 0) % d]! & 0x7fffffff;
  }
  return {
    bound: kthLargest(sample, safeRank),
    capacity: Math.ceil((2 * safeRank * d) / SAMPLE_SIZE) + 1024,
  };
}

/** The old selectTopK: indices ascending, ties at the threshold keep the lowest indices. */
export function referenceSelectTopK(
  x: Float32Array,
  k: number,
): { indices: Uint32Array; maxAbsBits: number } {
  const d = x.length;
  const u = new Uint32Array(x.buffer, x.byteOffset, d);
  k = Math.max(0, Math.min(k, d));
  if (k === d || k === 0) {
    for (let i = 0; i < d; i++) if ((u[i]! & 0x7fffffff) >= NON_FINITE_BITS) nonFinite();
    const all = new Uint32Array(k);
    let max = 0;
    for (let i = 0; i < k; i++) {
      all[i] = i;
      max = Math.max(max, u[i]! & 0x7fffffff);
    }
    return { indices: all, maxAbsBits: max };
  }
  const estimate = d > 4 * SAMPLE_SIZE ? sampledLowerBound(u, k) : undefined;
  let candidates = estimate === undefined ? undefined : collectAtLeast(u, estimate.bound, estimate.capacity);
  if (candidates === undefined || candidates.length < k) candidates = collectAtLeast(u, 0, d)!;
  const c = candidates.length;
  const magnitudes = new Uint32Array(c);
  for (let j = 0; j < c; j++) magnitudes[j] = u[candidates[j]!]! & 0x7fffffff;
  let max = 0;
  for (let j = 0; j < c; j++) if (magnitudes[j]! > max) max = magnitudes[j]!;
  if (max >= NON_FINITE_BITS) nonFinite();
  const threshold = kthLargest(magnitudes, k - 1);
  let ties = k;
  for (let j = 0; j < c; j++) if (magnitudes[j]! > threshold) ties--;
  const indices = new Uint32Array(k);
  let m = 0;
  for (let j = 0; j < c; j++) {
    const i = candidates[j]!;
    const a = u[i]! & 0x7fffffff;
    if (a > threshold || (a === threshold && ties-- > 0)) indices[m++] = i;
  }
  return { indices, maxAbsBits: max };
}

function halfShiftFor(maxAbsBits: number): number {
  if (maxAbsBits === 0) return 0;
  const exp32 = maxAbsBits >>> 23;
  const log2 = exp32 === 0 ? 31 - Math.clz32(maxAbsBits) - 149 : exp32 - 127;
  return log2 - 14;
}

function f32BitsToHalf(bits: number, shift: number): number {
  const sign = (bits >>> 16) & 0x8000;
  const exp32 = (bits >>> 23) & 0xff;
  let m = bits & 0x7fffff;
  let e: number;
  if (exp32 === 0) {
    if (m === 0) return sign;
    const lz = Math.clz32(m) - 8;
    m <<= lz;
    e = -126 - lz;
  } else {
    m |= 0x800000;
    e = exp32 - 127;
  }
  e -= shift;
  if (e > 15) return sign | 0x7c00;
  if (e >= -14) {
    let h = ((e + 15) << 10) | ((m >>> 13) & 0x3ff);
    const rest = m & 0x1fff;
    if (rest > 0x1000 || (rest === 0x1000 && (h & 1) === 1)) h++;
    return sign | h;
  }
  const s = -e - 1;
  if (s > 24) return sign;
  let h = m >>> s;
  const rest = m & ((1 << s) - 1);
  const half = 1 << (s - 1);
  if (rest > half || (rest === half && (h & 1) === 1)) h++;
  return sign | h;
}

function chooseRiceParameter(gaps: Uint32Array, d: number): number {
  const k = gaps.length;
  if (k === 0) return 0;
  const guess = Math.max(0, Math.min(31, Math.round(Math.log2(Math.max(1, (d - k) / k)))));
  let best = guess;
  let bestBits = riceBits(gaps, guess);
  for (let b = Math.max(0, guess - 3); b <= Math.min(31, guess + 2); b++) {
    const bits = riceBits(gaps, b);
    if (bits < bestBits) {
      best = b;
      bestBits = bits;
    }
  }
  return best;
}

function referenceSign(x: Float32Array, blockSize: number): Uint8Array {
  const d = x.length;
  const block = blockSize === 0 ? Math.max(d, 1) : blockSize;
  const blocks = d === 0 ? 0 : blockSize === 0 ? 1 : Math.ceil(d / blockSize);
  const scales = new Float32Array(blocks);
  const u = new Uint32Array(x.buffer, x.byteOffset, d);
  const words = new Uint32Array((d + 31) >>> 5);
  const fused = block % 32 === 0 || blocks === 1;
  const pack = (start: number, end: number): number => {
    let even = 0;
    let odd = 0;
    const fullEnd = start + ((end - start) & ~31);
    for (let base = start; base < fullEnd; base += 32) {
      let word = 0;
      for (let j = 0; j < 32; j += 2) {
        const i = base + j;
        word |= ((u[i]! >>> 31) << j) | ((u[i + 1]! >>> 31) << (j + 1));
        even += Math.abs(x[i]!);
        odd += Math.abs(x[i + 1]!);
      }
      words[base >>> 5] = word;
    }
    let word = 0;
    for (let i = fullEnd; i < end; i++) {
      word |= (u[i]! >>> 31) << (i & 31);
      even += Math.abs(x[i]!);
    }
    if (fullEnd < end) words[fullEnd >>> 5] = word;
    return even + odd;
  };
  if (!fused) pack(0, d);
  for (let b = 0; b < blocks; b++) {
    const start = b * block;
    const end = Math.min(d, start + block);
    let sum = 0;
    if (fused) sum = pack(start, end);
    else for (let i = start; i < end; i++) sum += Math.abs(x[i]!);
    if (!Number.isFinite(sum)) nonFinite();
    scales[b] = sum / (end - start);
  }
  const signBytes = (d + 7) >>> 3;
  const w = new Writer(5 + 4 + 4 * blocks + signBytes);
  w.header(5, d);
  w.u32(blockSize);
  w.array(scales);
  w.array(new Uint8Array(words.buffer, 0, signBytes));
  return w.finish();
}

function referenceTopK(x: Float32Array, ratio: number, mode: 0 | 1 | 2): Uint8Array {
  const d = x.length;
  const k0 = d === 0 ? 0 : Math.min(d, Math.max(1, Math.ceil(ratio * d * (1 - 1e-12))));
  const { indices, maxAbsBits } = referenceSelectTopK(x, k0);
  const k = indices.length;
  const gaps = new Uint32Array(k);
  let prev = -1;
  for (let j = 0; j < k; j++) {
    gaps[j] = indices[j]! - prev - 1;
    prev = indices[j]!;
  }
  const b = chooseRiceParameter(gaps, d);
  const u = new Uint32Array(x.buffer, x.byteOffset, d);
  if (mode === 2) {
    let sum = 0;
    for (let j = 0; j < k; j++) sum += Math.abs(x[indices[j]!]!);
    const scale = k === 0 ? 0 : Math.fround(sum / k);
    const w = new Writer(5 + 10 + Math.ceil((k + riceBits(gaps, b)) / 8));
    w.header(3, d);
    w.u8(2);
    w.u32(k);
    w.u8(b);
    w.f32(scale);
    const bits = new BitWriter(w.bytes, w.pos);
    for (let j = 0; j < k; j++) bits.write(x[indices[j]!]! < 0 ? 1 : 0, 1);
    for (let j = 0; j < k; j++) bits.rice(gaps[j]!, b);
    bits.flush();
    w.pos = bits.pos;
    return w.finish();
  }
  const indexBytes = Math.ceil(riceBits(gaps, b) / 8);
  const w = new Writer(5 + 6 + (mode === 0 ? 2 + 2 * k : 4 * k) + indexBytes);
  w.header(3, d);
  w.u8(mode);
  w.u32(k);
  w.u8(b);
  if (mode === 0) {
    const shift = halfShiftFor(maxAbsBits);
    w.i16(shift);
    const halves = new Uint16Array(k);
    for (let j = 0; j < k; j++) halves[j] = f32BitsToHalf(u[indices[j]!]!, shift);
    w.array(halves);
  } else {
    const values = new Float32Array(k);
    for (let j = 0; j < k; j++) values[j] = x[indices[j]!]!;
    w.array(values);
  }
  const bits = new BitWriter(w.bytes, w.pos);
  for (let j = 0; j < k; j++) bits.rice(gaps[j]!, b);
  bits.flush();
  w.pos = bits.pos;
  return w.finish();
}

/**
 * The old encoder's payload for a spec among sign, sign:B, topk:R, topk:R:f16, topk:R:f32 and
 * topk:R:sign. Throws Error('NON_FINITE_INPUT') where the codecs throw that CodecError.
 */
export function referenceEncode(spec: string, x: Float32Array): Uint8Array {
  const [name, first, second] = spec.split(':');
  if (name === 'sign') return referenceSign(x, first === undefined ? 0 : Number(first));
  if (name === 'topk') {
    const mode = second === 'f32' ? 1 : second === 'sign' ? 2 : 0;
    return referenceTopK(x, Number(first), mode);
  }
  throw new Error(`no reference encoder for ${spec}`);
}
