/**
 * The tab's training runtime: a real peer (client/roles/peer.ts, kind 'browser') with a
 * browser learner, as the dashboard's DashboardRuntime (see ./attach.ts). It emits `joined`
 * each time its peer joins (first start, and on resume), so the page follows that signaling
 * client; its peer's events reach the dashboard through ./peer-events.ts.
 *
 * Pause: the peer leaves the session (keeping its model, data, TF.js model and peer id) and
 * resume joins again with the same peer id and data shard. For the session that is a peer
 * that goes and comes back: while paused it is not expected, so rounds do not wait for it
 * until their deadline (a member that silently stopped computing would cost every round the
 * full roundDeadlineMs); an upload it had in flight is counted or folded late into the
 * aggregator's error; on resume it gets the current model from the aggregator and takes part
 * from the next round, like any joiner. Pausing the aggregator hands aggregation over to
 * another peer (a failover); pausing the last peer leaves the session without one until
 * someone joins.
 *
 * Download: the peer's current weights as a model file (./model-file.ts).
 *
 * Signaling drops: the peer joins again by itself every `signalingRetryDelayMs` (the
 * dashboard counts down to the next attempt) and emits `joined` with the new client; when it
 * gives up, `lost`. With a `connections` registry (./link-kinds.ts) it also reports, every
 * `linkSampleMs`, whether its links reach each peer directly or through a TURN relay.
 *
 * @example
 * const runtime = new PeerRuntime({ serverUrl: location.origin, sessionId, token, createLearner });
 * runtime.on('joined', ({ client, joined }) => followSignaling(client, joined, store, signal));
 * await runtime.start();                       // resolves once joined; training goes on
 * app.attachRuntime(runtime);
 */
import type { Capabilities } from '../../../shared/protocol/signaling.ts';
import type { SessionConfig } from '../../../shared/protocol/session-config.ts';
import { Peer } from '../../roles/peer.ts';
import { TypedEmitter } from '../../../shared/typed-emitter.ts';
import { SignalingError, type JoinedSession, type SignalingClient } from '../../signaling/index.ts';
import type { DataLearner } from '../../training/data-learner.ts';
import { fetchSessionModelWeights } from '../../training/model-weights.ts';
import { SIGNALING_RETRY_DELAY_MS } from '../reconnect.ts';
import type { SessionRuntime, SessionRuntimeEvents } from './attach.ts';
import { LinkKindSampler, type ConnectionRegistry } from './link-kinds.ts';
import { encodeModelFile } from './model-file.ts';
import { PeerEventMapper } from './peer-events.ts';

export interface PeerRuntimeInit {
  serverUrl: string;
  sessionId: string;
  token: string;
  createLearner: (config: SessionConfig) => Promise<DataLearner>;
  /**
   * What the peer tells the others about itself (e.g. the backend it trains on), awaited
   * before each join. @default () => ({})
   */
  capabilities?: () => Capabilities | Promise<Capabilities>;
  /** Time between samples of this peer's traffic (bytes, sending -> waiting). @default 500 */
  trafficSampleMs?: number;
  /** Joins tried on resume while the server still holds the old membership. @default 5 */
  rejoinAttempts?: number;
  /** Pause between those joins. @default 400 */
  rejoinDelayMs?: number;
  /** The peer's pause before each attempt to join again after its signaling socket dropped. @default SIGNALING_RETRY_DELAY_MS */
  signalingRetryDelayMs?: number;
  /** The page's peer connections (./link-kinds.ts), to tell direct links from relayed ones. */
  connections?: ConnectionRegistry | null;
  /** Time between reads of the links' selected ICE candidate pairs. @default 2000 */
  linkSampleMs?: number;
  log?: (level: 'debug' | 'info' | 'warn', message: string) => void;
}

/** performance.now() of the runtime's milestones (ms since the page started loading). */
export interface RuntimeMilestones {
  joinedAt: number | null;
  learnerReadyAt: number | null;
  firstUploadAt: number | null;
  firstCountedAt: number | null;
}

