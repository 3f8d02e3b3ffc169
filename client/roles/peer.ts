/**
 * The peer runtime: one training peer, headless or in a tab. It joins a session through
 * the signaling server, links to the other peers over WebRTC (a star around the
 * aggregator), and plays the role the server's election gives it, switching roles when the
 * aggregator changes. Roles speak binary frames; this module routes, validates and counts.
 * It also watches the data path (link-liveness.ts): pings on idle links of its role, and as
 * a worker reports an aggregator that is silent, faulty or stalled (aggregator-watch.ts) to
 * the signaling server, which replaces it when a majority of its workers do. An aggregator
 * replaced so (or for any other reason) learns it from the server's new term and comes back
 * as a worker; whatever it still sends under its old term is dropped by every peer.
 *
 * @example
 * const peer = new Peer({ serverUrl, sessionId, token, kind: 'headless' });
 * peer.events.on('round', (r) => console.log(r.round, r.testAccuracy));
 * await peer.start();
 * await peer.finished; // training done (or left)
 * await peer.leave();
 */
import { ControlError, decodeControl, encodeControl } from '../../shared/protocol/control.ts';
import { decodeFrame, encodeFrame, FrameError, senderTag, type Frame } from '../../shared/protocol/frames.ts';
import type { SessionConfig } from '../../shared/protocol/session-config.ts';
import type { AggregatorState } from '../../shared/protocol/signaling.ts';
import { SessionMembership, type SignalingClient, type JoinedSession } from '../signaling/index.ts';
import { createPeerTransport, type PeerTransport } from '../transport/index.ts';
import { defaultLearner } from '../training/session-learner.ts';
import { AggregatorLink } from './aggregator-link.ts';
import { AggregatorRole } from './aggregator-role.ts';
import type { CheckpointState } from './checkpoint-file.ts';
import type { OutgoingFrame, RoleContext } from './context.ts';
import { PeerEventEmitter, type Role } from './events.ts';
import type { AggregatorReport } from './aggregator-watch.ts';
import { DataPathWatch } from './data-path-watch.ts';
import { DataPathFaults } from './fault-injection.ts';
import { LearnerWait } from './learner-wait.ts';
import { busyAllowanceMs } from './link-liveness.ts';
import { LocalState } from './local-state.ts';
import { describeMissedEnd, missedEnd, type MissedEnd } from './final-model.ts';
import { FrameStrikes } from './frame-strikes.ts';
import { Readiness } from './readiness.ts';
import { Outbox } from './outbox.ts';
import { SnapshotKeeper } from './snapshots.ts';
import { resolvePeerSettings } from './settings.ts';
import { WorkerRole } from './worker-role.ts';
import type { PeerInit } from './peer-init.ts';

export type { PeerInit } from './peer-init.ts';

const PING = encodeControl({ kind: 'ping' });
const EMPTY = new Uint8Array(0);

export class Peer {
  readonly events = new PeerEventEmitter();
  /** Resolves when training is done or the peer left. */
  readonly finished: Promise<{ round: number; testAccuracy: number | null }>;
  private readonly init: PeerInit;
  private membership: SessionMembership | null = null;
  private transport: PeerTransport | null = null;
  private state: LocalState | null = null;
  private context: RoleContext | null = null;
  private role: AggregatorRole | WorkerRole | null = null;
  private aggregatorLink: AggregatorLink | null = null;
  /** Until the learner is ready: the frames held for the role, the early hello (learner-wait.ts). */
  private waiting: LearnerWait | null = null;
  /** Frames on their way to the transport: leave() drains them. */
  private readonly outbox = new Outbox({
    send: (to, bytes) => this.transport?.send(to, bytes) ?? Promise.resolve(),
    track: (promise) => this.track(promise),
    liveness: () => this.dataPath?.liveness ?? null,
  });
  /** Peers disconnected for invalid frames (frame-strikes.ts). */
  private readonly strikes = new FrameStrikes();
  private resolveFinished: (value: { round: number; testAccuracy: number | null }) => void = () => {};
  private readonly aborter = new AbortController();
  private closed = false;
  private leaving: Promise<void> | null = null;
  private readonly sentFrameBytes = { up: 0, down: 0 };
  private rttTimer: ReturnType<typeof setInterval> | undefined;
  private dataPath: DataPathWatch | null = null;
  /** Whether this peer may be elected aggregator: not while it is behind (readiness.ts). */
  private readiness: Readiness | null = null;
  private readonly faults = new DataPathFaults({
    transport: () => this.transport,
    outbox: this.outbox,
    log: (message) => this.log('warn', message),
  });
  /** RTT (ms) of a worker's link to its aggregator, or an aggregator's mean; undefined unmeasured. */
  rttMs: number | undefined;
  peerId = '';
  backend = 'unknown';
  config: SessionConfig | null = null;
  aggregatorChanges = 0;
  /** Rejected frames by reason code. */
  readonly rejections = new Map<string, number>();
  /** Elected after the session's end from a round before it (final-model.ts): it ended on its own model. */
  missedEnd: MissedEnd | null = null;
  /** Why the server expelled this peer from the session (its words), or null: it stays out. */
  expelled: string | null = null;
  /** The snapshots this peer keeps (the session's list while it aggregates), for an operator's rollback. */
  readonly snapshots: SnapshotKeeper;

