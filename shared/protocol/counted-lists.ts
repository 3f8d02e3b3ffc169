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

interface PreparedList {
  counted: readonly number[];
  slackSeconds: readonly number[] | undefined;
  /** Sorted by tag. */
  tags: readonly number[];
  /** The full meta, built once for every recipient. */
  meta: Uint8Array;
}

export class SentCountedLists {
  private readonly sent = new Map<string, readonly number[]>();
  /** The last broadcast's list, sorted and encoded once for all its recipients. */
  private prepared: PreparedList | null = null;

  /**
   * The meta to send `to` for a broadcast counting `counted` (with `slackSeconds`, if any).
   * The list goes sorted by tag (slacks with their tags): uploads arrive in a different order
   * every round, but the same peers counted make the same list.
   */
  metaFor(to: string, counted: readonly number[], slackSeconds?: readonly number[]): Uint8Array {
    const { tags, meta } = this.prepare(counted, slackSeconds);
    if (slackSeconds === undefined && sameTags(this.sent.get(to), tags)) return SAME_COUNTED_META;
    this.sent.set(to, tags);
    return meta;
  }

  forget(peerId: string): void {
    this.sent.delete(peerId);
  }

  private prepare(counted: readonly number[], slackSeconds: readonly number[] | undefined): PreparedList {
    const last = this.prepared;
    if (last !== null && last.counted === counted && last.slackSeconds === slackSeconds) return last;
    const order = counted.map((_, i) => i).sort((a, b) => (counted[a] ?? 0) - (counted[b] ?? 0));
    let tags: readonly number[] = order.map((i) => counted[i] ?? 0);
    // An unchanged list keeps its object, so each recipient's check is an identity check.
    if (last !== null && sameTags(last.tags, tags)) tags = last.tags;
    const meta = encodeBroadcastMeta(tags, slackSeconds && order.map((i) => slackSeconds[i] ?? 0));
    this.prepared = { counted, slackSeconds, tags, meta };
    return this.prepared;
  }
}

function sameTags(a: readonly number[] | undefined, b: readonly number[]): boolean {
  if (a === b) return true;
  if (a === undefined || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
