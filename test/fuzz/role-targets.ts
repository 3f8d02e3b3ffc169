/**
 * Fuzz target for the aggregator role, run against an in-memory RoleContext (a unit test of
 * one module: no network, a tiny stand-in learner). Workers and a stranger send frames of
 * every type with stale, current and future terms and rounds, good and bad payloads, and
 * control messages with odd rounds; workers leave; the event loop turns in between, so
 * rounds close on their (1 ms) deadline while garbage arrives.
 *
 * Nothing may throw; every rejection carries a code of the role's documented set; the role
 * keeps closing rounds afterwards (liveness: a round event within a deadline).
 *
 * @example
 * await checkTarget(roleTargets[0]);
 */
import fc from 'fast-check';
import { resolveAlgorithmOptions } from '../../shared/algorithm/index.ts';
import { parseCompressor } from '../../shared/compress/index.ts';
import type { ControlMessage } from '../../shared/protocol/control.ts';
import { FRAME_TYPES, encodeTags, type Frame } from '../../shared/protocol/frames.ts';
import { parseSessionConfig } from '../../shared/protocol/session-config.ts';
import { AggregatorRole } from '../../client/roles/aggregator-role.ts';
import type { RoleContext } from '../../client/roles/context.ts';
import { PeerEventEmitter } from '../../client/roles/events.ts';
import { LocalState } from '../../client/roles/local-state.ts';
import { resolvePeerSettings } from '../../client/roles/settings.ts';
import type { Learner } from '../../client/training/learner.ts';
import { describeError, FuzzCrash, invariant, target, type FuzzTarget } from './harness.ts';
import { vectorArb } from './codec-targets.ts';
import { applyMutations, mutationsArb } from './mutations.ts';

/**
 * Codes the aggregator role rejects frames and control messages with, as used in
 * client/roles/ (aggregator-role.ts and the modules it delegates to). A new code there fails this target until it is listed
 * here: every rejection reason stays a known, counted one.
 */
export const ROLE_REJECT_CODES = [
  'STALE_TERM',
  'STALE_ROUND',
  'UNEXPECTED_FRAME',
  'UNEXPECTED_CONTROL',
  'BAD_UPLOAD',
  'BAD_SYNC',
  'BAD_RELAY',
];

const D = 12;
const TERM = 5;
const PEERS = ['w1', 'w2', 'stranger'] as const;

const learner: Learner = {
  numParams: D,
  initialWeights: () => new Float32Array(D).fill(0.25),
  gradient: (worker, weights) => ({
    gradient: weights.map((w, i) => 0.01 * (w - (i % 3)) + 0.001 * worker),
    loss: 1,
  }),
  evaluate: () => ({ accuracy: 0.5, loss: 1 }),
};

type Action =
  | {
      kind: 'frame';
      from: (typeof PEERS)[number];
      type: (typeof FRAME_TYPES)[number];
      termDelta: number;
      round: { relative: number } | { absolute: number };
      payload: 'upload' | 'sync' | 'wrong-size' | 'other-codec' | 'mutated' | 'random';
      values: Float32Array;
      mutations: Parameters<typeof applyMutations>[1];
      random: Uint8Array;
      aux: number;
    }
  | { kind: 'control'; from: (typeof PEERS)[number]; message: ControlMessage }
  | { kind: 'leave'; from: (typeof PEERS)[number] }
  | { kind: 'tick' };

const peerArb = fc.constantFrom(...PEERS);
const roundOffsetArb = fc.oneof(
  fc.record({ relative: fc.integer({ min: -3, max: 3 }) }),
  fc.record({ absolute: fc.oneof(fc.nat({ max: 5 }), fc.constantFrom(0xffffffff, 2 ** 31, 1000)) }),
);

const actionArb: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('frame' as const),
      from: peerArb,
      type: fc.oneof(
        { weight: 4, arbitrary: fc.constant('upload' as const) },
        { weight: 2, arbitrary: fc.constantFrom(...FRAME_TYPES) },
      ),
      termDelta: fc.oneof(
        { weight: 4, arbitrary: fc.constant(0) },
        { weight: 1, arbitrary: fc.constantFrom(-5, -1, 1, 100) },
      ),
      round: roundOffsetArb,
      payload: fc.constantFrom('upload', 'upload', 'sync', 'wrong-size', 'other-codec', 'mutated', 'random'),
      values: vectorArb(D),
      mutations: mutationsArb(3),
      random: fc.uint8Array({ maxLength: 40 }),
      // 1 marks a broadcast as a model sync (relays); any finite value is a valid deviation.
      aux: fc.oneof(fc.constant(0), fc.constant(1), fc.float({ noNaN: true, noDefaultInfinity: true })),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('control' as const),
      from: peerArb,
      message: fc.oneof(
        fc.record({
          kind: fc.constant('hello' as const),
          round: fc.oneof(fc.nat({ max: 8 }), fc.constant(0xffffffff)),
          hasModel: fc.boolean(),
          pendingUpload: fc.boolean(),
        }),
        fc.constant({ kind: 'modelRequest' as const }),
        fc.record({
          kind: fc.constant('catchUp' as const),
          round: fc.oneof(fc.nat({ max: 8 }), fc.constant(0xffffffff)),
        }),
        fc.record({
          kind: fc.constant('metrics' as const),
          round: fc.nat(),
          testAccuracy: fc.constant(0.5),
          testLoss: fc.constant(1),
        }),
        fc.record({ kind: fc.constant('done' as const), round: fc.nat(), testAccuracy: fc.constant(null) }),
      ),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('leave' as const), from: peerArb }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'tick' as const }) },
);

