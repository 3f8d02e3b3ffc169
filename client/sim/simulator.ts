/**
 * The simulator: N virtual workers and one aggregator in one process, running the very
 * same algorithm objects as the real peers, over an in-memory network that encodes every
 * frame for real and counts its bytes. Time is simulated from link models and a modeled
 * compute time, so thin links and stragglers cost what they would cost.
 *
 * A worker's uplink carries one upload at a time: an upload that missed its deadline still
 * occupies the link, and the worker's next upload queues behind it. Uploads then cross the
 * aggregator's own link one after the other (in the order they left their workers), so an
 * upload stuck behind others there can miss the deadline too. A late upload is folded into
 * the aggregator's error at the first round close after it arrives (as the real aggregator
 * does). With `topk:auto`, the aggregator puts each counted upload's slack in the broadcast
 * (shared/algorithm/upload-slack.ts, arrivals measured from the round's start) and each
 * worker picks its next ratio from it (nextTopKRatio) and from the rate its last uploads (a
 * ThroughputMeter, as on real peers) achieved end to end, bytes over the time from their start
 * to their arrival at the aggregator (what a congestion-controlled transport would let it
 * measure, queueing on the aggregator's link included); it starts at the smallest ratio.
 * A LIEC rolling sync (syncMode 'rolling') moves each round's slices with that round's upload
 * and broadcast (their bytes on the same links): an upper bound on what they cost real peers,
 * which send them while the links would be idle. Where its block delta lands relative to the
 * next gradient: config.sliceDelta.
 *
 * @example
 * const result = await runSimulation(config, learner, { onRound: (r) => console.log(r.round) });
 */
import {
  createAggregator,
  createWorker,
  rollingPeriod,
  sliceDue,
  syncBlock,
  syncDue,
  takeLocalSteps,
  type AlgorithmOptions,
  type WorkerAlgorithm,
} from '../../shared/algorithm/index.ts';
import { normSq } from '../../shared/algorithm/vector.ts';
import type { StatePrecision } from '../../shared/algorithm/state-vector.ts';
import { createWorkerGroup } from '../../shared/algorithm/worker.ts';
import { uploadSlack } from '../../shared/algorithm/upload-slack.ts';
import { decodeBroadcastMeta, encodeBroadcastMeta } from '../../shared/protocol/broadcast-meta.ts';
import {
  decodeFrame,
  encodeFrame,
  encodeTags,
  fp32PayloadBytes,
  fp32UploadFrameBytes,
} from '../../shared/protocol/frames.ts';
import { createRng, mixSeed } from '../../shared/random.ts';
import { SentCountedLists } from '../../shared/protocol/counted-lists.ts';
import { AdaptiveUploads } from './adaptive-uploads.ts';
import { fairShareArrivals } from './fair-share.ts';
import { aggregateFrames, decodedOnAccess } from './upload-mean.ts';
import { StandIns } from '../../shared/algorithm/stand-ins.ts';
import { consensusModel, driftOf, sameBits } from './model-checks.ts';
import { serializationSeconds, sharedTransferSeconds, type LinkSpec } from './links.ts';
import { broadcastFrameBytes, emptyTraffic, ratioRange, type Traffic } from './traffic.ts';
import type { Learner } from '../training/learner.ts';

