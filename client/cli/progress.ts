/**
 * A one-line progress display for a headless peer: round, loss, test accuracy, bytes up and
 * down, role. Redrawn in place on a terminal; one line per evaluated round otherwise.
 */
import type { Peer } from '../roles/peer.ts';

export interface ProgressView {
  stop(): void;
}

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(2)} MB`;

export function showProgress(peer: Peer, stream: NodeJS.WriteStream, rounds: number): ProgressView {
  const tty = stream.isTTY === true;
  let accuracy: number | null = null;
  let loss: number | null = null;
  let lastLine = '';
  const render = (round: number, evaluated: boolean) => {
    const { sent, received } = peer.traffic();
    const width = 24;
    const filled = Math.min(width, Math.round((width * (round + 1)) / Math.max(1, rounds)));
    const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
    const acc = accuracy === null ? '-' : `${(accuracy * 100).toFixed(1)}%`;
    const line = `${bar} round ${round + 1}/${rounds} loss ${loss?.toFixed(3) ?? '-'} acc ${acc} up ${mb(sent)} down ${mb(received)} ${peer.currentRole ?? 'joining'}`;
    if (tty) stream.write(`\r${line}\u001b[K`);
    else if (evaluated && line !== lastLine) stream.write(`${line}\n`);
    lastLine = line;
  };
  const offs = [
    peer.events.on('round', (e) => {
      loss = e.loss;
      if (e.testAccuracy !== null) accuracy = e.testAccuracy;
      render(e.round, e.testAccuracy !== null);
    }),
    peer.events.on('applied', (e) => render(e.round, false)),
    peer.events.on('metrics', (e) => {
      accuracy = e.testAccuracy;
      loss = e.testLoss;
      render(e.round, true);
    }),
    peer.events.on('role', (e) => stream.write(`${tty ? '\n' : ''}role: ${e.role} (term ${e.term})\n`)),
  ];
  return {
    stop() {
      for (const off of offs) off();
      if (tty) stream.write('\n');
    },
  };
}
