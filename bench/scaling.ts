/**
 * `npm run bench:scaling`: how rounds scale with the number of peers.
 *
 * Simulator (--sim-peers 8,32,128,512): every worker on a --mbps link each way and the
 * aggregator's own link (--aggregator-mbps, default the same) shared by all its transfers;
 * simulated time per round and time to 90% for each algorithm. The simulator computes every
 * gradient for real (about 8 ms each here), so above --few-above peers it runs only
 * --few-rounds rounds: time per round is measured, time to 90% is projected from the rounds
 * to 90% at the largest fully run size (marked `projected`).
 *
 * Real WebRTC (--real-peers 2,4,8,16): headless peers as separate processes on loopback,
 * LIEC top-k 1%, --real-rounds rounds: wall time per round and the aggregator's traffic per
 * round, per peer. With two cores, every peer's gradient competes for them: the JSON holds
 * the CPU bound (peers x median compute / cores) next to the measured round time.
 *
 * @example
 * npm run bench:scaling -- --out bench/results/scaling.json
 * npm run bench:scaling -- --skip-real --sim-peers 8,32
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { simulationReport } from '../client/sim/cli.ts';
import { createMnistLearner } from '../client/sim/mnist-learner.ts';
import { parseSimulateArgs } from '../client/sim/options.ts';
import { runSimulation } from '../client/sim/simulator.ts';
import { createSignalingServer } from '../signaling/index.ts';
import { progressingRounds } from './links.ts';
import { runLiveSession } from './live-session.ts';

const RESULTS = join(dirname(fileURLToPath(import.meta.url)), 'results', 'scaling.json');

const SIM_RUNS: [string, string, string][] = [
  ['sgd', 'identity', 'identity'],
  ['ef-sgd', 'topk:0.01', 'identity'],
  ['doublesqueeze', 'topk:0.01', 'topk:0.01'],
  ['liec', 'topk:0.01', 'topk:0.01'],
];

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length === 0
    ? NaN
    : s.length % 2 === 1
      ? (s[mid] ?? NaN)
      : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
};

interface SimRow {
  peers: number;
  algorithm: string;
  up: string;
  down: string;
  roundsRun: number;
  /**
   * Simulated seconds per round, LIEC syncs amortized over their period: roundSecondsNoSync +
   * syncSeconds / H (a short run ends on a sync; the mean over it would overweight syncs).
   */
  roundSeconds: number;
  roundSecondsNoSync: number;
  /** Mean extra seconds of a round that ended with a LIEC sync (0: none ran). */
  syncSeconds: number;
  roundsTo90: number | null;
  secondsTo90: number | null;
  /** secondsTo90 = roundsTo90 at `projectedFrom` peers x this size's roundSeconds. */
  projected: boolean;
  projectedFrom: number | null;
  /** Aggregator downlink (broadcast) bytes per round, and per worker. */
  downBytesPerRound: number;
  downBytesPerPeerPerRound: number;
  upBytesPerPeerPerRound: number;
  finalTestAccuracy: number;
  wallSeconds: number;
}