export interface SimulationConfig {
  options: AlgorithmOptions;
  workers: number;
  rounds: number;
  seed: number;
  /** Probability that a worker takes part in a given round. @default 1 */
  participation: number;
  /** Scripted absences: worker `worker` takes no part in rounds [from, to). @default none */
  absences?: readonly Absence[];
  /**
   * Rounds an absent worker's average upload stands in for it in the mean (stand-ins.ts); 0 =
   * none. Mean aggregation only. @default 0
   */
  standInRounds?: number;
  /** Probability that a participant straggles in a given round. @default 0 */
  stragglerProbability: number;
  /** How many times slower a straggler computes. @default 10 */
  stragglerSlowdown: number;
  /** Modeled compute time of one local step, in ms (simulated time). @default 10 */
  computeMs: number;
  /** Simulated ms after the round starts at which the aggregator closes it. @default Infinity */
  roundDeadlineMs: number;
  /** Fraction of the round's participants that must be counted before it closes. @default 0 */
  quorum: number;
  /** Link of each worker (index -> link). */
  workerLink: (worker: number) => LinkSpec;
  /** The aggregator's own link, shared by all its transfers. */
  aggregatorLink: LinkSpec;
  /** Test accuracy every this many rounds (and at the end). @default 10 */
  evalEvery: number;
  /**
   * How time runs on the links. 'lockstep': everyone starts a round together once the last
   * worker has the broadcast (the deadline counts from there), uploads cross the aggregator's
   * link one after the other in the order they left their workers. 'fairShare': as real
   * peers do, the aggregator opens the next round (and its deadline) as it sends the
   * broadcast and each worker computes as soon as its own copy is in, so a worker on a fast
   * link starts earlier; transfers through the aggregator's link share it max-min fairly
   * (fair-share.ts), as congestion-controlled flows roughly do. @default 'lockstep'
   */
  linkModel?: 'lockstep' | 'fairShare';
  /**
   * Also measure the consensus model each evaluated round (`consensusAccuracy`): for LIEC the
   * workers' mean minus eta e, a diagnostic that no peer holds. `testAccuracy` is always that
   * of worker 0's own model, what a real session's aggregator evaluates, and at the end the one
   * model every worker holds after the final sync. @default false
   */
  consensus?: boolean;
  /**
   * LIEC rolling sync: when a round's block delta lands on each peer. 'beforeGradient': at the
   * end of its round, before the next gradient (an ideal protocol). 'afterGradient': as on
   * real peers, where the delta of round t arrives while a peer computes its round t + 1
   * gradient: applied after that gradient, before the round t + 1 slice is cut; the own model
   * evaluated at round t does not have it yet. @default 'beforeGradient'
   */
  sliceDelta?: 'beforeGradient' | 'afterGradient';
  /** How each virtual worker stores its memory and LIEC offset (worker.ts's WorkerGroup). @default 'f32' */
  statePrecision?: StatePrecision;
}

export interface Absence {
  worker: number;
  from: number;
  to: number;
}

export interface RoundRecord {
  round: number;
  /** Mean training loss of this round's participants (null if none). */
  loss: number | null;
  /** Of worker 0's own model (a model a peer holds). */
  testAccuracy: number | null;
  testLoss: number | null;
  /** With config.consensus: of the workers' mean minus eta e (no peer holds it). */
  consensusAccuracy: number | null;
  consensusLoss: number | null;
  /** LIEC: worker 0's compensation strength alpha after this round (null for the others). */
  compensation: number | null;
  /** Cumulative wire bytes, syncs included. */
  bytesUp: number;
  bytesDown: number;
  /** This round's wire bytes, syncs included. */
  roundBytesUp: number;
  roundBytesDown: number;
  /** Cumulative bytes uncompressed SGD would have sent for the same rounds and participants. */
  fp32BytesUp: number;
  fp32BytesDown: number;
  participants: number;
  counted: number;
  late: number;
  /** Mean squared distance of worker models from their average (at eval rounds, before any sync). */
  drift: number | null;
  /** topk:auto: the ratios the participants picked this round (null for fixed codecs). */
  upRatio: { min: number; mean: number; max: number } | null;
  /** topk:auto: the ratio each worker picked this round (null: it sat the round out; null for fixed codecs). */
  workerRatios: (number | null)[] | null;
  /** Simulated seconds from the round's start to its close (the upload phase). */
  uploadSeconds: number;
  sync: 'period' | 'drift' | null;
  /** Simulated seconds since the start, at the end of this round. */
  simSeconds: number;
}

export interface SimulationResult {
  final: { testAccuracy: number; testLoss: number };
  /** Every worker's final model, bit for bit the same (what the final sync is for). */
  identicalModels: boolean;
  /** Worker 0's final flat weights (every worker's, when identicalModels). */
  finalModel: Float32Array;
  bytes: Traffic;
  fp32Bytes: { up: number; down: number };
  syncs: number;
  lateUploads: number;
  simSeconds: number;
  history: RoundRecord[];
}

export interface SimulationHooks {
  onRound?: (record: RoundRecord) => void;
  /** Ends the run after this round when it returns true (e.g. a target accuracy reached). */
  stopAfter?: (record: RoundRecord) => boolean;
}

const TERM = 1;

