/**
 * Chaos run: a real LIEC-SGD session on loopback, every peer a separate `liec join` process
 * (real WebRTC), first without faults (the baseline), then the same session config and seed
 * while the bench SIGKILLs and restarts workers (--resume from their checkpoints), kills the
 * aggregator (failovers), restarts a worker as a straggler beyond the round deadline, pauses
 * workers (SIGSTOP longer than a deadline, then SIGCONT) and makes peers drop every data
 * channel (SIGUSR2 with `join --debug-signals`). Faults are spread over a window of the
 * rounds (bench/chaos/plan.ts); every setting is a flag; each session has a wall-clock cap.
 *
 * From the peers' event logs (kept across SIGKILL) it reports: final and baseline test
 * accuracy, the longest round against its deadline, crashes (processes that died other than
 * by an injected signal), lostUploads (uploads a live worker sent that no round counted and
 * no late fold took: bench/chaos/accounting.ts), how resumed peers were taken back, and the
 * fault log.
 *
 * @example
 * npm run chaos -- --peers 6 --rounds 300 --out chaos.json
 * npm run chaos -- --peers 4 --rounds 60 --skip-baseline
 * npm run chaos -- --peers 4 --rounds 120 --sync-mode rolling --sync 5   // any `liec create` flag
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CONFIG_FLAGS, configFromFlags } from '../client/cli/create.ts';
import { createRng } from '../shared/random.ts';
import { createSignalingServer } from '../signaling/index.ts';
import { accountUploads, finalAccuracy, resumeReports, roundRecords } from './chaos/accounting.ts';
import { defaultFaultCounts, planFaults, type FaultCounts } from './chaos/plan.ts';
import { runChaosSession, type ChaosSessionRun, type ChaosSettings } from './chaos/session.ts';

const DEFAULT_OUT = join(dirname(fileURLToPath(import.meta.url)), 'results', 'chaos.json');

export const CHAOS_USAGE = `usage: npm run chaos -- [options]
  --peers 6 --rounds 300 --deadline-ms 2000 --seed 1 --eval-every 25   the session
  --worker-kills N (round(0.3 * peers)) --aggregator-kills 2 --slow-restarts 1
  --pauses 2 --link-drops 3 --fault-window 0.1,0.8 --chaos-seed 7      the faults
  --checkpoint-every 5 --restart-delay-ms 500 --pause-ms (1.5 x deadline)
  --slow-delay-ms (1.25 x deadline) --slow-rounds 8 --victim-wait-ms 30000 --drain-ms 3000
  --max-seconds 900 (per session) --skip-baseline --keep-logs DIR --out FILE (bench/results/chaos.json)
  and the rest of the session config as \`liec create\` takes it (--up, --sync-mode rolling, --sync 5, ...)`;

const num = (text: string | undefined, fallback: number): number => {
  const value = text === undefined ? fallback : Number(text);
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`not a non-negative number: ${text}`);
  return value;
};

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
    (counts['kill-aggregator'] + counts['kill-worker']) * 2;
  return (baseline ? clean : 0) + clean + faults;
}

function summarize(run: ChaosSessionRun) {
  const rounds = roundRecords(run.logs);
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
    longestRound: longest === undefined ? null : { round: longest.round, term: longest.term },
    maxGapSeconds: maxGapMs / 1000,
    terms: new Set(rounds.map((r) => r.term)).size,
    crashes: run.processes.filter((p) => p.crashed).length + run.hung,
  };
}

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...CONFIG_FLAGS,
      peers: { type: 'string' },
      rounds: { type: 'string' },
      'deadline-ms': { type: 'string' },
      seed: { type: 'string' },
      'chaos-seed': { type: 'string' },
      'eval-every': { type: 'string' },
      'worker-kills': { type: 'string' },
      'aggregator-kills': { type: 'string' },
      'slow-restarts': { type: 'string' },
      pauses: { type: 'string' },
      'link-drops': { type: 'string' },
      'fault-window': { type: 'string' },
      'checkpoint-every': { type: 'string' },
      'restart-delay-ms': { type: 'string' },
      'pause-ms': { type: 'string' },
      'slow-delay-ms': { type: 'string' },
      'slow-rounds': { type: 'string' },
      'victim-wait-ms': { type: 'string' },
      'drain-ms': { type: 'string' },
      'max-seconds': { type: 'string' },
      'skip-baseline': { type: 'boolean' },
      'keep-logs': { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help === true) {
    console.log(CHAOS_USAGE);
    return 0;
  }
  const peers = num(values.peers, 6);
  const deadlineMs = num(values['deadline-ms'], 2000);
  const defaults = defaultFaultCounts(peers);
  const counts: FaultCounts = {
    'kill-worker': num(values['worker-kills'], defaults['kill-worker']),
    'kill-aggregator': num(values['aggregator-kills'], defaults['kill-aggregator']),
    'slow-restart': num(values['slow-restarts'], defaults['slow-restart']),
    pause: num(values.pauses, defaults.pause),
    'drop-links': num(values['link-drops'], defaults['drop-links']),
  };
  const [from = 0.1, to = 0.8] = (values['fault-window'] ?? '0.1,0.8').split(',').map(Number);
  const workdir = await mkdtemp(join(tmpdir(), 'liec-chaos-'));
  const settings: ChaosSettings = {
    peers,
    rounds: num(values.rounds, 300),
    deadlineMs,
    seed: num(values.seed, 1),
    chaosSeed: num(values['chaos-seed'], 7),
    evalEvery: num(values['eval-every'], 25),
    checkpointEvery: num(values['checkpoint-every'], 5),
    restartDelayMs: num(values['restart-delay-ms'], 500),
    pauseMs: num(values['pause-ms'], 1.5 * deadlineMs),
    slowDelayMs: num(values['slow-delay-ms'], 1.25 * deadlineMs),
    slowRounds: num(values['slow-rounds'], 8),
    victimWaitMs: num(values['victim-wait-ms'], 30_000),
    drainMs: num(values['drain-ms'], 3000),
    maxSeconds: num(values['max-seconds'], 900),
    workdir,
    log: (line) => console.log(line),
  };
  // The rest of the session config, saved as the session runs it (runChaosSession sets these too).
  settings.session = configFromFlags({
    ...values,
    rounds: String(settings.rounds),
    'deadline-ms': String(deadlineMs),
    'min-peers': String(peers),
    'data-shards': String(peers),
    'eval-every': String(settings.evalEvery),
    seed: String(settings.seed),
  });
  const baseline = values['skip-baseline'] !== true;
  const plan = planFaults(counts, settings.rounds, [from, to], createRng(settings.chaosSeed));
  const expected = expectedSeconds(settings, counts, baseline);
  console.log(
    `expected duration: about ${(expected / 60).toFixed(1)} min on 2 cores (${baseline ? 'baseline, then ' : ''}the faulty session; each capped at ${settings.maxSeconds} s)`,
  );
  console.log(
    `chaos: ${peers} peers, ${settings.rounds} rounds, deadline ${deadlineMs} ms; faults ${JSON.stringify(counts)}`,
  );
  const loadBefore = loadavg();
  const server = createSignalingServer({ logLevel: 'warn' });
  await server.start({ port: 0, host: '127.0.0.1' });
  try {
    let clean: ChaosSessionRun | null = null;
    if (baseline) {
      console.log('baseline (no faults)...');
      clean = await runChaosSession(
        server,
        { ...settings, workdir: join(workdir, 'baseline'), log: () => {} },
        [],
      );
    }
    console.log('chaos session...');
    const chaos = await runChaosSession(server, { ...settings, workdir: join(workdir, 'chaos') }, plan);
    const uploads = accountUploads(chaos.logs);
    const faulty = summarize(chaos);
    const base = clean === null ? null : summarize(clean);
    const killsOf = (kind: string) => chaos.faults.filter((f) => f.kind === kind && f.peerId !== null).length;
    const result = {
      peers,
      rounds: faulty.lastRound + 1,
      roundsPlanned: settings.rounds,
      workerKills: killsOf('kill-worker'),
      aggregatorKills: killsOf('kill-aggregator'),
      pauses: killsOf('pause'),
      linkDrops: killsOf('drop-links'),
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
      maxGapSeconds: faulty.maxGapSeconds,
      terms: faulty.terms,
      crashes: faulty.crashes,
      lostUploads: uploads.lost.length,
      uploads: {
        sent: uploads.sent,
        counted: uploads.counted,
        folded: uploads.folded,
        lostWithAggregator: uploads.lostWithAggregator.length,
        afterLastRound: uploads.afterLastRound.length,
        duplicatesOfRestarted: uploads.duplicates.length,
        lost: uploads.lost,
        ofKilledProcesses: uploads.killed,
      },
      targets: {
        accuracyWithinOnePointOfBaseline:
          base?.testAccuracy == null || faulty.testAccuracy === null
            ? null
            : Math.abs(faulty.testAccuracy - base.testAccuracy) <= 0.01,
        noCrashes: faulty.crashes === 0,
        noLostUploads: uploads.lost.length === 0,
        noRoundOverTwiceTheDeadline: faulty.maxRoundSeconds <= (2 * deadlineMs) / 1000,
      },
      resumes: resumeReports(chaos.logs),
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
    console.log(
      `final accuracy ${pct(result.final.testAccuracy)} (baseline ${pct(base?.testAccuracy)}), crashes ${result.crashes}, lostUploads ${result.lostUploads} (${uploads.sent} sent, ${uploads.counted} counted, ${uploads.folded} folded, ${uploads.lostWithAggregator.length} with a killed aggregator)`,
    );
    console.log(
      `worker kills ${result.workerKills}, aggregator kills ${result.aggregatorKills}, max round ${result.maxRoundSeconds.toFixed(2)} s (deadline ${deadlineMs / 1000} s), longest gap between rounds ${result.maxGapSeconds.toFixed(2)} s; ${result.seconds.chaos.toFixed(0)} s (baseline ${base?.seconds.toFixed(0) ?? '-'} s)`,
    );
    const out = values.out ?? DEFAULT_OUT;
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
    if (values['keep-logs'] !== undefined) await cp(workdir, values['keep-logs'], { recursive: true });
    return result.timedOut || result.final.testAccuracy === null ? 1 : 0;
  } finally {
    await server.stop();
    await rm(workdir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.exitCode = await main(process.argv.slice(2));