  constructor(init: PeerInit) {
    this.init = init;
    this.finished = new Promise((resolve) => (this.resolveFinished = resolve));
    this.snapshots = new SnapshotKeeper(this, init.snapshots, (level, m) => this.log(level, m));
    this.events.on('done', (event) => this.resolveFinished(event));
  }

  get currentRole(): Role | null {
    if (this.role instanceof AggregatorRole) return 'aggregator';
    return this.role instanceof WorkerRole ? 'worker' : null;
  }

  get round(): number {
    return this.state?.round ?? 0;
  }

  /** This peer's model (a copy), for download or checks. */
  model(): Float32Array | null {
    const worker = this.state?.worker;
    return worker ? worker.model.slice() : null;
  }

  /** Test accuracy and loss of `model` (a snapshot) or of this peer's own, or null before it has one. */
  evaluateModel(model?: Float32Array): { accuracy: number; loss: number } | null {
    const state = this.state;
    return state?.worker ? state.learner.evaluate(model ?? state.worker.model) : null;
  }

  /** This peer's state between two rounds, for a checkpoint (LocalState.checkpointState), or null. */
  checkpointState(reuse?: CheckpointState): CheckpointState | null {
    return this.state?.checkpointState(reuse) ?? null;
  }

  /** Fault injection (`liec join --debug-signals` SIGUSR2): DataPathFaults.dropLinks. */
  dropLinks(): void {
    if (!this.closed) this.faults.dropLinks();
  }

  /** Fault injection (tests, SIGPWR): DataPathFaults.partitionLinks, the data path cut for `ms`. */
  partitionLinks(ms: number): void {
    if (!this.closed) this.faults.partitionLinks(ms);
  }

  /** Fault injection (tests, SIGURG): DataPathFaults.corruptFrames, `share` of the frames truncated. */
  corruptFrames(share: number): void {
    this.faults.corruptFrames(share);
  }

  /**
   * Operator rollback (snapshots.ts): while this peer is the aggregator, every peer continues
   * from `model` at the next round (resolves once applied). Null when it is not the aggregator.
   */
  rollback(model: Float32Array, continuesAtLeast?: number): Promise<{ continuesAt: number }> | null {
    return this.role instanceof AggregatorRole ? this.role.rollback(model, continuesAtLeast) : null;
  }

  /** Wire bytes this peer sent and received over all its links. */
  traffic(): { sent: number; received: number } {
    const stats = this.transport?.totalStats();
    return { sent: stats?.sent.wireBytes ?? 0, received: stats?.received.wireBytes ?? 0 };
  }

