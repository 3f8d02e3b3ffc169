/**
 * Test support: a session of four `liec join` child processes over WebRTC on loopback whose
 * aggregator is stopped (SIGSTOP: alive but silent, its sockets open) or killed (SIGKILL: its
 * sockets close) mid-training, and what followed: when the server named a successor, when
 * that successor closed its first round, and for a stopped one, that it stepped down once
 * continued (SIGCONT) and how every peer ended. The signaling server keeps its default
 * heartbeat timeout (15 s), so a stopped aggregator can only be replaced through the data
 * path (client/roles/link-liveness.ts). Used by test/e2e/silent-aggregator.test.ts and by
 * test/support/measure-failover.ts.
 *
 * @example
 * const run = await runAggregatorFailure('SIGSTOP', { rounds: 300, roundDeadlineMs: 2000 });
 * console.log(run.firstRoundAfterMs);
 */
import { epochNow } from '../../client/roles/events.ts';
import { resolvePeerSettings, type PeerSettings } from '../../client/roles/settings.ts';
import type { PeerSummary } from '../../client/cli/join.ts';
import { parseSessionConfig, type SessionConfigInput } from '../../shared/protocol/session-config.ts';
import type { SessionStatus } from '../../shared/protocol/signaling-status.ts';
import {
  explainedBy,
  killAll,
  spawnAggregator,
  spawnPeer,
  type ChildEvent,
  type ChildPeer,
} from './children.ts';
import { startTestSession, withTimeout } from './session.ts';

export interface FailureOptions {
  rounds: number;
  roundDeadlineMs: number;
  /** Rounds closed under the first aggregator before it is stopped or killed. @default 10 */
  roundsBefore?: number;
  /** Extra session config. */
  config?: SessionConfigInput;
  /** How long to wait for the whole session to end. @default 180_000 */
  finishTimeoutMs?: number;
}

export interface FailureRun {
  /** The peer settings every child runs with (defaults: `liec join` sets none of these). */
  settings: PeerSettings;
  /** Peer ids: the first aggregator, then the others in join order. */
  aggregatorId: string;
  workerIds: string[];
  /** The last round the first aggregator had reported when it was stopped. */
  lastRoundBefore: number;
  /** Epoch ms of the SIGSTOP / SIGKILL. */
  failedAt: number;
  /** The status right after the server named the successor (the first one with a new term). */
  replaced: SessionStatus;
  /** The successor's first closed round (its --events-out line) and when, after the signal. */
  firstRound: ChildEvent & { round: number; term: number; closedAt: number };
  firstRoundAfterMs: number;
  /** When the successor took the role (its 'role' event), after the signal. */
  takeoverAfterMs: number;
  /** With SIGSTOP: the old aggregator's role events after SIGCONT (it steps down). */
  oldRoles: ChildEvent[];
  /** Every child that ran to the end: its summary. */
  summaries: Map<string, PeerSummary>;
  exits: Map<string, { code: number | null; signal: NodeJS.Signals | null }>;
  /** The end of each child's stderr (warnings; failures). */
  stderr: Map<string, string>;
  /** Each child's whole --events-out log, read once it exited. */
  events: Map<string, ChildEvent[]>;
}

const PEER_IDS = ['a-first', 'b-second', 'c-third', 'd-fourth'] as const;

/** Resolves with the first defined value `probe` returns (checked every 50 ms), or rejects after timeoutMs. */
async function pollAsync<T>(
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const started = performance.now();
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (performance.now() - started > timeoutMs)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export async function runAggregatorFailure(
  signal: 'SIGSTOP' | 'SIGKILL',
  options: FailureOptions,
): Promise<FailureRun> {
  const configInput: SessionConfigInput = {
    rounds: options.rounds,
    minPeers: PEER_IDS.length,
    roundDeadlineMs: options.roundDeadlineMs,
    quorum: 0.5,
    ...options.config,
  };
  const settings = resolvePeerSettings(parseSessionConfig(configInput));
  // What a successor may take: silence, the election, a new link, then a round, all well
  // inside the bound the test asserts; generous for a loaded 2-core machine.
  const replaceTimeoutMs = settings.aggregatorSilenceMs + 4 * options.roundDeadlineMs + 10_000;
  const session = await startTestSession(configInput);
  const children: ChildPeer[] = [];
  try {
    const [first, ...rest] = PEER_IDS;
    const old = await spawnAggregator(session, first, children);
    // One at a time, so that the join order (the succession) is the order of PEER_IDS.
    const workers: ChildPeer[] = [];
    for (const peerId of rest) {
      const child = spawnPeer(session, { peerId });
      children.push(child);
      workers.push(child);
      await explainedBy(
        session.waitForStatus((s) => s.peers.some((p) => p.peerId === peerId), 60_000, `${peerId} joined`),
        children,
      );
    }
    const [successor] = workers;
    if (successor === undefined) throw new Error('no successor');
    const before = await explainedBy(
      session.waitForStatus(
        (s) => s.aggregator.term === 1 && s.aggregator.lastRound >= (options.roundsBefore ?? 10),
        120_000,
        'rounds under the first aggregator',
      ),
      children,
    );
    const failedAt = epochNow();
    old.kill(signal);
    const replaced = await explainedBy(
      session.waitForStatus((s) => s.aggregator.term > 1, replaceTimeoutMs, 'a new aggregator'),
      children,
    );
    const term = replaced.aggregator.term;
    const firstRound = await explainedBy(
      pollAsync(
        async () => {
          const found = (await successor.events()).find(
            (e) => e.type === 'round' && e.term === term && typeof e['closedAt'] === 'number',
          );
          return found as FailureRun['firstRound'] | undefined;
        },
        replaceTimeoutMs,
        `the first round of term ${term}`,
      ),
      children,
    );
    const takeover = (await successor.events()).find(
      (e) => e.type === 'role' && e['role'] === 'aggregator' && e['term'] === term,
    );
    let oldRoles: ChildEvent[] = [];
    if (signal === 'SIGSTOP') {
      old.kill('SIGCONT');
      oldRoles = await explainedBy(
        pollAsync(
          async () => {
            const roles = (await old.events()).filter((e) => e.type === 'role');
            return roles.some((e) => e['role'] === 'worker') ? roles : undefined;
          },
          30_000,
          `${first} stepping down`,
        ),
        children,
      );
    }
    const live = signal === 'SIGSTOP' ? children : workers;
    const exits = new Map<string, { code: number | null; signal: NodeJS.Signals | null }>();
    await explainedBy(
      withTimeout(
        Promise.all(live.map(async (c) => exits.set(c.peerId, await c.exited))),
        options.finishTimeoutMs ?? 180_000,
        'every live peer to finish',
      ),
      children,
    );
    const summaries = new Map<string, PeerSummary>();
    const events = new Map<string, ChildEvent[]>();
    for (const c of live) {
      const summary = await c.summary();
      if (summary !== null) summaries.set(c.peerId, summary);
      events.set(c.peerId, await c.events());
    }
    return {
      settings,
      aggregatorId: first,
      workerIds: [...rest],
      lastRoundBefore: before.aggregator.lastRound,
      failedAt,
      replaced,
      firstRound,
      firstRoundAfterMs: firstRound.closedAt - failedAt,
      takeoverAfterMs: (takeover?.at ?? Number.NaN) - failedAt,
      oldRoles,
      summaries,
      exits,
      stderr: new Map(children.map((c) => [c.peerId, c.stderr().slice(-3000)])),
      events,
    };
  } finally {
    await killAll(children);
    await session.close();
  }
}
