/**
 * Chaos run: a real LIEC-SGD session on loopback, every peer a separate `liec join` process
 * (real WebRTC), first without faults (the baseline), then the same session config and seed
 * while the bench SIGKILLs and restarts workers (--resume from their checkpoints), kills the
 * aggregator (failovers), restarts a worker as a straggler beyond the round deadline, pauses
 * workers (SIGSTOP longer than a deadline, then SIGCONT), makes peers drop every data
 * channel (SIGUSR2 with `join --debug-signals`), stops the aggregator (SIGSTOP longer than
 * failure detection), cuts its data path while its signaling socket stays up (SIGPWR) and
 * makes it corrupt its frames until it is replaced (SIGURG). Faults are spread over a window
 * of the rounds (bench/chaos/plan.ts); every setting is a flag; each session has a
 * wall-clock cap.
 *
 * From the peers' event logs (kept across SIGKILL) it reports: final and baseline test
 * accuracy, the longest round against its deadline, crashes (processes that died other than
 * by an injected signal), every upload of every process accounted for one by one, lost the
 * rest (bench/chaos/accounting.ts), how resumed peers were taken back and how long it took,
 * the model every peer's last process held (SHA-256), the targets met, and the fault log.
 * It exits 1 when a target is missed.
 *
 * @example
 * npm run chaos -- --peers 6 --rounds 300 --out chaos.json
 * npm run chaos -- --peers 4 --rounds 60 --skip-baseline
 * npm run chaos -- --peers 4 --rounds 120 --sync-mode rolling --sync 5   // any `liec create` flag
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  integerIn,
  numberWhere,
  plainDefaults,
  processIo,
  runProgram,
  type CliIo,
} from '../client/cli/command.ts';
import { addConfigOptions, configFlagValues, configFromFlags } from '../client/cli/config-flags.ts';
import { createRng } from '../shared/random.ts';
import { accountUploads, finalAccuracy, resumeReports, roundRecords } from './chaos/accounting.ts';
import {
  AGGREGATOR_FAULTS,
  defaultFaultCounts,
  planFaults,
  type FaultCounts,
  type FaultKind,
} from './chaos/plan.ts';
import {
  runChaosSession,
  type ChaosSessionRun,
  type ChaosSettings,
  type FaultRecord,
} from './chaos/session.ts';

export const DEFAULT_OUT = join(dirname(fileURLToPath(import.meta.url)), 'results', 'chaos.json');

/** `npm run chaos`: every flag with its default; the session config as `liec create` takes it. */
export function chaosCommand(): Command {
  const count = integerIn(0);
  const ms = numberWhere((v) => v >= 0, 'a number of ms >= 0');
  const faults = defaultFaultCounts(6);
  const command = new Command('npm run chaos --')
    .description(
      'A real session on loopback, first without faults (the baseline), then with SIGKILLed and restarted workers, ' +
        'killed aggregators, stragglers, paused workers and dropped links; reports accuracy, crashes and lost uploads.',
    )
    .addOption(
      new Option('--peers <n>', 'peers, each a `liec join` process').argParser(integerIn(2, 64)).default(6),
    )
    .addOption(
      new Option('--chaos-seed <n>', "seed of the bench's own choices (victims)").argParser(count).default(7),
    )
    .addOption(
      new Option(
        '--worker-kills <n>',
        'worker SIGKILLs, each then resumed (default: round(0.3 x peers), at least 1)',
      ).argParser(count),
    )
    .addOption(
      new Option('--aggregator-kills <n>', 'aggregator SIGKILLs (failovers)')
        .argParser(count)
        .default(faults['kill-aggregator']),
    )
    .addOption(
      new Option('--slow-restarts <n>', 'workers restarted as stragglers beyond the deadline')
        .argParser(count)
        .default(faults['slow-restart']),
    )
    .addOption(
      new Option('--pauses <n>', 'workers paused (SIGSTOP) longer than a deadline')
        .argParser(count)
        .default(faults.pause),
    )
    .addOption(
      new Option('--link-drops <n>', 'peers that drop every data channel (SIGUSR2)')
        .argParser(count)
        .default(faults['drop-links']),
    )
    .addOption(
      new Option(
        '--silent-aggregators <n>',
        'aggregators stopped (SIGSTOP) past failure detection, then continued',
      )
        .argParser(count)
        .default(faults['silent-aggregator']),
    )
    .addOption(
      new Option(
        '--partitioned-aggregators <n>',
        'aggregators whose data channels are cut, signaling up (SIGPWR)',
      )
        .argParser(count)
        .default(faults['partition-aggregator']),
    )
    .addOption(
      new Option(
        '--corrupt-aggregators <n>',
        'aggregators that truncate 30% of their frames until replaced (SIGURG)',
      )
        .argParser(count)
        .default(faults['corrupt-aggregator']),
    )
    .addOption(
      new Option('--silent-ms <ms>', 'how long a silent aggregator stays stopped')
        .argParser(ms)
        .default(5000),
    )
    .addOption(
      new Option('--fault-window <from,to>', 'faults are spread over this fraction of the rounds')
        .argParser(faultWindow)
        .default([0.1, 0.8], '0.1,0.8'),
    )
    .addOption(
      new Option('--checkpoint-every <n>', 'rounds between checkpoints').argParser(integerIn(1)).default(5),
    )
    .addOption(
      new Option('--restart-delay-ms <ms>', 'pause between a kill and the restart')
        .argParser(ms)
        .default(500),
    )
    .addOption(
      new Option(
        '--pause-ms <ms>',
        'how long a paused worker stays stopped (default: 1.5 x --deadline-ms)',
      ).argParser(ms),
    )
    .addOption(
      new Option(
        '--slow-delay-ms <ms>',
        "a slow restart's compute delay (default: 1.25 x --deadline-ms)",
      ).argParser(ms),
    )
    .addOption(
      new Option('--slow-rounds <n>', 'rounds a slow restart stays slow').argParser(count).default(8),
    )
    .addOption(
      new Option('--victim-wait-ms <ms>', 'how long a fault waits for an eligible victim')
        .argParser(ms)
        .default(30_000),
    )
    .addOption(
      new Option('--drain-ms <ms>', "after the aggregator's exit, how long the others get to leave")
        .argParser(ms)
        .default(3000),
    )
    .addOption(
      new Option('--max-seconds <s>', 'wall-clock cap of each session')
        .argParser(numberWhere((v) => v > 0, 'a number > 0'))
        .default(900),
    )
    .addOption(new Option('--skip-baseline', 'run only the faulty session').default(false))
    .addOption(
      new Option('--from-source', 'peers run the TypeScript source through tsx, not the build').default(
        false,
      ),
    )
    .addOption(new Option('--keep-logs <dir>', "copy the peers' event logs and checkpoints here"))
    .addOption(
      new Option('--out <file>', 'write the JSON result here').default(
        DEFAULT_OUT,
        relative(process.cwd(), DEFAULT_OUT),
      ),
    );
  return plainDefaults(
    addConfigOptions(
      command,
      {
        rounds: { value: '300' },
        'deadline-ms': { value: '2000' },
        'eval-every': { value: '25' },
      },
      ['min-peers', 'data-shards'],
    ),
  );
}