  /**
   * Joins the session and starts playing the elected role. Throws if the join fails; returns
   * early (nothing left running) if leave() is called meanwhile.
   */
  async start(): Promise<void> {
    const signal = this.aborter.signal;
    const heartbeatState = () => {
      const { sent, received } = this.traffic();
      const stats: Record<string, number> = { bytesUp: sent, bytesDown: received };
      // The server's liec_peer_rejected_frames metric (signaling/metrics.ts) sums these.
      stats['rejectedFrames'] = [...this.rejections.values()].reduce((sum, n) => sum + n, 0);
      if (this.rttMs !== undefined) stats['rttMs'] = this.rttMs;
      return { round: this.round, stats };
    };
    const membership = new SessionMembership({
      serverUrl: this.init.serverUrl,
      join: {
        sessionId: this.init.sessionId,
        token: this.init.token,
        kind: this.init.kind,
        capabilities: this.init.capabilities ?? {},
        ...(this.init.peerId === undefined ? {} : { peerId: this.init.peerId }),
      },
      client: { heartbeatState },
      ...(this.init.rejoinDelayMs === undefined ? {} : { rejoinDelayMs: this.init.rejoinDelayMs }),
      log: (message) => this.log('warn', `signaling: ${message}`),
    });
    this.membership = membership;
    signal.addEventListener('abort', () => membership.close(), { once: true });
    const joined = await membership.start();
    this.peerId = joined.peerId;
    const config = joined.config;
    this.config = config;
    if (membership.client !== null) {
      this.snapshots.attach(membership.client);
      this.init.onJoined?.(membership.client, joined);
    }
    this.snapshots.start();
    // The learner (and LocalState, which needs it) loads while the peer links (learner-wait.ts).
    const { resume } = this.init;
    const lastRound = joined.aggregator.lastRound;
    const loading = (this.init.createLearner ?? defaultLearner)(config).then((learner) => ({
      learner,
      ...LocalState.forJoin(joined, learner, this.init.shard, resume),
    }));
    loading.catch(() => {}); // awaited below
    const transport = await createPeerTransport({
      localId: this.peerId,
      relay: {
        sendSignal: (to, data) => this.track(membership.sendSignal(to, data)),
        onSignal: (handler) => membership.onSignal(handler),
      },
      acceptIncoming: (remoteId) =>
        membership.session?.peers.has(remoteId) === true &&
        !this.strikes.isBanned(remoteId) &&
        !this.faults.partitioned,
      ...(this.init.link === undefined ? {} : { link: this.init.link }),
    });
    if (this.closed) {
      transport.stop();
      return;
    }
    this.transport = transport;
    // No model once ready (a newcomer after round 0, a resumed peer the session passed): ask now.
    const needsModel = resume === undefined ? lastRound > 0 : lastRound >= resume.round;
    const waiting = new LearnerWait({
      earlyHello: needsModel ? { round: resume?.round ?? 0 } : null,
      send: (to, frame) => this.sendFrame(to, frame),
      transport,
      settings: resolvePeerSettings(config, this.init.settings),
      log: (m) => this.log('debug', m),
    });
    this.waiting = waiting;
    this.wireEvents(membership, transport);
    const elected = membership.session?.aggregator;
    if (elected !== undefined) this.applyAggregator(elected);
    let loaded: Awaited<typeof loading>;
    try {
      loaded = await loading;
    } catch (error) {
      // Nothing of this peer keeps running (its links, its membership): start fails cleanly.
      await this.leave();
      throw error;
    }
    if (this.closed) return;
    const { learner, state, source } = loaded;
    this.backend = learner.backend ?? 'unknown';
    this.state = state;
    if (source !== null) this.events.publish('model', { round: state.round, source });
    this.context = this.createContext(config, state);
    const readiness = new Readiness((ready) => this.track(membership.setReady(ready)));
    this.readiness = readiness;
    this.events.on('model', () => readiness.modelHeld());
    this.events.on('applied', () => readiness.applied());
    this.rttTimer = setInterval(
      () => void this.track(this.sampleRoundTrip()),
      this.init.rttSampleIntervalMs ?? 2000,
    );
    const dataPath = new DataPathWatch({
      settings: this.context.settings,
      transport,
      role: () => (this.closed ? null : this.role),
      isFaulty: (peerId) => this.strikes.isBannedAggregator(peerId),
      sendPing: (to, term) => this.sendPing(to, term),
      report: (report) => this.reportAggregator(report),
      allowanceMs: () =>
        busyAllowanceMs(state.lastComputeMs, learner.numParams, this.context?.settings.busyMsPerParam ?? 0),
    });
    this.dataPath = dataPath;
    dataPath.start();
    if (state.hasModel) await membership.setReady(true);
    const aggregator = membership.session?.aggregator;
    if (aggregator !== undefined) this.applyAggregator(aggregator);
    this.waiting = null; // what came meanwhile (the model, broadcasts), in order, to the role
    for (const [from, bytes] of waiting.release()) this.onMessage(from, bytes);
  }

