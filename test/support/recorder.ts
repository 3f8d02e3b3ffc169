/**
 * Test support: records what an in-process peer publishes (rounds it closed, broadcasts it
 * applied, uploads it sent, role changes, models adopted), with epoch times, and lets a test
 * wait for the first matching event, including one already recorded.
 *
 * @example
 * const log = recordPeer(peer);
 * const first = await log.next('round', (e) => e.term === 2, 20_000, 'a round of term 2');
 */
import { epochNow, type PeerEvents } from '../../client/roles/events.ts';
import type { Peer } from '../../client/roles/peer.ts';

type Recorded = {
  [K in keyof PeerEvents]: (Parameters<PeerEvents[K]>[0] & { at: number })[];
};

type Kind =
  'round' | 'applied' | 'uploaded' | 'role' | 'model' | 'rejected' | 'banned' | 'unreachable' | 'done';

export interface PeerRecorder {
  readonly events: Pick<Recorded, Kind>;
  /** Resolves with the first recorded or future event of `kind` matching `predicate`. */
  next<K extends Kind>(
    kind: K,
    predicate: (event: Recorded[K][number]) => boolean,
    timeoutMs: number,
    /** What is awaited, for the timeout's message (a function: described when it times out). */
    what: string | (() => string),
  ): Promise<Recorded[K][number]>;
  stop(): void;
}

export function recordPeer(peer: Peer): PeerRecorder {
  const events: Pick<Recorded, Kind> = {
    round: [],
    applied: [],
    uploaded: [],
    role: [],
    model: [],
    rejected: [],
    banned: [],
    unreachable: [],
    done: [],
  };
  const waiters = new Set<() => void>();
  const stamp = <T extends object>(list: (T & { at: number })[], event: T): void => {
    list.push({ ...event, at: epochNow() });
    for (const wake of [...waiters]) wake();
  };
  const offs = [
    peer.events.on('round', (e) => stamp(events.round, e)),
    peer.events.on('applied', (e) => stamp(events.applied, e)),
    peer.events.on('uploaded', (e) => stamp(events.uploaded, e)),
    peer.events.on('role', (e) => stamp(events.role, e)),
    peer.events.on('model', (e) => stamp(events.model, e)),
    peer.events.on('rejected', (e) => stamp(events.rejected, e)),
    peer.events.on('banned', (e) => stamp(events.banned, e)),
    peer.events.on('unreachable', (e) => stamp(events.unreachable, e)),
    peer.events.on('done', (e) => stamp(events.done, e)),
  ];
  return {
    events,
    next(kind, predicate, timeoutMs, what) {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          const found = events[kind].find(predicate);
          if (found === undefined) return false;
          finish();
          resolve(found);
          return true;
        };
        const timer = setTimeout(() => {
          finish();
          reject(
            new Error(
              `timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}`,
            ),
          );
        }, timeoutMs);
        const finish = (): void => {
          clearTimeout(timer);
          waiters.delete(wake);
        };
        const wake = (): void => void check();
        waiters.add(wake);
        check();
      });
    },
    stop() {
      for (const off of offs) off();
      waiters.clear();
    },
  };
}
