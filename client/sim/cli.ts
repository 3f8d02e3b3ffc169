/**
 * `npm run simulate -- [options]`: N virtual workers on MNIST in one process, the same
 * algorithm code as the real peers, every byte counted. Prints progress, writes JSON.
 *
 * @example
 * npm run simulate -- --workers 8 --algorithm liec --up topk:0.01 --down topk:0.01 --rounds 300 --seed 1 --out run.json
 */
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { processIo, reportError, UsageError, type CliIo } from '../cli/command.ts';
import { fitWidth } from '../cli/progress.ts';
import { parseSessionConfig } from '../../shared/protocol/session-config.ts';
import type { Learner } from '../training/learner.ts';
import { parseSimulateArgs, simulateHelp, type SimulateCli } from './options.ts';
import { runSimulation, type RoundRecord, type SimulationResult } from './simulator.ts';
import { runTreeSimulation } from './tree.ts';

/**
 * The learner a simulation with these options trains, one data shard per worker: MNIST, or
 * with --task csv|images the --data file minus its held-back test part (the test set).
 */
export async function simulationLearner(
  cli: SimulateCli,
  log: (line: string) => void = () => {},
): Promise<Learner & { readonly backend: string; dispose(): void }> {
  if (cli.task.task !== 'mnist') {
    const [{ withTask }, { createTaskSimulationLearner }] = await Promise.all([
      import('../cli/task-flags.ts'),
      import('../training/task-learner.ts'),
    ]);
    const config = parseSessionConfig(
      await withTask({ model: cli.model, batchSize: cli.batchSize, seed: cli.config.seed }, cli.task),
    );
    const { taskSpec } = config;
    if (taskSpec === undefined) throw new UsageError(`--task ${cli.task.task} made no task spec`);
    return createTaskSimulationLearner({
      config: { ...config, taskSpec },
      dataPath: cli.task.data ?? '',
      workers: cli.config.workers,
      partition: cli.partition,
      log,
    });
  }
  // Loaded here, so that a bad flag is reported without loading TF.js.
  const { createMnistLearner } = await import('../training/mnist-learner.ts');
  return createMnistLearner({
    workers: cli.config.workers,
    partition: cli.partition,
    batchSize: cli.batchSize,
    seed: cli.config.seed,
    arch: cli.model,
    log,
  });
}

function bitsPerParam(result: SimulationResult, workers: number): { up: number; down: number } {
  const d = result.finalModel.length;
  const uploads = result.history.reduce((sum, r) => sum + r.participants, 0);
  const deliveries = workers * result.history.length;
  return {
    up: uploads > 0 ? (result.bytes.up * 8) / (d * uploads) : 0,
    down: deliveries > 0 ? (result.bytes.down * 8) / (d * deliveries) : 0,
  };
}

/** The JSON document a simulation writes (see README, "Simulator output"). */
export function simulationReport(
  cli: SimulateCli,
  result: SimulationResult,
  backend: string,
  wallSeconds: number,
) {
  const { config } = cli;
  const totalBytes = result.bytes.up + result.bytes.down;
  const totalFp32 = result.fp32Bytes.up + result.fp32Bytes.down;
  const to90 = result.history.find((r) => (r.testAccuracy ?? 0) >= 0.9);
  return {
    task: cli.task.task,
    algorithm: config.options.algorithm,
    up: cli.specs.up,
    down: cli.specs.down,
    workers: config.workers,
    /** --tree-fanout (null: a flat star). */
    treeFanout: cli.treeFanout ?? null,
    rounds: config.rounds,
    seed: config.seed,
    model: cli.model,
    /** How each virtual worker stored its error memory and LIEC offset (--state-precision). */
    statePrecision: config.statePrecision ?? 'f32',
    backend,
    partition: cli.partitionText,
    learningRate: config.options.learningRate,
    momentum: config.options.momentum ?? 0,
    batchSize: cli.batchSize,
    participation: config.participation,
    /** fedavg, diloco, sparseloco: H and the outer step (null for the others). */
    local: config.options.local ?? null,
    sync: {
      mode: config.options.sync?.mode ?? 'full',
      period: config.options.sync?.period ?? 0,
      compensation: config.options.compensation ?? null,
      codec: cli.specs.syncCodec,
      driftThreshold: config.options.sync?.driftThreshold ?? null,
      count: result.syncs,
    },
    /** Of the model every worker holds at the end (identicalModels: all the same bits). */
    final: {
      ...result.final,
      modelSha256: createHash('sha256')
        .update(
          new Uint8Array(
            result.finalModel.buffer,
            result.finalModel.byteOffset,
            result.finalModel.byteLength,
          ),
        )
        .digest('hex'),
    },
    identicalModels: result.identicalModels,
    bytes: result.bytes,
    fp32Bytes: result.fp32Bytes,
    compressionRatio: totalBytes > 0 ? totalFp32 / totalBytes : null,
    /**
     * Wire bits per model parameter, per participating worker and round (up) and per worker
     * and round (down: every worker gets the broadcast), syncs counted, averaged over the run.
     */
    bitsPerParam: bitsPerParam(result, config.workers),
    roundsTo90: to90 === undefined ? null : to90.round + 1,
    /** Simulated seconds until the first evaluation at or above 90% (null: not reached). */
    simSecondsTo90: to90 === undefined ? null : to90.simSeconds,
    lateUploads: result.lateUploads,
    simSeconds: result.simSeconds,
    wallSeconds,
    /** Peak resident memory of this process so far (MiB): learner, data and every virtual peer. */
    maxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
    history: result.history,
  };
}

