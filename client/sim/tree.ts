/**
 * A two-level aggregation tree in the simulator: the workers are split into groups of at most
 * `fanout`, each group uploads to its own sub-aggregator, which adds its own error e_g to the
 * group's mean, compresses that again (the broadcast codec) and keeps what the codec dropped
 * in e_g; the root aggregates the sub-aggregates weighted by group size as the flat aggregator
 * aggregates uploads (its own error e, the broadcast codec), and its broadcast goes down the
 * tree unchanged (each sub-aggregator forwards the same frame to its group).
 *
 * Why: in a flat star every upload and every broadcast copy crosses the aggregator's one
 * link, N of each per round; with a tree the root's link carries N / fanout of each and each
 * sub-aggregator's link fanout, at the price of a second compression (with its error fed back)
 * and a second hop.
 *
 * Scope: lockstep time, full participation, no deadline, LIEC full syncs (or none). A sync's
 * worker frames are relayed up the tree unchanged, so the root syncs exactly as a flat
 * aggregator would; each sub-aggregator also sends its e_g in the sync codec, which the root
 * folds into its e (the remainder stays in e_g), so the sync flushes the whole tree's error.
 * Sub-aggregators and the root are nodes of their own, each on `aggregatorLink`.
 *
 * @example
 * const result = runTreeSimulation({ ...config, workers: 64 }, 8, learner); // 8 groups of 8
 */
import {
  createAggregator,
  createWorker,
  syncDue,
  takeLocalSteps,
  type AggregatorAlgorithm,
  type WorkerAlgorithm,
} from '../../shared/algorithm/index.ts';
import { normSq } from '../../shared/algorithm/vector.ts';
import { createWorkerGroup } from '../../shared/algorithm/worker.ts';
import type { Compressor } from '../../shared/compress/index.ts';
import { clampFloat32 } from '../../shared/compress/finite.ts';
import { encodeBroadcastMeta } from '../../shared/protocol/broadcast-meta.ts';
import { SentCountedLists } from '../../shared/protocol/counted-lists.ts';
import {
  decodeFrame,
  encodeFrame,
  encodeTags,
  fp32PayloadBytes,
  fp32UploadFrameBytes,
} from '../../shared/protocol/frames.ts';
import { mixSeed } from '../../shared/random.ts';
import type { Learner } from '../training/learner.ts';
import { sharedTransferSeconds, type LinkSpec } from './links.ts';
import { sameBits } from './model-checks.ts';
import type { RoundRecord, SimulationConfig, SimulationHooks, SimulationResult } from './simulator.ts';
import { broadcastFrameBytes, emptyTraffic } from './traffic.ts';

const TERM = 1;

/** Contiguous groups of at most `fanout` workers, sizes differing by at most one. */
export function treeGroups(workers: number, fanout: number): number[][] {
  if (!Number.isInteger(workers) || workers < 1) throw new RangeError(`workers must be >= 1, got ${workers}`);
  if (!Number.isInteger(fanout) || fanout < 2) throw new RangeError(`fanout must be >= 2, got ${fanout}`);
  const count = Math.ceil(workers / fanout);
  const groups: number[][] = [];
  let next = 0;
  for (let g = 0; g < count; g++) {
    const size = Math.floor(workers / count) + (g < workers % count ? 1 : 0);
    groups.push(Array.from({ length: size }, (_, k) => next + k));
    next += size;
  }
  return groups;
}

/** sum_k weights[k] vectors[k] / sum_k weights[k]: the root's mean of group means. */
export function weightedMean(
  vectors: readonly Float32Array[],
  weights: readonly number[],
  d: number,
): Float32Array {
  if (vectors.length !== weights.length) throw new RangeError('one weight per vector');
  const total = weights.reduce((s, w) => s + w, 0);
  const out = new Float32Array(d);
  if (total <= 0) return out;
  const acc = new Float64Array(d);
  vectors.forEach((v, k) => {
    const w = (weights[k] ?? 0) / total;
    for (let j = 0; j < d; j++) acc[j] = (acc[j] as number) + w * (v[j] as number);
  });
  for (let j = 0; j < d; j++) out[j] = clampFloat32(acc[j] as number);
  return out;
}

/**
 * One level of error feedback: v = x + e, payload = C(v), e <- v - decode(payload). `error` is
 * updated in place; returns the payload and what it decodes to.
 */