function fillTo(values: Float32Array, n: number): Float32Array {
  const x = new Float32Array(n);
  if (values.length > 0) for (let i = 0; i < n; i++) x[i] = values[i % values.length] ?? 0;
  return x;
}

const identity = parseCompressor('identity');
const fp16 = parseCompressor('fp16');

function payloadOf(action: Extract<Action, { kind: 'frame' }>): Uint8Array {
  const x = fillTo(action.values, D);
  switch (action.payload) {
    case 'upload':
    case 'sync':
      return identity.encode(x);
    case 'wrong-size':
      return identity.encode(fillTo(action.values, D + 1));
    case 'other-codec':
      return fp16.encode(x);
    case 'mutated':
      return applyMutations(identity.encode(x), action.mutations);
    case 'random':
      return action.random;
  }
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

interface Harness {
  role: AggregatorRole;
  events: PeerEventEmitter;
  rejections: { code: string; strike: boolean }[];
  members: Set<string>;
}

/** The algorithms the role is fuzzed under: LIEC (with model syncs) and two without syncs. */
const FUZZED_ALGORITHMS = ['liec', 'doublesqueeze', 'sgd'] as const;

function createHarness(algorithm: (typeof FUZZED_ALGORITHMS)[number]): Harness {
  const config = parseSessionConfig({
    algorithm,
    up: 'identity',
    down: 'identity',
    rounds: 1_000_000,
    evalEvery: 1_000_000,
    syncPeriod: 3,
    minPeers: 1,
  });
  const options = resolveAlgorithmOptions({
    algorithm: config.algorithm,
    up: config.up,
    down: config.down,
    learningRate: config.learningRate,
    syncPeriod: config.syncPeriod,
  });
  const state = new LocalState(options, learner, 0);
  state.adopt(learner.initialWeights(), 0);
  const events = new PeerEventEmitter();
  const rejections: Harness['rejections'] = [];
  const members = new Set<string>(['w1', 'w2']);
  const ctx: RoleContext = {
    selfId: 'agg',
    config,
    settings: resolvePeerSettings(config, { roundDeadlineMs: 1, quorumGraceMs: 1, syncDeadlineMs: 1 }),
    state,
    events,
    send: () => {},
    reject: (_peerId, code, _message, strike) => rejections.push({ code, strike }),
    members: () => [...members],
    reportRound: () => {},
    log: () => {},
  };
  return { role: new AggregatorRole(ctx, TERM), events, rejections, members };
}

function frameOf(action: Extract<Action, { kind: 'frame' }>, currentRound: number): Frame {
  const round =
    'relative' in action.round ? Math.max(0, currentRound + action.round.relative) : action.round.absolute;
  return {
    type: action.type === 'upload' && action.payload === 'sync' ? 'syncUpload' : action.type,
    term: Math.max(0, TERM + action.termDelta),
    round,
    sender: 0, // the runtime checked the tag already; roles read `from`
    aux: action.aux,
    meta: action.type === 'broadcast' ? encodeTags([1, 2]) : new Uint8Array(0),
    payload: payloadOf(action),
  };
}

/** Resolves when the role publishes a round event, or rejects after timeoutMs. */
function nextRound(events: PeerEventEmitter, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new FuzzCrash(`no round closed within ${timeoutMs} ms after the garbage`));
    }, timeoutMs);
    const off = events.on('round', (e) => {
      clearTimeout(timer);
      off();
      resolve(e.round);
    });
  });
}

const aggregatorRoleTarget = target({
  name: 'role.aggregator',
  description:
    'frames and control messages with stale/future terms and rounds, bad payloads, leaves, into an aggregator role',
  arbitrary: fc.record({
    algorithm: fc.constantFrom(...FUZZED_ALGORITHMS),
    actions: fc.array(actionArb, { minLength: 1, maxLength: 14 }),
  }),
  async runAsync({ algorithm, actions }) {
    const h = createHarness(algorithm);
    try {
      h.role.start();
      for (const action of actions) {
        try {
          if (action.kind === 'tick') await tick();
          else if (action.kind === 'leave') {
            h.members.delete(action.from);
            h.role.onWorkerLeft(action.from);
          } else if (action.kind === 'control') h.role.onControl(action.from, action.message);
          else h.role.onFrame(action.from, frameOf(action, h.role.round));
        } catch (error) {
          throw new FuzzCrash(`${action.kind} threw ${describeError(error)}`, { cause: error });
        }
      }
      for (const { code } of h.rejections) {
        invariant(
          ROLE_REJECT_CODES.includes(code),
          `rejection code ${code} is listed in ROLE_REJECT_CODES (test/fuzz/role-targets.ts)`,
        );
      }
      // Liveness: whatever came in, rounds keep closing (deadline 1 ms, grace 1 ms).
      await nextRound(h.events, 2000);
    } finally {
      h.role.stop();
    }
    // One outcome per message: accepted ('ok') or its rejection code.
    const messages = actions.filter((a) => a.kind === 'frame' || a.kind === 'control').length;
    const codes = h.rejections.map((r) => r.code);
    return [...codes, ...Array<string>(Math.max(0, messages - codes.length)).fill('ok')];
  },
  fast: 300,
  full: 5000,
});

export const roleTargets: readonly FuzzTarget[] = [aggregatorRoleTarget];
