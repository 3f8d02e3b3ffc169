/**
 * The SHA-256 of a model's flat float32 weights (little endian, as they lie in memory on every
 * platform this runs on), in hex: peers that hold the bit-identical model report the same.
 * WebCrypto, so the same function runs in a tab and in Node.
 *
 * @example
 * await modelSha256(worker.model); // '9f86d0...'
 */
export async function modelSha256(model: Float32Array): Promise<string> {
  const bytes = new Uint8Array(model.buffer, model.byteOffset, model.byteLength);
  const digest = await globalThis.crypto.subtle.digest('SHA-256', bytes.slice());
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}