function faultWindow(text: string): [number, number] {
  const [from, to, ...rest] = text.split(',').map((x) => (x.trim() === '' ? Number.NaN : Number(x)));
  if (from === undefined || to === undefined || rest.length > 0 || !(from >= 0 && from < to && to <= 1))
    throw new InvalidArgumentError('expected from,to with 0 <= from < to <= 1');
  return [from, to];
}

interface ChaosOptions {
  peers: number;
  chaosSeed: number;
  workerKills?: number;
  aggregatorKills: number;
  slowRestarts: number;
  pauses: number;
  linkDrops: number;
  silentAggregators: number;
  partitionedAggregators: number;
  corruptAggregators: number;
  silentMs: number;
  faultWindow: [number, number];
  checkpointEvery: number;
  restartDelayMs: number;
  pauseMs?: number;
  slowDelayMs?: number;
  slowRounds: number;
  victimWaitMs: number;
  drainMs: number;
  maxSeconds: number;
  skipBaseline: boolean;
  fromSource: boolean;
  keepLogs?: string;
  out: string;
}

/**
 * A rough figure printed before the run. Measured on a 2-core machine under load (load
 * average 6-14): 6 peers need about 20 s to start and 0.25-0.35 s a round; the default run
 * took about 4 min in all (baseline 99 s, faulty session 103 s).
 */
