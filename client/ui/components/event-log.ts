/**
 * `<event-log>`: the session's events, newest first: peers joining and dropping, aggregator
 * changes, and this tab's signaling connection dropping and coming back (state.ts keeps them;
 * ../event-text.ts words them). The list is a log, not a live region: live-regions.ts
 * announces the same news.
 *
 * @example
 * html`<event-log .store=${store}></event-log>`
 */
import { LitElement, css, html, nothing } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import { StoreController } from '../controller.ts';
import { describeEvent } from '../event-text.ts';
import type { SessionStore } from '../state.ts';
import { panelStyles } from './styles.ts';

/** Entries shown (the store keeps more). */
const SHOWN = 50;

function clockTime(at: number): string {
  return new Date(at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

@customElement('event-log')
export class EventLog extends LitElement {
  static override styles = [
    panelStyles,
    css`
      ol {
        list-style: none;
        margin: 0;
        padding: 0;
        max-height: 180px;
        overflow-y: auto;
        font-size: 0.85rem;
      }
      li {
        display: flex;
        gap: 10px;
        padding: 2px 0;
        border-bottom: 1px solid var(--liec-border, #d8dde3);
      }
      time {
        color: var(--liec-muted, #5a6575);
        font-variant-numeric: tabular-nums;
        flex: 0 0 auto;
      }
      li.drop,
      li.disconnect {
        color: var(--liec-error, #c0392b);
      }
      li.aggregator {
        font-weight: 600;
      }
    `,
  ];

  @property({ attribute: false }) store?: SessionStore;

  private readonly data = new StoreController(
    this,
    () => this.store,
    (s) => ({ events: s.events, self: s.local.peerId }),
  );

  override render() {
    const data = this.data.value;
    if (data === undefined) return nothing;
    const shown = data.events.slice(-SHOWN).reverse();
    return html`
      <h2>Events</h2>
      ${
        shown.length === 0
          ? html`<p class="muted">No joins, drops or aggregator changes since this tab joined.</p>`
          : html`<ol aria-label="session events, newest first">
              ${shown.map(
                (event) =>
                  html`<li class=${event.kind} data-event=${event.kind}>
                    <time datetime=${new Date(event.at).toISOString()}>${clockTime(event.at)}</time>
                    <span>${describeEvent(event, data.self)}</span>
                  </li>`,
              )}
            </ol>`
      }
    `;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'event-log': EventLog;
  }
}
