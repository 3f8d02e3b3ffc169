/**
 * `npm run bench:tree`: a two-level aggregation tree (client/sim/tree.ts, --tree-fanout)
 * against the flat star, at 2 Mbit/s per peer and per aggregator, LIEC with the project's
 * defaults (topk:0.01 both ways, lr 0.3, sync every 20 with sign:256), MNIST MLP.
 *
 * Time model: the simulator's lockstep arithmetic (every upload and broadcast copy
 * serialized on the links it crosses: the flat aggregator's link carries N of each per
 * round, a tree's root G = N / fanout and each sub-aggregator's fanout), plus
 * ROUND_OVERHEAD_MS of protocol per hop and round (bench:links-sim's figure; a tree round
 * has two hops). Each run goes to --rounds (final accuracy: of worker 0's model after the
 * final sync, the one model every worker holds) and records the first evaluation at or
 * above 90%. The fanout is not tuned on data: ceil(sqrt(N)) rounded to a power of two, the
 * fanout that minimizes fanout + N / fanout copies on the busiest link.
 *
 * Runs are appended to RUNS_FILE as they finish (a rerun skips those present); the summary
 * (median and range per peers, partition and layout) goes to bench/results/tree.json.
 *
 * @example
 * npm run bench:tree -- --peers 16,64 --partitions iid,dirichlet:0.1 --seeds 5,6 --rounds 200
 * npm run bench:tree -- --summarize
 */
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { simulationLearner } from '../client/sim/cli.ts';
import { parseSimulateArgs } from '../client/sim/options.ts';
import { runSimulation, type SimulationResult } from '../client/sim/simulator.ts';
import { runTreeSimulation, TREE_HOPS } from '../client/sim/tree.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const RUNS_FILE = join(ROOT, 'bench', 'results', 'tree-runs.jsonl');
const SUMMARY_FILE = join(ROOT, 'bench', 'results', 'tree.json');
/** Per-round protocol overhead per hop (bench:links-sim: bench:rounds' median, 4 real peers). */
const ROUND_OVERHEAD_MS = 25;
const LINK_MBPS = 2;
const TARGET = 0.9;
const EVAL_EVERY = 5;

interface Run {
  peers: number;
  partition: string;
  /** null: the flat star. */
  fanout: number | null;
  seed: number;
  rounds: number;
  secondsTo90: number | null;
  roundsTo90: number | null;
  finalAccuracy: number;
  identicalModels: boolean;
  /** Simulated seconds per round (mean, overhead included). */
  secondsPerRound: number;
  /** Wire bytes of one worker upload frame in the first round (flat star; null for a tree). */
  uploadFrameBytes: number | null;
  wallSeconds: number;
}

/** ceil(sqrt(n)) rounded up to a power of two: 16 -> 4, 32 -> 8, 64 -> 8. */
export function defaultFanout(peers: number): number {
  return 2 ** Math.ceil(Math.log2(Math.ceil(Math.sqrt(peers))));
}

function key(r: Pick<Run, 'peers' | 'partition' | 'fanout' | 'seed' | 'rounds'>): string {
  return `${r.peers}|${r.partition}|${r.fanout ?? 'flat'}|${r.seed}|${r.rounds}`;
}

function readRuns(): Run[] {
  if (!existsSync(RUNS_FILE)) return [];
  return readFileSync(RUNS_FILE, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Run);
}