function progressLine(r: RoundRecord, rounds: number): string {
  const acc = r.testAccuracy === null ? '' : ` acc ${(r.testAccuracy * 100).toFixed(2)}%`;
  const mb = (n: number) => (n / 1e6).toFixed(2);
  return `round ${r.round + 1}/${rounds} loss ${r.loss?.toFixed(4) ?? '-'}${acc} up ${mb(r.bytesUp)} MB down ${mb(r.bytesDown)} MB${r.sync ? ` sync(${r.sync})` : ''}`;
}

/** How the simulator is called, in its error lines. */
export const SIMULATE_NAME = 'npm run simulate --';

export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  let cli: SimulateCli | 'help';
  try {
    cli = parseSimulateArgs(argv);
  } catch (error) {
    return reportError(error, io, SIMULATE_NAME);
  }
  if (cli === 'help') {
    io.out(simulateHelp());
    return 0;
  }
  const { config } = cli;
  const quiet = cli.quiet;
  let learner;
  try {
    learner = await simulationLearner(cli, quiet ? () => {} : (line) => io.err(`${line}\n`));
  } catch (error) {
    // A bad --data file is named with its row, not a stack trace.
    return reportError(error, io, SIMULATE_NAME);
  }
  const started = performance.now();
  const columns = process.stderr.isTTY ? (process.stderr.columns ?? 80) : undefined;
  try {
    /** Wall seconds each round took (evaluation and syncs included). */
    const roundWallSeconds: number[] = [];
    let roundStarted = started;
    const hooks = {
      onRound(record: RoundRecord) {
        const now = performance.now();
        roundWallSeconds.push((now - roundStarted) / 1000);
        roundStarted = now;
        if (quiet) return;
        const line = progressLine(record, config.rounds);
        if (columns !== undefined) io.err(`\r${fitWidth(line, columns)}\u001b[K`);
        else if (record.testAccuracy !== null) io.err(`${line}\n`);
      },
    };
    const result =
      cli.treeFanout === undefined
        ? runSimulation(config, learner, hooks)
        : runTreeSimulation(config, cli.treeFanout, learner, hooks);
    if (columns !== undefined && !quiet) io.err('\n');
    const report = {
      ...simulationReport(cli, result, learner.backend, (performance.now() - started) / 1000),
      roundWallSeconds,
    };
    if (!quiet) {
      io.err(
        `final test accuracy ${(report.final.testAccuracy * 100).toFixed(2)}%, bytes up ${report.bytes.up} down ${report.bytes.down}, ` +
          `${report.compressionRatio?.toFixed(1)}x fewer than fp32 SGD, ${result.syncs} syncs\n`,
      );
    }
    if (cli.out !== undefined) await writeFile(cli.out, JSON.stringify(report, null, 2));
    return 0;
  } finally {
    learner.dispose();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = await main(process.argv.slice(2));
}
