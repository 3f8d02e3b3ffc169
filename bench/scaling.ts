/**
 * `npm run bench:scaling`: how rounds scale with the number of peers.
 *
 * Simulator (--sim-peers 8,32,128,512): every worker on a --mbps link each way and the
 * aggregator's own link (--aggregator-mbps, default the same) shared by all its transfers;
 * simulated time per round and time to 90% for each algorithm. The simulator computes every
 * gradient for real (8 to 40 ms each here, with the load), so above --few-above peers it runs only
 * --few-rounds rounds (or a size's --size-rounds, e.g. 512:5): time per round is measured, time to 90% is projected from the rounds
 * to 90% at the largest fully run size (marked `projected`).
 *
 * Real WebRTC (--real-peers 2,4,8,16): headless peers as separate processes on loopback,
 * LIEC top-k 1%, --real-rounds rounds: wall time per round and the aggregator's traffic per
 * round, per peer. With two cores, every peer's gradient competes for them: the JSON holds
 * the CPU bound (peers x median compute / cores) next to the measured round time.
 *
 * @example
 * npm run bench:scaling -- --out bench/results/scaling.json
 * npm run bench:scaling -- --few-above 32 --size-rounds 512:5 --out bench/results/scaling.json
 * npm run bench:scaling -- --skip-real --sim-peers 8,32
 * npm run bench:scaling -- --sim-from bench/results/scaling.json --out bench/results/scaling.json
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { simulationLearner, simulationReport } from '../client/sim/cli.ts';
import { createMnistLearner } from '../client/training/mnist-learner.ts';
import { parseSimulateArgs } from '../client/sim/options.ts';
import { runSimulation } from '../client/sim/simulator.ts';
import { createSignalingServer } from '../signaling/index.ts';
import { progressingRounds } from './links.ts';
import { runLiveSession } from './live-session.ts';
import {
  affineFit,
  amortizedPerRound,
  estimateScalingSeconds,
  median,
  originLineFit,
  parseSizeRounds,
  simRoundCap,
  type RoundCaps,
  type ScalingPlan,
} from './scaling-summary.ts';

const RESULTS = join(dirname(fileURLToPath(import.meta.url)), 'results', 'scaling.json');

const SIM_RUNS: [string, string, string][] = [
  ['sgd', 'identity', 'identity'],
  ['ef-sgd', 'topk:0.01', 'identity'],
  ['doublesqueeze', 'topk:0.01', 'topk:0.01'],
  ['liec', 'topk:0.01', 'topk:0.01'],
];

const simRowSchema = z.object({
  peers: z.number(),
  algorithm: z.string(),
  up: z.string(),
  down: z.string(),
  roundsRun: z.number(),
  /** The round cap of this size: --sim-rounds, or --few-rounds above --few-above peers. */
  roundCap: z.number(),
  /** True when this size ran fewer rounds than --sim-rounds (time to 90% is then projected). */
  reducedRounds: z.boolean(),
  /**
   * Simulated seconds per round, LIEC syncs amortized over their period: roundSecondsNoSync +
   * syncSeconds / H (a short run ends on a sync; the mean over it would overweight syncs).
   */
  roundSeconds: z.number(),
  roundSecondsNoSync: z.number(),
  /** Mean extra seconds of a round that ended with a LIEC sync (0: none ran). */
  syncSeconds: z.number(),
  roundsTo90: z.number().nullable(),
  secondsTo90: z.number().nullable(),
  /** secondsTo90 = roundsTo90 at `projectedFrom` peers x this size's roundSeconds. */
  projected: z.boolean(),
  projectedFrom: z.number().nullable(),
  /**
   * Aggregator downlink (broadcast) bytes per round, LIEC syncs amortized as for the time;
   * per worker: divided by the peers (the simulator's aggregator is not a worker).
   */
  downBytesPerRound: z.number(),
  downBytesPerRoundNoSync: z.number(),
  syncDownBytes: z.number(),
  downBytesPerPeerPerRound: z.number(),
  upBytesPerPeerPerRound: z.number(),
  finalTestAccuracy: z.number(),
  wallSeconds: z.number(),
});
type SimRow = z.infer<typeof simRowSchema>;

/**
 * The simulator rows of an earlier result file: its simulated times and bytes are
 * deterministic (seeded, simulated clock), so a rerun of the real part alone can keep them.
 */
