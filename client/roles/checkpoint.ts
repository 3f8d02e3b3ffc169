/**
 * Checkpoints of a headless peer, so a node that is killed or stopped continues where it was
 * (`liec join --checkpoint-dir DIR --resume`).
 *
 * What a checkpoint holds: the session id, the peer id, its data shard, the session config,
 * the round it uploads for next and the term of the last broadcast it applied, its model x_i
 * and, for LIEC, x_common (so its own deviation x_i - x_common, the residuals it applied
 * since the last sync, survives). Taken between rounds only: right after the peer applied a
 * broadcast or adopted a model, never between a broadcast that asks for a LIEC sync and the
 * sync (x_common moves at the sync). Not held: optimizer momentum (0 in the default config),
 * the error-feedback memory of ef-sgd / doublesqueeze, an upload computed but not yet
 * answered (it is recomputed), and, at an aggregator, its error e (see aggregator-role.ts).
 *
 * When it is written: every `everyRounds` rounds (the state of each round boundary is kept in
 * memory, the write happens when due), and on flush() (SIGTERM, or training done), atomically
 * (checkpoint-file.ts). Writes never overlap; one that is due while another is in flight
 * follows it with the newest state.
 *
 * On resume the peer rejoins with the same peer id and shard, restores x_i and x_common, and
 * says hello with its round. The aggregator then either counts it directly (its round is the
 * round in flight), sends it the broadcast it missed (one round behind), or, usually, sends
 * it the current model; a LIEC peer then re-applies its checkpointed deviation on top of that
 * model (LocalState.restore), so what its residuals carried still reaches the next sync.
 *
 * @example
 * const checkpointer = new Checkpointer(peer, { dir, sessionId, everyRounds: 10 });
 * checkpointer.start();
 * process.once('SIGTERM', async () => { await peer.leave(); await checkpointer.flush(); });
 */
import type { SessionConfig } from '../../shared/protocol/session-config.ts';
import type { PeerEventEmitter } from './events.ts';
import { writeCheckpointFile, type Checkpoint, type CheckpointState } from './checkpoint-file.ts';

export * from './checkpoint-file.ts';

/** What the Checkpointer needs of a peer (Peer implements it). */
export interface CheckpointSource {
  readonly events: PeerEventEmitter;
  readonly peerId: string;
  readonly config: SessionConfig | null;
  /**
   * The state between two rounds; valid at the 'applied', 'round' and 'model' events. With
   * `reuse`, a state the caller is done with, its vectors may be overwritten to hold the new one.
   */
  checkpointState(reuse?: CheckpointState): CheckpointState | null;
}

export interface CheckpointerInit {
  /** Directory of the checkpoint file (created by the caller; one peer per directory). */
  dir: string;
  sessionId: string;
  /** Rounds between two periodic checkpoints. @default 10 */
  everyRounds?: number;
  /** Called after each write. */
  onWritten?: (written: { round: number; reason: Checkpoint['reason']; bytes: number; ms: number }) => void;
  /** A periodic write failed (disk full...): logged, training goes on. */
  onError?: (error: unknown) => void;
}

export class Checkpointer {
  private readonly source: CheckpointSource;
  private readonly init: CheckpointerInit;
  private readonly everyRounds: number;
  private latest: CheckpointState | null = null;
  /** The state a write in flight reads (never reused until it is done). */
  private inWrite: CheckpointState | null = null;
  /**
   * States nobody reads any more, whose vectors the next captures overwrite: the state of
   * every round boundary is kept, but no model-sized copy is allocated per round. Two: a
   * capture while a write is in flight needs a third state beside the written and the latest.
   */
  private readonly spares: CheckpointState[] = [];
  private writtenRound = -Infinity;
  /** The write loop, while it runs; one at a time. */
  private writing: Promise<void> | null = null;
  private pending: Checkpoint['reason'] | null = null;
  private exitError: unknown = null;
  private offs: (() => void)[] = [];

  constructor(source: CheckpointSource, init: CheckpointerInit) {
    this.source = source;
    this.init = init;
    this.everyRounds = init.everyRounds ?? 10;
    if (!Number.isInteger(this.everyRounds) || this.everyRounds < 1)
      throw new RangeError(`everyRounds must be a positive integer, got ${this.everyRounds}`);
  }

  start(): void {
    const capture = () => this.capture();
    this.offs = [
      this.source.events.on('applied', capture),
      this.source.events.on('round', capture),
      this.source.events.on('model', capture),
    ];
  }

  stop(): void {
    for (const off of this.offs) off();
    this.offs = [];
  }

  /** The round of the last state written (null before the first write). */
  get lastWrittenRound(): number | null {
    return Number.isFinite(this.writtenRound) ? this.writtenRound : null;
  }

  /**
   * Writes the newest state (after any write in flight) if it is newer than the file; rejects
   * if that write fails.
   */
  async flush(reason: Checkpoint['reason'] = 'exit'): Promise<void> {
    this.exitError = null;
    await this.request(reason);
    if (this.exitError !== null) throw this.exitError;
  }

  /** Resolves once no write is in flight (tests; a caller that must not race the file). */
  async settled(): Promise<void> {
    while (this.writing !== null) await this.writing;
  }

  private capture(): void {
    const state = this.source.checkpointState(this.spares.at(-1));
    if (state === null) return;
    this.spares.pop(); // its vectors may be state's now
    const previous = this.latest;
    this.latest = state;
    if (previous !== null && previous !== this.inWrite) this.keepSpare(previous);
    if (state.round - this.writtenRound >= this.everyRounds) void this.request('periodic');
  }

  private keepSpare(state: CheckpointState): void {
    if (this.spares.length < 2) this.spares.push(state);
  }

  private request(reason: Checkpoint['reason']): Promise<void> {
    if (reason === 'exit' || this.pending === null) this.pending = reason;
    this.writing ??= this.pump();
    return this.writing;
  }

  private async pump(): Promise<void> {
    try {
      while (this.pending !== null) {
        const reason = this.pending;
        this.pending = null;
        const state = this.latest;
        const config = this.source.config;
        if (state === null || config === null || state.round <= this.writtenRound) continue;
        const started = performance.now();
        this.inWrite = state;
        try {
          const bytes = await writeCheckpointFile(this.init.dir, {
            ...state,
            sessionId: this.init.sessionId,
            peerId: this.source.peerId,
            config,
            savedAt: Date.now(),
            reason,
          });
          this.writtenRound = state.round;
          this.init.onWritten?.({ round: state.round, reason, bytes, ms: performance.now() - started });
        } catch (error) {
          if (reason === 'exit') this.exitError = error;
          else this.init.onError?.(error);
        } finally {
          this.inWrite = null;
          // Written and replaced meanwhile by a newer state: nobody reads it any more.
          if (state !== this.latest) this.keepSpare(state);
        }
      }
    } finally {
      this.writing = null;
    }
  }
}
