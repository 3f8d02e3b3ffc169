/**
 * `liec join --events-out FILE`: one JSON line per protocol event, written as it happens
 * (a synchronous append per line), so what a process did survives its SIGKILL, unlike the
 * summary it writes on leaving. The chaos bench reads these logs to check that every upload
 * was counted or folded. Lines: { type, at (epoch ms), peerId, ...the event's fields }; for
 * `banned` and `rejected`, the peer they concern is `remoteId`.
 *
 * @example
 * const log = openEventLog('/tmp/w1.jsonl', peer);
 * log.write('checkpoint', { round: 40 });
 * log.close();
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { epochNow } from '../roles/events.ts';
import type { Peer } from '../roles/peer.ts';

export interface EventLog {
  write(type: string, fields: object): void;
  close(): void;
}

export function openEventLog(path: string, peer: Peer): EventLog {
  let fd: number | null = openSync(path, 'a');
  const write = (type: string, fields: object): void => {
    if (fd === null) return;
    writeSync(fd, `${JSON.stringify({ type, at: epochNow(), peerId: peer.peerId, ...fields })}\n`);
  };
  const offs = [
    peer.events.on('role', (e) => write('role', e)),
    peer.events.on('uploaded', (e) => write('uploaded', e)),
    peer.events.on('applied', (e) => write('applied', e)),
    peer.events.on('model', (e) => write('model', e)),
    peer.events.on('linked', (e) => write('linked', e)),
    peer.events.on('done', (e) => write('done', e)),
    // The offender as remoteId: peerId is the peer writing the log.
    peer.events.on('banned', (e) => write('banned', { remoteId: e.peerId, strikes: e.strikes })),
    peer.events.on('rejected', (e) =>
      write('rejected', { remoteId: e.peerId, code: e.code, message: e.message }),
    ),
    peer.events.on('unreachable', (e) => write('unreachable', e)),
    peer.events.on('round', (e) =>
      write('round', {
        round: e.round,
        term: e.term,
        participants: e.participants,
        standIns: e.standIns,
        lateUploads: e.lateUploads,
        expected: e.expected,
        durationMs: e.durationMs,
        closedAt: e.closedAt,
        sync: e.sync,
        testAccuracy: e.testAccuracy,
      }),
    ),
  ];
  write('start', { pid: process.pid });
  return {
    write,
    close() {
      for (const off of offs) off();
      if (fd !== null) closeSync(fd);
      fd = null;
    },
  };
}