function simRowsFrom(file: string): { rows: SimRow[]; date: string } {
  const saved = z
    .object({ date: z.string(), sim: z.array(simRowSchema) })
    .parse(JSON.parse(readFileSync(file, 'utf8')));
  return { rows: saved.sim, date: saved.date };
}

async function simulate(values: Record<string, string | boolean | undefined>): Promise<SimRow[]> {
  const str = (key: string): string => String(values[key]);
  const sizes = str('sim-peers').split(',').map(Number);
  const caps: RoundCaps = {
    simRounds: Number(str('sim-rounds')),
    fewAbove: Number(str('few-above')),
    fewRounds: Number(str('few-rounds')),
    sizeRounds: parseSizeRounds(str('size-rounds')),
  };
  const rows: SimRow[] = [];
  for (const peers of sizes) {
    for (const [algorithm, up, down] of SIM_RUNS) {
      const cap = simRoundCap(peers, caps);
      const few = cap.reduced;
      const rounds = String(cap.rounds);
      const cli = parseSimulateArgs([
        ...['--workers', String(peers), '--algorithm', algorithm, '--up', up, '--down', down],
        ...[
          '--rounds',
          rounds,
          '--lr',
          str('lr'),
          '--batch',
          str('batch'),
          '--eval-every',
          str('eval-every'),
        ],
        ...['--link-mbps', str('mbps'), '--aggregator-mbps', str('aggregator-mbps') || str('mbps')],
        ...['--seed', str('seed'), '--quiet'],
      ]);
      if (cli === 'help') throw new Error('unreachable');
      const learner = await simulationLearner(cli);
      const started = performance.now();
      try {
        const result = runSimulation(cli.config, learner, {
          stopAfter: (r) => (r.testAccuracy ?? 0) >= 0.9,
        });
        const report = simulationReport(cli, result, learner.backend, (performance.now() - started) / 1000);
        const ran = result.history.length;
        const period = algorithm === 'liec' ? (cli.config.options.sync?.period ?? 0) : 0;
        const perRound = (value: (r: (typeof result.history)[number], i: number) => number) =>
          amortizedPerRound(
            result.history.map((r, i) => ({ value: value(r, i), sync: r.sync !== null })),
            period,
          );
        const seconds = perRound((r, i) => r.simSeconds - (result.history[i - 1]?.simSeconds ?? 0));
        const downBytes = perRound((r) => r.roundBytesDown);
        const upBytes = perRound((r) => r.roundBytesUp);
        const row: SimRow = {
          peers,
          algorithm,
          up,
          down,
          roundsRun: ran,
          roundCap: Number(rounds),
          reducedRounds: few,
          roundSeconds: seconds.perRound,
          roundSecondsNoSync: seconds.plain,
          syncSeconds: seconds.syncExtra,
          roundsTo90: report.roundsTo90,
          secondsTo90: report.simSecondsTo90,
          projected: false,
          projectedFrom: null,
          downBytesPerRound: downBytes.perRound,
          downBytesPerRoundNoSync: downBytes.plain,
          syncDownBytes: downBytes.syncExtra,
          downBytesPerPeerPerRound: downBytes.perRound / peers,
          upBytesPerPeerPerRound: upBytes.perRound / peers,
          finalTestAccuracy: report.final.testAccuracy,
          wallSeconds: report.wallSeconds,
        };
        if (few && row.roundsTo90 === null) {
          const reference = rows
            .filter((r) => r.algorithm === algorithm && r.up === up && !r.projected && r.roundsTo90 !== null)
            .at(-1);
          if (reference?.roundsTo90 != null) {
            row.projected = true;
            row.projectedFrom = reference.peers;
            row.secondsTo90 = reference.roundsTo90 * row.roundSeconds;
          }
        }
        rows.push(row);
        const to90 =
          row.secondsTo90 === null
            ? '-'
            : `${row.secondsTo90.toFixed(0)} s${row.projected ? ' (projected)' : ''}`;
        console.log(
          `sim ${String(peers).padStart(4)} peers ${`${algorithm} ${up}/${down}`.padEnd(34)} ${row.roundSeconds.toFixed(2).padStart(9)} s/round, to 90%: ${to90} (${row.roundsTo90 ?? '-'} rounds), ${row.wallSeconds.toFixed(0)} s of CPU`,
        );
      } finally {
        learner.dispose();
      }
    }
  }
  return rows;
}

