/**
 * CPU priority by role, for peers that share one machine (`liec join --worker-niceness n`,
 * passed by `npm start` when it runs more peers than cores can start at once). Every round
 * waits for the aggregator, and at fair shares the aggregator of 64 peer processes on 2 cores
 * gets 1/64 of them: its pings and broadcasts fall seconds behind, the workers report it
 * unreachable, and each new aggregator starves the same way (64 peers, quiet machine: all
 * joined in 2.3 min, 3 rounds, then a new term every 7 s). As a worker this process runs
 * `n` nicer than it started; as the aggregator it goes back to where it started. Raising
 * one's own niceness is always allowed; lowering it back needs CAP_SYS_NICE (or an
 * RLIMIT_NICE that allows it): without, a worker elected later stays nicer (said once),
 * no worse off than every peer at one priority. Peers on devices of their own need none of it.
 *
 * @example
 * const priority = new RolePriority(9, (m) => io.err(`${m}\n`));
 * peer.events.on('role', (e) => priority.apply(e.role));
 */
import { getPriority, setPriority } from 'node:os';
import type { Role } from '../roles/events.ts';

/** The highest niceness a process can have (the lowest priority). */
const MAX_NICENESS = 19;

export class RolePriority {
  private readonly base: number;
  private readonly workerNiceness: number;
  private readonly warn: (message: string) => void;
  private warned = false;

  /** `workerNiceness`: how much nicer than at start this process runs as a worker (0: never). */
  constructor(workerNiceness: number, warn: (message: string) => void) {
    this.base = getPriority();
    this.workerNiceness = workerNiceness;
    this.warn = warn;
  }

  /** The niceness this process should run at in `role`. */
  target(role: Role): number {
    return role === 'worker' ? Math.min(MAX_NICENESS, this.base + this.workerNiceness) : this.base;
  }

  apply(role: Role): void {
    if (this.workerNiceness === 0) return;
    const wanted = this.target(role);
    if (getPriority() === wanted) return;
    try {
      setPriority(wanted);
    } catch (error) {
      if (this.warned) return;
      this.warned = true;
      const reason = error instanceof Error ? error.message : String(error);
      this.warn(`could not set niceness ${wanted} as ${role} (${reason}): it stays at ${getPriority()}`);
    }
  }
}
