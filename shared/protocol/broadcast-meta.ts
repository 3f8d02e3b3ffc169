/**
 * The meta section of a broadcast, as one recipient gets it: who was counted and, in
 * topk:auto sessions, that recipient's own upload slack (shared/algorithm/upload-slack.ts) so
 * it can size its next upload. Each worker gets its own copy of a broadcast over its own link,
 * so nothing in the meta needs to be about anyone else, and it stays a few bytes whatever the
 * number of peers unless the counted list changed.
 *
 * Layouts, little-endian, told apart by length and trailing byte:
 *
 *   4n bytes              n u32 tags, the counted list in full (even length; n may be 0)
 *   [0]                   SAME_COUNTED_META: the list this recipient last got in full, this term
 *   4n + 2 + [2]          the list in full, the recipient's slack (i16), version byte 2
 *   2 + [3]               the same list as last time, the recipient's slack, version byte 3
 *
 * Slack is in SLACK_UNIT_SECONDS steps, saturating at +-3.2767 s. A relay (a worker passing on
 * the last broadcast it applied to a new aggregator) carries its full list: "same" is refused
 * there, since the new aggregator never sent that worker anything.
 *
 * @example
 * const meta = encodeBroadcastMeta([tagA, tagB], 0.004);
 * decodeBroadcastMeta(meta); // { tags: [tagA, tagB], slackSeconds: 0.004 }
 * decodeBroadcastMeta(encodeBroadcastMeta('same')); // { tags: 'same', slackSeconds: null }
 */
import { decodeTags, encodeTags, FrameError, MAX_FRAME_META_BYTES } from './frames.ts';

/** One byte instead of 4 per counted peer: without it the aggregator's downlink would grow with the square of the peers. */
export const SAME_COUNTED_META: Readonly<Uint8Array> = Uint8Array.of(0);

/** Resolution of a slack on the wire: 0.1 ms. */
export const SLACK_UNIT_SECONDS = 1e-4;
/** Trailing byte of a full list with the recipient's slack. */
export const LIST_SLACK_VERSION = 2;
/** Trailing byte of "same list" with the recipient's slack. */
export const SAME_SLACK_VERSION = 3;

/** A meta as decoded: 'same' until the recipient resolves it against its last full list. */
export interface WireBroadcastMeta {
  tags: number[] | 'same';
  /** The recipient's own upload slack in seconds; null when the broadcast carries none. */
  slackSeconds: number | null;
}

/** A meta with its counted list resolved. */
export interface BroadcastMeta {
  tags: number[];
  slackSeconds: number | null;
}

/** The counted list (or 'same') and, if given, the recipient's slack. */
export function encodeBroadcastMeta(tags: readonly number[] | 'same', slackSeconds?: number): Uint8Array {
  if (tags === 'same') {
    if (slackSeconds === undefined) return Uint8Array.from(SAME_COUNTED_META);
    return withSlack(new Uint8Array(0), slackSeconds, SAME_SLACK_VERSION);
  }
  const tagBytes = encodeTags(tags);
  if (slackSeconds === undefined || tagBytes.length + 3 > MAX_FRAME_META_BYTES) return tagBytes;
  return withSlack(tagBytes, slackSeconds, LIST_SLACK_VERSION);
}

/** Throws FrameError('FRAME_LENGTH' | 'FRAME_FIELD') on a section that is none of the layouts. */
export function decodeBroadcastMeta(meta: Uint8Array): WireBroadcastMeta {
  if (meta.length % 2 === 0) return { tags: decodeTags(meta), slackSeconds: null };
  if (meta.length === 1) {
    if (meta[0] !== SAME_COUNTED_META[0])
      throw new FrameError('FRAME_FIELD', `unknown one-byte broadcast meta`);
    return { tags: 'same', slackSeconds: null };
  }
  const version = meta[meta.length - 1];
  const view = new DataView(meta.buffer, meta.byteOffset, meta.byteLength);
  const slackSeconds = view.getInt16(meta.length - 3, true) * SLACK_UNIT_SECONDS;
  if (version === SAME_SLACK_VERSION) {
    if (meta.length !== 3)
      throw new FrameError('FRAME_LENGTH', `"same" meta with slack of ${meta.length} bytes`);
    return { tags: 'same', slackSeconds };
  }
  if (version !== LIST_SLACK_VERSION)
    throw new FrameError('FRAME_FIELD', `unknown broadcast meta version ${version}`);
  if ((meta.length - 3) % 4 !== 0)
    throw new FrameError('FRAME_LENGTH', `broadcast meta of ${meta.length} bytes is not 4n + 3`);
  return { tags: decodeTags(meta.subarray(0, meta.length - 3)), slackSeconds };
}

function withSlack(prefix: Uint8Array, slackSeconds: number, version: number): Uint8Array {
  const out = new Uint8Array(prefix.length + 3);
  out.set(prefix);
  const steps = Number.isFinite(slackSeconds) ? Math.round(slackSeconds / SLACK_UNIT_SECONDS) : 0;
  new DataView(out.buffer).setInt16(prefix.length, Math.max(-32767, Math.min(32767, steps)), true);
  out[out.length - 1] = version;
  return out;
}
