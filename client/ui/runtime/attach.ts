/**
 * The interface the dashboard expects from the training runtime (client/roles), and the
 * adapter that copies its events into the store. Any emitter with `on`/`off` fits: the
 * project's TypedEmitter<DashboardRuntimeEvents> (shared/typed-emitter.ts), or Node's
 * EventEmitter from `events`.
 *
 * What the runtime emits:
 * - `round`: a finished round as this peer saw it (the aggregator knows every field; a
 *   worker may leave loss/drift null), with who was counted and how many were expected
 *   when known; the same round again replaces it (e.g. when its test accuracy arrives);
 * - `peer`: a change of one peer's row (state, rtt, bytes, backend, the kind of this tab's
 *   link to it, ...), id plus fields;
 * - `peer:removed`: a peer gone for good (the row is kept, marked dropped);
 * - `phase`: the session phase and current round (training, syncing, done, ...);
 * - `backend`: the TF.js backend this tab trains on.
 * What it offers: `leave()` always; `setPaused()` and `exportModel()` when supported.
 *
 * @example
 * const runtime = await startBrowserRuntime({ client: app.signaling, joined });
 * const detach = document.querySelector('liec-app')!.attachRuntime(runtime);
 */
import type { JoinedSession, SignalingClient } from '../../signaling/index.ts';
import { applyRoundParticipation } from '../feeds/peer-rows.ts';
import type { PeerPatch, RoundRecord, SessionPhase, SessionStore } from '../state.ts';

export interface RuntimeRoundEvent extends RoundRecord {
  /**
   * Every peer whose update this round counted; absent when this peer does not know (a
   * worker knows only about itself: /status fills in the rest).
   */
  participants?: readonly string[];
  /** Uploads the aggregator expected this round (itself included); with `participants`. */
  expected?: number;
}

export interface DashboardRuntimeEvents {
  round: (event: RuntimeRoundEvent) => void;
  peer: (patch: PeerPatch) => void;
  'peer:removed': (event: { peerId: string }) => void;
  phase: (event: { phase: SessionPhase; round: number }) => void;
  backend: (event: { backend: string }) => void;
}

type Listener<K extends keyof DashboardRuntimeEvents> = DashboardRuntimeEvents[K];

export interface DashboardRuntime {
  on<K extends keyof DashboardRuntimeEvents>(name: K, listener: Listener<K>): unknown;
  off<K extends keyof DashboardRuntimeEvents>(name: K, listener: Listener<K>): unknown;
  /** Stops training and leaves the session (the app closes the signaling client after). */
  leave(): Promise<void> | void;
  /** The backend it trains on, once known (read on attach; later changes come as `backend`). */
  readonly backend?: string | null;
  /** Pauses or resumes this peer's training; absent when not supported. */
  setPaused?(paused: boolean): void;
  /**
   * The current model, serialized (e.g. weights as bytes); null when the runtime saved it
   * itself (a session's own Layers model: model.json + weights, two files); absent when not
   * supported.
   */
  exportModel?(): Promise<Uint8Array | Blob | null>;
}

/** What a runtime that joins the session itself (a training peer) adds to DashboardRuntimeEvents. */
export interface SessionRuntimeEvents extends DashboardRuntimeEvents {
  /** Its peer joined (on start, and again on resume after a pause): follow this client. */
  joined: (event: { client: SignalingClient; joined: JoinedSession }) => void;
  /** Its peer is about to leave (pause, leave): stop following its client. */
  leaving: (event: { peerId: string }) => void;
  /** Training stopped on an error after joining (e.g. the learner failed to load). */
  error: (event: { message: string }) => void;
  /**
   * Its peer is no longer a member: the signaling connection dropped and joining again
   * failed for good (the server stayed away, or forgot the session). Not after leave().
   */
  lost: (event: { message: string }) => void;
}

/** A runtime that joins the session for the tab (see ./peer-runtime.ts). */
export interface SessionRuntime extends DashboardRuntime {
  /** Joins; resolves with the join reply while training starts. */
  start(): Promise<JoinedSession>;
  /**
   * Its peer's pause before each attempt to join again after the signaling socket dropped
   * (the dashboard's countdown). @default SIGNALING_RETRY_DELAY_MS (../reconnect.ts)
   */
  readonly signalingRetryDelayMs?: number;
  on<K extends keyof SessionRuntimeEvents>(name: K, listener: SessionRuntimeEvents[K]): () => void;
  off<K extends keyof SessionRuntimeEvents>(name: K, listener: SessionRuntimeEvents[K]): void;
}

/** Copies the runtime's events into the store until the returned function is called. */
export function attachRuntimeToStore(store: SessionStore, runtime: DashboardRuntime): () => void {
  const onRound: Listener<'round'> = ({ participants, expected, ...record }) =>
    store.batch(() => {
      store.addRound(record);
      if (participants === undefined) return;
      const counted = participants.length;
      store.recordParticipation({ round: record.round, counted, expected: expected ?? counted });
      applyRoundParticipation(store, record.round, participants, store.state.local.peerId);
    });
  const onPeer: Listener<'peer'> = (patch) => store.upsertPeer(patch);
  const onRemoved: Listener<'peer:removed'> = ({ peerId }) => store.markDropped(peerId);
  const onPhase: Listener<'phase'> = ({ phase, round }) => store.updateSession({ phase, round });
  const onBackend: Listener<'backend'> = ({ backend }) => {
    store.batch(() => {
      store.setLocal({ backend });
      const self = store.state.local.peerId;
      if (self !== null) store.upsertPeer({ peerId: self, backend });
    });
  };
  runtime.on('round', onRound);
  runtime.on('peer', onPeer);
  runtime.on('peer:removed', onRemoved);
  runtime.on('phase', onPhase);
  runtime.on('backend', onBackend);
  store.setLocal({ runtimeAttached: true });
  if (typeof runtime.backend === 'string') onBackend({ backend: runtime.backend });
  let attached = true;
  return () => {
    if (!attached) return;
    attached = false;
    runtime.off('round', onRound);
    runtime.off('peer', onPeer);
    runtime.off('peer:removed', onRemoved);
    runtime.off('phase', onPhase);
    runtime.off('backend', onBackend);
    store.setLocal({ runtimeAttached: false, paused: false });
  };
}