export function compressWithError(
  x: Float32Array,
  error: Float32Array,
  codec: Compressor,
  seed: number,
): { payload: Uint8Array; sent: Float32Array } {
  if (x.length !== error.length) throw new RangeError(`x has ${x.length} values, error ${error.length}`);
  const v = new Float32Array(x.length);
  for (let j = 0; j < v.length; j++) v[j] = clampFloat32((x[j] as number) + (error[j] as number));
  const payload = codec.encode(v, seed);
  const sent = codec.decode(payload, v.length);
  for (let j = 0; j < v.length; j++) error[j] = clampFloat32((v[j] as number) - (sent[j] as number));
  return { payload, sent };
}

/** A sub-aggregator: its group's mean plus e_g, compressed with `codec`; e_g kept. */
export class SubAggregator {
  readonly error: Float32Array;
  constructor(
    readonly members: readonly number[],
    private readonly codec: Compressor,
    d: number,
  ) {
    this.error = new Float32Array(d);
  }

  /** The group's (decoded) uploads -> the payload sent to the root. */
  aggregate(uploads: readonly Float32Array[], seed: number): Uint8Array {
    const d = this.error.length;
    return compressWithError(
      weightedMean(
        uploads,
        uploads.map(() => 1),
        d,
      ),
      this.error,
      this.codec,
      seed,
    ).payload;
  }

  /** At a sync: e_g in the sync codec (the remainder stays in e_g). */
  flushError(syncCodec: Compressor, seed: number): { payload: Uint8Array; sent: Float32Array } {
    const zero = new Float32Array(this.error.length);
    return compressWithError(zero, this.error, syncCodec, seed);
  }
}

/** Seconds of one tree round's wire phases (lockstep: each phase after the one before). */
export function treeRoundSeconds(
  link: { worker: (i: number) => LinkSpec; node: LinkSpec },
  groups: readonly (readonly number[])[],
  bytes: {
    up: (worker: number) => number;
    subUp: (group: number) => number;
    down: (worker: number) => number;
    rootDown: number;
  },
): number {
  const groupUp = groups.map((members) =>
    sharedTransferSeconds(
      link.node,
      members.map((i) => ({ link: link.worker(i), bytes: bytes.up(i) })),
    ),
  );
  const rootUp = sharedTransferSeconds(
    link.node,
    groups.map((_, g) => ({ link: link.node, bytes: bytes.subUp(g) })),
  );
  const rootDown = sharedTransferSeconds(
    link.node,
    groups.map(() => ({ link: link.node, bytes: bytes.rootDown })),
  );
  const groupDown = groups.map((members) =>
    sharedTransferSeconds(
      link.node,
      members.map((i) => ({ link: link.worker(i), bytes: bytes.down(i) })),
    ),
  );
  return Math.max(0, ...groupUp) + rootUp + rootDown + Math.max(0, ...groupDown);
}

/** Wire hops from a worker to the root and back: twice the flat star's. */
export const TREE_HOPS = 2;

