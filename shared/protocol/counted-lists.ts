/**
 * The aggregator's side of SAME_COUNTED_META (shared/protocol/broadcast-meta.ts): which
 * counted list it last sent each worker in full, so that a broadcast counting the same peers
 * goes out with a one-byte meta (three with the worker's slack, in topk:auto sessions). A
 * worker's entry is forgotten when its link drops or it is sent the model again (what it
 * received is then unknown).
 *
 * @example
 * const lists = new SentCountedLists();
 * lists.metaFor('w1', [2, 1]); // the full list, sorted: [1, 2] (4 bytes a tag)
 * lists.metaFor('w1', [1, 2]); // SAME_COUNTED_META
 * lists.metaFor('w1', [1, 2], 0.004); // "same" with w1's slack: 3 bytes
 * lists.forget('w1');
 */
import { encodeBroadcastMeta, SAME_COUNTED_META } from './broadcast-meta.ts';

interface PreparedList {
  counted: readonly number[];
  /** Sorted by tag. */
  tags: readonly number[];
  /** The full tag list, encoded once for every recipient. */
  meta: Uint8Array;
}

export class SentCountedLists {
  private readonly sent = new Map<string, readonly number[]>();
  /** The last broadcast's list, sorted and encoded once for all its recipients. */
  private prepared: PreparedList | null = null;

  /**
   * The meta to send `to` for a broadcast counting `counted`, with `to`'s own slack if given.
   * The list goes sorted by tag: uploads arrive in a different order every round, but the
   * same peers counted make the same list.
   */
  metaFor(to: string, counted: readonly number[], slackSeconds?: number): Uint8Array {
    const { tags, meta } = this.prepare(counted);
    const same = sameTags(this.sent.get(to), tags);
    if (!same) this.sent.set(to, tags);
    if (slackSeconds === undefined) return same ? SAME_COUNTED_META : meta;
    return encodeBroadcastMeta(same ? 'same' : tags, slackSeconds);
  }

  forget(peerId: string): void {
    this.sent.delete(peerId);
  }

  private prepare(counted: readonly number[]): PreparedList {
    const last = this.prepared;
    if (last !== null && last.counted === counted) return last;
    let tags: readonly number[] = [...counted].sort((a, b) => a - b);
    // An unchanged list keeps its object, so each recipient's check is an identity check.
    if (last !== null && sameTags(last.tags, tags)) tags = last.tags;
    const meta = last !== null && last.tags === tags ? last.meta : encodeBroadcastMeta(tags);
    this.prepared = { counted, tags, meta };
    return this.prepared;
  }
}

function sameTags(a: readonly number[] | undefined, b: readonly number[]): boolean {
  if (a === b) return true;
  if (a === undefined || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
