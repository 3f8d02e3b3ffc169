import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveAlgorithmOptions, type AlgorithmSpec } from '../../shared/algorithm/index.ts';
import { runSimulation, type SimulationConfig } from '../../client/sim/simulator.ts';
import type { Learner } from '../../client/training/learner.ts';
import { alternatingLinks } from '../../client/sim/links.ts';
import { fp32UploadFrameBytes } from '../../shared/protocol/frames.ts';
import { quadraticProblem } from '../algorithm/fixtures.ts';
import { parseSimulateArgs } from '../../client/sim/options.ts';
import { simulationReport } from '../../client/sim/cli.ts';

const DIM = 400;

/** The quadratic fixture as a Learner: "accuracy" is 1 / (1 + loss), only used for trends. */
function quadraticLearner(workers: number): Learner {
  const problem = quadraticProblem(DIM, workers, 11);
  const rounds = new Map<number, number>();
  return {
    numParams: DIM,
    initialWeights: () => problem.initialModel(),
    gradient(worker, weights) {
      const round = rounds.get(worker) ?? 0;
      rounds.set(worker, round + 1);
      const gradient = problem.gradient(worker, weights, round);
      return { gradient, loss: gradient.reduce((s, v) => s + v * v, 0) };
    },
    evaluate(weights) {
      let loss = 0;
      for (let i = 0; i < workers; i++)
        loss += problem.gradient(i, weights, 0).reduce((s, v) => s + v * v, 0);
      loss /= workers;
      return { accuracy: 1 / (1 + loss), loss };
    },
  };
}

function config(spec: Partial<AlgorithmSpec>, extra: Partial<SimulationConfig> = {}): SimulationConfig {
  return {
    options: resolveAlgorithmOptions({
      algorithm: 'liec',
      up: 'topk:0.05',
      down: 'topk:0.05',
      learningRate: 0.05,
      // The paper's LIEC, whose drift these tests follow; 'auto' is tested in compensation.test.ts.
      compensation: 1,
      ...spec,
    }),
    workers: 4,
    rounds: 60,
    seed: 1,
    participation: 1,
    stragglerProbability: 0,
    stragglerSlowdown: 10,
    computeMs: 10,
    roundDeadlineMs: Infinity,
    quorum: 0,
    workerLink: () => ({ mbps: 10, latencyMs: 5 }),
    aggregatorLink: { mbps: 100, latencyMs: 0 },
    evalEvery: 10,
    ...extra,
  };
}

test('simulated liec counts exact frame bytes and beats fp32 traffic by the compression ratio', () => {
  const result = runSimulation(config({ syncPeriod: 0 }), quadraticLearner(4));
  const first = result.history[0];
  assert.ok(first !== undefined);
  // fp32 reference: 4 workers each upload one fp32 frame per round.
  assert.equal(first.fp32BytesUp, 4 * fp32UploadFrameBytes(DIM));
  assert.ok(result.bytes.up < result.fp32Bytes.up / 5, `${result.bytes.up} vs ${result.fp32Bytes.up}`);
  // Only the final sync was run, and it is counted in the bytes.
  assert.equal(result.syncs, 1);
  assert.ok(result.bytes.syncUp > 0 && result.bytes.syncUp < result.bytes.up);
  const evaluated = result.history.filter((r) => r.testAccuracy !== null);
  assert.equal(evaluated.length, 6);
  assert.ok((evaluated.at(-1)?.testLoss ?? Infinity) < (evaluated[0]?.testLoss ?? 0));
});

test('periodic syncs run every H rounds and reset the drift', () => {
  const result = runSimulation(config({ syncPeriod: 10 }, { evalEvery: 5 }), quadraticLearner(4));
  assert.equal(result.syncs, 6);
  assert.deepEqual(
    result.history.filter((r) => r.sync !== null).map((r) => r.round),
    [9, 19, 29, 39, 49, 59],
  );
  // Drift is measured before a sync: 5 rounds after a sync it is below what 10 rounds build up.
  const driftAt = (round: number) => result.history[round]?.drift ?? NaN;
  for (const syncRound of [19, 29, 39, 49, 59]) {
    assert.ok(driftAt(syncRound) > 0, `drift builds up before the sync at ${syncRound}`);
    assert.ok(driftAt(syncRound - 5) < driftAt(syncRound), `sync at ${syncRound - 10} reset the drift`);
  }
});