  /**
   * After training, as the aggregator: resolves once every worker that may still ask for the
   * final model has left (settings.finalModelLingerMs at most; FinalModel.served). A process
   * that exits at the end (`liec join`) awaits it before leave(); at once for a worker.
   */
  finalModelServed(): Promise<void> {
    const role = this.role;
    const context = this.context;
    if (this.closed || !(role instanceof AggregatorRole) || context === null) return Promise.resolve();
    const left = new Promise<void>((resolve) =>
      this.aborter.signal.addEventListener('abort', () => resolve(), { once: true }),
    );
    // Leaving (SIGINT meanwhile) ends the wait.
    return Promise.race([role.finalModelServed(context.settings.finalModelLingerMs), left]);
  }

  /** Leaves the session: stops the role, drains queued frames, closes every link. Idempotent. */
  leave(): Promise<void> {
    this.leaving ??= this.shutdown();
    return this.leaving;
  }

  /** Frame bytes this peer sent as a worker (up) and as the aggregator (down). */
  frameBytes(): { up: number; down: number } {
    return { ...this.sentFrameBytes };
  }

  private async shutdown(): Promise<void> {
    this.closed = true;
    this.aborter.abort();
    this.snapshots.stop();
    this.role?.stop();
    this.role = null;
    this.aggregatorLink?.stop();
    this.aggregatorLink = null;
    this.waiting?.stop();
    // Frames already handed over (a final upload, 'done' to the workers) get a chance to leave.
    await this.outbox.drain(this.init.drainTimeoutMs ?? 2000);
    clearInterval(this.rttTimer);
    this.dataPath?.stop();
    this.transport?.stop();
    this.membership?.close();
    this.resolveFinished({ round: this.round, testAccuracy: null });
  }

  private createContext(config: SessionConfig, state: LocalState): RoleContext {
    const settings = resolvePeerSettings(config, this.init.settings);
    return {
      selfId: this.peerId,
      config,
      settings,
      state,
      events: this.events,
      send: (to, frame) => this.sendFrame(to, frame),
      reject: (peerId, code, message, strike) => this.reject(peerId, code, message, strike),
      members: () =>
        [...(this.membership?.session?.peers.values() ?? [])]
          .filter((p) => p.ready && p.peerId !== this.peerId && !this.strikes.isBanned(p.peerId))
          .map((p) => p.peerId),
      reportRound: (report) => {
        if (this.membership !== null) this.track(this.membership.reportRound(report));
      },
      log: (level, message) => this.log(level, message),
      uplinkBytesPerSecond: () => this.transport?.uplinkBytesPerSecond(),
      lastRollback: () => this.membership?.session?.aggregator.rollback,
      // An aggregator counts what it heard before its term: it does not wait for a silent predecessor.
      isSilent: (peerId) => this.dataPath?.isSilent(peerId) ?? false,
    };
  }

  private wireEvents(membership: SessionMembership, transport: PeerTransport): void {
    membership.on('aggregator', (event) => this.applyAggregator(event));
    membership.on('peer:left', (event) => {
      if (this.role instanceof AggregatorRole) this.role.onMemberLeft(event.peerId);
    });
    membership.on('disconnect', ({ reason }) => {
      if (!this.closed) this.log('warn', `signaling connection lost (${reason}): joining again`);
    });
    membership.on('rejoined', ({ joined, client }) => this.onRejoined(joined, client));
    membership.on('lost', ({ error }) => {
      if (error.code === 'EXPELLED') this.expelled = error.detail;
      // The last warning: a tab shows it as why it stopped (client/ui/runtime/peer-runtime.ts).
      const expelled = `expelled from the session: ${error.detail}`;
      this.log(
        'warn',
        this.expelled === null ? `no longer a member of the session: ${error.message}` : expelled,
      );
      this.track(this.leave()); // `finished` resolves
    });
    transport.on('message', (from, bytes) => {
      if (this.waiting === null) this.onMessage(from, bytes);
      else this.waiting.hold(from, bytes);
    });
    transport.on('peer:connect', (remoteId) => {
      this.events.publish('linked', { remoteId });
      if (this.faults.partitioned) {
        transport.close(remoteId);
        return;
      }
      if (this.role instanceof WorkerRole && remoteId === this.role.aggregatorId) this.role.onConnected();
      else if (this.role instanceof AggregatorRole) this.role.onWorkerLinked(remoteId);
      else if (this.role === null) this.waiting?.onConnected(remoteId);
    });
    transport.on('peer:disconnect', (remoteId) => {
      const role = this.role;
      if (role === null) this.waiting?.onDisconnected(remoteId);
      if (role instanceof AggregatorRole) role.onWorkerLeft(remoteId);
      if (role instanceof WorkerRole && remoteId === role.aggregatorId) {
        role.onDisconnected();
        // The channel dropped but the server may still name it aggregator: link again.
        this.aggregatorLink?.onDropped();
      }
    });
    transport.on('error', (error, remoteId) => this.log('debug', `transport ${remoteId}: ${error.message}`));
  }

