/**
 * Model snapshots for an operator's rollback (issue 17: running a pilot). Every peer keeps the
 * model it holds every `everyRounds` rounds, the newest `keep` of them, so that the list
 * survives a failover: whichever peer aggregates next already holds the snapshots of the
 * rounds before it took over. While this peer aggregates, its list is the session's: an
 * operator lists them and rolls the session back to one through the signaling server
 * (shared/protocol/operator.ts), which relays the request here. A rollback hands the snapshot
 * to the round loop (AggregatorRole.rollback): at its next round every peer continues from it.
 *
 * A snapshot is the model this peer holds once a round's broadcast is applied: the
 * aggregator's at its 'round' event (when that round's evaluation is known), a worker's at its
 * 'applied' event. What a peer holds, not an average nobody holds; with LIEC a worker's model
 * differs from the aggregator's by its own residuals, and is as valid a restore point.
 * A worker only copies the weights (evaluating and hashing would cost it CPU on every snapshot,
 * for a list nobody reads unless it takes over); a snapshot without an accuracy is evaluated
 * after the takeover, one after each round the session does not evaluate (off the round's
 * critical path), and any left when the list is read, one per macrotask so rounds go on
 * between; its SHA-256 is computed then too. The aggregator evaluates a snapshot of a round the
 * session did not evaluate (everyRounds not a multiple of evalEvery) at once, as before.
 * Memory: the model's size times `keep` on every peer (docs/deploy.md).
 *
 * @example
 * const keeper = new SnapshotKeeper(peer, { everyRounds: 50 });
 * keeper.start();
 * keeper.attach(signalingClient); // answers the server's relayed snapshots:query / snapshot:rollback
 */
import type { AggregatorAnswer, RollbackCommand, SnapshotInfo } from '../../shared/protocol/operator.ts';
import type { AggregatorState } from '../../shared/protocol/signaling.ts';
import { modelSha256 } from '../../shared/model-hash.ts';
import type { AggregatorRequestHandlers, SignalingClient } from '../signaling/signaling-client.ts';
import type { PeerEventEmitter, Role, RoundEvent } from './events.ts';

export interface SnapshotSettings {
  /** Rounds between two snapshots (taken after rounds everyRounds - 1, 2 * everyRounds - 1, ...). @default 50 */
  everyRounds: number;
  /**
   * Snapshots kept, on every peer; the oldest goes first. A 100k-parameter MLP costs 0.4 MB
   * each (8 MB at the default). @default 20
   */
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
  /** Test accuracy and loss of `model` (of this peer's own model when omitted), or null without a learner. */
  evaluateModel(model?: Float32Array): { accuracy: number; loss: number } | null;
  /** The round of the model it holds. */
  readonly round: number;
  /**
   * Resolves once applied (at `continuesAtLeast` or later); null when this peer is not the
   * aggregator.
   */
  rollback(model: Float32Array, continuesAtLeast?: number): Promise<{ continuesAt: number }> | null;
}

interface Snapshot {
  info: Omit<SnapshotInfo, 'modelSha256'>;
  model: Float32Array;
  /** Its SHA-256, computed when first listed (a worker's snapshot costs it only the copy). */
  sha: Promise<string> | null;
  /** False for a snapshot a worker took, until this peer aggregates (evaluateOneSoon, evaluatePending). */
  evaluated: boolean;
}

export class SnapshotKeeper implements AggregatorRequestHandlers {
  readonly settings: SnapshotSettings;
  private readonly source: SnapshotSource;
  private readonly kept: Snapshot[] = [];
  private offs: (() => void)[] = [];
  private detach: (() => void) | null = null;
  private background: ReturnType<typeof setTimeout> | null = null;
  private readonly log: (level: 'info' | 'warn', message: string) => void;
  /** The continuesAt of the rollback catchUp is applying again, until it settles. */
  private catchingUp: number | null = null;

  constructor(
    source: SnapshotSource,
    settings: Partial<SnapshotSettings> = {},
    log: (level: 'info' | 'warn', message: string) => void = () => {},
  ) {
    this.source = source;
    this.log = log;
    this.settings = { ...DEFAULT_SNAPSHOT_SETTINGS, ...settings };
    for (const [name, value] of Object.entries(this.settings))
      if (!Number.isInteger(value) || value < 1)
        throw new RangeError(`snapshot ${name} must be a positive integer, got ${value}`);
  }

  start(): void {
    const { events } = this.source;
    this.offs.push(
      events.on('round', (event) => this.onRound(event)),
      events.on('applied', (event) => this.take(event.round, event.term, null)),
    );
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
    if (this.background !== null) clearTimeout(this.background);
    this.background = null;
  }

  /** The snapshots kept, oldest first, each evaluated (the ones a worker took are now). */
  async list(): Promise<SnapshotInfo[]> {
    await this.evaluatePending();
    return Promise.all(
      this.kept.map(async (s) => ({ ...s.info, modelSha256: await (s.sha ??= modelSha256(s.model)) })),
    );
  }