test('stragglers past the deadline are folded as late uploads, and quorum bounds how few are counted', () => {
  const result = runSimulation(
    config({}, { stragglerProbability: 0.5, stragglerSlowdown: 100, roundDeadlineMs: 200, quorum: 0.25 }),
    quadraticLearner(4),
  );
  assert.ok(result.lateUploads > 0);
  for (const r of result.history) {
    assert.equal(r.counted + r.late, r.participants);
    assert.ok(r.counted >= 1);
  }
});

test('partial participation: only participants upload, everyone receives', () => {
  const result = runSimulation(config({}, { participation: 0.5, rounds: 40 }), quadraticLearner(4));
  const participants = result.history.reduce((s, r) => s + r.participants, 0);
  assert.ok(participants > 40 && participants < 120, `participants ${participants}`);
  assert.equal(result.fp32Bytes.up, participants * fp32UploadFrameBytes(DIM));
});

for (const linkModel of ['lockstep', 'fairShare'] as const) {
  test(`topk:auto on mixed links (${linkModel}): fast workers grow into the slack, slow ones stay at the floor, rounds no longer than at minRatio`, () => {
    const links = alternatingLinks([0.5, 10], [0]);
    const extra = { roundDeadlineMs: 50, computeMs: 1, workerLink: links, rounds: 30, linkModel };
    const auto = runSimulation(config({ up: 'topk:auto:0.01:1', syncPeriod: 0 }, extra), quadraticLearner(4));
    const floor = runSimulation(config({ up: 'topk:0.01', syncPeriod: 0 }, extra), quadraticLearner(4));
    assert.equal(auto.lateUploads, 0);
    assert.deepEqual(auto.history[0]?.workerRatios, [0.01, 0.01, 0.01, 0.01], 'everyone starts at minRatio');
    const last = auto.history.at(-1)?.workerRatios;
    assert.ok(last !== null && last !== undefined);
    const [slowA, fastA, slowB, fastB] = last.map((r) => r ?? 0);
    assert.deepEqual([slowA, slowB], [0.01, 0.01], 'the slow links set the round at minRatio');
    assert.ok(Math.min(fastA ?? 0, fastB ?? 0) >= 0.1, `fast links send far more: ${JSON.stringify(last)}`);
    // No longer than a round where everyone sends minRatio, but for the slack the broadcast
    // carries (2 bytes a worker + 1), which a slow link takes before it starts ('fairShare').
    const slackBytesSeconds = linkModel === 'fairShare' ? ((2 * 4 + 1) * 8) / 0.5e6 : 0;
    const upload = (h: typeof auto.history) => h.slice(1).map((r) => r.uploadSeconds);
    const longest = Math.max(...upload(auto.history));
    const atFloor = Math.max(...upload(floor.history));
    assert.ok(longest <= atFloor + slackBytesSeconds + 1e-9, `${longest} s vs ${atFloor} s at minRatio`);
    assert.ok(floor.history.every((r) => r.workerRatios === null && r.upRatio === null));
  });
}

test("topk:auto: each worker's copy of the broadcast carries its own slack (3 bytes, whatever the peers)", () => {
  const links = alternatingLinks([0.5, 10], [0]);
  const extra = { roundDeadlineMs: 50, computeMs: 1, workerLink: links, rounds: 3 };
  const auto = runSimulation(
    config({ up: 'topk:auto:0.05:0.05', syncPeriod: 0 }, extra),
    quadraticLearner(4),
  );
  const fixed = runSimulation(config({ up: 'topk:0.05', syncPeriod: 0 }, extra), quadraticLearner(4));
  // Same ratio either way, every worker counted every round. Round 0: the 4-tag list in full
  // to each of 4, auto adding the worker's slack and a version byte (3 bytes). Rounds 1 and 2:
  // fixed sends the 1-byte "same list" meta, auto "same list" with the slack (3 bytes).
  assert.ok(auto.history.every((r) => r.counted === 4));
  assert.equal(auto.bytes.down - fixed.bytes.down, 4 * 3 + 2 * 4 * (3 - 1));
  assert.equal(auto.bytes.up, fixed.bytes.up);
});

