/**
 * Headless peers as separate `liec join` processes for the chaos bench and its tests: each
 * incarnation of a peer id (first start, restarts) gets its own event log (--events-out,
 * which survives SIGKILL) and shares the peer's checkpoint directory; signals the bench
 * injects are recorded, so an exit it did not cause is told apart as a crash.
 *
 * @example
 * const p = spawnJoin({ server, sessionId, token, peerId: 'p1', workdir, shard: 1 });
 * p.signal('SIGKILL');
 * const exit = await p.exited; // { code: null, signal: 'SIGKILL' }
 * p.crashed(exit); // false: the bench sent that SIGKILL
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join as joinPath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PEER_NODE_FLAGS } from '../../client/cli/entry.ts';
import { CHECKPOINT_FILE } from '../../client/roles/checkpoint-file.ts';

const CLI_MAIN = fileURLToPath(new URL('../../client/cli/main.ts', import.meta.url));
/** The build of the CLI (`npm run build`), as published: plain node, no TypeScript compiled at start. */
const CLI_BUILT = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** How much of a child's stderr is kept for the fault log. */
const STDERR_TAIL_CHARS = 8000;

export interface JoinOptions {
  server: string;
  sessionId: string;
  token: string;
  peerId: string;
  /** Event logs, summaries and checkpoint directories go here. */
  workdir: string;
  shard?: number;
  /** Continue from the peer's checkpoint (ignored if it has none yet). */
  resume?: boolean;
  /** Rounds between checkpoints. @default 5 */
  checkpointEvery?: number;
  /** Straggler injection. @default 0 */
  computeDelayMs?: number;
  /** Incarnation number (0 = first start); names the event log. @default 0 */
  incarnation?: number;
  /** Log protocol events to stderr (`join --verbose`; kept in stderrTail). @default false */
  verbose?: boolean;
  /** Run the build (dist/cli, `npm run build` first) instead of the TypeScript source. @default false */
  built?: boolean;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface JoinProcess {
  readonly peerId: string;
  readonly incarnation: number;
  readonly child: ChildProcess;
  readonly eventsPath: string;
  readonly summaryPath: string;
  readonly resumed: boolean;
  readonly startedAt: number;
  readonly exited: Promise<Exit>;
  /** Set once it exited. */
  exit: Exit | null;
  /** Signals the bench sent, in order (SIGSTOP/SIGCONT/SIGUSR2/SIGKILL/SIGTERM). */
  readonly sent: NodeJS.Signals[];
  /** Sends a signal if the process is still running; recorded as injected. */
  signal(signal: NodeJS.Signals): boolean;
  /** Died other than by a signal the bench sent, or exited non-zero. */
  crashed(exit: Exit): boolean;
  stderrTail(): string;
}

export function checkpointDirOf(workdir: string, peerId: string): string {
  return joinPath(workdir, `ckpt-${peerId}`);
}

export function hasCheckpoint(workdir: string, peerId: string): boolean {
  return existsSync(joinPath(checkpointDirOf(workdir, peerId), CHECKPOINT_FILE));
}

export function spawnJoin(options: JoinOptions): JoinProcess {
  const incarnation = options.incarnation ?? 0;
  const base = joinPath(options.workdir, `${options.peerId}.${incarnation}`);
  const eventsPath = `${base}.jsonl`;
  const summaryPath = `${base}.summary.json`;
  const resumed = options.resume === true && hasCheckpoint(options.workdir, options.peerId);
  const entry = options.built === true ? [...PEER_NODE_FLAGS, CLI_BUILT] : ['--import', 'tsx', CLI_MAIN];
  const args = [...entry, 'join', '--server', options.server, '--token', options.token];
  args.push('--session', options.sessionId, '--peer-id', options.peerId, '--quiet', '--debug-signals');
  args.push('--checkpoint-dir', checkpointDirOf(options.workdir, options.peerId));
  args.push('--checkpoint-every', String(options.checkpointEvery ?? 5));
  args.push('--events-out', eventsPath, '--summary-out', summaryPath);
  if (options.shard !== undefined) args.push('--shard', String(options.shard));
  if (resumed) args.push('--resume');
  if (options.verbose === true) args.push('--verbose');
  if ((options.computeDelayMs ?? 0) > 0) args.push('--compute-delay-ms', String(options.computeDelayMs));
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-STDERR_TAIL_CHARS);
  });
  const sent: NodeJS.Signals[] = [];
  const process_: JoinProcess = {
    peerId: options.peerId,
    incarnation,
    child,
    eventsPath,
    summaryPath,
    resumed,
    startedAt: Date.now(),
    exit: null,
    sent,
    exited: new Promise<Exit>((resolve) => {
      child.once('exit', (code, signal) => {
        process_.exit = { code, signal };
        resolve({ code, signal });
      });
    }),
    signal(signal) {
      if (child.exitCode !== null || child.signalCode !== null) return false;
      sent.push(signal);
      return child.kill(signal);
    },
    crashed(exit) {
      if (exit.signal !== null) return !sent.includes(exit.signal);
      return exit.code !== 0;
    },
    stderrTail: () => stderr,
  };
  return process_;
}
