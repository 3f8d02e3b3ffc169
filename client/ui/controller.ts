/**
 * A Lit ReactiveController that feeds one component from a SessionStore: it subscribes in
 * hostConnected, unsubscribes through an AbortController in hostDisconnected, and asks the
 * host to update only when the slice it selects changed (compared shallowly, so a selector
 * may return a fresh object of unchanged parts). The store is read through a getter, so a
 * component can take it as a property: a new store is picked up before the next update.
 *
 * @example
 * class PeerTable extends LitElement {
 *   @property({ attribute: false }) store?: SessionStore;
 *   private readonly peers = new StoreController(this, () => this.store, (s) => s.peers);
 *   render() { return html`${this.peers.value?.length ?? 0} peers`; }
 * }
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import type { DashboardState, SessionStore } from './state.ts';

/** Equal when identical, or plain objects/arrays with identical entries. */
export function shallowEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const keysA = Object.keys(a);
  if (keysA.length !== Object.keys(b).length) return false;
  return keysA.every((key) => Object.is(Reflect.get(a, key), Reflect.get(b, key)));
}

export class StoreController<T> implements ReactiveController {
  /** The selected slice; undefined while no store is attached. */
  value: T | undefined;
  private subscribed: SessionStore | undefined;
  private abort: AbortController | undefined;
  private connected = false;

  constructor(
    private readonly host: ReactiveControllerHost,
    private readonly getStore: () => SessionStore | undefined,
    private readonly select: (state: DashboardState) => T,
  ) {
    host.addController(this);
  }

  hostConnected(): void {
    this.connected = true;
    this.subscribe();
  }

  hostDisconnected(): void {
    this.connected = false;
    this.unsubscribe();
  }

  /** Before each update: follow a store that was replaced since the last one. */
  hostUpdate(): void {
    if (this.connected && this.getStore() !== this.subscribed) this.subscribe();
  }

  private subscribe(): void {
    this.unsubscribe();
    const store = this.getStore();
    this.subscribed = store;
    if (store === undefined) {
      this.value = undefined;
      return;
    }
    const abort = new AbortController();
    this.abort = abort;
    const off = store.on('change', ({ state }) => this.take(state));
    abort.signal.addEventListener('abort', off, { once: true });
    this.take(store.state);
  }

  private unsubscribe(): void {
    this.abort?.abort();
    this.abort = undefined;
    this.subscribed = undefined;
  }

  private take(state: DashboardState): void {
    const next = this.select(state);
    if (this.value !== undefined && shallowEqual(this.value, next)) return;
    this.value = next;
    this.host.requestUpdate();
  }
}