export function expectedSeconds(settings: ChaosSettings, counts: FaultCounts, baseline: boolean): number {
  const startup = 20;
  const perRound = 0.045 * settings.peers;
  const clean = startup + settings.rounds * perRound;
  const faults =
    counts['slow-restart'] * settings.slowRounds * (settings.deadlineMs / 1000) * 0.8 +
    counts.pause * (settings.deadlineMs / 1000) +
    counts['silent-aggregator'] * (settings.silentMs / 1000) +
    (counts['kill-aggregator'] + counts['kill-worker']) * 2;
  return (baseline ? clean : 0) + clean + faults;
}

/** Intervals (epoch ms) in which a silent or cut-off aggregator had not yet been replaced. */
function silentFailureWindows(faults: readonly FaultRecord[], silentMs: number): [number, number][] {
  return faults
    .filter((f) => f.kind === 'silent-aggregator' || f.kind === 'partition-aggregator')
    .map((f) => [f.epochMs, f.epochMs + Math.max(silentMs, 4000)]);
}

/** True when every final model is known and they are all one. */
function identical(models: ChaosSessionRun['finalModels']): boolean {
  return (
    models.length > 0 &&
    models.every((m) => m.modelSha256 !== null && m.modelSha256 === models[0]?.modelSha256)
  );
}

function summarize(run: ChaosSessionRun, silentWindows: [number, number][] = []) {
  const rounds = roundRecords(run.logs);
  // A round open while an aggregator was silent spans its failure (detection, election).
  const spansSilence = (r: { closedAt: number; durationMs: number }) =>
    silentWindows.some(([from, to]) => r.closedAt - r.durationMs <= to && r.closedAt >= from);
  // Round 0 waits for every peer to start (minPeers): start-up, not a fault; reported apart.
  const outside = rounds.filter((r) => r.round > 0 && !spansSilence(r));
  let maxGapMs = 0;
  for (let i = 1; i < rounds.length; i++)
    maxGapMs = Math.max(maxGapMs, (rounds[i]?.closedAt ?? 0) - (rounds[i - 1]?.closedAt ?? 0));
  const longest = rounds.reduce((a, r) => (r.durationMs > (a?.durationMs ?? -1) ? r : a), rounds[0]);
  return {
    testAccuracy: finalAccuracy(run.logs),
    seconds: run.seconds,
    timedOut: run.timedOut,
    roundsClosed: rounds.length,
    lastRound: Math.max(-1, ...rounds.map((r) => r.round)),
    maxRoundSeconds: (longest?.durationMs ?? 0) / 1000,
    maxRoundSecondsOutsideSilent: Math.max(0, ...outside.map((r) => r.durationMs)) / 1000,
    firstRoundSeconds: (rounds.find((r) => r.round === 0)?.durationMs ?? 0) / 1000,
    longestRound: longest === undefined ? null : { round: longest.round, term: longest.term },
    maxGapSeconds: maxGapMs / 1000,
    terms: new Set(rounds.map((r) => r.term)).size,
    crashes: run.processes.filter((p) => p.crashed).length + run.hung,
  };
}

export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  let code = 0;
  const command = chaosCommand().action(async () => {
    code = await run(command, io);
  });
  return runProgram(command, argv, io, () => code, 'npm run chaos --');
}

