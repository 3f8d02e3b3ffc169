/**
 * Runs one real training session for a benchmark: a signaling server in this process, N
 * headless peers as separate processes (bench/link-peer.ts) on loopback WebRTC with shaped
 * links, and the aggregator's round records read from their stdout. A run stops by itself:
 * at the target accuracy, at the session's last round, or at a wall-clock cap; then every
 * peer gets SIGTERM (SIGKILL after a grace period). With `snapshotDir`, each peer appends the
 * model of every round it closes as aggregator to its own file there (bench/snapshots.ts),
 * listed in the result's snapshotFiles; the caller reads and removes them.
 *
 * @example
 * const run = await runLiveSession(server, { config, peers: 4, linkMbps: [2], latencyMs: 0, targetAccuracy: 0.9, maxSeconds: 600 });
 * run.rounds.at(-1)?.testAccuracy;
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { SignalingClient } from '../client/signaling/index.ts';
import type { SessionConfigInput } from '../shared/protocol/session-config.ts';
import type { SignalingServer } from '../signaling/index.ts';

const PEER_MAIN = fileURLToPath(new URL('./link-peer.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('..', import.meta.url));

const roundLine = z.object({
  kind: z.literal('round'),
  peerId: z.string(),
  round: z.number(),
  term: z.number(),
  closedAt: z.number(),
  durationMs: z.number(),
  computeMs: z.number(),
  evalMs: z.number(),
  testAccuracy: z.number().nullable(),
  bytesUp: z.number(),
  bytesDown: z.number(),
  counted: z.number(),
  expected: z.number(),
  late: z.number(),
  sync: z.boolean(),
});
const exitLine = z.object({
  kind: z.literal('exit'),
  peerId: z.string(),
  role: z.string().nullable(),
  backend: z.string(),
  wire: z.object({ sent: z.number(), received: z.number() }),
  frameBytes: z.object({ up: z.number(), down: z.number() }),
  interrupted: z.boolean(),
  /** With --snapshots: ms the process spent copying and writing snapshots. */
  snapshotMs: z.number().optional(),
});
const uploadedLine = z.object({
  kind: z.literal('uploaded'),
  peerId: z.string(),
  round: z.number(),
  computeMs: z.number(),
  /** CPU the peer's process had used when it sent the upload (user + system), in ms. */
  cpuMs: z.number(),
});
const childLine = z.discriminatedUnion('kind', [roundLine, exitLine, uploadedLine]);

export type RoundRecord = z.infer<typeof roundLine>;
export type ExitRecord = z.infer<typeof exitLine>;

export interface LiveSessionSpec {
  config: SessionConfigInput;
  peers: number;
  /** Link rate of peer i: linkMbps[i % length] (Infinity: unshaped). */
  linkMbps: number[];
  latencyMs: number;
  /** Peer settings every peer overrides (bench/link-peer.ts flags). */
  peerSettings?: { sliceWaitMs?: number };
  /** Stop once an evaluation reaches this (null: run to the last round). */
  targetAccuracy: number | null;
  /** Wall-clock cap of the run, from the first spawn. */
  maxSeconds: number;
  /** How long peers get to leave after SIGTERM before SIGKILL. @default 15 */
  graceSeconds?: number;
  /**
   * A folder for model snapshots: each peer gets `--snapshots <dir>/<session>-<peer>.snap`.
   * @default undefined (no snapshots)
   */
  snapshotDir?: string;
  /** Called for every round record (progress output). */
  onRound?: (record: RoundRecord) => void;
}

export interface LiveSessionResult {
  rounds: RoundRecord[];
  exits: ExitRecord[];
  /** Worker upload records: compute time per upload. */
  uploads: z.infer<typeof uploadedLine>[];
  stoppedBy: 'target' | 'finished' | 'wall-clock' | 'peers-exited';
  wallSeconds: number;
  peerIds: string[];
  /** Each peer's snapshot file (with snapshotDir; a worker's stays empty), else none. */
  snapshotFiles: string[];
}

