/**
 * Bit-level writer and reader (least significant bit first) with Golomb-Rice coding,
 * used for top-k index gaps and packed fixed-width fields. The reader is bounds-checked:
 * running out of bits is TRUNCATED, and finish() rejects leftover bytes or non-zero
 * padding as MALFORMED, so corrupted input can neither crash nor loop.
 *
 * @example
 * const out = new Uint8Array(riceBytes(gaps, 6));
 * const w = new BitWriter(out, 0);
 * for (const g of gaps) w.rice(g, 6);
 * w.flush();
 * const r = new BitReader(out, 0, out.length);
 * r.rice(6, 1e9); // === gaps[0]
 */
import { CodecError } from './types.ts';

/** Total bits of the Rice codes of `values` with parameter b (0..31). */
export function riceBits(values: Uint32Array, b: number): number {
  let total = values.length * (b + 1);
  for (let i = 0; i < values.length; i++) total += values[i]! >>> b;
  return total;
}

/**
 * ORs the Rice codes (parameter b, 0..31) of `values` into `words`, the little-endian
 * 32-bit words of an LSB-first bit stream (zero from `bit` on, one spare word past the
 * end), starting at bit position `bit` (below 2^32 at the end too). Returns the position
 * after the last code. The same bits as BitWriter.rice, without a call per bit field.
 */
export function riceIntoWords(words: Uint32Array, bit: number, values: Uint32Array, b: number): number {
  const low = b === 0 ? 0 : 0xffffffff >>> (32 - b);
  const width = b + 1;
  for (let j = 0; j < values.length; j++) {
    const v = values[j]!;
    bit += v >>> b; // the quotient's zeros
    const code = 1 | ((v & low) << 1); // its closing one, then the low b bits of v
    const at = bit >>> 5;
    const shift = bit & 31;
    words[at]! |= code << shift;
    words[at + 1]! |= (code >>> 1) >>> (31 - shift);
    bit += width;
  }
  return bit;
}

export class BitWriter {
  private acc = 0;
  private n = 0;

  constructor(
    private readonly bytes: Uint8Array,
    public pos: number,
  ) {}

  /** Appends the low `bits` (0..24) bits of v. */
  write(v: number, bits: number): void {
    this.acc |= v << this.n;
    this.n += bits;
    while (this.n >= 8) {
      this.bytes[this.pos++] = this.acc & 0xff;
      this.acc >>>= 8;
      this.n -= 8;
    }
  }

  /** Appends the low `bits` (0..32) bits of v (v < 2^32). */
  writeWide(v: number, bits: number): void {
    if (bits <= 24) {
      this.write(v & ((1 << bits) - 1), bits);
    } else {
      this.write(v & 0xffff, 16);
      this.write(Math.floor(v / 65536) & ((1 << (bits - 16)) - 1), bits - 16);
    }
  }

  /** Golomb-Rice code of v: floor(v / 2^b) zeros, a one, then the low b bits of v. */
  rice(v: number, b: number): void {
    let q = b === 0 ? v : Math.floor(v / 2 ** b);
    while (q > 16) {
      this.write(0, 16);
      q -= 16;
    }
    this.write(1 << q, q + 1);
    if (b > 0) this.writeWide(v, b);
  }

  /** Writes the last partial byte (zero padded). */
  flush(): void {
    if (this.n > 0) this.bytes[this.pos++] = this.acc & 0xff;
    this.acc = 0;
    this.n = 0;
  }
}

export class BitReader {
  // Invariant: 0 <= n <= 31 bits buffered in acc, acc < 2^31 so it stays a positive int.
  private acc = 0;
  private n = 0;

  constructor(
    private readonly bytes: Uint8Array,
    private pos: number,
    private readonly end: number,
  ) {}

  private refill(): void {
    while (this.n < 24 && this.pos < this.end) {
      this.acc |= this.bytes[this.pos++]! << this.n;
      this.n += 8;
    }
  }

  /** Reads `bits` (0..24) bits. */
  read(bits: number): number {
    if (this.n < bits) {
      this.refill();
      if (this.n < bits) throw new CodecError('TRUNCATED', 'bit stream ended early');
    }
    const v = this.acc & ((1 << bits) - 1);
    this.acc >>>= bits;
    this.n -= bits;
    return v;
  }

  /** Reads `bits` (0..32) bits. */
  readWide(bits: number): number {
    if (bits <= 24) return this.read(bits);
    const low = this.read(16);
    return this.read(bits - 16) * 65536 + low;
  }

  /** Reads a Rice code with parameter b; a quotient above maxQuotient is MALFORMED. */
  rice(b: number, maxQuotient: number): number {
    let q = 0;
    for (;;) {
      if (this.n === 0) {
        this.refill();
        if (this.n === 0) throw new CodecError('TRUNCATED', 'bit stream ended inside a unary code');
      }
      if (this.acc === 0) {
        q += this.n;
        this.n = 0;
        if (q > maxQuotient) throw new CodecError('MALFORMED', `unary run of ${q} exceeds ${maxQuotient}`);
        continue;
      }
      const tz = 31 - Math.clz32(this.acc & -this.acc);
      q += tz;
      this.acc >>>= tz + 1;
      this.n -= tz + 1;
      break;
    }
    if (q > maxQuotient) throw new CodecError('MALFORMED', `unary run of ${q} exceeds ${maxQuotient}`);
    return b === 0 ? q : q * 2 ** b + this.readWide(b);
  }

  /** Checks the stream ended here: at most 7 padding bits left, all zero. */
  finish(): void {
    if (this.pos !== this.end || this.n >= 8) {
      throw new CodecError('MALFORMED', 'trailing bytes after the bit stream');
    }
    if (this.acc !== 0) throw new CodecError('MALFORMED', 'non-zero padding bits');
  }
}
