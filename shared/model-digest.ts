/**
 * A fast, synchronous 64-bit digest of a model's flat float32 weights (two FNV-1a lanes over
 * the 32-bit words, hex): what the aggregator puts in its `done` message so that every worker
 * can check, without waiting on WebCrypto, that it ends on the aggregator's model bit for bit.
 * Not cryptographic: it detects a model that drifted apart (a missed or doubly applied update),
 * not a forged one; modelSha256 (model-hash.ts) is for reports and files.
 *
 * @example
 * modelDigest(new Float32Array([1, 2])) === modelDigest(new Float32Array([1, 2])); // true
 */
const FNV_PRIME = 0x01000193;
/** FNV-1a's offset basis, and a second basis for an independent lane. */
const BASIS_A = 0x811c9dc5;
const BASIS_B = 0x050c5d1f;

export function modelDigest(model: Float32Array): string {
  const words = new Uint32Array(model.buffer, model.byteOffset, model.length);
  let a = BASIS_A;
  let b = BASIS_B;
  for (let i = 0; i < words.length; i++) {
    const word = words[i] ?? 0;
    a = Math.imul(a ^ word, FNV_PRIME);
    // The second lane mixes the word's bytes in the other order, so the lanes do not agree by accident.
    b = Math.imul(b ^ ((word >>> 16) | (word << 16)), FNV_PRIME) ^ i;
  }
  const hex = (x: number): string => (x >>> 0).toString(16).padStart(8, '0');
  return `${hex(a)}${hex(b)}`;
}
