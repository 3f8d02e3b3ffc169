/**
 * Model snapshots for an operator's rollback (issue 17: running a pilot). While this peer is
 * the aggregator it keeps its model every `everyRounds` rounds, with the test accuracy of
 * exactly that model, the newest `keep` of them; an operator lists them and rolls the
 * session back to one through the signaling server (shared/protocol/operator.ts), which
 * relays the request here. A rollback hands the snapshot to the round loop
 * (AggregatorRole.rollback): at its next round every peer continues from it.
 *
 * The snapshot is the model the aggregator holds after a round's broadcast (taken at its
 * 'round' event, when that round's evaluation is known): what a peer holds, not an average
 * nobody holds. When the round was not evaluated (everyRounds not a multiple of the
 * session's evalEvery) the snapshot is evaluated here. Snapshots stay in this process's
 * memory: a new aggregator after a failover starts its own list (docs/deploy.md).
 *
 * @example
 * const keeper = new SnapshotKeeper(peer, { everyRounds: 50 });
 * keeper.start();
 * keeper.attach(signalingClient); // answers the server's relayed snapshots:query / snapshot:rollback
 */
import type { AggregatorAnswer, RollbackCommand, SnapshotInfo } from '../../shared/protocol/operator.ts';
import { modelSha256 } from '../../shared/model-hash.ts';
import type { AggregatorRequestHandlers, SignalingClient } from '../signaling/signaling-client.ts';
import type { PeerEventEmitter, Role, RoundEvent } from './events.ts';

export interface SnapshotSettings {
  /** Rounds between two snapshots (taken after rounds everyRounds - 1, 2 * everyRounds - 1, ...). @default 50 */
  everyRounds: number;
  /** Snapshots kept; the oldest goes first. A 100k-parameter MLP costs 0.4 MB each. @default 20 */
  keep: number;
}

export const DEFAULT_SNAPSHOT_SETTINGS: Readonly<SnapshotSettings> = Object.freeze({
  everyRounds: 50,
  keep: 20,
});

/** What the keeper needs of a peer (Peer implements it). */
export interface SnapshotSource {
  readonly events: PeerEventEmitter;
  readonly currentRole: Role | null;
  /** A copy of this peer's model, or null before it has one. */
  model(): Float32Array | null;
  evaluateModel(): { accuracy: number; loss: number } | null;
  /** Resolves once applied; null when this peer is not the aggregator. */
  rollback(model: Float32Array): Promise<{ continuesAt: number }> | null;
}

interface Snapshot {
  info: Omit<SnapshotInfo, 'modelSha256'>;
  model: Float32Array;
  sha: Promise<string>;
}

export class SnapshotKeeper implements AggregatorRequestHandlers {
  readonly settings: SnapshotSettings;
  private readonly source: SnapshotSource;
  private readonly kept: Snapshot[] = [];
  private offs: (() => void)[] = [];
  private detach: (() => void) | null = null;

  constructor(source: SnapshotSource, settings: Partial<SnapshotSettings> = {}) {
    this.source = source;
    this.settings = { ...DEFAULT_SNAPSHOT_SETTINGS, ...settings };
    for (const [name, value] of Object.entries(this.settings))
      if (!Number.isInteger(value) || value < 1)
        throw new RangeError(`snapshot ${name} must be a positive integer, got ${value}`);
  }

  start(): void {
    this.offs.push(this.source.events.on('round', (event) => this.onRound(event)));
  }

  /** Answers the requests the server relays through `client` (replacing any earlier client). */
  attach(client: SignalingClient): void {
    this.detach?.();
    this.detach = client.answerAggregatorRequests(this);
  }

  stop(): void {
    for (const off of this.offs) off();
    this.offs = [];
    this.detach?.();
    this.detach = null;
  }

  /** The snapshots kept, oldest first. */
  async list(): Promise<SnapshotInfo[]> {
    return Promise.all(this.kept.map(async (s) => ({ ...s.info, modelSha256: await s.sha })));
  }

  async snapshots(): Promise<AggregatorAnswer> {
    if (this.source.currentRole !== 'aggregator') return notAggregator();
    return { ok: true, snapshots: await this.list() };
  }

  async rollback(command: RollbackCommand): Promise<AggregatorAnswer> {
    if (this.source.currentRole !== 'aggregator') return notAggregator();
    const snapshot = this.kept.find((s) => s.info.round === command.round);
    if (snapshot === undefined)
      return {
        ok: false,
        code: 'UNKNOWN_SNAPSHOT',
        message: `no snapshot of round ${command.round}; kept: ${this.kept.map((s) => s.info.round).join(', ') || 'none'}`,
      };
    const applying = this.source.rollback(snapshot.model);
    if (applying === null) return notAggregator();
    // A failover before the next round, or the session's end, drops it: the operator hears why.
    const applied = await applying.catch((error: unknown) => (error instanceof Error ? error : null));
    if (applied === null || applied instanceof Error)
      return { ...notAggregator(), ...(applied instanceof Error ? { message: applied.message } : {}) };
    return { ok: true, snapshots: await this.list(), continuesAt: applied.continuesAt };
  }

  private onRound(event: RoundEvent): void {
    if ((event.round + 1) % this.settings.everyRounds !== 0) return;
    const model = this.source.model();
    if (model === null) return;
    const evaluation =
      event.testAccuracy === null
        ? this.source.evaluateModel()
        : { accuracy: event.testAccuracy, loss: event.testLoss ?? Number.NaN };
    const finite = (x: number | undefined): number | null =>
      x !== undefined && Number.isFinite(x) ? x : null;
    this.kept.push({
      info: {
        round: event.round,
        term: event.term,
        testAccuracy: finite(evaluation?.accuracy),
        testLoss: finite(evaluation?.loss),
        takenAt: Date.now(),
      },
      model,
      sha: modelSha256(model),
    });
    while (this.kept.length > this.settings.keep) this.kept.shift();
  }
}

/**
 * The aggregator's rollback waiting for its next round (AggregatorRole.rollback): the model,
 * and the promise the operator's request waits on. A newer request or the role's end drops it.
 */
export class PendingRollback {
  private pending: { model: Float32Array; applied: (at: number) => void; dropped: () => void } | null = null;

  request(model: Float32Array): Promise<{ continuesAt: number }> {
    this.drop();
    return new Promise((resolve, reject) => {
      this.pending = {
        model: Float32Array.from(model),
        applied: (at) => resolve({ continuesAt: at }),
        dropped: () =>
          reject(
            new Error(
              'no next round here: this peer stopped aggregating, training ended, or a newer rollback came',
            ),
          ),
      };
    });
  }

  /** The rollback to apply now (its `applied` called with the round it starts), or null. */
  take(): { model: Float32Array; applied: (at: number) => void } | null {
    const pending = this.pending;
    this.pending = null;
    return pending;
  }

  drop(): void {
    this.pending?.dropped();
    this.pending = null;
  }
}

function notAggregator(): AggregatorAnswer {
  return { ok: false, code: 'NOT_AGGREGATOR', message: 'this peer is not the aggregator' };
}
