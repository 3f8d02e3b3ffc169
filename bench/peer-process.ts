/**
 * Headless peers as separate processes for the size benchmarks, with their memory watched:
 * each is `liec join` from the build (dist/cli/main.js, what `liec` and `npm start` run) or
 * from the TypeScript source through tsx (`source: true`, for comparison), with the Node
 * flags `npm start` gives its peers (PEER_NODE_FLAGS), and its peak
 * resident memory is read from Linux's /proc/<pid>/status (VmHWM, the kernel's own high-water
 * mark of the process's RSS) every `pollMs` until it exits: the last reading is the peak up
 * to at most pollMs before the exit, when the peer only writes its summary.
 *
 * @example
 * const peer = spawnWatchedPeer({ server, sessionId, token, peerId: 'p0', dir });
 * const { code, peakRssBytes } = await peer.done;
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PEER_NODE_FLAGS } from '../client/cli/entry.ts';
import { epochNow } from '../client/roles/events.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BUILT_CLI = join(ROOT, 'dist', 'cli', 'main.js');
const SOURCE_CLI = join(ROOT, 'client', 'cli', 'main.ts');

export interface WatchedPeerInit {
  server: string;
  sessionId: string;
  token: string;
  peerId: string;
  /** Where the peer's summary (`<peerId>.json`) goes. Its stderr is printed if it fails. */
  dir: string;
  /** Run the TypeScript source through tsx instead of the build. @default false */
  source?: boolean;
  /** Data shard. @default the join slot */
  shard?: number;
  /** Extra `liec join` flags. */
  args?: string[];
  /** Interval between memory readings. @default 100 */
  pollMs?: number;
}

export interface WatchedPeer {
  peerId: string;
  process: ChildProcess;
  /** When the process was spawned (epoch ms, comparable with the peers' timelines). */
  spawnedAt: number;
  summaryPath: string;
  /** Resolves when the process exited, with its code and peak RSS (null: never read). */
  done: Promise<{ code: number | null; peakRssBytes: number | null }>;
}

/** The process's peak resident set in bytes (VmHWM), or null when it is gone or not Linux. */
export function peakRss(pid: number): number | null {
  try {
    const match = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match?.[1] === undefined ? null : Number(match[1]) * 1024;
  } catch {
    return null;
  }
}

export function spawnWatchedPeer(init: WatchedPeerInit): WatchedPeer {
  const source = init.source ?? false;
  if (!source && !existsSync(BUILT_CLI)) throw new Error(`${BUILT_CLI} is missing: run npm run build`);
  const summaryPath = join(init.dir, `${init.peerId}.json`);
  const args = [...PEER_NODE_FLAGS, ...(source ? ['--import', 'tsx', SOURCE_CLI] : [BUILT_CLI])];
  args.push('join', '--server', init.server, '--session', init.sessionId, '--token', init.token);
  args.push('--peer-id', init.peerId, '--summary-out', summaryPath, '--quiet');
  if (init.shard !== undefined) args.push('--shard', String(init.shard));
  args.push(...(init.args ?? []));
  const spawnedAt = epochNow();
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr?.on('data', (chunk: Buffer) => (log += chunk.toString('utf8')));
  let peak: number | null = null;
  const pid = child.pid;
  const timer = setInterval(() => {
    const reading = pid === undefined ? null : peakRss(pid);
    if (reading !== null) peak = Math.max(peak ?? 0, reading);
  }, init.pollMs ?? 100);
  const done = new Promise<{ code: number | null; peakRssBytes: number | null }>((resolve) => {
    child.once('exit', (code) => {
      clearInterval(timer);
      if (code !== 0)
        process.stderr.write(`${init.peerId} exited with ${String(code)}:\n${log.slice(-2000)}\n`);
      resolve({ code, peakRssBytes: peak });
    });
  });
  return { peerId: init.peerId, process: child, spawnedAt, summaryPath, done };
}