  /**
   * Back in the session after the signaling socket dropped. The server removed this peer
   * meanwhile (so an aggregator stopped expecting it, and if this peer was the aggregator a
   * successor may be elected): follow the current aggregator, and as a worker link to it
   * again so that its hello puts this peer back in step.
   */
  private onRejoined(joined: JoinedSession, client: SignalingClient): void {
    if (this.closed) return;
    this.snapshots.attach(client);
    this.init.onJoined?.(client, joined);
    const before = this.role;
    const aggregator = this.membership?.session?.aggregator;
    if (aggregator !== undefined) this.applyAggregator(aggregator);
    // Same term: the link may be up, but the aggregator dropped us when the server did.
    if (before instanceof WorkerRole && this.role === before) this.transport?.close(before.aggregatorId);
  }

  /** An announced aggregator: this peer's role, and a rollback it may have to apply again (snapshots.ts). */
  private applyAggregator(announced: AggregatorState): void {
    const { peerId: aggregatorId, term } = announced;
    if (this.closed || this.transport === null) return;
    if (this.context === null) {
      // No role before the learner is ready: link to the aggregator meanwhile (never itself: not ready).
      this.waiting?.follow(aggregatorId === this.peerId ? null : aggregatorId, term);
      return;
    }
    const current = this.role;
    if (current !== null && current.term >= term) return this.snapshots.catchUp(announced, this.peerId);
    current?.stop();
    this.role = null;
    this.aggregatorLink?.stop();
    this.aggregatorLink = null;
    // The link made while the learner loaded serves the first worker role (learner-wait.ts).
    const early = this.waiting?.handOver(aggregatorId === this.peerId ? null : aggregatorId) ?? null;
    if (current !== null) this.aggregatorChanges++;
    this.readiness?.termChanged(current instanceof AggregatorRole, aggregatorId, this.peerId);
    this.dataPath?.roleChanged();
    // A peer banned as an aggregator is checked like anyone as a worker in a new term.
    this.strikes.newTerm();
    if (aggregatorId === null) return;
    if (aggregatorId === this.peerId) {
      const { state, config } = this.context;
      this.missedEnd = missedEnd(
        announced.lastRound,
        state.round,
        config.rounds,
        this.context.members().length > 0,
      );
      if (this.missedEnd !== null) {
        this.log('warn', describeMissedEnd(this.missedEnd));
        this.resolveFinished({ round: this.missedEnd.round, testAccuracy: null });
        return;
      }
      // Workers link to us; the link to the old aggregator has no use any more.
      if (current instanceof WorkerRole) this.transport.close(current.aggregatorId);
      const role = new AggregatorRole(this.context, term);
      this.role = role;
      this.events.publish('role', { role: 'aggregator', term, aggregatorId });
      // Before its first round opens, so that the round applies it.
      this.snapshots.catchUp(announced, this.peerId);
      role.start();
      return;
    }
    if (early === null) this.transport.closeAll();
    const role = new WorkerRole(this.context, aggregatorId, term);
    this.role = role;
    this.events.publish('role', { role: 'worker', term, aggregatorId });
    if (early !== null) {
      this.aggregatorLink = early.link;
      if (this.transport.isConnected(aggregatorId)) role.onConnected(early.helloTerm === term);
      return;
    }
    const link = new AggregatorLink(this.transport, aggregatorId, this.context.settings, (m) =>
      this.log('debug', m),
    );
    this.aggregatorLink = link;
    link.start();
  }

  private onMessage(from: string, bytes: Uint8Array): void {
    if (this.strikes.isBanned(from)) return;
    let frame: Frame;
    try {
      frame = decodeFrame(bytes);
    } catch (error) {
      this.reject(from, error instanceof FrameError ? error.code : 'FRAME_INVALID', String(error), true);
      return;
    }
    if (frame.sender !== senderTag(from)) {
      this.reject(from, 'SENDER_MISMATCH', `frame claims sender ${frame.sender}`, true);
      return;
    }
    this.dataPath?.liveness.noteHeard(from);
    const role = this.role;
    if (role instanceof AggregatorRole) {
      role.onFrame(from, frame);
      if (frame.type !== 'control' || frame.term !== role.term) return;
      try {
        role.onControl(from, decodeControl(frame.meta));
      } catch (error) {
        this.reject(
          from,
          error instanceof ControlError ? error.code : 'CONTROL_INVALID',
          String(error),
          true,
        );
      }
      return;
    }
    if (role instanceof WorkerRole) role.onFrame(from, frame);
  }

