/**
 * The project's one typed event emitter, pure (no `events`, no DOM), so the signaling client,
 * the transport, the roles and the dashboard share it in Node and in browsers. Events are
 * declared as a map of listener signatures, socket.io's style (`lib/typed-events.ts`): an
 * event may carry several arguments (`message: (from: string, bytes: Uint8Array) => void`).
 * Unlike Node's EventEmitter, emitting 'error' with no listener does nothing special.
 *
 * Errors: a throwing listener does not stop the others, and does not propagate to the code
 * that emitted; its error is rethrown in a microtask, so it surfaces as an uncaught error
 * (Node's 'uncaughtException', the browser's window 'error' and console) instead of vanishing.
 * This is what the DOM's EventTarget does ("report the exception"), and it is chosen because
 * emit is called from the middle of state changes driven by sockets and data channels: a
 * PeerLink emits 'error' and then 'close' ("exactly once"), a PeerTransport emits
 * 'peer:connect' and then resolves connect() waiters, the signaling client emits and then
 * goes on reading the socket. Propagating would let one buggy listener skip the rest of such
 * a change (a link that never reports 'close', a connect() that waits out its timeout) and
 * would hand the error to the socket or data-channel callback that emitted, where nobody can
 * handle it; isolating keeps every other listener and the emitter itself consistent. No
 * caller relies on catching a listener's error from emit().
 *
 * @example
 * class Clock extends TypedEmitter<{ tick: (n: number) => void }> {
 *   start(): void { this.emit('tick', 1); }
 * }
 * const clock = new Clock();
 * const off = clock.on('tick', (n) => console.log(n));
 * clock.once('tick', (n) => console.log('first', n));
 * clock.start();
 * off(); // unsubscribe
 */

type Listener = (...args: never[]) => void;

/** A map of event names to listener signatures, e.g. `{ tick: (n: number) => void }`. */
export type EventsMap<Events> = { [K in keyof Events]: Listener };

/** The arguments listeners of `K` receive (socket.io's `EventParams`). */
export type EventParams<Events extends EventsMap<Events>, K extends keyof Events> = Parameters<Events[K]>;

interface Registration {
  readonly listener: Listener;
  readonly once: boolean;
  /** False once removed: an emission in progress skips it. */
  active: boolean;
}

export class TypedEmitter<Events extends EventsMap<Events>> {
  readonly #registrations = new Map<keyof Events, Registration[]>();

  /** Subscribes; returns a function that removes exactly this subscription. */
  on<K extends keyof Events>(event: K, listener: Events[K]): () => void {
    return this.#add(event, { listener, once: false, active: true });
  }

  /** Subscribes for the next emission only; returns a function that unsubscribes before it. */
  once<K extends keyof Events>(event: K, listener: Events[K]): () => void {
    return this.#add(event, { listener, once: true, active: true });
  }

  /** Removes the earliest subscription of `listener` to `event` (made with on or once). */
  off<K extends keyof Events>(event: K, listener: Events[K]): void {
    const found = this.#registrations.get(event)?.find((r) => r.listener === listener);
    if (found !== undefined) this.#remove(event, found);
  }

  listenerCount<K extends keyof Events>(event: K): number {
    return this.#registrations.get(event)?.length ?? 0;
  }

  /** Removes every listener of `event`, or of every event when omitted. */
  removeAllListeners<K extends keyof Events>(event?: K): void {
    const events = event === undefined ? [...this.#registrations.keys()] : [event];
    for (const name of events) {
      for (const registration of this.#registrations.get(name) ?? []) registration.active = false;
      this.#registrations.delete(name);
    }
  }

  /**
   * Calls the listeners of `event` in subscription order: those subscribed when the emission
   * starts and not removed meanwhile (as EventTarget does). A throwing listener does not stop
   * the others; its error is rethrown in a microtask (see the module comment).
   */
  protected emit<K extends keyof Events>(event: K, ...args: EventParams<Events, K>): void {
    const registrations = this.#registrations.get(event);
    if (registrations === undefined) return;
    for (const registration of [...registrations]) {
      // Removed by an earlier listener, or a once listener a nested emit already called.
      if (!registration.active) continue;
      if (registration.once) this.#remove(event, registration);
      try {
        // The registration was added for `event`, so its listener takes these arguments;
        // the map from events to listeners is not visible to the compiler past the Map.
        (registration.listener as (...a: EventParams<Events, K>) => void)(...args);
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }

  #add(event: keyof Events, registration: Registration): () => void {
    const registrations = this.#registrations.get(event);
    if (registrations === undefined) this.#registrations.set(event, [registration]);
    else registrations.push(registration);
    return () => this.#remove(event, registration);
  }

  #remove(event: keyof Events, registration: Registration): void {
    registration.active = false;
    const registrations = this.#registrations.get(event);
    const index = registrations?.indexOf(registration) ?? -1;
    if (registrations === undefined || index < 0) return;
    registrations.splice(index, 1);
    if (registrations.length === 0) this.#registrations.delete(event);
  }
}
