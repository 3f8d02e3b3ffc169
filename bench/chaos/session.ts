/**
 * One chaos bench session: `peers` headless peers as separate processes on loopback, a fault
 * plan carried out as the rounds go by (plan.ts; empty for the baseline), killed peers
 * restarted from their checkpoints, until training ends or the wall-clock cap.
 *
 * Faults are only aimed at peers the server lists as ready (a process still loading has not
 * installed its SIGUSR2 handler) and not already under a fault. When the last round is
 * reported, faults and restarts stop; processes that have not left by themselves within
 * `drainMs` of the aggregator's exit get SIGTERM (they leave cleanly, exit 0).
 *
 * @example
 * const run = await runChaosSession(server, settings, plan);
 * run.logs; // one IncarnationLog per process started
 */
import { mkdir, readFile } from 'node:fs/promises';
import { SignalingClient } from '../../client/signaling/index.ts';
import { createRng, type Rng } from '../../shared/random.ts';
import type { SessionConfigInput } from '../../shared/protocol/session-config.ts';
import type { SessionStatus } from '../../shared/protocol/signaling-status.ts';
import type { SignalingServer } from '../../signaling/index.ts';
import { parseEventLog, type IncarnationLog } from './accounting.ts';
import type { PlannedFault } from './plan.ts';
import { spawnJoin, type Exit, type JoinProcess } from './processes.ts';

export interface ChaosSettings {
  peers: number;
  rounds: number;
  deadlineMs: number;
  /** Session seed (data split, initial weights, codecs). */
  seed: number;
  /** Seed of the bench's own choices (victims). */
  chaosSeed: number;
  evalEvery: number;
  checkpointEvery: number;
  /** Pause between a kill and the restart. */
  restartDelayMs: number;
  /** How long a paused (SIGSTOP) worker stays stopped. */
  pauseMs: number;
  /** How long a silent aggregator (SIGSTOP) stays stopped: longer than failure detection. */
  silentMs: number;
  /** Compute delay of a slow restart (beyond the deadline). */
  slowDelayMs: number;
  /** Rounds a slow restart stays slow before it is killed and resumed normally. */
  slowRounds: number;
  /** How long a fault waits for an eligible victim before it is skipped. */
  victimWaitMs: number;
  /** After the aggregator's exit, how long the others get to leave by themselves. */
  drainMs: number;
  /** Wall-clock cap of this session (everything is killed past it). */
  maxSeconds: number;
  /**
   * The rest of the session config (algorithm, compressors, syncs); the fields above set the
   * rounds, deadline, peers, evaluation and seed. @default the session defaults
   */
  session?: SessionConfigInput;
  /** Peers log protocol events to stderr (`join --verbose`), shown if the run times out. @default false */
  verbose?: boolean;
  /** Peers run from the build (dist/cli) instead of the TypeScript source. @default false */
  built?: boolean;
  workdir: string;
  log: (line: string) => void;
}

export interface FaultRecord {
  /** Seconds since the session started. */
  at: number;
  /** The same moment in epoch ms (the clock of the peers' event logs). */
  epochMs: number;
  /** The last round the server had seen reported. */
  round: number;
  kind: string;
  peerId: string | null;
  detail: string;
}

export interface ChaosSessionRun {
  logs: IncarnationLog[];
  /** The model each peer's last process held when it left (its summary; null: none written). */
  finalModels: { peerId: string; incarnation: number; modelSha256: string | null }[];
  processes: {
    peerId: string;
    incarnation: number;
    resumed: boolean;
    exit: Exit | null;
    crashed: boolean;
    stderr: string;
  }[];
  faults: FaultRecord[];
  seconds: number;
  timedOut: boolean;
  /** Processes still running after SIGTERM at the end (then SIGKILLed). */
  hung: number;
}

type PeerState = 'running' | 'busy';
interface Slot {
  peerId: string;
  shard: number;
  state: PeerState;
  incarnations: JoinProcess[];
  killedAt: Map<number, number>;
  /** Incarnations restarted as stragglers (a compute delay beyond the deadline). */
  slow: Set<number>;
}

