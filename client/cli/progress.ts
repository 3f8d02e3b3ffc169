/**
 * The progress display of a headless peer: round, test accuracy and loss, this peer's wire
 * bytes (labelled with its role: "aggregator's wire bytes"), its role. On a terminal one line
 * redrawn in place, cut to the terminal's width; otherwise one line per evaluated round,
 * never two (the aggregator's 'metrics' and 'round' events of a round both carry it).
 *
 * @example
 * const view = showProgress(peer, process.stderr, 300);
 * await peer.finished;
 * view.stop();
 */
import type { Peer } from '../roles/peer.ts';

/** What the progress display reads of a Peer. */
export type ProgressPeer = Pick<Peer, 'events' | 'currentRole' | 'traffic'>;

export interface ProgressView {
  stop(): void;
}

export interface ProgressState {
  /** 0-based round last seen. */
  round: number;
  rounds: number;
  accuracy: number | null;
  testLoss: number | null;
  role: string | null;
  wire: { sent: number; received: number };
}

export const mb = (bytes: number) => `${(bytes / 1e6).toFixed(2)} MB`;

/** "aggregator's wire bytes: sent 1.20 MB, received 3.40 MB" (whose: the peer's role). */
export function wireBytesText(role: string | null, wire: { sent: number; received: number }): string {
  return `${role ?? 'joining peer'}'s wire bytes: sent ${mb(wire.sent)}, received ${mb(wire.received)}`;
}

export function formatProgress(state: ProgressState): string {
  const width = 20;
  const filled = Math.min(width, Math.round((width * (state.round + 1)) / Math.max(1, state.rounds)));
  const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
  const acc = state.accuracy === null ? '-' : `${(state.accuracy * 100).toFixed(1)}%`;
  const loss = state.testLoss === null ? '-' : state.testLoss.toFixed(3);
  return `${bar} round ${state.round + 1}/${state.rounds} acc ${acc} test loss ${loss}, ${wireBytesText(state.role, state.wire)}`;
}

/** `line` cut to fit `columns` (the last column left free, so the terminal does not wrap). */
export function fitWidth(line: string, columns: number | undefined): string {
  if (columns === undefined || columns <= 1 || line.length < columns) return line;
  return `${line.slice(0, Math.max(0, columns - 2))}…`;
}

/**
 * Writes progress lines: `columns` set (a terminal) redraws one line in place; unset, one
 * line per evaluated round, the first time that round is reported.
 */
export class ProgressPrinter {
  private readonly write: (text: string) => void;
  private readonly columns: number | undefined;
  private readonly printed = new Set<number>();
  private drawn = false;

  constructor(write: (text: string) => void, columns?: number) {
    this.write = write;
    this.columns = columns;
  }

  /** A new state; `evaluated`: it carries the test accuracy of `state.round`. */
  update(state: ProgressState, evaluated: boolean): void {
    const line = formatProgress(state);
    if (this.columns !== undefined) {
      this.write(`\r${fitWidth(line, this.columns)}\u001b[K`);
      this.drawn = true;
    } else if (evaluated && !this.printed.has(state.round)) {
      this.printed.add(state.round);
      this.write(`${line}\n`);
    }
  }

  /** A line of its own (a role change), above the redrawn line on a terminal. */
  note(text: string): void {
    const line = this.columns === undefined ? text : fitWidth(text, this.columns);
    this.write(`${this.drawn ? '\r\u001b[K' : ''}${line}\n`);
    this.drawn = false;
  }

  stop(): void {
    if (this.drawn) this.write('\n');
    this.drawn = false;
  }
}

/**
 * Shows `peer`'s progress on `stream`: redrawn in place, `columns` wide, when `columns` is
 * given or the stream is a terminal; else one line per evaluated round.
 */
export function showProgress(
  peer: ProgressPeer,
  stream: NodeJS.WritableStream & { isTTY?: boolean; columns?: number },
  rounds: number,
  columns: number | undefined = stream.isTTY === true ? (stream.columns ?? 80) : undefined,
): ProgressView {
  const printer = new ProgressPrinter((text) => stream.write(text), columns);
  const state: ProgressState = {
    round: -1,
    rounds,
    accuracy: null,
    testLoss: null,
    role: peer.currentRole,
    wire: peer.traffic(),
  };
  const update = (round: number, evaluated: boolean) => {
    state.round = Math.max(state.round, round);
    state.role = peer.currentRole;
    state.wire = peer.traffic();
    printer.update(state, evaluated);
  };
  const offs = [
    peer.events.on('round', (e) => update(e.round, false)),
    peer.events.on('applied', (e) => update(e.round, false)),
    peer.events.on('metrics', (e) => {
      state.accuracy = e.testAccuracy;
      state.testLoss = e.testLoss;
      state.role = peer.currentRole;
      state.wire = peer.traffic();
      // The line names the round measured (a worker hears of it after applying a later one).
      printer.update({ ...state, round: e.round }, true);
      state.round = Math.max(state.round, e.round);
    }),
    peer.events.on('role', (e) => printer.note(`role: ${e.role} (term ${e.term})`)),
  ];
  return {
    stop() {
      for (const off of offs) off();
      printer.stop();
    },
  };
}
