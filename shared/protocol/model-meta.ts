/**
 * The meta section of a model frame: whom the recent broadcasts behind that model counted.
 * A peer given the model did not apply those broadcasts, so without them it would know no
 * counted list before the model's round; elected aggregator later, it would refuse as "of a
 * round never closed" a worker's upload of such a round that nobody counted, where the
 * aggregator it replaces would have folded it late (client/roles/upload-ledger.ts).
 *
 * Layout, little-endian, lists oldest first, rounds strictly increasing:
 *
 *   per list: u32 round, u16 n, n u32 tags
 *
 * An empty meta carries no lists (the final model; a peer that knows none). The encoder keeps
 * the newest lists that fit in MAX_FRAME_META_BYTES.
 *
 * @example
 * const meta = encodeModelMeta([{ round: 198, counted: [tagA, tagB] }, { round: 199, counted: [tagA] }]);
 * decodeModelMeta(meta); // the same lists; throws FrameError on a malformed section
 */
import { FrameError, MAX_FRAME_META_BYTES } from './frames.ts';

export interface CountedList {
  round: number;
  counted: readonly number[];
}

const LIST_HEADER_BYTES = 6;
const TAG_BYTES = 4;
const MAX_TAGS_PER_LIST = 0xffff;

/** `lists` (oldest first), the newest of them that fit in MAX_FRAME_META_BYTES. */
export function encodeModelMeta(lists: readonly CountedList[]): Uint8Array {
  const kept: CountedList[] = [];
  let bytes = 0;
  for (let i = lists.length - 1; i >= 0; i--) {
    const list = lists[i] as CountedList;
    const size = LIST_HEADER_BYTES + TAG_BYTES * list.counted.length;
    if (list.counted.length > MAX_TAGS_PER_LIST || bytes + size > MAX_FRAME_META_BYTES) break;
    if (kept.length > 0 && list.round >= (kept[kept.length - 1] as CountedList).round) continue;
    kept.push(list);
    bytes += size;
  }
  kept.reverse();
  const out = new Uint8Array(bytes);
  const view = new DataView(out.buffer);
  let at = 0;
  for (const { round, counted } of kept) {
    view.setUint32(at, round, true);
    view.setUint16(at + 4, counted.length, true);
    at += LIST_HEADER_BYTES;
    for (const tag of counted) {
      view.setUint32(at, tag, true);
      at += TAG_BYTES;
    }
  }
  return out;
}

/** Throws FrameError('FRAME_LENGTH' | 'FRAME_FIELD') on a section that is not such lists. */
export function decodeModelMeta(meta: Uint8Array): CountedList[] {
  const view = new DataView(meta.buffer, meta.byteOffset, meta.byteLength);
  const lists: CountedList[] = [];
  let at = 0;
  while (at < meta.length) {
    if (at + LIST_HEADER_BYTES > meta.length)
      throw new FrameError('FRAME_LENGTH', `model meta: a list header cut at byte ${at}`);
    const round = view.getUint32(at, true);
    const count = view.getUint16(at + 4, true);
    at += LIST_HEADER_BYTES;
    if (at + TAG_BYTES * count > meta.length)
      throw new FrameError('FRAME_LENGTH', `model meta: round ${round} lists ${count} tags past the end`);
    const previous = lists[lists.length - 1];
    if (previous !== undefined && round <= previous.round)
      throw new FrameError('FRAME_FIELD', `model meta: round ${round} after round ${previous.round}`);
    const counted: number[] = [];
    for (let k = 0; k < count; k++, at += TAG_BYTES) counted.push(view.getUint32(at, true));
    lists.push({ round, counted });
  }
  return lists;
}
