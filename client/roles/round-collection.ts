/**
 * What the aggregator gathers in one round (or one sync): who is expected, who is counted,
 * and their vectors. A round also sums the uploads as they arrive (RunningMean), so closing
 * it reads one vector; the vectors are kept too, to fold them late should the round be
 * superseded by a broadcast a worker relays (see AggregatorRole).
 *
 * @example
 * const collection = new RoundCollection('round', 7, ['w1', 'w2'], numParams);
 * collection.add('self', ownUpload);
 * collection.add('w1', upload);
 * if (collection.allIn() || (collection.deadlinePassed && collection.hasQuorum(0.5))) close();
 */
import type { StandIns } from '../../shared/algorithm/stand-ins.ts';
import { RunningMean } from './running-mean.ts';

export class RoundCollection {
  readonly kind: 'round' | 'sync';
  readonly round: number;
  /** Workers awaited (this peer not included). */
  readonly expected: Set<string>;
  /** Counted so far, in arrival order (this peer included). */
  readonly vectors = new Map<string, Float32Array>();
  /** Where each counted top-k upload may be nonzero (decodeUploadSparse); absent: dense. */
  private readonly supports = new Map<string, Uint32Array>();
  /** When each was counted, in ms after the round opened (topk:auto's slack). */
  readonly arrivedMs = new Map<string, number>();
  readonly openedAt = performance.now();
  /** This peer's own compute time for it. */
  computeMs = 0;
  deadlinePassed = false;
  private readonly sum: RunningMean | null;
  /** Sum of the deviations ||x_i - x_common||^2 the counted uploads carried (LIEC). */
  private deviationSum = 0;

  constructor(kind: 'round' | 'sync', round: number, expected: Iterable<string>, numParams: number) {
    this.kind = kind;
    this.round = round;
    this.expected = new Set(expected);
    this.sum = kind === 'round' ? new RunningMean(numParams) : null;
  }

  /** Stops expecting the workers not in yet that `isSilent` names; returns them. */
  dropExpected(isSilent: (peerId: string) => boolean): string[] {
    const dropped = [...this.expected].filter((id) => !this.has(id) && isSilent(id));
    for (const id of dropped) this.expected.delete(id);
    return dropped;
  }

  has(peerId: string): boolean {
    return this.vectors.has(peerId);
  }

  /**
   * Counts `peerId`'s vector, with the deviation its upload reported (the frame's aux) and,
   * for a top-k upload, the only positions where it may be nonzero (summed in O(k)); false
   * (and nothing changes) if it was counted already.
   */
  add(peerId: string, vector: Float32Array, deviationSq = 0, support: Uint32Array | null = null): boolean {
    if (this.vectors.has(peerId)) return false;
    this.vectors.set(peerId, vector);
    if (support !== null) this.supports.set(peerId, support);
    this.deviationSum += deviationSq;
    this.arrivedMs.set(peerId, Math.max(0, performance.now() - this.openedAt));
    this.sum?.add(vector, 1, support);
    return true;
  }

  /**
   * Adds to the round's mean the stand-ins (shared/algorithm/stand-ins.ts) of the workers
   * `standIns` remembers that are neither counted nor still expected (late: their upload will
   * be folded); returns their ids. Stand-ins are neither counted nor kept.
   */
  addStandIns(standIns: StandIns): string[] {
    if (this.sum === null) throw new Error('a sync takes no stand-ins');
    const missing = standIns.missing(new Set([...this.vectors.keys(), ...this.expected]), this.round);
    for (const { vector, weight } of missing) this.sum.add(vector, weight);
    return missing.map((standIn) => standIn.workerId);
  }

  /** Its counted uploads into their senders' averages (once the round is closed). */
  recordInto(standIns: StandIns): void {
    for (const [id, vector] of this.vectors)
      standIns.record(id, vector, this.round, this.supports.get(id) ?? null);
  }

  /**
   * Nobody but this peer counted nor expected while the session has `othersInSession` other
   * ready members: they went silent or their links dropped (or this peer is the one cut off).
   */
  isAlone(othersInSession: number): boolean {
    return this.expected.size === 0 && this.vectors.size <= 1 && othersInSession > 0;
  }

  counted(): string[] {
    return [...this.vectors.keys()];
  }

  /** The mean of the counted uploads (a round). */
  mean(): Float32Array {
    if (this.sum === null) throw new Error('a sync has no running mean');
    return this.sum.mean();
  }

  /** Mean over the counted uploads of their deviation: the round's drift (0 with none). */
  meanDeviationSq(): number {
    return this.vectors.size === 0 ? 0 : this.deviationSum / this.vectors.size;
  }

  allIn(): boolean {
    for (const id of this.expected) if (!this.vectors.has(id)) return false;
    return true;
  }

  /** At least `quorum` of the expected workers plus this peer are counted. */
  hasQuorum(quorum: number): boolean {
    return this.vectors.size >= Math.ceil(quorum * (this.expected.size + 1));
  }
}