export function runSimulation(
  config: SimulationConfig,
  learner: Learner,
  hooks: SimulationHooks = {},
): SimulationResult {
  const { options, seed } = config;
  const d = learner.numParams;
  const init = learner.initialWeights();
  // One x_common for all the virtual workers (worker.ts's WorkerGroup): their memory.
  const group = createWorkerGroup(options, init, { statePrecision: config.statePrecision ?? 'f32' });
  const workers = Array.from({ length: config.workers }, () => createWorker(options, init, group));
  const aggregator = createAggregator(options, d);
  const rng = createRng(mixSeed(seed, 0x5157));
  const traffic = emptyTraffic();
  const fp32 = { up: 0, down: 0 };
  const history: RoundRecord[] = [];
  let simSeconds = 0;
  let roundsSinceSync = 0;
  let syncs = 0;
  let lateUploads = 0;
  const ownStart = config.linkModel === 'fairShare';
  /** LIEC rolling sync: H, or null with full syncs (and for the other algorithms). */
  const rolling = rollingPeriod(options);
  /** Absolute simulated time at which each worker has the model of the round ('fairShare'). */
  const readyAt = new Float64Array(config.workers);
  /** Absolute simulated time at which the aggregator opens the next round. */
  let openAt = 0;
  /** Absolute simulated time at which each worker's uplink is free again. */
  const uplinkFreeAt = new Float64Array(config.workers);
  /** Each worker's measured uplink and, with topk:auto, its next ratio. */
  const adaptive = new AdaptiveUploads(d, options.adaptiveUp, config.workers, config.roundDeadlineMs / 1000);
  /** Late uploads on their way: folded into e at the first round close after they arrive. */
  let inFlight: { arrival: number; frame: Uint8Array; countedInRound: number }[] = [];

  /** A full sync; `final` (the last round's) leaves every worker on one model. */
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
    const decodeDelta = (k: number): Float32Array =>
      aggregator.decodeSync(decodeFrame(frames[k] as Uint8Array).payload);
    // Robust statistics read every vector per coordinate (a decode per value if on access).
    const deltas =
      (options.aggregation ?? 'mean') === 'mean'
        ? decodedOnAccess(frames.length, decodeDelta)
        : frames.map((_, k) => decodeDelta(k));
    const down = encodeFrame({
      type: 'syncBroadcast',
      term: TERM,
      round,
      sender: 0,
      aux: 0,
      meta: encodeTags(workers.map((_, i) => i)),
      payload: aggregator.aggregateSync(deltas, mixSeed(seed, round, 0, 4)),
    });
    const payload = decodeFrame(down).payload;
    for (const w of workers) {
      if (final) w.applyFinalSync(payload);
      else w.applySync(payload, true);
    }
    const up = frames.reduce((s, f) => s + f.length, 0);
    traffic.syncUp += up;
    traffic.syncDown += down.length * workers.length;
    traffic.up += up;
    traffic.down += down.length * workers.length;
    syncs++;
    const upSeconds = sharedTransferSeconds(
      config.aggregatorLink,
      frames.map((f, i) => ({ link: config.workerLink(i), bytes: f.length })),
    );
    const downTo = workers.map((_, i) => ({ link: config.workerLink(i), bytes: down.length }));
    if (!ownStart) return upSeconds + sharedTransferSeconds(config.aggregatorLink, downTo);
    // It starts once every worker has the broadcast that asked for it; the next round opens
    // as the sync broadcast leaves, and each worker starts it when its copy is in.
    openAt = simSeconds + upSeconds;
    fairShareArrivals(config.aggregatorLink, downTo).forEach((t, i) => (readyAt[i] = openAt + t));
    return Math.max(...readyAt) - simSeconds;
  };

  /** What each worker last got in full as the counted list (see SAME_COUNTED_META). */
  const sentCounted = new SentCountedLists();
  const deltaAfterGradient = config.sliceDelta === 'afterGradient';
  const absences = config.absences ?? [];
  // Stand-ins for absent workers (stand-ins.ts); the robust statistics take none.
  const standIns =
    (config.standInRounds ?? 0) > 0 && (options.aggregation ?? 'mean') === 'mean'
      ? new StandIns(d, { maxAgeRounds: config.standInRounds ?? 0 })
      : null;
  /** sliceDelta 'afterGradient': the last block delta, applied after the next gradients. */
  let applyPendingDelta: (() => void) | null = null;
  for (let round = 0; round < config.rounds; round++) {
    const upBefore = traffic.up;
    const downBefore = traffic.down;
    const participants = workers
      .map((_, i) => i)
      .filter(() => rng.next() < config.participation)
      .filter((i) => !absences.some((a) => a.worker === i && round >= a.from && round < a.to));
    const arrivals: {
      worker: number;
      frame: Uint8Array;
      /** The upload, and the round's slice with it (rolling sync). */
      wireBytes: number;
      at: number;
      start: number;
      left: number;
    }[] = [];
    const ratios: number[] = [];
    const workerRatios: (number | null)[] = workers.map(() => null);
    const roundStart = ownStart ? openAt : simSeconds;
    let lossSum = 0;
    let deviationSum = 0;
    // Rolling sync: each participant's slice of x_i - x_common on this round's block, cut
    // after it applied the last broadcast and sent with its upload; with sliceDelta
    // 'afterGradient' cut at the round's close, as real workers do, its bytes not charged
    // (they cross links that are idle then).
    const block = rolling !== null && sliceDue(round, config.rounds) ? syncBlock(round, rolling, d) : null;
    const sliceFrames = new Map<number, Uint8Array>();
    const cutSlices = (): void => {
      if (block === null) return;
      for (const i of participants) {
        const payload = (workers[i] as WorkerAlgorithm).prepareSync(mixSeed(seed, round, i, 7), block);
        const frame = encodeFrame({
          type: 'sliceUpload',
          term: TERM,
          round,
          sender: i,
          aux: 0,
          meta: new Uint8Array(0),
          payload,
        });
        sliceFrames.set(i, frame);
        traffic.up += frame.length;
        traffic.syncUp += frame.length;
      }
    };
    if (!deltaAfterGradient) cutSlices();
    for (const i of participants) {
      const w = workers[i] as WorkerAlgorithm;
      const { gradient, loss } = takeLocalSteps(w, (model) => learner.gradient(i, model));
      lossSum += loss;
      const deviation = w.deviationSq();
      deviationSum += deviation;
      const up = adaptive.compressorFor(i);
      if (up !== undefined) {
        ratios.push(Number(up.spec.split(':')[1]));
        workerRatios[i] = adaptive.ratioOf(i);
      }
      const payload = w.prepareUpload(gradient, mixSeed(seed, round, i, 1), up);
      const frame = encodeFrame({
        type: 'upload',
        term: TERM,
        round,
        sender: i,
        aux: deviation,
        meta: new Uint8Array(0),
        payload,
      });
      traffic.up += frame.length;
      fp32.up += fp32UploadFrameBytes(d);
      const slowdown = rng.next() < config.stragglerProbability ? config.stragglerSlowdown : 1;
      const link = config.workerLink(i);
      const wireBytes = frame.length + (sliceFrames.get(i)?.length ?? 0);
      const busy = serializationSeconds(link, wireBytes);
      const ready = ownStart ? (readyAt[i] ?? roundStart) : roundStart;
      const compute = (config.computeMs * w.localSteps * slowdown) / 1000;
      const start = Math.max(ready + compute, uplinkFreeAt[i] ?? 0);
      uplinkFreeAt[i] = start + busy;
      arrivals.push({ worker: i, frame, wireBytes, at: 0, start, left: start + busy });
    }
    if (deltaAfterGradient) {
      // The previous round's block delta came in while this round's gradients were computed.
      applyPendingDelta?.();
      applyPendingDelta = null;
      cutSlices();
    }
    if (ownStart) {
      // Through the aggregator's link, sharing it with the uploads in flight at the same time.
      // (Per round: a late upload's share of the link is not carried into the next round.)
      const through = fairShareArrivals(
        config.aggregatorLink,
        arrivals.map((a) => ({
          link: { ...config.workerLink(a.worker), latencyMs: 0 },
          bytes: a.wireBytes,
          start: a.start,
        })),
      );
      arrivals.forEach((a, n) => {
        const t = through[n] ?? a.left;
        uplinkFreeAt[a.worker] = t;
        a.at = t + config.workerLink(a.worker).latencyMs / 1000 - roundStart;
        adaptive.recordTransfer(a.worker, a.wireBytes, (t - a.start) * 1000);
      });
    }
    // Through the aggregator's link, in the order the uploads left their workers: an upload is
    // in once its own link delivered it and the shared link carried it after the ones before.
    // (Per round: a late upload's share of the link is not carried into the next round.)
    arrivals.sort((a, b) => a.left - b.left);
    let sharedFreeAt = Number.NEGATIVE_INFINITY;
    for (const a of ownStart ? [] : arrivals) {
      const shared = serializationSeconds(config.aggregatorLink, a.wireBytes);
      const through = Math.max(a.left, Math.max(sharedFreeAt, a.start) + shared);
      sharedFreeAt = through;
      a.at = through + config.workerLink(a.worker).latencyMs / 1000 - roundStart;
      adaptive.recordTransfer(a.worker, a.wireBytes, (through - a.start) * 1000);
    }
    arrivals.sort((a, b) => a.at - b.at);
    const deadline = config.roundDeadlineMs / 1000;
    const quorumCount = arrivals.length === 0 ? 0 : Math.max(1, Math.ceil(config.quorum * arrivals.length));
    let countedCount = arrivals.filter((a) => a.at <= deadline).length;
    countedCount = Math.max(countedCount, Math.min(quorumCount, arrivals.length));
    const counted = arrivals.slice(0, countedCount);
    const late = arrivals.slice(countedCount);
    const lastCounted = counted.at(-1)?.at ?? 0;
    const closeSeconds =
      late.length > 0 || counted.length === 0
        ? Math.max(lastCounted, Number.isFinite(deadline) ? deadline : 0)
        : lastCounted;
    const uploadSeconds = closeSeconds;

    // Late uploads of earlier rounds that arrived by now: folded into e, never lost.
    const closeAt = roundStart + uploadSeconds;
    const arrived = inFlight.filter((u) => u.arrival <= closeAt);
    inFlight = inFlight.filter((u) => u.arrival > closeAt);
    for (const u of arrived)
      aggregator.foldLate(aggregator.decodeUpload(decodeFrame(u.frame).payload), u.countedInRound);
    const frames = counted.map((a) => a.frame);
    // Late is not absent (their uploads are folded when they arrive): no stand-in for them.
    const notAbsent = new Set([...counted, ...late].map((a) => String(a.worker)));
    const broadcastPayload = aggregateFrames(
      aggregator,
      options.aggregation,
      frames,
      mixSeed(seed, round, 0, 2),
      standIns?.missing(notAbsent, round),
    );
    // As the real aggregator, after the broadcast: the counted uploads into their averages.
    for (const a of counted)
      standIns?.record(String(a.worker), aggregator.decodeUpload(decodeFrame(a.frame).payload), round);
    for (const a of late)
      inFlight.push({
        arrival: roundStart + a.at,
        frame: a.frame,
        countedInRound: Math.max(1, counted.length),
      });
    lateUploads += late.length;
    // topk:auto: each counted upload's slack, measured from the round's start like the real
    // aggregator measures from the round's opening.
    const slack = options.adaptiveUp === undefined ? undefined : uploadSlack(counted.map((a) => a.at));
    const countedTags = counted.map((a) => a.worker);
    const slackByWorker = new Map(counted.map((a, k) => [a.worker, slack?.[k]]));
    const fullMeta = encodeBroadcastMeta(countedTags);
    const broadcast = encodeFrame({
      type: 'broadcast',
      term: TERM,
      round,
      sender: 0,
      aux: 0,
      meta: fullMeta,
      payload: broadcastPayload,
    });
    // Each worker gets its own copy: the counted list in full only when it changed since the
    // last one it got (else a 1-byte meta), plus its own slack in topk:auto sessions.
    const metas = workers.map((_, i) => sentCounted.metaFor(String(i), countedTags, slackByWorker.get(i)));
    const broadcastBytes = metas.map((meta) => broadcast.length - fullMeta.length + meta.length);
    // Rolling sync: the mean of the counted slices goes to every worker behind the broadcast.
    const countedSlices = block === null ? [] : countedTags.filter((i) => sliceFrames.has(i));
    const sliceDown =
      block === null || countedSlices.length === 0
        ? null
        : encodeFrame({
            type: 'sliceBroadcast',
            term: TERM,
            round,
            sender: 0,
            aux: 0,
            meta: encodeTags(countedSlices),
            payload: aggregator.aggregateSync(
              countedSlices.map((i) =>
                aggregator.decodeSync(decodeFrame(sliceFrames.get(i) as Uint8Array).payload, block),
              ),
              mixSeed(seed, round, 0, 8),
              block,
            ),
          });
    if (sliceDown !== null) {
      broadcastBytes.forEach((bytes, i) => (broadcastBytes[i] = bytes + sliceDown.length));
      traffic.syncDown += sliceDown.length * workers.length;
    }
    for (const bytes of broadcastBytes) traffic.down += bytes;
    fp32.down += broadcastFrameBytes(fp32PayloadBytes(d), counted.length) * workers.length;
    const receivedFrame = decodeFrame(broadcast);
    const received = receivedFrame.payload;
    for (const w of workers) w.applyBroadcast(received);
    if (sliceDown !== null && block !== null) {
      const slicePayload = decodeFrame(sliceDown).payload;
      // A worker whose slice was not counted keeps its deviation on the block (applySync).
      const apply = (): void =>
        workers.forEach((w, i) => w.applySync(slicePayload, countedSlices.includes(i), block));
      if (deltaAfterGradient) applyPendingDelta = apply;
      else apply();
    }
    // topk:auto: each counted worker reads its slack from its own copy of the broadcast.
    adaptive.afterBroadcast(
      counted.map((a) => {
        const own = metas[a.worker];
        return { worker: a.worker, slackSeconds: (own && decodeBroadcastMeta(own).slackSeconds) ?? 0 };
      }),
      late.map((a) => a.worker),
    );
    if (ownStart) {
      const delivered = fairShareArrivals(
        config.aggregatorLink,
        workers.map((_, i) => ({ link: config.workerLink(i), bytes: broadcastBytes[i] ?? 0 })),
      );
      delivered.forEach((t, i) => (readyAt[i] = closeAt + t));
      openAt = closeAt;
      simSeconds = Math.max(simSeconds, ...readyAt);
    } else {
      const downloadSeconds = sharedTransferSeconds(
        config.aggregatorLink,
        workers.map((_, i) => ({ link: config.workerLink(i), bytes: broadcastBytes[i] ?? 0 })),
      );
      simSeconds += uploadSeconds + downloadSeconds;
    }
    roundsSinceSync++;

    let sync: RoundRecord['sync'] = null;
    const isLast = round === config.rounds - 1;
    const evaluateNow = isLast || (round + 1) % config.evalEvery === 0;
    // Drift is measured before a sync would erase it, so it shows what H must cope with.
    const drift = evaluateNow ? (options.algorithm === 'liec' ? driftOf(workers, d) : 0) : null;
    if (options.algorithm === 'liec' && options.sync !== undefined) {
      const common = (workers[0] as WorkerAlgorithm).commonModel();
      sync =
        rolling !== null
          ? null
          : syncDue(options.sync, {
              roundsSinceSync,
              meanDeviationSq: participants.length > 0 ? deviationSum / participants.length : 0,
              commonNormSq: normSq(common),
            });
      // A final sync hands every peer the consensus model at the end of the run.
      if (sync === null && isLast) sync = 'period';
      if (sync !== null) {
        applyPendingDelta?.();
        applyPendingDelta = null;
        simSeconds += runSync(round, isLast);
        roundsSinceSync = 0;
      }
    }

    let testAccuracy: number | null = null;
    let testLoss: number | null = null;
    let consensusAccuracy: number | null = null;
    let consensusLoss: number | null = null;
    if (evaluateNow) {
      const evaluation = learner.evaluate((workers[0] as WorkerAlgorithm).model);
      testAccuracy = evaluation.accuracy;
      testLoss = evaluation.loss;
      if (config.consensus === true)
        ({ accuracy: consensusAccuracy, loss: consensusLoss } = learner.evaluate(
          consensusModel(workers, aggregator, options),
        ));
    }
    const record: RoundRecord = {
      round,
      loss: participants.length > 0 ? lossSum / participants.length : null,
      testAccuracy,
      testLoss,
      consensusAccuracy,
      consensusLoss,
      compensation: options.algorithm === 'liec' ? (workers[0] as WorkerAlgorithm).compensation : null,
      bytesUp: traffic.up,
      bytesDown: traffic.down,
      roundBytesUp: traffic.up - upBefore,
      roundBytesDown: traffic.down - downBefore,
      fp32BytesUp: fp32.up,
      fp32BytesDown: fp32.down,
      participants: participants.length,
      counted: counted.length,
      late: late.length,
      drift,
      sync,
      simSeconds,
      uploadSeconds,
      workerRatios: options.adaptiveUp === undefined ? null : workerRatios,
      upRatio: ratioRange(ratios),
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
    lateUploads,
    simSeconds,
    history,
  };
}
