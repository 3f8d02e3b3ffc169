/**
 * The aggregator's side of SAME_COUNTED_META (shared/protocol/broadcast-meta.ts): which
 * counted list it last sent each worker in full, so that a broadcast counting the same peers
 * goes out with a one-byte meta. A worker's entry is forgotten when its link drops or it is
 * sent the model again (what it received is then unknown). Broadcasts with slacks
 * (topk:auto) always go in full: the slacks change every round.
 *
 * @example
 * const lists = new SentCountedLists();
 * lists.metaFor('w1', [2, 1]); // the full list, sorted: [1, 2] (4 bytes a tag)
 * lists.metaFor('w1', [1, 2]); // SAME_COUNTED_META
 * lists.forget('w1');
 */
import { encodeBroadcastMeta, SAME_COUNTED_META } from './broadcast-meta.ts';

export class SentCountedLists {
  private readonly sent = new Map<string, readonly number[]>();

  /**
   * The meta to send `to` for a broadcast counting `counted` (with `slackSeconds`, if any).
   * The list goes sorted by tag (slacks with their tags): uploads arrive in a different order
   * every round, but the same peers counted make the same list.
   */
  metaFor(to: string, counted: readonly number[], slackSeconds?: readonly number[]): Uint8Array {
    const order = counted.map((_, i) => i).sort((a, b) => (counted[a] ?? 0) - (counted[b] ?? 0));
    const tags = order.map((i) => counted[i] ?? 0);
    if (slackSeconds === undefined && sameTags(this.sent.get(to), tags)) return SAME_COUNTED_META;
    this.sent.set(to, tags);
    return encodeBroadcastMeta(tags, slackSeconds && order.map((i) => slackSeconds[i] ?? 0));
  }

  forget(peerId: string): void {
    this.sent.delete(peerId);
  }
}

function sameTags(a: readonly number[] | undefined, b: readonly number[]): boolean {
  if (a === undefined || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
