/**
 * An in-memory SignalRelay hub for tests and single-process simulations: every peer gets a
 * relay from the hub, and signals are delivered asynchronously (a microtask later, in order),
 * like a network would. Signals to an id without a relay are dropped, like a signaling server
 * would for an unknown peer.
 *
 * @example
 * const hub = new MemorySignalHub();
 * const a = new PeerTransport({ localId: 'a', relay: hub.relay('a'), binding });
 * const b = new PeerTransport({ localId: 'b', relay: hub.relay('b'), binding });
 */

import type { SignalRelay } from './signal-relay.ts';

type Handler = (from: string, data: unknown) => void;

export class MemorySignalHub {
  readonly #handlers = new Map<string, Set<Handler>>();
  /** Signals delivered so far (tests read it). */
  delivered = 0;
  /** Signals dropped because nobody listened on the target id. */
  dropped = 0;

  /** The relay of peer `id`. */
  relay(id: string): SignalRelay {
    return {
      sendSignal: (to, data) => this.#send(id, to, data),
      onSignal: (handler) => {
        let set = this.#handlers.get(id);
        if (!set) {
          set = new Set();
          this.#handlers.set(id, set);
        }
        set.add(handler);
        return () => {
          set.delete(handler);
        };
      },
    };
  }

  #send(from: string, to: string, data: unknown): void {
    // Serialise like a real relay would, so nobody shares objects across peers by accident.
    const wire = JSON.stringify(data);
    queueMicrotask(() => {
      const handlers = this.#handlers.get(to);
      if (!handlers || handlers.size === 0) {
        this.dropped += 1;
        return;
      }
      this.delivered += 1;
      const payload: unknown = JSON.parse(wire);
      for (const handler of [...handlers]) handler(from, payload);
    });
  }
}