test('an upload that misses its deadline keeps the uplink busy: the next one queues behind it', () => {
  // One worker on a link where each upload takes about 3 deadlines: uploads pile up.
  const result = runSimulation(
    config(
      { up: 'identity', down: 'identity', algorithm: 'sgd' },
      {
        workers: 2,
        roundDeadlineMs: 50,
        quorum: 0.5,
        workerLink: alternatingLinks([0.2, 1000], [0]),
        rounds: 10,
      },
    ),
    quadraticLearner(2),
  );
  // 1,637-byte frames at 0.2 Mbit/s: 65 ms each, so the slow worker is late every round.
  assert.equal(result.lateUploads, 10);
  assert.ok(result.history.every((r) => r.counted === 1));
});

test("uploads queue on the aggregator's own link: those behind the deadline there are late", () => {
  // Four 1,637-byte identity uploads through a 0.2 Mbit/s aggregator link: 65 ms each after
  // 10 ms of compute, so only the first two are in by 150 ms.
  const result = runSimulation(
    config(
      { algorithm: 'sgd', up: 'identity', down: 'identity' },
      {
        roundDeadlineMs: 150,
        workerLink: () => ({ mbps: Infinity, latencyMs: 0 }),
        aggregatorLink: { mbps: 0.2, latencyMs: 0 },
        rounds: 5,
      },
    ),
    quadraticLearner(4),
  );
  assert.deepEqual(
    result.history.map((r) => [r.counted, r.late]),
    Array.from({ length: 5 }, () => [2, 2]),
  );
});

test("testAccuracy is worker 0's own model: LIEC's differs from the consensus between syncs, and after the final sync every worker holds the same bits; DoubleSqueeze's never differs", () => {
  const run = (spec: Partial<AlgorithmSpec>) =>
    runSimulation(config(spec, { consensus: true, rounds: 30 }), quadraticLearner(4));
  const evaluated = (result: ReturnType<typeof run>) => result.history.filter((r) => r.testLoss !== null);
  const liec = run({ syncPeriod: 0, syncCodec: 'sign:256', compensation: 1 });
  const rows = evaluated(liec);
  assert.equal(rows.length, 3);
  for (const row of rows.slice(0, 2))
    assert.notEqual(row.testLoss, row.consensusLoss, `round ${row.round}: own residuals set x_0 apart`);
  // A lossy final sync still leaves every worker on one model (each drops what it kept).
  assert.equal(liec.identicalModels, true);
  const ds = evaluated(run({ algorithm: 'doublesqueeze' }));
  assert.deepEqual(
    ds.map((r) => r.testLoss),
    ds.map((r) => r.consensusLoss),
  );
});

test('a rolling sync (1/H of the model a round, no sync phase) keeps the drift bounded, its bytes counted as sync traffic', () => {
  const run = (spec: Partial<AlgorithmSpec>) =>
    runSimulation(config(spec, { rounds: 40, evalEvery: 5 }), quadraticLearner(4));
  const rolling = run({ syncMode: 'rolling', syncPeriod: 5, syncCodec: 'identity' });
  const unsynced = run({ syncPeriod: 0, syncCodec: 'identity' });
  // Only the last round is a sync phase (one model at the end), as without periodic syncs.
  assert.deepEqual(
    rolling.history.filter((r) => r.sync !== null).map((r) => r.round),
    [39],
  );
  assert.equal(rolling.syncs, 1);
  // Every round from 1 to 38 moved a slice each way (38 slices of 1/5 model: ~7.6 final syncs).
  assert.ok(
    rolling.bytes.syncUp > 5 * unsynced.bytes.syncUp,
    `${rolling.bytes.syncUp} vs ${unsynced.bytes.syncUp}`,
  );
  assert.ok(rolling.bytes.syncDown > 5 * unsynced.bytes.syncDown);
  // Drift (measured every 5 rounds) grows without syncs and stays bounded with them.
  const driftAt = (result: typeof rolling, round: number) => result.history[round]?.drift ?? NaN;
  assert.ok(driftAt(unsynced, 34) > driftAt(unsynced, 9) * 2, 'without syncs drift builds up');
  assert.ok(
    driftAt(rolling, 34) < driftAt(rolling, 9) && driftAt(rolling, 34) < driftAt(unsynced, 34) / 10,
    `rolling ${driftAt(rolling, 34)} vs unsynced ${driftAt(unsynced, 34)}`,
  );
});

