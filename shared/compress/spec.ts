/**
 * Compressor spec strings: "identity", "fp16", "topk:R", "topk:R:f32", "topk:R:sign" (also "topk:R:f16",
 * the default), "randk:R", "sign", "sign:B", "qsgd:S", "q8", "q8:B", "q4", "q4:B". R is a ratio in
 * (0, 1]; B a block size >= 1; S a level count in 1..65535. Anything else is BAD_SPEC.
 * A compressor's `spec` is the canonical form (e.g. "topk:1e-2:f16" -> "topk:0.01").
 *
 * @example
 * parseCompressor('topk:0.01').spec; // 'topk:0.01'
 * parseCompressor('sign:256').unbiased; // false
 */
import { createFp16 } from './fp16.ts';
import { createIdentity } from './identity.ts';
import { createQ4 } from './q4.ts';
import { createQ8 } from './q8.ts';
import { MAX_QSGD_LEVELS, createQsgd } from './qsgd.ts';
import { createRandK } from './randk.ts';
import { createSign } from './sign.ts';
import { createTopK } from './topk.ts';
import { CodecError, type Compressor } from './types.ts';

/** Largest block size accepted for sign:B and q8:B. */
const MAX_BLOCK_SIZE = 2 ** 31;

function badSpec(spec: string, why: string): CodecError {
  return new CodecError('BAD_SPEC', `"${spec}": ${why}`);
}

function parseRatio(spec: string, text: string | undefined): number {
  if (text === undefined || !/^(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(text)) {
    throw badSpec(spec, 'ratio must be a number in (0, 1]');
  }
  const ratio = Number(text);
  if (!(ratio > 0 && ratio <= 1)) throw badSpec(spec, 'ratio must be in (0, 1]');
  return ratio;
}

function parseCount(spec: string, text: string | undefined, max: number, what: string): number {
  const n = text !== undefined && /^[1-9]\d{0,9}$/.test(text) ? Number(text) : NaN;
  if (!(n >= 1 && n <= max)) throw badSpec(spec, `${what} must be an integer in 1..${max}`);
  return n;
}

/** Builds the compressor a spec string names; throws CodecError('BAD_SPEC'). */
export function parseCompressor(spec: string): Compressor {
  const [name, first, second, ...rest] = spec.split(':');
  if (rest.length > 0) throw badSpec(spec, 'too many parameters');
  const noMore = (p: string | undefined): void => {
    if (p !== undefined) throw badSpec(spec, `unexpected parameter "${p}"`);
  };
  switch (name) {
    case 'identity':
      noMore(first);
      return createIdentity();
    case 'fp16':
      noMore(first);
      return createFp16();
    case 'topk': {
      if (first === 'auto') {
        throw badSpec(
          spec,
          "topk:auto is picked per round by each worker: valid only as an algorithm's up compressor",
        );
      }
      const ratio = parseRatio(spec, first);
      if (second !== undefined && second !== 'f16' && second !== 'f32' && second !== 'sign') {
        throw badSpec(spec, 'value type must be f16, f32 or sign');
      }
      return createTopK({ ratio, values: second ?? 'f16' });
    }
    case 'randk':
      noMore(second);
      return createRandK({ ratio: parseRatio(spec, first) });
    case 'sign':
      noMore(second);
      return createSign({
        blockSize: first === undefined ? 0 : parseCount(spec, first, MAX_BLOCK_SIZE, 'block size'),
      });
    case 'qsgd':
      noMore(second);
      return createQsgd({ levels: parseCount(spec, first, MAX_QSGD_LEVELS, 'levels') });
    case 'q8':
      noMore(second);
      return first === undefined
        ? createQ8()
        : createQ8({ blockSize: parseCount(spec, first, MAX_BLOCK_SIZE, 'block size') });
    case 'q4':
      noMore(second);
      return first === undefined
        ? createQ4()
        : createQ4({ blockSize: parseCount(spec, first, MAX_BLOCK_SIZE, 'block size') });
    default:
      throw badSpec(spec, 'unknown compressor');
  }
}