async function simulate(values: Record<string, string | boolean | undefined>): Promise<SimRow[]> {
  const str = (key: string): string => String(values[key]);
  const sizes = str('sim-peers').split(',').map(Number);
  const fewAbove = Number(str('few-above'));
  const rows: SimRow[] = [];
  for (const peers of sizes) {
    for (const [algorithm, up, down] of SIM_RUNS) {
      const few = peers > fewAbove;
      const rounds = few ? str('few-rounds') : str('sim-rounds');
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
      const learner = await createMnistLearner({
        workers: peers,
        partition: cli.partition,
        batchSize: cli.batchSize,
        seed: cli.config.seed,
        arch: cli.model,
        log: () => {},
      });
      const started = performance.now();
      try {
        const result = runSimulation(cli.config, learner, {
          stopAfter: (r) => (r.testAccuracy ?? 0) >= 0.9,
        });
        const report = simulationReport(cli, result, learner.backend, (performance.now() - started) / 1000);
        const ran = result.history.length;
        const deltas = result.history.map((r, i) => ({
          seconds: r.simSeconds - (result.history[i - 1]?.simSeconds ?? 0),
          sync: r.sync !== null,
        }));
        const plain = deltas.filter((x) => !x.sync).map((x) => x.seconds);
        const synced = deltas.filter((x) => x.sync).map((x) => x.seconds);
        const mean = (xs: number[]) => (xs.length === 0 ? 0 : xs.reduce((s, x) => s + x, 0) / xs.length);
        const noSync = mean(plain);
        const syncSeconds = synced.length === 0 ? 0 : mean(synced) - noSync;
        const period = cli.config.options.sync?.period ?? 0;
        const last = result.history.at(-1);
        const bytesDown = last?.bytesDown ?? 0;
        const bytesUp = last?.bytesUp ?? 0;
        const row: SimRow = {
          peers,
          algorithm,
          up,
          down,
          roundsRun: ran,
          roundSeconds: noSync + (algorithm === 'liec' && period > 0 ? syncSeconds / period : 0),
          roundSecondsNoSync: noSync,
          syncSeconds,
          roundsTo90: report.roundsTo90,
          secondsTo90: report.simSecondsTo90,
          projected: false,
          projectedFrom: null,
          downBytesPerRound: bytesDown / Math.max(1, ran),
          downBytesPerPeerPerRound: bytesDown / Math.max(1, ran) / peers,
          upBytesPerPeerPerRound: bytesUp / Math.max(1, ran) / peers,
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

async function realScaling(values: Record<string, string | boolean | undefined>) {
  const sizes = String(values['real-peers']).split(',').map(Number);
  const rounds = Number(values['real-rounds']);
  const mbps = Number(values['real-mbps']);
  const server = createSignalingServer({ logLevel: 'warn' });
  await server.start({ port: 0, host: '127.0.0.1' });
  const rows = [];
  try {
    for (const peers of sizes) {
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
      const gaps = steady.slice(1).map((r, i) => (r.closedAt - (steady[i]?.closedAt ?? r.closedAt)) / 1000);
      const first = steady[0];
      const last = steady.at(-1);
      const span = first === undefined || last === undefined ? 0 : last.round - first.round;
      const downPerRound = span > 0 && first && last ? (last.bytesDown - first.bytesDown) / span : NaN;
      const upPerRound = span > 0 && first && last ? (last.bytesUp - first.bytesUp) / span : NaN;
      const computes = [...result.uploads.map((u) => u.computeMs), ...kept.map((r) => r.computeMs)];
      const computeSeconds = median(computes) / 1000;
      const aggregatorExit = result.exits.find((e) => e.role === 'aggregator');
      const row = {
        peers,
        rounds: kept.length,
        roundSecondsMedian: median(gaps),
        roundSecondsMedianNoSync: median(gaps.filter((_, i) => steady[i]?.sync !== true)),
        aggregatorDownBytesPerRound: downPerRound,
        aggregatorDownBytesPerPeerPerRound: downPerRound / Math.max(1, peers - 1),
        aggregatorUpBytesPerRound: upPerRound,
        aggregatorWireBytes: aggregatorExit?.wire ?? null,
        computeSecondsMedian: computeSeconds,
        /** Every peer computes a gradient each round; two cores run at most two at once. */
        cpuBoundRoundSeconds: (peers * computeSeconds) / cpus().length,
        aggregatorChanges: new Set(kept.map((r) => r.term)).size - 1,
        stoppedBy: result.stoppedBy,
        wallSeconds: result.wallSeconds,
      };
      rows.push(row);
      console.log(
        `real ${String(peers).padStart(3)} peers: ${row.roundSecondsMedian.toFixed(3)} s/round (CPU bound ${row.cpuBoundRoundSeconds.toFixed(3)} s), ` +
          `aggregator down ${downPerRound.toFixed(0)} B/round = ${row.aggregatorDownBytesPerPeerPerRound.toFixed(0)} B per peer`,
      );
    }
  } finally {
    await server.stop();
  }
  return rows;
}

export async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      'sim-peers': { type: 'string', default: '8,32,128,512' },
      'sim-rounds': { type: 'string', default: '150' },
      'few-above': { type: 'string', default: '128' },
      'few-rounds': { type: 'string', default: '10' },
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
      out: { type: 'string' },
    },
  });
  const loadBefore = loadavg();
  const sim = values['skip-sim'] ? [] : await simulate(values);
  const real = values['skip-real'] ? [] : await realScaling(values);
  const result = {
    bench: 'scaling',
    settings: values,
    load: { cpus: cpus().length, loadavgBefore: loadBefore, loadavgAfter: loadavg() },
    date: new Date().toISOString(),
    sim,
    real,
  };
  const out = values.out ?? RESULTS;
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`saved ${out}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main(process.argv.slice(2));
