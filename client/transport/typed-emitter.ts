/**
 * A minimal typed event emitter that runs the same in Node and in browsers. Unlike Node's
 * EventEmitter, emitting 'error' with no listener does not throw: a misbehaving peer must never
 * take the process down.
 *
 * @example
 * class Clock extends TypedEmitter<{ tick: (n: number) => void }> {}
 * const off = new Clock().on('tick', (n) => console.log(n));
 * off(); // unsubscribe
 */

type Listener = (...args: never[]) => void;

export class TypedEmitter<Events extends { [K in keyof Events]: Listener }> {
  readonly #listeners = new Map<keyof Events, Set<Listener>>();

  /** Subscribes; returns a function that unsubscribes. */
  on<K extends keyof Events>(event: K, listener: Events[K]): () => void {
    let set = this.#listeners.get(event);
    if (!set) {
      set = new Set();
      this.#listeners.set(event, set);
    }
    set.add(listener);
    return () => this.off(event, listener);
  }

  /** Subscribes for a single emission. */
  once<K extends keyof Events>(event: K, listener: Events[K]): () => void {
    const wrapper = (...args: Parameters<Events[K]>): void => {
      off();
      listener(...args);
    };
    // The wrapper has exactly the listener's parameters; TypeScript cannot see that through
    // the generic mapped type, hence the narrowing assignment.
    const typed: Events[K] = wrapper as unknown as Events[K];
    const off = this.on(event, typed);
    return off;
  }

  off<K extends keyof Events>(event: K, listener: Events[K]): void {
    this.#listeners.get(event)?.delete(listener);
  }

  listenerCount<K extends keyof Events>(event: K): number {
    return this.#listeners.get(event)?.size ?? 0;
  }

  removeAllListeners(): void {
    this.#listeners.clear();
  }

  /** Calls every listener of `event` in subscription order; a throwing listener propagates. */
  protected emit<K extends keyof Events>(event: K, ...args: Parameters<Events[K]>): void {
    const set = this.#listeners.get(event);
    if (!set) return;
    for (const listener of [...set]) {
      (listener as (...a: Parameters<Events[K]>) => void)(...args);
    }
  }
}
