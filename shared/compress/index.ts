/**
 * Compressors and their wire codecs. Pick one by spec string, encode a Float32Array to
 * an exact-size payload, decode it back; every payload starts with the codec id and the
 * vector length, so decoders reject payloads of another codec or size.
 *
 * @example
 * import { parseCompressor, compress, describePayload } from './shared/compress/index.ts';
 * const c = parseCompressor('topk:0.01');
 * const { payload, decoded } = compress(c, gradient, seed); // decoded: what the receiver sees
 * const residual = gradient.map((g, i) => g - decoded[i]!);
 * describePayload(payload); // { codec: 'topk', length: gradient.length }
 */
import { peekHeader } from './bytes.ts';
import { createFp16 } from './fp16.ts';
import { createIdentity } from './identity.ts';
import { createQ4 } from './q4.ts';
import { createQ8 } from './q8.ts';
import { createQsgd } from './qsgd.ts';
import { createRandK } from './randk.ts';
import { createSign } from './sign.ts';
import { createTopK } from './topk.ts';
import type { CodecName, Compressor } from './types.ts';

export * from './types.ts';
export { parseCompressor } from './spec.ts';
export { MAX_DECODE_LENGTH } from './bytes.ts';
export { createFp16, createIdentity, createQ8, createQsgd, createRandK, createSign, createTopK };

/** Encodes x and decodes the result: the payload to send and exactly what the receiver will see. */
export function compress(
  c: Compressor,
  x: Float32Array,
  seed?: number,
): { payload: Uint8Array; decoded: Float32Array } {
  const payload = c.encode(x, seed);
  return { payload, decoded: c.decode(payload, x.length) };
}

/** Reads a payload's header: which codec wrote it and for how many values. Throws CodecError. */
export function describePayload(payload: Uint8Array): { codec: CodecName; length: number } {
  return peekHeader(payload);
}

// Decoders are self-describing (parameters travel in the body), so one per codec decodes all.
const decoders: Record<CodecName, Compressor> = {
  identity: createIdentity(),
  fp16: createFp16(),
  topk: createTopK({ ratio: 1 }),
  randk: createRandK({ ratio: 1 }),
  sign: createSign(),
  qsgd: createQsgd({ levels: 1 }),
  q8: createQ8(),
  q4: createQ4(),
};

/** Decodes a payload of any codec (e.g. from a peer configured differently). Throws CodecError. */
export function decodePayload(payload: Uint8Array, expectedLength?: number): Float32Array {
  return decoders[peekHeader(payload).codec].decode(payload, expectedLength);
}

/** decodePayload into the caller's `out` (its length the expected one): see Compressor.decodeInto. */
export function decodePayloadInto(payload: Uint8Array, out: Float32Array): Float32Array {
  return decoders[peekHeader(payload).codec].decodeInto(payload, out);
}