export class PeerRuntime extends TypedEmitter<SessionRuntimeEvents> implements SessionRuntime {
  readonly milestones: RuntimeMilestones = {
    joinedAt: null,
    learnerReadyAt: null,
    firstUploadAt: null,
    firstCountedAt: null,
  };
  private readonly init: PeerRuntimeInit;
  private current: Peer | null = null;
  private mapper: PeerEventMapper | null = null;
  private learner: DataLearner | null = null;
  private peerId: string | undefined;
  private shard: number | undefined;
  private sampler: ReturnType<typeof setInterval> | undefined;
  /** Pause, resume and leave run one after another. */
  private queue: Promise<void> = Promise.resolve();
  private left = false;
  private pausedNow = false;
  /** The peer before a pause (its model is still there to download). */
  private lastPeer: Peer | null = null;
  private readonly links: LinkKindSampler | null;
  private linkTimer: ReturnType<typeof setInterval> | undefined;
  /** Stops listening to the current signaling client's signals. */
  private offSignals: (() => void) | undefined;

  constructor(init: PeerRuntimeInit) {
    super();
    this.init = init;
    const registry = init.connections ?? null;
    this.links =
      registry === null
        ? null
        : new LinkKindSampler({ registry, report: (patch) => this.emit('peer', patch) });
  }

  get signalingRetryDelayMs(): number {
    return this.init.signalingRetryDelayMs ?? SIGNALING_RETRY_DELAY_MS;
  }

  /** The peer currently in the session (null while paused or before start). */
  get peer(): Peer | null {
    return this.current;
  }

  get paused(): boolean {
    return this.pausedNow;
  }

  /** The backend the learner computes with; null before it is loaded. */
  get backend(): string | null {
    return this.learner?.backend ?? null;
  }

  /** Counted rounds of this tab with when it learned of each (performance.now()). */
  get countedRounds(): readonly { round: number; at: number }[] {
    return this.mapper?.counted ?? [];
  }

  /** This tab's recent gradient times in ms (gradient + compression), oldest first. */
  get computeTimes(): readonly number[] {
    return this.mapper?.computeMs ?? [];
  }

  /** Joins; resolves with the join reply while training starts (errors after it: `error`). */
  start(): Promise<JoinedSession> {
    return this.run(false);
  }

  setPaused(paused: boolean): void {
    if (paused === this.pausedNow || this.left) return;
    this.pausedNow = paused;
    this.queue = this.queue.then(async () => {
      if (this.left) return;
      if (paused) await this.stopPeer();
      else await this.rejoin();
    });
  }

  async exportModel(): Promise<Uint8Array | null> {
    const peer = this.current ?? this.lastPeer;
    const weights = peer?.model();
    if (peer === null || weights === null || weights === undefined)
      throw new Error('this peer has no model yet');
    const custom = peer.config?.customModel;
    if (custom !== undefined) {
      // The session's own Layers model: model.json + weights, as tf.loadLayersModel reads them.
      const { downloadLayersModel } = await import('../../training/layers-model.ts');
      await downloadLayersModel(custom, weights, `liec-model-${this.init.sessionId}-round-${peer.round}`);
      return null;
    }
    return encodeModelFile(
      {
        sessionId: this.init.sessionId,
        peerId: peer.peerId,
        round: peer.round,
        arch: peer.config?.model ?? 'unknown',
        layout: this.learner?.layout.map((p) => ({ ...p, shape: [...p.shape] })) ?? [],
        createdAt: new Date().toISOString(),
      },
      weights,
    );
  }

  leave(): Promise<void> {
    this.left = true;
    this.queue = this.queue.then(() => this.stopPeer());
    return this.queue;
  }

