/**
 * A Lit ReactiveController that re-renders its host every `intervalMs` while `active()` holds
 * (a countdown, an elapsed time), and not at all otherwise. The timer starts in hostConnected
 * or after an update that made it active, and stops through an AbortController in
 * hostDisconnected or once inactive. `now` is the clock at the latest tick.
 *
 * @example
 * private readonly tick = new TickController(this, 100, () => this.local.value?.connection === 'reconnecting');
 * render() { return html`${formatCountdown(next - this.tick.now)}`; }
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit';

export class TickController implements ReactiveController {
  now: number;
  private running: AbortController | undefined;
  private connected = false;

  constructor(
    private readonly host: ReactiveControllerHost,
    private readonly intervalMs: number,
    private readonly active: () => boolean,
    private readonly clock: () => number = Date.now,
  ) {
    this.now = clock();
    host.addController(this);
  }

  hostConnected(): void {
    this.connected = true;
    this.sync();
  }

  hostDisconnected(): void {
    this.connected = false;
    this.sync();
  }

  /** Before each render: the clock is current even when the update came from elsewhere. */
  hostUpdate(): void {
    this.now = this.clock();
  }

  hostUpdated(): void {
    this.sync();
  }

  private sync(): void {
    const wanted = this.connected && this.active();
    if (wanted && this.running === undefined) {
      const running = new AbortController();
      this.running = running;
      const timer = setInterval(() => {
        this.now = this.clock();
        this.host.requestUpdate();
      }, this.intervalMs);
      running.signal.addEventListener('abort', () => clearInterval(timer), { once: true });
    } else if (!wanted && this.running !== undefined) {
      this.running.abort();
      this.running = undefined;
    }
  }
}