interface Child {
  peerId: string;
  process: ChildProcess;
  exited: Promise<void>;
}

export async function createSession(server: SignalingServer, config: SessionConfigInput) {
  const client = new SignalingClient();
  await client.connect(server.url);
  const created = await client.create(config);
  client.close();
  return created;
}

export async function runLiveSession(
  server: SignalingServer,
  spec: LiveSessionSpec,
): Promise<LiveSessionResult> {
  const { sessionId, token } = await createSession(server, spec.config);
  const started = performance.now();
  const result: LiveSessionResult = {
    rounds: [],
    exits: [],
    uploads: [],
    stoppedBy: 'peers-exited',
    wallSeconds: 0,
    peerIds: [],
    snapshotFiles: [],
  };
  let stop: (reason: LiveSessionResult['stoppedBy']) => void = () => {};
  const stopped = new Promise<LiveSessionResult['stoppedBy']>((resolve) => (stop = resolve));
  const children: Child[] = [];
  for (let i = 0; i < spec.peers; i++) {
    const peerId = `p${String(i).padStart(2, '0')}`;
    const mbps = spec.linkMbps[i % spec.linkMbps.length] ?? Infinity;
    const args = [
      '--import',
      'tsx',
      PEER_MAIN,
      '--server',
      server.url,
      '--session',
      sessionId,
      '--token',
      token,
    ];
    args.push('--peer-id', peerId, '--mbps', String(mbps), '--latency-ms', String(spec.latencyMs));
    const sliceWaitMs = spec.peerSettings?.sliceWaitMs;
    if (sliceWaitMs !== undefined) args.push('--slice-wait-ms', String(sliceWaitMs));
    if (spec.snapshotDir !== undefined) {
      const file = join(spec.snapshotDir, `${sessionId}-${peerId}.snap`);
      args.push('--snapshots', file);
      result.snapshotFiles.push(file);
    }
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (text) => {
      const parsed = childLine.safeParse(safeJson(text));
      if (!parsed.success) return;
      const record = parsed.data;
      if (record.kind === 'exit') result.exits.push(record);
      else if (record.kind === 'uploaded') result.uploads.push(record);
      else {
        result.rounds.push(record);
        spec.onRound?.(record);
        const target = spec.targetAccuracy;
        if (target !== null && record.testAccuracy !== null && record.testAccuracy >= target) stop('target');
      }
    });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    // stdout may still hold the exit line when 'exit' fires: wait for the stream to end too.
    const drained = new Promise<void>((resolve) => lines.once('close', () => resolve()));
    children.push({ peerId, process: child, exited: Promise.all([exited, drained]).then(() => undefined) });
    result.peerIds.push(peerId);
  }
  const wallTimer = setTimeout(() => stop('wall-clock'), spec.maxSeconds * 1000);
  void Promise.all(children.map((c) => c.exited)).then(() =>
    stop(result.rounds.length > 0 ? 'finished' : 'peers-exited'),
  );
  result.stoppedBy = await stopped;
  clearTimeout(wallTimer);
  for (const c of children) if (c.process.exitCode === null) c.process.kill('SIGTERM');
  const grace = setTimeout(
    () => {
      for (const c of children) if (c.process.exitCode === null) c.process.kill('SIGKILL');
    },
    (spec.graceSeconds ?? 15) * 1000,
  );
  await Promise.all(children.map((c) => c.exited));
  clearTimeout(grace);
  result.wallSeconds = (performance.now() - started) / 1000;
  // One term only is expected; if the aggregator changed, keep every record (they carry the term).
  result.rounds.sort((a, b) => a.closedAt - b.closedAt);
  return result;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** The start of round 0 (or of the first recorded round): the clock of time-to-accuracy. */
export function sessionStart(rounds: readonly RoundRecord[]): number {
  const first = rounds[0];
  return first === undefined ? NaN : first.closedAt - first.durationMs;
}
