/**
 * Fault injection on a peer's data path, for tests and `liec join --debug-signals` (the chaos
 * bench): drop every data channel, cut the data path for a while with the signaling socket up
 * (a partition), make a share of the frames sent arrive truncated. Peer exposes them as
 * dropLinks, partitionLinks and corruptFrames; nothing here runs unless one is called.
 *
 * @example
 * const faults = new DataPathFaults({ transport: () => transport, outbox, log });
 * faults.partitionLinks(4000);
 * faults.partitioned; // true for 4 s: refuse and close links
 */
import type { PeerTransport } from '../transport/index.ts';
import type { Outbox } from './outbox.ts';

export interface DataPathFaultsInit {
  transport: () => Pick<PeerTransport, 'closeAll'> | null;
  outbox: Pick<Outbox, 'corrupt'>;
  log: (message: string) => void;
}

export class DataPathFaults {
  private readonly init: DataPathFaultsInit;
  /** Until when the data path is cut (performance.now() time). */
  private partitionedUntil = 0;

  constructor(init: DataPathFaultsInit) {
    this.init = init;
  }

  /** The data path is cut (partitionLinks): incoming links are refused, one that opens is closed. */
  get partitioned(): boolean {
    return performance.now() < this.partitionedUntil;
  }

  /**
   * Closes every data channel of this peer without leaving the session. Workers link to the
   * aggregator again by themselves; an aggregator stops expecting its workers until they do.
   */
  dropLinks(): void {
    this.init.log('debug: dropping every data channel');
    this.init.transport()?.closeAll();
  }

  /**
   * Cuts this peer's data path for `ms` while its signaling socket stays up. Every data
   * channel closes, and until the time is up none opens: a network partition between this
   * peer and the others, as opposed to dropLinks (after which they link again at once).
   */
  partitionLinks(ms: number): void {
    this.init.log(`debug: cutting the data path for ${ms} ms`);
    this.partitionedUntil = performance.now() + ms;
    this.init.transport()?.closeAll();
  }

  /** From now on `share` (0-1) of the frames this peer sends arrive truncated, as from a faulty device. */
  corruptFrames(share: number): void {
    this.init.log(`debug: corrupting ${Math.round(share * 100)}% of the frames sent`);
    this.init.outbox.corrupt(share);
  }
}