interface RealRow {
  peers: number;
  /** Rounds the aggregator closed (round 0 and 1 are start-up, not in the medians). */
  rounds: number;
  roundsRequested: number;
  /** Median wall seconds between consecutive broadcasts, steady state. */
  roundSecondsMedian: number;
  roundSecondsMedianNoSync: number;
  /** LIEC syncs flagged inside the measured window (the session's last round syncs after it). */
  syncsInWindow: number;
  /** Frame bytes the aggregator sent per round: mean over the steady window, and median (NoSync). */
  aggregatorDownBytesPerRound: number;
  aggregatorDownBytesPerRoundNoSync: number;
  /** Per recipient: the aggregator trains too, so it sends to peers - 1 workers. */
  aggregatorDownBytesPerPeerPerRound: number;
  aggregatorUpBytesPerRound: number;
  aggregatorUpBytesPerPeerPerRound: number;
  aggregatorWireBytes: { sent: number; received: number } | null;
  /** Median gradient time (gradient + upload compression) over every peer and round at this size. */
  computeSecondsMedian: number;
  /**
   * Every peer computes a gradient each round and the machine runs `cores` at once: peers x
   * the smallest size's median compute (least contended) / cores. Also at this size's compute.
   */
  cpuBoundRoundSeconds: number;
  cpuBoundRoundSecondsOwnCompute: number;
  aggregatorChanges: number;
  stoppedBy: string;
  wallSeconds: number;
  loadavgBefore: number[];
}

async function realScaling(values: Record<string, string | boolean | undefined>): Promise<RealRow[]> {
  const sizes = String(values['real-peers']).split(',').map(Number);
  const rounds = Number(values['real-rounds']);
  const mbps = Number(values['real-mbps']);
  const cores = cpus().length;
  const server = createSignalingServer({ logLevel: 'warn' });
  await server.start({ port: 0, host: '127.0.0.1' });
  const rows: RealRow[] = [];
  let baseCompute: number | null = null;
  try {
    for (const peers of sizes) {
      const loadavgBefore = loadavg();
      const result = await runLiveSession(server, {
        config: {
          algorithm: 'liec',
          up: 'topk:0.01',
          down: 'topk:0.01',
          rounds,
          evalEvery: rounds,
          minPeers: peers,
          dataShards: peers,
        },
        peers,
        linkMbps: [mbps],
        latencyMs: 0,
        targetAccuracy: null,
        maxSeconds: Number(values['real-max-seconds']),
      });
      const kept = progressingRounds(result.rounds);
      // Round 0 waits for every peer's first gradient after start-up; later rounds are steady state.
      const steady = kept.slice(2);
      // Step i: from steady[i] to steady[i + 1]; a sync after steady[i]'s broadcast lands in it
      // (its frames go out after the broadcast whose record says sync).
      const steps = steady.slice(1).map((r, i) => {
        const previous = steady[i] ?? r;
        return {
          seconds: (r.closedAt - previous.closedAt) / 1000,
          down: r.bytesDown - previous.bytesDown,
          up: r.bytesUp - previous.bytesUp,
          sync: previous.sync,
        };
      });
      // Mean over the window: whatever syncs fell in it count as they happened (a sync's
      // bytes may land a step later than its flag says); median: a plain round.
      const windowMean = (xs: number[]) => xs.reduce((a, x) => a + x, 0) / Math.max(1, xs.length);
      const down = {
        perRound: windowMean(steps.map((x) => x.down)),
        plain: median(steps.map((x) => x.down)),
      };
      const up = { perRound: windowMean(steps.map((x) => x.up)), plain: median(steps.map((x) => x.up)) };
      const computes = [...result.uploads.map((u) => u.computeMs), ...kept.map((r) => r.computeMs)];
      const computeSeconds = median(computes) / 1000;
      baseCompute ??= computeSeconds;
      const aggregatorExit = result.exits.find((e) => e.role === 'aggregator');
      const recipients = Math.max(1, peers - 1);
      const row: RealRow = {
        peers,
        rounds: kept.length,
        roundsRequested: rounds,
        roundSecondsMedian: median(steps.map((x) => x.seconds)),
        roundSecondsMedianNoSync: median(steps.filter((x) => !x.sync).map((x) => x.seconds)),
        syncsInWindow: steps.filter((x) => x.sync).length,
        aggregatorDownBytesPerRound: down.perRound,
        aggregatorDownBytesPerRoundNoSync: down.plain,
        aggregatorDownBytesPerPeerPerRound: down.perRound / recipients,
        aggregatorUpBytesPerRound: up.perRound,
        aggregatorUpBytesPerPeerPerRound: up.perRound / recipients,
        aggregatorWireBytes: aggregatorExit?.wire ?? null,
        computeSecondsMedian: computeSeconds,
        cpuBoundRoundSeconds: (peers * baseCompute) / cores,
        cpuBoundRoundSecondsOwnCompute: (peers * computeSeconds) / cores,
        aggregatorChanges: new Set(kept.map((r) => r.term)).size - 1,
        stoppedBy: result.stoppedBy,
        wallSeconds: result.wallSeconds,
        loadavgBefore,
      };
      rows.push(row);
      console.log(
        `real ${String(peers).padStart(3)} peers: ${row.roundSecondsMedian.toFixed(3)} s/round (CPU bound ${row.cpuBoundRoundSeconds.toFixed(3)} s, compute ${(computeSeconds * 1000).toFixed(0)} ms), ` +
          `aggregator down ${down.perRound.toFixed(0)} B/round = ${row.aggregatorDownBytesPerPeerPerRound.toFixed(0)} B per peer, ${row.rounds} rounds, ${row.wallSeconds.toFixed(0)} s`,
      );
    }
  } finally {
    await server.stop();
  }
  return rows;
}