/** Event-log lines and stderr lines shown per peer when a run stalls. */
const STALL_EVENTS = 8;
const STALL_STDERR_LINES = 40;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function runChaosSession(
  server: SignalingServer,
  settings: ChaosSettings,
  plan: readonly PlannedFault[],
): Promise<ChaosSessionRun> {
  await mkdir(settings.workdir, { recursive: true });
  const started = Date.now();
  const capAt = started + settings.maxSeconds * 1000;
  const rng: Rng = createRng(settings.chaosSeed);
  const client = new SignalingClient();
  await client.connect(server.url);
  const { sessionId, token } = await client.create({
    ...settings.session,
    rounds: settings.rounds,
    roundDeadlineMs: settings.deadlineMs,
    minPeers: settings.peers,
    dataShards: settings.peers,
    evalEvery: settings.evalEvery,
    seed: settings.seed,
  });
  client.close();
  const status = (): SessionStatus | undefined =>
    server.status().sessions.find((s) => s.sessionId === sessionId);
  const lastRound = () => status()?.aggregator.lastRound ?? 0;
  let finished = false;
  const over = () => finished || Date.now() > capAt;
  const faults: FaultRecord[] = [];
  const record = (kind: string, peerId: string | null, detail: string) => {
    const now = Date.now();
    faults.push({ at: (now - started) / 1000, epochMs: now, round: lastRound(), kind, peerId, detail });
    settings.log(
      `  [${((Date.now() - started) / 1000).toFixed(1)} s, round ${lastRound()}] ${kind} ${peerId ?? ''} ${detail}`,
    );
  };
  const slots: Slot[] = Array.from({ length: settings.peers }, (_, i) => ({
    peerId: `p${i}`,
    shard: i,
    state: 'running',
    incarnations: [],
    killedAt: new Map(),
    slow: new Set(),
  }));
  const start = (slot: Slot, resume: boolean, computeDelayMs = 0): JoinProcess => {
    const child = spawnJoin({
      server: server.url,
      sessionId,
      token,
      peerId: slot.peerId,
      workdir: settings.workdir,
      shard: slot.shard,
      resume,
      checkpointEvery: settings.checkpointEvery,
      computeDelayMs,
      incarnation: slot.incarnations.length,
      verbose: settings.verbose === true,
      built: settings.built === true,
    });
    slot.incarnations.push(child);
    return child;
  };
  const current = (slot: Slot) => slot.incarnations.at(-1);
  const kill = async (slot: Slot): Promise<void> => {
    const child = current(slot);
    if (child === undefined || !child.signal('SIGKILL')) return;
    slot.killedAt.set(child.incarnation, Date.now());
    await child.exited;
  };
  const restart = async (slot: Slot, computeDelayMs = 0): Promise<JoinProcess | null> => {
    await sleep(settings.restartDelayMs);
    if (over()) return null;
    const child = start(slot, true, computeDelayMs);
    if (computeDelayMs > 0) slot.slow.add(child.incarnation);
    record(
      'restart',
      slot.peerId,
      `incarnation ${child.incarnation}${child.resumed ? ' --resume' : ' (no checkpoint yet)'}${computeDelayMs > 0 ? ` --compute-delay-ms ${computeDelayMs}` : ''}`,
    );
    return child;
  };
  const ready = (slot: Slot): boolean =>
    slot.state === 'running' && status()?.peers.some((p) => p.peerId === slot.peerId && p.ready) === true;
  const pick = async (
    eligible: (slot: Slot, aggregatorId: string | null) => boolean,
  ): Promise<Slot | null> => {
    const until = Date.now() + settings.victimWaitMs;
    while (!over() && Date.now() < until) {
      const aggregatorId = status()?.aggregator.peerId ?? null;
      const candidates = slots.filter((s) => ready(s) && eligible(s, aggregatorId));
      if (candidates.length > 0) return candidates[rng.int(candidates.length)] ?? null;
      await sleep(100);
    }
    return null;
  };
  const background = new Set<Promise<void>>();
  const inBackground = (task: () => Promise<void>) => {
    const running = task().finally(() => background.delete(running));
    background.add(running);
  };
  /** Until the server names another aggregator than `peerId` (or victimWaitMs). */
  const replaced = async (peerId: string): Promise<void> => {
    const until = Date.now() + settings.victimWaitMs;
    while (!over() && Date.now() < until && status()?.aggregator.peerId === peerId) await sleep(50);
  };
  const readyOthers = (peerId: string) => slots.filter((s) => s.peerId !== peerId && ready(s)).length;

  async function apply(fault: PlannedFault): Promise<void> {
    const isWorker = (s: Slot, agg: string | null) => s.peerId !== agg;
    switch (fault.kind) {
      case 'kill-worker':
      case 'kill-aggregator': {
        const wantAggregator = fault.kind === 'kill-aggregator';
        const slot = await pick((s, agg) =>
          wantAggregator ? s.peerId === agg && readyOthers(s.peerId) >= 2 : isWorker(s, agg),
        );
        if (slot === null) return record(fault.kind, null, 'skipped: no eligible peer');
        slot.state = 'busy';
        await kill(slot);
        record(fault.kind, slot.peerId, 'SIGKILL');
        inBackground(async () => {
          await restart(slot);
          slot.state = 'running';
        });
        return;
      }
      case 'slow-restart': {
        const slot = await pick(isWorker);
        if (slot === null) return record(fault.kind, null, 'skipped: no eligible peer');
        slot.state = 'busy';
        await kill(slot);
        record('kill-worker', slot.peerId, 'SIGKILL (to restart it as a straggler)');
        inBackground(async () => {
          const slow = await restart(slot, settings.slowDelayMs);
          if (slow === null) return;
          // Slow for slowRounds rounds from when it is back in the session.
          while (!over() && status()?.peers.some((p) => p.peerId === slot.peerId && p.ready) !== true)
            await sleep(100);
          const from = lastRound();
          while (!over() && lastRound() < from + settings.slowRounds && slow.exit === null) await sleep(100);
          if (over()) return;
          await kill(slot);
          record('kill-worker', slot.peerId, `SIGKILL (straggler for rounds ${from}-${lastRound()})`);
          await restart(slot);
          slot.state = 'running';
        });
        return;
      }
      case 'pause': {
        const slot = await pick(isWorker);
        const child = slot === null ? undefined : current(slot);
        if (slot === null || child === undefined)
          return record(fault.kind, null, 'skipped: no eligible peer');
        slot.state = 'busy';
        child.signal('SIGSTOP');
        record('pause', slot.peerId, `SIGSTOP for ${settings.pauseMs} ms`);
        inBackground(async () => {
          await sleep(settings.pauseMs);
          child.signal('SIGCONT');
          record('resume', slot.peerId, 'SIGCONT');
          slot.state = 'running';
        });
        return;
      }
      case 'drop-links': {
        const slot = await pick(() => true);
        const child = slot === null ? undefined : current(slot);
        if (slot === null || child === undefined)
          return record(fault.kind, null, 'skipped: no eligible peer');
        const role = slot.peerId === status()?.aggregator.peerId ? 'aggregator' : 'worker';
        child.signal('SIGUSR2');
        record('drop-links', slot.peerId, `SIGUSR2 (${role}: closes every data channel)`);
        return;
      }
      case 'silent-aggregator':
      case 'partition-aggregator':
      case 'corrupt-aggregator': {
        const slot = await pick((s, agg) => s.peerId === agg && readyOthers(s.peerId) >= 2);
        const child = slot === null ? undefined : current(slot);
        if (slot === null || child === undefined)
          return record(fault.kind, null, 'skipped: no eligible peer');
        slot.state = 'busy';
        if (fault.kind === 'partition-aggregator') {
          child.signal('SIGPWR');
          record(fault.kind, slot.peerId, 'SIGPWR (its data channels cut for 4 s, signaling up)');
          inBackground(async () => {
            await replaced(slot.peerId);
            slot.state = 'running';
          });
          return;
        }
        if (fault.kind === 'silent-aggregator') {
          child.signal('SIGSTOP');
          record(fault.kind, slot.peerId, `SIGSTOP for ${settings.silentMs} ms`);
          inBackground(async () => {
            await sleep(settings.silentMs);
            child.signal('SIGCONT');
            record('resume', slot.peerId, 'SIGCONT');
            slot.state = 'running';
          });
          return;
        }
        child.signal('SIGURG');
        record(fault.kind, slot.peerId, 'SIGURG (truncates 30% of the frames it sends)');
        inBackground(async () => {
          await replaced(slot.peerId);
          child.signal('SIGURG');
          record('repaired', slot.peerId, 'SIGURG (frames intact again)');
          slot.state = 'running';
        });
        return;
      }
      default: {
        const unreachable: never = fault.kind;
        throw new Error(`unknown fault ${String(unreachable)}`);
      }
    }
  }

  for (const slot of slots) start(slot, false);
  const watcher = (async () => {
    while (!over()) {
      if (lastRound() >= settings.rounds - 1) finished = true;
      await sleep(50);
    }
  })();
  for (const fault of [...plan].sort((a, b) => a.atRound - b.atRound)) {
    while (!over() && lastRound() < fault.atRound) await sleep(50);
    if (over()) break;
    await apply(fault);
  }
  await watcher;
  const timedOut = !finished;
  if (timedOut) await describeStall(settings, status(), slots);
  await Promise.all([...background]);
  const all = slots.flatMap((s) => s.incarnations);
  // The aggregator leaves once it has sent 'done'; the others follow, or are told to.
  const aggregator = slots.find((s) => s.peerId === status()?.aggregator.peerId);
  const endBy = timedOut ? Date.now() : Math.min(capAt, Date.now() + 60_000);
  const aggregatorChild = aggregator === undefined ? undefined : current(aggregator);
  while (aggregatorChild !== undefined && aggregatorChild.exit === null && Date.now() < endBy)
    await sleep(100);
  // A peer that never got 'done' (it was rejoining) must not be elected and train on alone.
  for (const c of all) {
    const text = c.exit === null ? await readFile(c.eventsPath, 'utf8').catch(() => '') : '';
    if (c.exit === null && !text.includes('"type":"done"')) c.signal('SIGTERM');
  }
  const drainUntil = timedOut ? Date.now() : Date.now() + settings.drainMs;
  while (all.some((c) => c.exit === null) && Date.now() < drainUntil) await sleep(100);
  for (const c of all) if (c.exit === null) c.signal(timedOut ? 'SIGKILL' : 'SIGTERM');
  await Promise.race([Promise.all(all.map((c) => c.exited)), sleep(10_000)]);
  const hung = all.filter((c) => c.exit === null).length;
  for (const c of all) c.signal('SIGKILL');
  await Promise.all(all.map((c) => c.exited));

  const logs: IncarnationLog[] = [];
  for (const slot of slots)
    for (const child of slot.incarnations) {
      const text = await readFile(child.eventsPath, 'utf8').catch(() => '');
      logs.push({
        peerId: slot.peerId,
        incarnation: child.incarnation,
        killedAt: slot.killedAt.get(child.incarnation) ?? null,
        startedAt: child.startedAt,
        straggler: slot.slow.has(child.incarnation),
        events: parseEventLog(text),
      });
    }
  const finalModels: ChaosSessionRun['finalModels'] = [];
  for (const slot of slots) {
    const child = current(slot);
    if (child === undefined || slot.killedAt.has(child.incarnation)) continue;
    const summary = await readFile(child.summaryPath, 'utf8').catch(() => '');
    const hash = /"modelSha256":\s*"([0-9a-f]{64})"/.exec(summary)?.[1] ?? null;
    finalModels.push({ peerId: slot.peerId, incarnation: child.incarnation, modelSha256: hash });
  }
  return {
    logs,
    finalModels,
    processes: all.map((c) => ({
      peerId: c.peerId,
      incarnation: c.incarnation,
      resumed: c.resumed,
      exit: c.exit,
      crashed: c.exit !== null && c.crashed(c.exit),
      stderr: c.exit !== null && c.crashed(c.exit) ? c.stderrTail() : '',
    })),
    faults,
    seconds: (Date.now() - started) / 1000,
    timedOut,
    hung,
  };
}

/**
 * What a run that hit its cap looked like, for whoever reads the log: the server's view of
 * the session, and each live process's last events and stderr (with `verbose`, its protocol log).
 */
async function describeStall(
  settings: ChaosSettings,
  session: SessionStatus | undefined,
  slots: readonly Slot[],
): Promise<void> {
  settings.log(`  stalled: the cap passed; the server's view: ${JSON.stringify(session ?? null)}`);
  for (const slot of slots) {
    const child = slot.incarnations.at(-1);
    if (child === undefined) continue;
    const events = (await readFile(child.eventsPath, 'utf8').catch(() => '')).trim().split('\n');
    settings.log(`  ${slot.peerId}.${child.incarnation} exit ${JSON.stringify(child.exit)}, last events:`);
    for (const line of events.slice(-STALL_EVENTS)) settings.log(`    ${line}`);
    for (const line of child.stderrTail().trim().split('\n').slice(-STALL_STDERR_LINES))
      settings.log(`    stderr: ${line}`);
  }
}