  /**
   * The session's last rollback, announced with its aggregator (RollbackMark). When that
   * aggregator is this peer and its round is before the mark's (elected before the
   * rolled-back model reached it: a failover right after the rollback), it rolls the session
   * back again from its own snapshot of that round. A peer that got the rolled-back model is
   * at the mark's round or later, as is every round an aggregator opened since.
   */
  catchUp(state: AggregatorState, selfId: string): void {
    const mark = state.rollback;
    if (mark === undefined || state.peerId !== selfId || this.source.currentRole !== 'aggregator') return;
    if (this.source.round >= mark.continuesAt || this.catchingUp === mark.continuesAt) return;
    const snapshot = this.kept.find((s) => s.info.round === mark.round);
    if (snapshot === undefined) {
      this.log(
        'warn',
        `the session was rolled back to round ${mark.round}, and this peer keeps no snapshot of it`,
      );
      return;
    }
    const applying = this.source.rollback(snapshot.model, mark.continuesAt);
    if (applying === null) return;
    this.log('warn', `the rollback to round ${mark.round} had not reached this peer: applying it again`);
    this.catchingUp = mark.continuesAt;
    applying.then(
      ({ continuesAt }) => {
        this.catchingUp = null;
        this.log(
          'warn',
          `rollback to round ${mark.round} applied again: every peer continues at ${continuesAt}`,
        );
      },
      (error: unknown) => {
        this.catchingUp = null;
        this.log('warn', `rollback to round ${mark.round} not applied again: ${String(error)}`);
      },
    );
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
    // A round the session evaluated has spent its evaluation already: catch up after another.
    if (event.testAccuracy === null) this.evaluateOneSoon();
    if ((event.round + 1) % this.settings.everyRounds !== 0) return;
    const evaluation =
      event.testAccuracy === null
        ? null
        : { accuracy: event.testAccuracy, loss: event.testLoss ?? Number.NaN };
    this.take(event.round, event.term, evaluation);
  }

  /** Keeps this peer's model as the snapshot of `round`; evaluates it now unless `evaluation` is given. */
  private take(round: number, term: number, evaluation: { accuracy: number; loss: number } | null): void {
    if ((round + 1) % this.settings.everyRounds !== 0) return;
    const model = this.source.model();
    if (model === null) return;
    const snapshot: Snapshot = {
      info: { round, term, testAccuracy: null, testLoss: null, takenAt: Date.now() },
      model,
      sha: null,
      evaluated: false,
    };
    if (evaluation !== null) setEvaluation(snapshot, evaluation);
    else if (this.source.currentRole === 'aggregator') this.evaluate(snapshot);
    // The same round again (a new aggregator closing a round its predecessor's broadcast of
    // which this peer had applied): the newer model is the one the session went on from.
    const same = this.kept.findIndex((s) => s.info.round === round);
    if (same !== -1) this.kept.splice(same, 1);
    this.kept.push(snapshot);
    while (this.kept.length > this.settings.keep) this.kept.shift();
  }

  /** Evaluates the snapshots a worker took, one per macrotask: the round loop goes on between. */
  private async evaluatePending(): Promise<void> {
    for (const snapshot of [...this.kept]) {
      if (snapshot.evaluated) continue;
      await nextMacrotask();
      // A list read meanwhile may have evaluated it.
      if (!snapshot.evaluated) this.evaluate(snapshot);
    }
  }

  /**
   * After a takeover, one snapshot a worker took per round, evaluated and hashed in the
   * macrotask after the round's event (the next round is open by then, its uploads on their
   * way): the list is ready before an operator asks, without a pause in the round loop.
   */
  private evaluateOneSoon(): void {
    if (this.background !== null || this.kept.every((s) => s.evaluated)) return;
    this.background = setTimeout(() => {
      this.background = null;
      const pending = this.kept.find((s) => !s.evaluated);
      if (pending === undefined || this.source.currentRole !== 'aggregator') return;
      this.evaluate(pending);
      pending.sha ??= modelSha256(pending.model);
    }, 0);
  }

  private evaluate(snapshot: Snapshot): void {
    const evaluation = this.source.evaluateModel(snapshot.model);
    if (evaluation !== null) setEvaluation(snapshot, evaluation);
  }
}

function setEvaluation(snapshot: Snapshot, evaluation: { accuracy: number; loss: number }): void {
  const finite = (x: number): number | null => (Number.isFinite(x) ? x : null);
  snapshot.info.testAccuracy = finite(evaluation.accuracy);
  snapshot.info.testLoss = finite(evaluation.loss);
  snapshot.evaluated = true;
}

function nextMacrotask(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

function notAggregator(): AggregatorAnswer {
  return { ok: false, code: 'NOT_AGGREGATOR', message: 'this peer is not the aggregator' };
}
