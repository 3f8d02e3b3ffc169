/**
 * `<live-regions>`: what a screen reader announces as the session goes on, in three visually
 * hidden `aria-live="polite"` regions: the round (at most every ROUND_ANNOUNCE_MS, and when
 * the session finishes: rounds can tick several times a second), the latest peer join or
 * drop, and the latest aggregator change. Each region holds one sentence, replaced as news
 * comes (`aria-atomic`), so it is read whole.
 *
 * @example
 * html`<live-regions .store=${store}></live-regions>`
 */
import { LitElement, css, html, nothing, type PropertyValues } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { StoreController } from '../controller.ts';
import { describeEvent } from '../event-text.ts';
import type { SessionStore } from '../state.ts';

function lastOf<T>(items: readonly T[], test: (item: T) => boolean): T | undefined {
  for (let i = items.length - 1; i >= 0; i--) {
    const item = items[i];
    if (item !== undefined && test(item)) return item;
  }
  return undefined;
}

/** Shortest time between two round announcements. */
export const ROUND_ANNOUNCE_MS = 15_000;

@customElement('live-regions')
export class LiveRegions extends LitElement {
  static override styles = css`
    :host {
      position: absolute;
      width: 1px;
      height: 1px;
      margin: -1px;
      padding: 0;
      overflow: hidden;
      clip-path: inset(50%);
      white-space: nowrap;
      border: 0;
    }
  `;

  @property({ attribute: false }) store?: SessionStore;
  @state() private roundText = '';
  private roundAnnouncedAt = Number.NEGATIVE_INFINITY;

  private readonly data = new StoreController(
    this,
    () => this.store,
    (s) => ({
      round: s.session.round,
      total: s.session.totalRounds,
      done: s.session.phase === 'done',
      events: s.events,
      self: s.local.peerId,
    }),
  );

  protected override willUpdate(_changed: PropertyValues): void {
    const data = this.data.value;
    if (data === undefined) return;
    const text = data.done
      ? `Training finished after round ${data.round}`
      : `Round ${data.round}${data.total === null ? '' : ` of ${data.total}`}`;
    const now = Date.now();
    if (text !== this.roundText && (data.done || now - this.roundAnnouncedAt >= ROUND_ANNOUNCE_MS)) {
      this.roundText = text;
      this.roundAnnouncedAt = now;
    }
  }

  override render() {
    const data = this.data.value;
    if (data === undefined) return nothing;
    const peerEvent = lastOf(data.events, (e) => e.kind === 'join' || e.kind === 'drop');
    const aggregatorEvent = lastOf(data.events, (e) => e.kind === 'aggregator');
    return html`
      <div role="status" aria-live="polite" aria-atomic="true" data-live="round">${this.roundText}</div>
      <div aria-live="polite" aria-atomic="true" data-live="peers">
        ${peerEvent === undefined ? '' : describeEvent(peerEvent, data.self)}
      </div>
      <div aria-live="polite" aria-atomic="true" data-live="aggregator">
        ${aggregatorEvent === undefined ? '' : describeEvent(aggregatorEvent, data.self)}
      </div>
    `;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'live-regions': LiveRegions;
  }
}