async function run(command: Command, io: CliIo): Promise<number> {
  const opts = command.opts<ChaosOptions>();
  const peers = opts.peers;
  // The session config as the sessions run it (runChaosSession sets peers, rounds, deadline,
  // evaluation and seed from the settings too); checked before anything starts.
  const session = configFromFlags({
    ...configFlagValues(command),
    'min-peers': String(peers),
    'data-shards': String(peers),
  });
  const deadlineMs = session.roundDeadlineMs;
  const defaults = defaultFaultCounts(peers);
  const counts: FaultCounts = {
    'kill-worker': opts.workerKills ?? defaults['kill-worker'],
    'kill-aggregator': opts.aggregatorKills,
    'slow-restart': opts.slowRestarts,
    pause: opts.pauses,
    'drop-links': opts.linkDrops,
    'silent-aggregator': opts.silentAggregators,
    'partition-aggregator': opts.partitionedAggregators,
    'corrupt-aggregator': opts.corruptAggregators,
  };
  const [from, to] = opts.faultWindow;
  const workdir = await mkdtemp(join(tmpdir(), 'liec-chaos-'));
  const log = (line: string) => io.out(`${line}\n`);
  const settings: ChaosSettings = {
    peers,
    rounds: session.rounds,
    deadlineMs,
    seed: session.seed,
    chaosSeed: opts.chaosSeed,
    evalEvery: session.evalEvery,
    checkpointEvery: opts.checkpointEvery,
    restartDelayMs: opts.restartDelayMs,
    pauseMs: opts.pauseMs ?? 1.5 * deadlineMs,
    silentMs: opts.silentMs,
    slowDelayMs: opts.slowDelayMs ?? 1.25 * deadlineMs,
    slowRounds: opts.slowRounds,
    victimWaitMs: opts.victimWaitMs,
    drainMs: opts.drainMs,
    maxSeconds: opts.maxSeconds,
    workdir,
    log,
    session,
    built: !opts.fromSource,
  };
  const baseline = !opts.skipBaseline;
  const plan = planFaults(counts, settings.rounds, [from, to], createRng(settings.chaosSeed));
  const expected = expectedSeconds(settings, counts, baseline);
  log(
    `expected duration: about ${(expected / 60).toFixed(1)} min on 2 cores (${baseline ? 'baseline, then ' : ''}the faulty session; each capped at ${settings.maxSeconds} s)`,
  );
  log(
    `chaos: ${peers} peers, ${settings.rounds} rounds, deadline ${deadlineMs} ms; faults ${JSON.stringify(counts)}`,
  );
  const loadBefore = loadavg();
  const { createSignalingServer } = await import('../signaling/index.ts');
  const server = createSignalingServer({ logLevel: 'warn' });
  await server.start({ port: 0, host: '127.0.0.1' });
  try {
    let clean: ChaosSessionRun | null = null;
    if (baseline) {
      log('baseline (no faults)...');
      clean = await runChaosSession(
        server,
        { ...settings, workdir: join(workdir, 'baseline'), log: () => {} },
        [],
      );
    }
    log('chaos session...');
    const chaos = await runChaosSession(server, { ...settings, workdir: join(workdir, 'chaos') }, plan);
    const failures = chaos.faults
      .filter((f) => f.peerId !== null && AGGREGATOR_FAULTS.has(f.kind as FaultKind))
      .map((f) => ({ peerId: f.peerId ?? '', at: f.epochMs }));
    const uploads = accountUploads(chaos.logs, failures);
    const faulty = summarize(chaos, silentFailureWindows(chaos.faults, opts.silentMs));
    const base = clean === null ? null : summarize(clean);
    const resumes = resumeReports(chaos.logs);
    const killsOf = (kind: string) => chaos.faults.filter((f) => f.kind === kind && f.peerId !== null).length;
    const result = {
      peers,
      rounds: faulty.lastRound + 1,
      roundsPlanned: settings.rounds,
      workerKills: killsOf('kill-worker'),
      aggregatorKills: killsOf('kill-aggregator'),
      pauses: killsOf('pause'),
      linkDrops: killsOf('drop-links'),
      silentAggregators: killsOf('silent-aggregator'),
      partitionedAggregators: killsOf('partition-aggregator'),
      corruptAggregators: killsOf('corrupt-aggregator'),
      restarts: killsOf('restart'),
      final: { testAccuracy: faulty.testAccuracy },
      baseline:
        base === null
          ? null
          : { testAccuracy: base.testAccuracy, seconds: base.seconds, maxRoundSeconds: base.maxRoundSeconds },
      accuracyDeltaPoints:
        base?.testAccuracy == null || faulty.testAccuracy === null
          ? null
          : 100 * (faulty.testAccuracy - base.testAccuracy),
      maxRoundSeconds: faulty.maxRoundSeconds,
      roundDeadlineSeconds: deadlineMs / 1000,
      longestRound: faulty.longestRound,
      /** The longest round but round 0 and those spanning a silent or cut-off aggregator's failure. */
      maxRoundSecondsOutsideSilentFailures: faulty.maxRoundSecondsOutsideSilent,
      /** Round 0: from the first aggregator's election until every peer had started and uploaded. */
      firstRoundSeconds: faulty.firstRoundSeconds,
      maxGapSeconds: faulty.maxGapSeconds,
      terms: faulty.terms,
      crashes: faulty.crashes,
      lostUploads: uploads.lost.length,
      uploads: {
        sent: uploads.sent,
        counted: uploads.counted,
        folded: uploads.folded,
        lostWithAggregator: uploads.lostWithAggregator,
        diedWithSender: uploads.diedWithSender,
        garbled: uploads.garbled,
        afterLastRound: uploads.afterLastRound,
        duplicatesOfRestarted: uploads.duplicates,
        lost: uploads.lost,
        ofKilledProcesses: uploads.killed,
      },
      finalModels: chaos.finalModels,
      identicalModels: identical(chaos.finalModels),
      targets: {
        accuracyWithinOnePointOfBaseline:
          base?.testAccuracy == null || faulty.testAccuracy === null
            ? null
            : // In points rounded to 1e-9: 0.917 - 0.907 is 0.010000000000000009 in floats.
              Math.round(Math.abs(faulty.testAccuracy - base.testAccuracy) * 1e11) / 1e9 <= 1,
        noCrashes: faulty.crashes === 0,
        noLostUploads: uploads.lost.length === 0,
        noRoundOverTwiceTheDeadline: faulty.maxRoundSecondsOutsideSilent <= (2 * deadlineMs) / 1000,
        identicalModels: identical(chaos.finalModels),
        // Straggler restarts miss their rounds by design (their uploads are folded late).
        resumesCountedWithin3RoundsOr3Seconds: resumes
          .filter((r) => !r.straggler)
          .every(
            (r) => (r.roundsToCountedAgain ?? Infinity) <= 3 || (r.secondsToCountedAgain ?? Infinity) <= 3,
          ),
      },
      resumes,
      maxSecondsToCountedAgain: Math.max(
        0,
        ...resumes.filter((r) => !r.straggler).map((r) => r.secondsToCountedAgain ?? Infinity),
      ),
      timedOut: chaos.timedOut || (clean?.timedOut ?? false),
      seconds: { expected, baseline: base?.seconds ?? null, chaos: chaos.seconds },
      settings: {
        ...settings,
        workdir: undefined,
        log: undefined,
        faultCounts: counts,
        faultWindow: [from, to],
      },
      plan,
      faults: chaos.faults,
      processes: chaos.processes,
      load: { cpus: cpus().length, loadavgBefore: loadBefore, loadavgAfter: loadavg() },
      date: new Date().toISOString(),
    };
    const pct = (x: number | null | undefined) => (x == null ? 'n/a' : `${(100 * x).toFixed(2)}%`);
    log(
      `final accuracy ${pct(result.final.testAccuracy)} (baseline ${pct(base?.testAccuracy)}), crashes ${result.crashes}, lostUploads ${result.lostUploads} (${uploads.sent} sent, ${uploads.counted} counted, ${uploads.folded} folded, ${uploads.lostWithAggregator.length} with a killed aggregator)`,
    );
    log(
      `worker kills ${result.workerKills}, aggregator kills ${result.aggregatorKills}, max round ${result.maxRoundSeconds.toFixed(2)} s (deadline ${deadlineMs / 1000} s), longest gap between rounds ${result.maxGapSeconds.toFixed(2)} s; ${result.seconds.chaos.toFixed(0)} s (baseline ${base?.seconds.toFixed(0) ?? '-'} s)`,
    );
    // Only there: a run given --out leaves bench/results/chaos.json as it is.
    const out = opts.out;
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
    if (opts.keepLogs !== undefined) await cp(workdir, opts.keepLogs, { recursive: true });
    const missed = Object.entries(result.targets)
      .filter(([, met]) => met === false)
      .map(([name]) => name);
    if (missed.length > 0) log(`targets missed: ${missed.join(', ')}`);
    return result.timedOut || result.final.testAccuracy === null || missed.length > 0 ? 1 : 0;
  } finally {
    await server.stop();
    await rm(workdir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.exitCode = await main(process.argv.slice(2));