/** The aggregator downlink against peers (LIEC top-k 1%): line through the origin, and per-peer drift. */
function downlinkSummary(points: [number, number][], recipientsOf: (peers: number) => number) {
  const perRecipient = points.map(([peers, bytes]): [number, number] => [recipientsOf(peers), bytes]);
  const line = originLineFit(perRecipient);
  // Each broadcast lists who was counted (4 bytes a peer), so bytes per peer creep up with peers.
  const perPeer = affineFit(perRecipient.map(([n, bytes]) => [n, bytes / n]));
  return {
    sizes: perRecipient.map(([n, bytes], i) => ({
      peers: points[i]?.[0] ?? n,
      recipients: n,
      downBytesPerRound: bytes,
      bytesPerRecipient: bytes / n,
      relativeDeviation: line.relativeDeviations[i] ?? NaN,
    })),
    bytesPerPeerPerRound: line.slope,
    maxRelativeDeviation: line.maxRelativeDeviation,
    perPeerAffine: {
      bytesPerPeerPerRoundAtZero: perPeer.intercept,
      extraBytesPerPeerPerRoundPerPeer: perPeer.slope,
      /** Largest |bytes - n (a + b n)| / bytes over the sizes. */
      maxRelativeDeviation: Math.max(
        ...perRecipient.map(
          ([n, bytes]) => Math.abs(bytes - n * (perPeer.intercept + perPeer.slope * n)) / bytes,
        ),
      ),
    },
  };
}

async function gradientMilliseconds(): Promise<number> {
  const learner = await createMnistLearner({
    workers: 1,
    partition: { kind: 'iid' },
    batchSize: 32,
    seed: 1,
    arch: 'mlp',
    log: () => {},
  });
  try {
    const weights = learner.initialWeights();
    learner.gradient(0, weights);
    const started = performance.now();
    const n = 20;
    for (let i = 0; i < n; i++) learner.gradient(0, weights);
    return (performance.now() - started) / n;
  } finally {
    learner.dispose();
  }
}

