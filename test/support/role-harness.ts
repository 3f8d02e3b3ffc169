/**
 * Test support for unit tests of one role: a RoleContext with a tiny deterministic learner,
 * that records what the role sends, rejects and reports. No network, no TF.js.
 *
 * @example
 * const h = createRoleHarness({ members: ['w1', 'w2'] });
 * const role = new AggregatorRole(h.ctx, 1);
 * role.start();
 * role.onFrame('w1', h.upload('w1', 0));
 */
import { resolveAlgorithmOptions, type AlgorithmOptions } from '../../shared/algorithm/index.ts';
import { encodeControl, type ControlMessage } from '../../shared/protocol/control.ts';
import { decodeFrame, encodeFrame, senderTag, type Frame } from '../../shared/protocol/frames.ts';
import {
  algorithmSpecOf,
  parseSessionConfig,
  type SessionConfigInput,
} from '../../shared/protocol/session-config.ts';
import type { OutgoingFrame, RoleContext } from '../../client/roles/context.ts';
import { PeerEventEmitter, type RoundEvent } from '../../client/roles/events.ts';
import { LocalState } from '../../client/roles/local-state.ts';
import { resolvePeerSettings, type PeerSettings } from '../../client/roles/settings.ts';
import type { Learner } from '../../client/training/learner.ts';
import { waitFor } from './session.ts';

export const NUM_PARAMS = 16;

/** A learner whose gradient is a fixed function of the weights: cheap and deterministic. */
export const tinyLearner: Learner = {
  numParams: NUM_PARAMS,
  initialWeights: () => Float32Array.from({ length: NUM_PARAMS }, (_, i) => (i % 5) / 10),
  gradient: (worker, weights) => ({
    gradient: Float32Array.from(weights, (w, i) => w * 0.5 + ((i + worker) % 3) * 0.01),
    loss: 1,
  }),
  evaluate: () => ({ accuracy: 0.5, loss: 1 }),
};

export interface RoleHarness {
  ctx: RoleContext;
  state: LocalState;
  options: AlgorithmOptions;
  sent: { to: string; frame: Frame }[];
  rejected: { peerId: string; code: string; strike: boolean }[];
  /** What the role reported to the signaling server, in order. */
  reports: Parameters<RoleContext['reportRound']>[0][];
  /** Current members other than this peer (ready ones); tests may edit it. */
  members: string[];
  /** An upload frame from `from` for `round` (a small fixed vector unless given), in term `term`. */
  upload(from: string, round: number, term?: number, vector?: Float32Array): Frame;
  syncUpload(from: string, round: number, term?: number): Frame;
  control(from: string, message: ControlMessage, term?: number): Frame;
  /** Frames sent to `to` of `type`. */
  sentTo(to: string, type: Frame['type']): Frame[];
}

export function createRoleHarness(
  init: {
    selfId?: string;
    members?: string[];
    config?: SessionConfigInput;
    settings?: Partial<PeerSettings>;
  } = {},
): RoleHarness {
  const config = parseSessionConfig({
    rounds: 100,
    roundDeadlineMs: 50,
    quorum: 0.5,
    evalEvery: 1000,
    syncPeriod: 1000,
    up: 'topk:0.5',
    down: 'topk:0.5',
    ...init.config,
  });
  const options = resolveAlgorithmOptions(algorithmSpecOf(config));
  const state = new LocalState(options, tinyLearner, 0);
  state.adopt(tinyLearner.initialWeights(), 0);
  const selfId = init.selfId ?? 'self';
  const harness: RoleHarness = {
    state,
    options,
    sent: [],
    rejected: [],
    reports: [],
    members: init.members ?? [],
    ctx: {
      selfId,
      config,
      settings: resolvePeerSettings(config, init.settings),
      state,
      events: new PeerEventEmitter(),
      send: (to: string, frame: OutgoingFrame) => {
        // Through the real codec, as on the wire.
        harness.sent.push({ to, frame: decodeFrame(encodeFrame({ ...frame, sender: senderTag(selfId) })) });
      },
      reject: (peerId, code, _message, strike) => harness.rejected.push({ peerId, code, strike }),
      members: () => [...harness.members],
      reportRound: (report) => harness.reports.push(report),
      log: () => {},
    },
    upload(
      from,
      round,
      term = 1,
      vector = Float32Array.from({ length: NUM_PARAMS }, (_, i) => (i + 1) / 100),
    ) {
      return frame('upload', from, round, term, options.up.encode(vector, 1));
    },
    syncUpload(from, round, term = 1) {
      const codec = options.sync?.codec;
      if (codec === undefined) throw new Error('no sync codec');
      return frame('syncUpload', from, round, term, codec.encode(new Float32Array(NUM_PARAMS), 1));
    },
    control(from, message, term = 1) {
      return {
        type: 'control',
        term,
        round: 0,
        sender: senderTag(from),
        aux: 0,
        meta: encodeControl(message),
        payload: new Uint8Array(0),
      };
    },
    sentTo(to, type) {
      return harness.sent.filter((s) => s.to === to && s.frame.type === type).map((s) => s.frame);
    },
  };
  return harness;
}

function frame(
  type: 'upload' | 'syncUpload',
  from: string,
  round: number,
  term: number,
  payload: Uint8Array,
): Frame {
  return { type, term, round, sender: senderTag(from), aux: 0, meta: new Uint8Array(0), payload };
}

/** The 'round' event of `round` this harness's role publishes (rejects after `timeoutMs`). */
export function nextRound(h: RoleHarness, round: number, timeoutMs = 5000): Promise<RoundEvent> {
  return waitFor<RoundEvent>(
    (listener) => h.ctx.events.on('round', listener),
    (e) => e.round === round,
    timeoutMs,
    `round ${round}`,
  );
}
