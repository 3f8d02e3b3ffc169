/**
 * k distinct random positions out of d, from a seed, in ascending order. The receiver of
 * a random-k payload regenerates them from the seed written in it, so no index travels.
 * Rejection sampling into a bitset (drawing the complement when k > d/2 keeps the
 * expected draws under 2k), then one scan of the bitset lists them sorted.
 *
 * @example
 * sampleIndices(1000, 10, 42); // the same 10 ascending positions for every call
 */
import { createRng } from '../random.ts';

export function sampleIndices(d: number, k: number, seed: number): Uint32Array {
  const out = new Uint32Array(k);
  if (k >= d) {
    for (let i = 0; i < k; i++) out[i] = i;
    return out;
  }
  const rng = createRng(seed);
  const words = new Uint32Array((d + 31) >>> 5);
  const complement = k > d / 2;
  const draws = complement ? d - k : k;
  for (let count = 0; count < draws;) {
    const i = rng.int(d);
    const bit = 1 << (i & 31);
    const w = i >>> 5;
    if ((words[w]! & bit) === 0) {
      words[w]! |= bit;
      count++;
    }
  }
  let j = 0;
  for (let w = 0; w < words.length; w++) {
    let word = complement ? ~words[w]! : words[w]!;
    if (complement && w === words.length - 1 && (d & 31) !== 0) word &= (1 << (d & 31)) - 1;
    while (word !== 0) {
      const lowest = word & -word;
      out[j++] = w * 32 + 31 - Math.clz32(lowest);
      word ^= lowest;
    }
  }
  return out;
}