  private sendFrame(to: string, frame: OutgoingFrame): void {
    if (this.transport === null || this.closed) return;
    const bytes = encodeFrame({ ...frame, sender: senderTag(this.peerId) });
    this.dataPath?.liveness.noteSent(to);
    if (this.role instanceof AggregatorRole) this.sentFrameBytes.down += bytes.length;
    else this.sentFrameBytes.up += bytes.length;
    this.outbox.send(to, bytes);
  }

  private reject(peerId: string, code: string, message: string, strike: boolean): void {
    this.rejections.set(code, (this.rejections.get(code) ?? 0) + 1);
    this.events.publish('rejected', { peerId, code, message });
    this.log(strike ? 'warn' : 'debug', `rejected from ${peerId}: ${message}`);
    if (!strike) return;
    const role = this.role;
    const fromAggregator = role instanceof WorkerRole && role.aggregatorId === peerId;
    const settings = this.context?.settings;
    const limit = (fromAggregator ? settings?.maxBadAggregatorFrames : settings?.maxBadFrames) ?? 20;
    const strikes = this.strikes.strike(peerId, limit, fromAggregator);
    if (strikes === null) return;
    this.log('warn', `disconnecting ${peerId}: ${strikes} invalid frames`);
    if (fromAggregator) {
      this.aggregatorLink?.stop();
      this.aggregatorLink = null;
    }
    this.transport?.close(peerId);
    if (role instanceof AggregatorRole) {
      role.onWorkerLeft(peerId);
      // An offence of that worker: the server expels it at its limit (signaling/sessions.ts).
      if (this.membership !== null) this.track(this.membership.reportPeer(role.term, peerId, strikes));
    }
    this.events.publish('banned', { peerId, strikes });
    // Its workers replace a faulty aggregator at once, not at the next tick.
    if (fromAggregator) this.dataPath?.checkAggregatorNow(role);
  }

  private sendPing(to: string, term: number): void {
    this.sendFrame(to, { type: 'control', term, round: this.round, aux: 0, meta: PING, payload: EMPTY });
  }

  private reportAggregator(report: AggregatorReport): void {
    const { aggregatorId, term, reason, forMs } = report;
    this.log('warn', `aggregator ${aggregatorId} (term ${term}) ${reason} (${forMs} ms): reporting it`);
    this.events.publish('unreachable', { aggregatorId, term, silentMs: forMs, reason });
    const membership = this.membership;
    if (membership === null) return;
    this.track(
      membership
        .reportUnreachable(term, aggregatorId, reason)
        .then(({ reports, needed, replaced }) =>
          this.log(
            'info',
            `aggregator ${aggregatorId} reported ${reason}: ${reports} of ${needed} reports${replaced ? ', replaced' : ''}`,
          ),
        ),
    );
  }

  /** Reads the round trip time of the links this peer's role uses (see rttMs). */
  private async sampleRoundTrip(): Promise<void> {
    const transport = this.transport;
    const role = this.role;
    if (transport === null || role === null) return;
    const remotes = role instanceof WorkerRole ? [role.aggregatorId] : transport.connectedPeers();
    const samples = await Promise.all(remotes.map((id) => transport.roundTripMs(id)));
    const known = samples.filter((ms): ms is number => ms !== undefined);
    if (known.length > 0) this.rttMs = known.reduce((a, b) => a + b, 0) / known.length;
  }

  /** Keeps a promise in view until it settles; failures are logged, never unhandled. */
  private track(promise: Promise<unknown>): Promise<void> {
    return promise.then(
      () => undefined,
      (error: unknown) =>
        this.log(
          'debug',
          `async operation failed: ${error instanceof Error ? error.message : String(error)}`,
        ),
    );
  }

  private log(level: 'debug' | 'info' | 'warn', message: string): void {
    this.init.log?.(level, `[peer ${this.peerId}] ${message}`);
  }
}
