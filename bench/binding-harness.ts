/**
 * The process side of bench/binding.ts: one bench/binding-peer.ts child per BenchPeer, driven
 * over IPC, with waits for its reports and its exit (how it died is the point of the stress
 * scenarios). Core dumps are off in the children (`ulimit -c 0`): a crashing binding would
 * otherwise leave one per crash.
 *
 * @example
 * const a = new BenchPeer('wrtc', 'sender');
 * const b = new BenchPeer('wrtc', 'receiver');
 * await Promise.all([a.ready, b.ready]);
 * await connectLink(a, b, 1);
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NodeBindingName } from '../client/transport/binding.ts';
import type { PeerCommand, PeerReport } from './binding-peer.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
/** Bytes of a child's stderr kept for the crash record. */
const STDERR_TAIL_BYTES = 2000;

export interface CrashRecord {
  scenario: string;
  role: 'sender' | 'receiver';
  code: number | null;
  signal: NodeJS.Signals | null;
  stderrTail: string;
}

interface Waiter {
  accept: (report: PeerReport) => boolean;
  resolve: (report: PeerReport) => void;
  reject: (error: Error) => void;
}

export class BenchPeer {
  readonly ready: Promise<void>;
  /** Resolves when the process has exited, however. */
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  /** True once this bench killed it on purpose (not a crash). */
  killedHere = false;
  /** Where this peer's signals go (set per link by connectLink). */
  other: BenchPeer | undefined;
  readonly #child: ChildProcess;
  readonly #waiters = new Set<Waiter>();
  #stderr = '';

  constructor(
    readonly binding: NodeBindingName,
    readonly role: 'sender' | 'receiver',
  ) {
    const script = 'ulimit -c 0; exec "$0" --import tsx bench/binding-peer.ts';
    this.#child = spawn('bash', ['-c', script, process.execPath], {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      env: { ...process.env, LIEC_WEBRTC: binding },
    });
    this.#child.stderr?.on('data', (data: Buffer) => {
      this.#stderr = (this.#stderr + data.toString()).slice(-STDERR_TAIL_BYTES);
    });
    this.#child.on('error', () => undefined); // IPC to a dead child: its exit tells the story
    this.#child.on('message', (message: PeerReport) => this.#onReport(message));
    this.exit = new Promise((resolve) => {
      this.#child.on('exit', (code, signal) => {
        this.exited = { code, signal };
        const error = new Error(`${binding} ${role} exited (code ${code}, signal ${signal})`);
        for (const waiter of this.#waiters) waiter.reject(error);
        this.#waiters.clear();
        resolve(this.exited);
      });
    });
    this.ready = this.next((r) => r.type === 'ready', 60_000).then(() => undefined);
  }

  /** The next report that `accept` takes; rejects on a timeout (a failure guard) or exit. */
  next(accept: (report: PeerReport) => boolean, timeoutMs = 30_000): Promise<PeerReport> {
    if (this.exited) return Promise.reject(new Error(`${this.binding} ${this.role} has exited`));
    return new Promise<PeerReport>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        reject(new Error(`${this.binding} ${this.role}: no matching report in ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter: Waiter = {
        accept,
        resolve: (report) => {
          clearTimeout(timer);
          resolve(report);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      this.#waiters.add(waiter);
    });
  }

  command(command: PeerCommand): void {
    if (this.#child.connected) this.#child.send(command);
  }

  signal(signal: NodeJS.Signals): void {
    if (!this.exited && this.#child.pid !== undefined) process.kill(this.#child.pid, signal);
  }

  kill(): void {
    this.killedHere = true;
    this.signal('SIGKILL');
  }

  stop(): void {
    if (this.exited) return;
    this.killedHere = true;
    this.signal('SIGCONT');
    this.signal('SIGKILL');
  }

  stderrTail(): string {
    return this.#stderr;
  }

  #onReport(report: PeerReport): void {
    if (report.type === 'signal') this.other?.command({ type: 'signal', id: report.id, data: report.data });
    for (const waiter of this.#waiters) {
      if (!waiter.accept(report)) continue;
      this.#waiters.delete(waiter);
      waiter.resolve(report);
    }
  }
}

/** Opens link `id` between the two (a initiates) and waits until both ends report 'connect'. */
export async function connectLink(a: BenchPeer, b: BenchPeer, id: number): Promise<void> {
  a.other = b;
  b.other = a;
  const connected = Promise.all([
    a.next((r) => r.type === 'connect' && r.id === id),
    b.next((r) => r.type === 'connect' && r.id === id),
  ]);
  b.command({ type: 'open', id, initiator: false });
  a.command({ type: 'open', id, initiator: true });
  await connected;
}

export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((x, y) => x - y);
  const at = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[at] ?? Number.NaN;
}

export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}
