/**
 * `<status-banners>`: what is wrong, on top of the dashboard, until it is resolved. One banner
 * while the signaling connection is down, counting down to the next attempt to join again
 * (see ../reconnect.ts), gone once the tab is back; one banner per error in the store
 * (runtime, download, signaling given up, /status unreachable), each with its text, gone when
 * its source recovers or the user dismisses it (`liec-dismiss`, see ../events.ts). Errors of
 * a failed create or join are the form's (session-form.ts). Banners are `role="alert"`: screen readers read them as they come.
 *
 * @example
 * html`<status-banners .store=${store}></status-banners>`
 */
import { LitElement, css, html, nothing } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import { StoreController } from '../controller.ts';
import { uiEvent } from '../events.ts';
import { formatDuration } from '../format.ts';
import { attemptsSoFar, formatCountdown, nextAttemptIn, type ReconnectState } from '../reconnect.ts';
import type { DashboardError, ErrorSource, SessionStore } from '../state.ts';
import { TickController } from '../tick-controller.ts';

const TITLES: Record<ErrorSource, string> = {
  join: 'Could not join',
  signaling: 'Disconnected',
  runtime: 'Training stopped',
  download: 'Download failed',
  status: 'Status unavailable',
};

@customElement('status-banners')
export class StatusBanners extends LitElement {
  static override styles = css`
    :host {
      display: grid;
      gap: 8px;
    }
    :host([hidden]) {
      display: none;
    }
    .banner {
      display: flex;
      gap: 12px;
      align-items: center;
      padding: 10px 14px;
      border-radius: 8px;
      border: 1px solid;
      color: var(--liec-text, #1d2430);
    }
    .banner.error {
      background: #fdecea;
      border-color: var(--liec-error, #c0392b);
    }
    .banner.reconnecting {
      background: #fff4e0;
      border-color: var(--liec-warn, #d98c1f);
    }
    .text {
      flex: 1;
      overflow-wrap: anywhere;
    }
    strong {
      margin-right: 6px;
    }
    .muted {
      color: var(--liec-muted, #5a6575);
    }
    .countdown {
      font-variant-numeric: tabular-nums;
      font-weight: 600;
    }
    button {
      font: inherit;
      border: none;
      background: none;
      cursor: pointer;
      font-size: 1.2rem;
      line-height: 1;
      padding: 2px 6px;
      color: var(--liec-muted, #5a6575);
    }
  `;

  @property({ attribute: false }) store?: SessionStore;

  private readonly local = new StoreController(
    this,
    () => this.store,
    (s) => ({ connection: s.local.connection, reconnect: s.local.reconnect, errors: s.local.errors }),
  );
  private readonly tick = new TickController(this, 100, () => this.local.value?.reconnect != null);

  /** The reconnect state while reconnecting, and the errors to show (not the form's). */
  private shown(): { reconnect: ReconnectState | null; errors: DashboardError[] } {
    const local = this.local.value;
    if (local === undefined) return { reconnect: null, errors: [] };
    const reconnect = local.connection === 'reconnecting' ? local.reconnect : null;
    // While reconnecting, failing /status polls say nothing new.
    const errors = local.errors.filter(
      (e) => e.source !== 'join' && !(reconnect !== null && e.source === 'status'),
    );
    return { reconnect, errors };
  }

  protected override willUpdate(): void {
    const { reconnect, errors } = this.shown();
    this.hidden = reconnect === null && errors.length === 0;
  }

  override render() {
    const { reconnect, errors } = this.shown();
    return html`
      ${reconnect === null ? nothing : this.renderReconnecting(reconnect)}
      ${errors.map((e) => this.renderError(e))}
    `;
  }

  private renderReconnecting(reconnect: ReconnectState) {
    const now = this.tick.now;
    const attempts = attemptsSoFar(reconnect, now);
    return html`<div class="banner reconnecting" role="alert" data-banner="reconnecting">
      <span class="text">
        <strong>Connection to the signaling server lost</strong>(${reconnect.reason}). Reconnecting in
        <span class="countdown" data-field="countdown"
          >${formatCountdown(nextAttemptIn(reconnect, now))}</span
        >
        <span class="muted"
          >· down for
          ${formatDuration(now - reconnect.since)}${attempts > 0 ? ` · ${attempts} attempts so far` : ''}</span
        >
      </span>
    </div>`;
  }

  private renderError(error: DashboardError) {
    return html`<div class="banner error" role="alert" data-banner="error" data-source=${error.source}>
      <span class="text"><strong>${TITLES[error.source]}</strong>${error.message}</span>
      <button
        type="button"
        aria-label="Dismiss: ${TITLES[error.source]}"
        title="Dismiss"
        @click=${() => this.dispatchEvent(uiEvent('liec-dismiss', { source: error.source }))}
      >
        ×
      </button>
    </div>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'status-banners': StatusBanners;
  }
}
