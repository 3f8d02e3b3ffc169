/**
 * The meta section of a broadcast: the sender tags it counted (u32 each, see frames.ts) and,
 * for topk:auto sessions, each counted upload's slack (shared/algorithm/upload-slack.ts) so
 * its worker can size its next upload.
 *
 * Layout, little-endian: n u32 tags; with slack, then n i16 slacks in SLACK_UNIT_SECONDS
 * steps (saturating at +-3.2767 s) and one trailing version byte (SLACK_META_VERSION). A
 * tag list is 4n bytes (even), one with slack 6n + 1 (odd): the two are told apart by
 * length, so tag-only metas (relays, sync broadcasts, fixed-ratio sessions) stay valid.
 *
 * @example
 * const meta = encodeBroadcastMeta([tagA, tagB], [0.004, 0]);
 * decodeBroadcastMeta(meta); // { tags: [tagA, tagB], slackSeconds: [0.004, 0] }
 */
import { decodeTags, encodeTags, FrameError, MAX_FRAME_META_BYTES } from './frames.ts';

/**
 * The meta of a broadcast whose counted list equals the last full list its aggregator sent
 * this recipient in this term (one byte instead of 4 per counted peer: without it every
 * broadcast would grow with the peers, and the aggregator's downlink with their square).
 * Each recipient gets its own copy of a broadcast over its own link, so the aggregator
 * tracks what it sent each (counted-lists.ts). Never valid in a relay, which
 * carries the full list (decodeBroadcastMeta refuses it: version 0).
 */
export const SAME_COUNTED_META: Readonly<Uint8Array> = Uint8Array.of(0);

export function isSameCountedMeta(meta: Uint8Array): boolean {
  return meta.length === 1 && meta[0] === 0;
}

/** Resolution of a slack on the wire: 0.1 ms. */
export const SLACK_UNIT_SECONDS = 1e-4;
/** Trailing byte of a meta with slack. */
export const SLACK_META_VERSION = 1;

export interface BroadcastMeta {
  tags: number[];
  /** One per tag, in seconds; null when the broadcast carries none. */
  slackSeconds: number[] | null;
}

/** Tags, and slacks if given (one per tag; dropped if they would not fit the meta section). */
export function encodeBroadcastMeta(tags: readonly number[], slackSeconds?: readonly number[]): Uint8Array {
  const tagBytes = encodeTags(tags);
  if (slackSeconds === undefined) return tagBytes;
  if (slackSeconds.length !== tags.length)
    throw new FrameError('FRAME_FIELD', `${slackSeconds.length} slacks for ${tags.length} tags`);
  const size = 6 * tags.length + 1;
  if (size > MAX_FRAME_META_BYTES) return tagBytes;
  const out = new Uint8Array(size);
  out.set(tagBytes);
  const view = new DataView(out.buffer);
  slackSeconds.forEach((s, i) => {
    const steps = Number.isFinite(s) ? Math.round(s / SLACK_UNIT_SECONDS) : 0;
    view.setInt16(4 * tags.length + 2 * i, Math.max(-32767, Math.min(32767, steps)), true);
  });
  out[size - 1] = SLACK_META_VERSION;
  return out;
}

/** Throws FrameError('FRAME_LENGTH' | 'FRAME_FIELD') on a section that is neither layout. */
export function decodeBroadcastMeta(meta: Uint8Array): BroadcastMeta {
  if (meta.length % 2 === 0) return { tags: decodeTags(meta), slackSeconds: null };
  if ((meta.length - 1) % 6 !== 0)
    throw new FrameError('FRAME_LENGTH', `broadcast meta of ${meta.length} bytes is neither 4n nor 6n + 1`);
  if (meta[meta.length - 1] !== SLACK_META_VERSION)
    throw new FrameError('FRAME_FIELD', `unknown broadcast meta version ${meta[meta.length - 1]}`);
  const n = (meta.length - 1) / 6;
  const tags = decodeTags(meta.subarray(0, 4 * n));
  const view = new DataView(meta.buffer, meta.byteOffset, meta.byteLength);
  const slackSeconds = tags.map((_, i) => view.getInt16(4 * n + 2 * i, true) * SLACK_UNIT_SECONDS);
  return { tags, slackSeconds };
}

/** The slack the broadcast reports for `tag`; undefined when it has none for it. */
export function slackOf(meta: BroadcastMeta, tag: number): number | undefined {
  const i = meta.tags.indexOf(tag);
  return i < 0 ? undefined : meta.slackSeconds?.[i];
}