async function runOne(
  peers: number,
  partition: string,
  fanout: number | null,
  seed: number,
  rounds: number,
): Promise<Run> {
  const cli = parseSimulateArgs([
    ...['--workers', String(peers), '--partition', partition, '--seed', String(seed)],
    ...['--rounds', String(rounds), '--eval-every', String(EVAL_EVERY)],
    ...['--link-mbps', String(LINK_MBPS), '--aggregator-mbps', String(LINK_MBPS), '--quiet'],
  ]);
  if (cli === 'help') throw new Error('unreachable');
  const learner = await simulationLearner(cli);
  const started = performance.now();
  let result: SimulationResult;
  try {
    result =
      fanout === null ? runSimulation(cli.config, learner) : runTreeSimulation(cli.config, fanout, learner);
  } finally {
    learner.dispose();
  }
  const hops = fanout === null ? 1 : TREE_HOPS;
  const overhead = (round: number) => ((round + 1) * hops * ROUND_OVERHEAD_MS) / 1000;
  const hit = result.history.find((r) => (r.testAccuracy ?? 0) >= TARGET);
  return {
    peers,
    partition,
    fanout,
    seed,
    rounds,
    secondsTo90: hit === undefined ? null : hit.simSeconds + overhead(hit.round),
    roundsTo90: hit === undefined ? null : hit.round + 1,
    finalAccuracy: result.final.testAccuracy,
    identicalModels: result.identicalModels,
    secondsPerRound: (result.simSeconds + overhead(result.history.length - 1)) / result.history.length,
    // Flat star, first round (no sync): a tree's up bytes include the sub-aggregates.
    uploadFrameBytes: fanout === null ? (result.history[0]?.roundBytesUp ?? 0) / peers : null,
    wallSeconds: (performance.now() - started) / 1000,
  };
}

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

function summarize(runs: Run[]): unknown {
  const groups = new Map<string, Run[]>();
  for (const r of runs) {
    const k = `${r.peers}|${r.partition}|${r.fanout ?? 'flat'}|${r.rounds}`;
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  const rows = [...groups.values()].map((rs) => {
    const first = rs[0] as Run;
    const reached = rs.flatMap((r) => (r.secondsTo90 === null ? [] : [r.secondsTo90]));
    const finals = rs.map((r) => r.finalAccuracy);
    return {
      peers: first.peers,
      partition: first.partition,
      layout: first.fanout === null ? 'flat star' : `tree, fanout ${first.fanout}`,
      rounds: first.rounds,
      seeds: rs.map((r) => r.seed),
      reached90: `${reached.length}/${rs.length}`,
      secondsTo90Median: median(reached),
      secondsTo90Range: reached.length === 0 ? null : [Math.min(...reached), Math.max(...reached)],
      finalAccuracyMedian: median(finals),
      finalAccuracyRange: [Math.min(...finals), Math.max(...finals)],
      secondsPerRoundMedian: median(rs.map((r) => r.secondsPerRound)),
      identicalModels: rs.every((r) => r.identicalModels),
    };
  });
  rows.sort(
    (a, b) => a.peers - b.peers || a.partition.localeCompare(b.partition) || a.layout.localeCompare(b.layout),
  );
  return {
    benchmark: 'bench:tree',
    date: new Date().toISOString(),
    timeModel: `lockstep, ${LINK_MBPS} Mbit/s per peer and per aggregator node, compute 10 ms per step, ${ROUND_OVERHEAD_MS} ms protocol per hop and round`,
    settings:
      'liec, project defaults (topk:0.01 up and down, lr 0.3, sync 20 sign:256, compensation auto), mlp',
    rows,
  };
}

const { values } = parseArgs({
  options: {
    peers: { type: 'string', default: '16,64' },
    partitions: { type: 'string', default: 'iid,dirichlet:0.1' },
    seeds: { type: 'string', default: '5,6' },
    rounds: { type: 'string', default: '200' },
    summarize: { type: 'boolean', default: false },
  },
});
const list = (text: string) => text.split(',').map((s) => s.trim());
if (!values.summarize) {
  const done = new Set(readRuns().map(key));
  const rounds = Number(values.rounds);
  for (const seed of list(values.seeds).map(Number))
    for (const peers of list(values.peers).map(Number))
      for (const partition of list(values.partitions))
        for (const fanout of [null, defaultFanout(peers)]) {
          if (done.has(key({ peers, partition, fanout, seed, rounds }))) continue;
          const run = await runOne(peers, partition, fanout, seed, rounds);
          appendFileSync(RUNS_FILE, `${JSON.stringify(run)}\n`);
          console.log(JSON.stringify(run));
        }
}
const summary = summarize(readRuns());
writeFileSync(SUMMARY_FILE, `${JSON.stringify(summary, null, 2)}\n`);
console.log(JSON.stringify(summary, null, 2));