test('sliceDelta afterGradient: a block delta lands after the next gradient, as on real peers; the drift stays bounded and the final sync still ends on one model', () => {
  const run = (sliceDelta: SimulationConfig['sliceDelta']) =>
    runSimulation(
      config(
        { syncMode: 'rolling', syncPeriod: 5, syncCodec: 'identity' },
        { rounds: 40, evalEvery: 5, sliceDelta },
      ),
      quadraticLearner(4),
    );
  const before = run('beforeGradient');
  const after = run('afterGradient');
  const unsynced = runSimulation(
    config({ syncPeriod: 0, syncCodec: 'identity' }, { rounds: 40, evalEvery: 5 }),
    quadraticLearner(4),
  );
  const driftAt = (result: typeof before, round: number) => result.history[round]?.drift ?? NaN;
  // The same slices, one gradient later: a different trajectory, still synced.
  assert.notEqual(driftAt(after, 14), driftAt(before, 14));
  assert.ok(
    driftAt(after, 34) < driftAt(unsynced, 34) / 10,
    `${driftAt(after, 34)} vs ${driftAt(unsynced, 34)}`,
  );
  assert.ok(after.bytes.syncUp > 5 * unsynced.bytes.syncUp);
  assert.equal(after.identicalModels, true, 'the final sync leaves every worker on one model');
});

test('the report counts bits per parameter per participant and round, syncs included: top-k with sign values under 0.1 bit at 1%', () => {
  const cli = parseSimulateArgs(['--workers', '4', '--rounds', '20', '--quiet']);
  assert.notEqual(cli, 'help');
  if (cli === 'help') return;
  const run = (spec: Partial<AlgorithmSpec>) => {
    const config = { ...cli.config, options: config4(spec), workers: 4, rounds: 20 };
    return simulationReport({ ...cli, config }, runSimulation(config, bigLearner(4)), 'test', 0);
  };
  const config4 = (spec: Partial<AlgorithmSpec>) =>
    resolveAlgorithmOptions({
      algorithm: 'doublesqueeze',
      up: 'topk:0.01',
      down: 'topk:0.01',
      learningRate: 0.05,
      ...spec,
    });
  const fp16 = run({}).bitsPerParam;
  const sign = run({ up: 'topk:0.01:sign', down: 'topk:0.01:sign' }).bitsPerParam;
  assert.ok(sign.up < 0.1 && sign.down < 0.1, `sign values: ${JSON.stringify(sign)}`);
  assert.ok(fp16.up > 2 * sign.up, `fp16 values ${fp16.up} against sign ${sign.up}`);
  // LIEC's syncs are counted: more bits than the same codec without them.
  const liec = run({
    algorithm: 'liec',
    up: 'topk:0.01:sign',
    down: 'topk:0.01:sign',
    syncPeriod: 5,
  }).bitsPerParam;
  assert.ok(liec.up > sign.up && liec.down > sign.down, `liec ${JSON.stringify(liec)}`);
});

/** A quadratic learner the size of the MLP (101,770 parameters): frame headers weigh as they do there. */
function bigLearner(workers: number): Learner {
  const problem = quadraticProblem(101_770, workers, 5);
  return {
    numParams: 101_770,
    initialWeights: () => problem.initialModel(),
    gradient: (worker, weights) => ({ gradient: problem.gradient(worker, weights, 0), loss: 0 }),
    evaluate: () => ({ accuracy: 0, loss: 0 }),
  };
}