export function runTreeSimulation(
  config: SimulationConfig,
  fanout: number,
  learner: Learner,
  hooks: SimulationHooks = {},
): SimulationResult {
  const { options, seed } = config;
  if (
    config.participation !== 1 ||
    Number.isFinite(config.roundDeadlineMs) ||
    config.linkModel === 'fairShare'
  )
    throw new RangeError('the tree runs lockstep with full participation and no deadline');
  if (options.adaptiveUp !== undefined || options.sync?.mode === 'rolling')
    throw new RangeError('the tree has no topk:auto and no rolling sync');
  if ((options.aggregation ?? 'mean') !== 'mean') throw new RangeError('the tree aggregates by mean only');
  const d = learner.numParams;
  const init = learner.initialWeights();
  const group = createWorkerGroup(options, init, { statePrecision: config.statePrecision ?? 'f32' });
  const workers = Array.from({ length: config.workers }, () => createWorker(options, init, group));
  const groups = treeGroups(config.workers, fanout);
  const subs = groups.map((members) => new SubAggregator(members, options.down, d));
  // The root decodes sub-aggregates (broadcast codec) as uploads, and broadcasts as flat.
  const root: AggregatorAlgorithm = createAggregator({ ...options, up: options.down }, d);
  const decodeUp = createAggregator(options, d);
  const syncCodec = options.algorithm === 'liec' ? (options.sync?.codec ?? null) : null;
  const traffic = emptyTraffic();
  const fp32 = { up: 0, down: 0 };
  const history: RoundRecord[] = [];
  const sentCounted = new SentCountedLists();
  const tags = workers.map((_, i) => i);
  const links = { worker: config.workerLink, node: config.aggregatorLink };
  let simSeconds = 0;
  let roundsSinceSync = 0;
  let syncs = 0;

  const runSync = (round: number, final: boolean): number => {
    const frames = workers.map((w, i) =>
      encodeFrame({
        type: 'syncUpload',
        term: TERM,
        round,
        sender: i,
        aux: 0,
        meta: new Uint8Array(0),
        payload: w.prepareSync(mixSeed(seed, round, i, 3)),
      }),
    );
    const codec = syncCodec as Compressor;
    // Each group's e_g joins the root's e (weighted as its group's share) before the flush.
    const errorFrames = subs.map((sub, g) => {
      const { payload, sent } = sub.flushError(codec, mixSeed(seed, round, g, 5));
      const scaled = sent.map((v) => (v * sub.members.length * subs.length) / config.workers);
      root.foldLate(scaled, subs.length);
      return encodeFrame({
        type: 'syncUpload',
        term: TERM,
        round,
        sender: g,
        aux: 0,
        meta: new Uint8Array(0),
        payload,
      });
    });
    const deltas = frames.map((f) => root.decodeSync(decodeFrame(f).payload));
    const down = encodeFrame({
      type: 'syncBroadcast',
      term: TERM,
      round,
      sender: 0,
      aux: 0,
      meta: encodeTags(tags),
      payload: root.aggregateSync(deltas, mixSeed(seed, round, 0, 4)),
    });
    const payload = decodeFrame(down).payload;
    for (const w of workers) {
      if (final) w.applyFinalSync(payload);
      else w.applySync(payload, true);
    }
    // Worker frames cross their group's link, then (with e_g) the root's; the broadcast comes down.
    const up = frames.reduce((s, f) => s + f.length, 0);
    const relayed = up + errorFrames.reduce((s, f) => s + f.length, 0);
    traffic.syncUp += relayed;
    traffic.up += relayed;
    traffic.syncDown += down.length * (workers.length + subs.length);
    traffic.down += down.length * (workers.length + subs.length);
    syncs++;
    const groupUp = groups.map((members) =>
      sharedTransferSeconds(
        links.node,
        members.map((i) => ({ link: links.worker(i), bytes: frames[i]?.length ?? 0 })),
      ),
    );
    const rootUp = sharedTransferSeconds(
      links.node,
      groups.map((members, g) => ({
        link: links.node,
        bytes: members.reduce((s, i) => s + (frames[i]?.length ?? 0), 0) + (errorFrames[g]?.length ?? 0),
      })),
    );
    const downSeconds = treeRoundSeconds(links, groups, {
      up: () => 0,
      subUp: () => 0,
      down: () => down.length,
      rootDown: down.length,
    });
    return Math.max(0, ...groupUp) + rootUp + downSeconds;
  };

  for (let round = 0; round < config.rounds; round++) {
    const upBefore = traffic.up;
    const downBefore = traffic.down;
    let lossSum = 0;
    let deviationSum = 0;
    const uploadBytes: number[] = [];
    const decoded: Float32Array[] = [];
    workers.forEach((w, i) => {
      const { gradient, loss } = takeLocalSteps(w, (model) => learner.gradient(i, model));
      lossSum += loss;
      const deviation = w.deviationSq();
      deviationSum += deviation;
      const payload = w.prepareUpload(gradient, mixSeed(seed, round, i, 1));
      const frame = encodeFrame({
        type: 'upload',
        term: TERM,
        round,
        sender: i,
        aux: deviation,
        meta: new Uint8Array(0),
        payload,
      });
      uploadBytes.push(frame.length);
      traffic.up += frame.length;
      fp32.up += fp32UploadFrameBytes(d);
      decoded.push(decodeUp.decodeUpload(decodeFrame(frame).payload));
    });
    // Each sub-aggregator compresses its group's mean again; the root weights them by size.
    const subFrames = subs.map((sub, g) =>
      encodeFrame({
        type: 'upload',
        term: TERM,
        round,
        sender: g,
        aux: 0,
        meta: encodeTags(sub.members),
        payload: sub.aggregate(
          sub.members.map((i) => decoded[i] as Float32Array),
          mixSeed(seed, round, g, 6),
        ),
      }),
    );
    for (const f of subFrames) traffic.up += f.length;
    const subVectors = subFrames.map((f, g) => {
      const v = root.decodeUpload(decodeFrame(f).payload);
      const scale = ((subs[g]?.members.length ?? 0) * subs.length) / config.workers;
      return scale === 1 ? v : v.map((x) => x * scale);
    });
    const broadcastPayload = root.aggregate(subVectors, mixSeed(seed, round, 0, 2));
    const fullMeta = encodeBroadcastMeta(tags);
    const broadcast = encodeFrame({
      type: 'broadcast',
      term: TERM,
      round,
      sender: 0,
      aux: 0,
      meta: fullMeta,
      payload: broadcastPayload,
    });
    const downBytes = workers.map(
      (_, i) => broadcast.length - fullMeta.length + sentCounted.metaFor(String(i), tags).length,
    );
    // The root sends each sub-aggregator one copy (the full counted list), which it forwards.
    traffic.down += broadcast.length * subs.length + downBytes.reduce((s, b) => s + b, 0);
    fp32.down += broadcastFrameBytes(fp32PayloadBytes(d), workers.length) * workers.length;
    const received = decodeFrame(broadcast).payload;
    for (const w of workers) w.applyBroadcast(received);
    const uploadSeconds = (config.computeMs * (workers[0]?.localSteps ?? 1)) / 1000;
    simSeconds +=
      uploadSeconds +
      treeRoundSeconds(links, groups, {
        up: (i) => uploadBytes[i] ?? 0,
        subUp: (g) => subFrames[g]?.length ?? 0,
        down: (i) => downBytes[i] ?? 0,
        rootDown: broadcast.length,
      });
    roundsSinceSync++;

    let sync: RoundRecord['sync'] = null;
    const isLast = round === config.rounds - 1;
    if (options.algorithm === 'liec' && options.sync !== undefined) {
      sync = syncDue(options.sync, {
        roundsSinceSync,
        meanDeviationSq: deviationSum / workers.length,
        commonNormSq: normSq((workers[0] as WorkerAlgorithm).commonModel()),
      });
      if (sync === null && isLast) sync = 'period';
      if (sync !== null) {
        simSeconds += runSync(round, isLast);
        roundsSinceSync = 0;
      }
    }
    const evaluateNow = isLast || (round + 1) % config.evalEvery === 0;
    const evaluation = evaluateNow ? learner.evaluate((workers[0] as WorkerAlgorithm).model) : null;
    const record: RoundRecord = {
      round,
      loss: lossSum / workers.length,
      testAccuracy: evaluation?.accuracy ?? null,
      testLoss: evaluation?.loss ?? null,
      consensusAccuracy: null,
      consensusLoss: null,
      compensation: options.algorithm === 'liec' ? (workers[0] as WorkerAlgorithm).compensation : null,
      bytesUp: traffic.up,
      bytesDown: traffic.down,
      roundBytesUp: traffic.up - upBefore,
      roundBytesDown: traffic.down - downBefore,
      fp32BytesUp: fp32.up,
      fp32BytesDown: fp32.down,
      participants: workers.length,
      counted: workers.length,
      late: 0,
      drift: null,
      upRatio: null,
      workerRatios: null,
      uploadSeconds,
      sync,
      simSeconds,
    };
    history.push(record);
    hooks.onRound?.(record);
    if (hooks.stopAfter?.(record) === true) break;
  }
  const last = history.at(-1);
  const finalModel = Float32Array.from((workers[0] as WorkerAlgorithm).model);
  return {
    final: { testAccuracy: last?.testAccuracy ?? 0, testLoss: last?.testLoss ?? 0 },
    identicalModels: workers.every((w) => sameBits(w.model, finalModel)),
    finalModel,
    bytes: traffic,
    fp32Bytes: fp32,
    syncs,
    lateUploads: 0,
    simSeconds,
    history,
  };
}