export async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      'sim-peers': { type: 'string', default: '8,32,128,512' },
      'sim-rounds': { type: 'string', default: '150' },
      'few-above': { type: 'string', default: '128' },
      'few-rounds': { type: 'string', default: '10' },
      'size-rounds': { type: 'string', default: '' },
      mbps: { type: 'string', default: '2' },
      'aggregator-mbps': { type: 'string', default: '' },
      lr: { type: 'string', default: '0.8' },
      batch: { type: 'string', default: '32' },
      'eval-every': { type: 'string', default: '5' },
      seed: { type: 'string', default: '1' },
      'real-peers': { type: 'string', default: '2,4,8,16' },
      'real-rounds': { type: 'string', default: '40' },
      'real-mbps': { type: 'string', default: 'Infinity' },
      'real-max-seconds': { type: 'string', default: '600' },
      'skip-sim': { type: 'boolean', default: false },
      'skip-real': { type: 'boolean', default: false },
      'sim-from': { type: 'string' },
      out: { type: 'string' },
    },
  });
  const loadBefore = loadavg();
  const list = (text: string): number[] => text.split(',').map(Number);
  const plan: ScalingPlan = {
    simSizes: values['skip-sim'] || values['sim-from'] !== undefined ? [] : list(values['sim-peers']),
    algorithms: SIM_RUNS.length,
    simRounds: Number(values['sim-rounds']),
    fewAbove: Number(values['few-above']),
    fewRounds: Number(values['few-rounds']),
    sizeRounds: parseSizeRounds(values['size-rounds']),
    realSizes: values['skip-real'] ? [] : list(values['real-peers']),
    realRounds: Number(values['real-rounds']),
    cores: cpus().length,
  };
  const gradientMs = await gradientMilliseconds();
  const estimate = estimateScalingSeconds(plan, gradientMs);
  console.log(
    `one gradient: ${gradientMs.toFixed(1)} ms (load ${loadBefore.map((l) => l.toFixed(2)).join(' ')}); ` +
      `expected at most ${(estimate.totalSeconds / 60).toFixed(0)} min ` +
      `(simulator ${(estimate.simSeconds / 60).toFixed(0)}, real ${(estimate.realSeconds / 60).toFixed(0)}); ` +
      `the real runs stop by themselves after ${plan.realRounds} rounds or ${String(values['real-max-seconds'])} s each`,
  );
  const started = performance.now();
  const simFrom = values['sim-from'] === undefined ? null : simRowsFrom(values['sim-from']);
  const sim = simFrom?.rows ?? (plan.simSizes.length === 0 ? [] : await simulate(values));
  const real = plan.realSizes.length === 0 ? [] : await realScaling(values);
  const liecSim = sim.filter((r) => r.algorithm === 'liec');
  const result = {
    bench: 'scaling',
    settings: values,
    load: { cpus: cpus().length, loadavgBefore: loadBefore, loadavgAfter: loadavg() },
    date: new Date().toISOString(),
    gradientMs,
    expectedSeconds: estimate,
    wallSeconds: (performance.now() - started) / 1000,
    /** Where the simulator rows come from: this run, or an earlier file (--sim-from). */
    simSource:
      simFrom === null ? 'this run' : `${String(values['sim-from'])} of ${simFrom.date} (deterministic)`,
    summary: {
      note:
        'Aggregator downlink bytes per round of LIEC top-k 1% against the peers it sends to ' +
        '(sim: syncs amortized over their period, real: mean over rounds 2 to the last; *NoSync: sim rounds without a sync, real median round): ' +
        'bytesPerPeerPerRound is the least-squares line through the origin, maxRelativeDeviation ' +
        'how far any size strays from it; perPeerAffine: bytes per peer per round = ' +
        'bytesPerPeerPerRoundAtZero + extraBytesPerPeerPerRoundPerPeer x peers (the counted list in each broadcast).',
      sim:
        liecSim.length === 0
          ? null
          : downlinkSummary(
              liecSim.map((r) => [r.peers, r.downBytesPerRound]),
              (peers) => peers,
            ),
      simNoSync:
        liecSim.length === 0
          ? null
          : downlinkSummary(
              liecSim.map((r) => [r.peers, r.downBytesPerRoundNoSync]),
              (peers) => peers,
            ),
      real:
        real.length === 0
          ? null
          : downlinkSummary(
              real.map((r) => [r.peers, r.aggregatorDownBytesPerRound]),
              (peers) => Math.max(1, peers - 1),
            ),
      realNoSync:
        real.length === 0
          ? null
          : downlinkSummary(
              real.map((r) => [r.peers, r.aggregatorDownBytesPerRoundNoSync]),
              (peers) => Math.max(1, peers - 1),
            ),
    },
    sim,
    real,
  };
  const out = values.out ?? RESULTS;
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`saved ${out}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main(process.argv.slice(2));
