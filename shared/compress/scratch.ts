/**
 * Reusable work arrays for the encoders' intermediates. A fresh typed array of a few
 * hundred KiB costs about as much as reading the whole 40 MB input once (the pages are
 * zeroed and faulted in on first touch), so buffers are kept per slot and reused; each
 * call hands out a view of the first `length` entries, with stale contents (callers that
 * need zeros fill them). Views are only valid until the next call for the same slot, so
 * nothing built on them may escape an encode. Very large requests are not kept.
 *
 * @example
 * const gaps = scratch(Slot.gaps, k); // Uint32Array of length k, contents undefined
 */

/** One slot per intermediate that can be alive at the same time as another. */
export const Slot = {
  sample: 0,
  candidateIndex: 1,
  candidateBits: 2,
  magnitudes: 3,
  selectedIndex: 4,
  selectedBits: 5,
  gaps: 6,
  riceWords: 7,
  halves: 8,
  blockSums: 9,
  scales: 10,
} as const;

/** Entries above which a request gets a fresh array instead of a kept one (16 MiB). */
const MAX_KEPT = 1 << 22;

const kept: Uint32Array[] = [];

/** A Uint32Array view of `length` entries of the slot's buffer (contents undefined). */
export function scratch(slot: number, length: number): Uint32Array {
  if (length > MAX_KEPT) return new Uint32Array(length);
  let buffer = kept[slot];
  if (buffer === undefined || buffer.length < length) {
    buffer = new Uint32Array(Math.min(MAX_KEPT, Math.max(length, 2 * (buffer?.length ?? 0), 1024)));
    kept[slot] = buffer;
  }
  return buffer.subarray(0, length);
}