  private async rejoin(): Promise<void> {
    const attempts = this.init.rejoinAttempts ?? 5;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.run(true);
        return;
      } catch (error) {
        const taken = error instanceof SignalingError && error.code === 'PEER_ID_TAKEN';
        if (!taken || attempt >= attempts || this.left) {
          this.emit('error', { message: `could not rejoin: ${String(error)}` });
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, this.init.rejoinDelayMs ?? 400));
      }
    }
  }

  private async run(rejoining: boolean): Promise<JoinedSession> {
    const capabilities = (await this.init.capabilities?.()) ?? {};
    return new Promise((resolve, reject) => {
      let joinedReply: JoinedSession | undefined;
      let lastWarning: string | undefined;
      let finishedTraining = false;
      const peer = new Peer({
        serverUrl: this.init.serverUrl,
        sessionId: this.init.sessionId,
        token: this.init.token,
        kind: 'browser',
        ...(rejoining && this.peerId !== undefined ? { peerId: this.peerId } : {}),
        ...(this.shard === undefined ? {} : { shard: this.shard }),
        capabilities,
        createLearner: (config) => this.createLearner(config),
        rejoinDelayMs: this.signalingRetryDelayMs,
        onJoined: (client, joined) => {
          joinedReply = joined;
          this.peerId = joined.peerId;
          this.shard ??= joinSlot(joined) % joined.config.dataShards;
          this.milestones.joinedAt ??= performance.now();
          this.followSignals(client);
          this.emit('joined', { client, joined });
          resolve(joined);
        },
        log: (level, message) => {
          if (level === 'warn') lastWarning = message.replace(/^\[peer [^\]]*\] /, '');
          this.init.log?.(level, message);
        },
      });
      this.current = peer;
      this.lastPeer = peer;
      this.attachMapper(peer);
      peer.events.on('done', () => (finishedTraining = true));
      // The peer ends by itself when training is done, or when it gave up joining again.
      void peer.finished.then(() => {
        if (this.current !== peer || this.left || finishedTraining || joinedReply === undefined) return;
        this.current = null;
        this.stopSampling();
        this.emit('lost', {
          // The peer's last warning says why (e.g. "no longer a member of the session: UNKNOWN_SESSION: ...",
          // or that the session ended while it was rounds behind: Peer.missedEnd).
          message: lastWarning ?? 'this tab is no longer a member of the session',
        });
        // One that missed the end is still a member (a lost one has left already: idempotent).
        void peer.leave();
      });
      peer.start().then(
        () => {
          if (!this.left) this.emit('peer', { peerId: peer.peerId, kind: 'browser', backend: peer.backend });
        },
        (error: unknown) => {
          if (this.current === peer) {
            this.current = null;
            this.stopSampling();
          }
          if (joinedReply === undefined) reject(error);
          else this.emit('error', { message: error instanceof Error ? error.message : String(error) });
          void peer.leave();
        },
      );
    });
  }

  private async createLearner(config: SessionConfig): Promise<DataLearner> {
    // A custom model's weights over the inline limit are held by the server: fetched and checked first.
    await fetchSessionModelWeights(this.init.serverUrl, config.customModel);
    const learner = await this.init.createLearner(config);
    this.learner = learner;
    this.milestones.learnerReadyAt ??= performance.now();
    this.emit('backend', { backend: learner.backend });
    return learner;
  }

  private attachMapper(peer: Peer): void {
    this.mapper?.dispose();
    const counted = this.mapper?.counted ?? [];
    const computeMs = this.mapper?.computeMs ?? [];
    const mapper = new PeerEventMapper({
      peer,
      lastLoss: () => (this.shard === undefined ? null : (this.learner?.lastLoss(this.shard) ?? null)),
      numParams: () => this.learner?.numParams ?? 0,
    });
    mapper.counted.push(...counted);
    mapper.computeMs.push(...computeMs);
    mapper.on('round', (event) => this.emit('round', event));
    mapper.on('peer', (event) => this.emit('peer', event));
    mapper.on('phase', (event) => this.emit('phase', event));
    this.mapper = mapper;
    peer.events.on('uploaded', () => (this.milestones.firstUploadAt ??= mapper.firstUploadAt));
    peer.events.on('applied', () => (this.milestones.firstCountedAt ??= mapper.firstCountedAt));
    peer.events.on('round', () => (this.milestones.firstCountedAt ??= mapper.firstCountedAt));
    clearInterval(this.sampler);
    this.sampler = setInterval(() => mapper.sample(), this.init.trafficSampleMs ?? 500);
    const links = this.links;
    clearInterval(this.linkTimer);
    if (links !== null)
      this.linkTimer = setInterval(() => void links.sample(), this.init.linkSampleMs ?? 2000);
  }

  /** Ties WebRTC connections to peers through the offers and answers this client relays. */
  private followSignals(client: SignalingClient): void {
    this.offSignals?.();
    const links = this.links;
    this.offSignals =
      links === null ? undefined : client.onSignal((from, data) => links.noteSignal(from, data));
  }

  private stopSampling(): void {
    clearInterval(this.sampler);
    this.sampler = undefined;
    clearInterval(this.linkTimer);
    this.linkTimer = undefined;
    this.offSignals?.();
    this.offSignals = undefined;
  }

  private async stopPeer(): Promise<void> {
    const peer = this.current;
    this.current = null;
    this.stopSampling();
    if (peer === null) return;
    this.emit('leaving', { peerId: peer.peerId });
    await peer.leave();
    this.mapper?.sample();
  }
}

/** The peer's join slot as Peer computes it: members that joined before it. */
function joinSlot(joined: JoinedSession): number {
  const self = joined.peers.find((p) => p.peerId === joined.peerId);
  return joined.peers.filter((p) => p.connectedAt < (self?.connectedAt ?? 0)).length;
}
