/**
 * Test support: headless peers in separate processes (`liec join`), so a crash can be
 * simulated with SIGKILL and a clean exit checked on SIGTERM/SIGINT. Each child writes its
 * JSON summary (PeerSummary) when it leaves by itself.
 *
 * @example
 * const child = spawnPeer(session, { peerId: 'w1', computeDelayMs: 200 });
 * await session.waitForStatus((s) => s.peers.some((p) => p.peerId === 'w1' && p.ready), 30_000, 'w1 ready');
 * child.kill('SIGKILL');
 * const { code, signal } = await child.exited;
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PeerSummary } from '../../client/cli/join.ts';
import type { TestSession } from './session.ts';

const CLI_MAIN = fileURLToPath(new URL('../../client/cli/main.ts', import.meta.url));
const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface ChildPeerOptions {
  peerId: string;
  /** Straggler injection: delay before each gradient. */
  computeDelayMs?: number;
  shard?: number;
  /** Echo the child's stderr (protocol log with --verbose) to this process's stderr. */
  echo?: boolean;
  verbose?: boolean;
  /** `--debug-signals`: SIGUSR2 closes every data channel of the child. */
  debugSignals?: boolean;
}

/** One line of a child's `--events-out` log (client/cli/event-log.ts): type, epoch ms, fields. */
export interface ChildEvent {
  type: string;
  at: number;
  peerId: string;
  [field: string]: unknown;
}

export interface ChildPeer {
  readonly peerId: string;
  readonly child: ChildProcess;
  /** Settles when the process is gone. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Everything the child wrote to stderr so far. */
  stderr(): string;
  kill(signal: NodeJS.Signals): void;
  /** The summary it wrote on leaving, or null. */
  summary(): Promise<PeerSummary | null>;
  /** What it logged so far with `--events-out` (written as it happens: survives a SIGKILL). */
  events(): Promise<ChildEvent[]>;
}

export function spawnPeer(
  session: { url: string; sessionId: string; token: string },
  options: ChildPeerOptions,
): ChildPeer {
  const stem = joinPath(tmpdir(), `liec-test-${process.pid}-${options.peerId}-${Date.now().toString(36)}`);
  const summaryPath = `${stem}.json`;
  const eventsPath = `${stem}.events.jsonl`;
  const args = [
    '--import',
    'tsx',
    CLI_MAIN,
    'join',
    '--server',
    session.url,
    '--session',
    session.sessionId,
    '--token',
    session.token,
    '--peer-id',
    options.peerId,
    '--summary-out',
    summaryPath,
    '--events-out',
    eventsPath,
    '--quiet',
    ...(options.debugSignals === true ? ['--debug-signals'] : []),
    ...(options.verbose === true ? ['--verbose'] : []),
    ...(options.shard === undefined ? [] : ['--shard', String(options.shard)]),
    ...(options.computeDelayMs === undefined ? [] : ['--compute-delay-ms', String(options.computeDelayMs)]),
  ];
  const child = spawn(process.execPath, args, { cwd: PROJECT_ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr += chunk;
    if (options.echo === true) process.stderr.write(`[${options.peerId}] ${chunk}`);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  return {
    peerId: options.peerId,
    child,
    exited,
    stderr: () => stderr,
    kill: (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
    async summary() {
      const text = await readFile(summaryPath, 'utf8').catch(() => null);
      if (text === null) return null;
      const parsed: unknown = JSON.parse(text);
      return isSummary(parsed) ? parsed : null;
    },
    async events() {
      const text = await readFile(eventsPath, 'utf8').catch(() => '');
      // The last line may be half written while the child runs.
      return text.split('\n').flatMap((line) => {
        try {
          const parsed: unknown = JSON.parse(line);
          return isEvent(parsed) ? [parsed] : [];
        } catch {
          return [];
        }
      });
    },
  };
}

/**
 * Spawns a session's first peer and waits until the server elects it aggregator (the first
 * ready member is); it joins `children`, so a failure shows its stderr.
 */
export async function spawnAggregator(
  session: TestSession,
  peerId: string,
  children: ChildPeer[],
): Promise<ChildPeer> {
  const child = spawnPeer(session, { peerId });
  children.push(child);
  await explainedBy(
    session.waitForStatus((s) => s.aggregator.peerId === peerId, 60_000, `${peerId} elected`),
    children,
  );
  return child;
}

/**
 * Settles as `promise` does; a rejection also tells, for each child, whether it is still
 * running and the end of its stderr, so a failure in CI says what the children were doing.
 */
export async function explainedBy<T>(
  promise: Promise<T>,
  children: readonly ExplainableChild[],
  context?: () => string,
): Promise<T> {
  try {
    return await promise;
  } catch (error) {
    const message = [error instanceof Error ? error.message : String(error), context?.() ?? ''].join('\n');
    const states = children.map((c) => {
      const { exitCode, signalCode } = c.child;
      const state =
        exitCode === null && signalCode === null
          ? 'running'
          : `exited (code ${exitCode}, signal ${signalCode})`;
      return `--- ${c.peerId}: ${state}; stderr tail:\n${c.stderr().slice(-STDERR_TAIL_CHARS)}`;
    });
    throw new Error([message, ...states].join('\n'), { cause: error });
  }
}

/** What explainedBy reads of a child process (a ChildPeer, or an adapted chaos JoinProcess). */
export interface ExplainableChild {
  readonly peerId: string;
  readonly child: ChildProcess;
  stderr(): string;
}

/** How much of a child's stderr a failure message carries. */
const STDERR_TAIL_CHARS = 3000;

/** Kills every child still running and waits for them (test cleanup). */
export async function killAll(children: readonly ChildPeer[]): Promise<void> {
  for (const c of children) c.kill('SIGKILL');
  await Promise.all(children.map((c) => c.exited));
}

function isEvent(value: unknown): value is ChildEvent {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof Reflect.get(value, 'type') === 'string' &&
    typeof Reflect.get(value, 'at') === 'number'
  );
}

function isSummary(value: unknown): value is PeerSummary {
  return typeof value === 'object' && value !== null && typeof Reflect.get(value, 'peerId') === 'string';
}
