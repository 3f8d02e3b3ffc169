/**
 * `<session-controls>`: leave the session, pause or resume local training, download the
 * current model. It only dispatches typed events (`liec-leave`, `liec-pause`,
 * `liec-download`; see ../events.ts); whoever owns the runtime acts on them. Pause and
 * download are enabled only while a training runtime is attached.
 *
 * @example
 * html`<session-controls .store=${store} @liec-pause=${(e) => runtime.setPaused(e.detail.paused)}></session-controls>`
 */
import { LitElement, css, html, nothing } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import { StoreController } from '../controller.ts';
import { uiEvent } from '../events.ts';
import type { SessionStore } from '../state.ts';
import { panelStyles } from './styles.ts';

@customElement('session-controls')
export class SessionControls extends LitElement {
  static override styles = [
    panelStyles,
    css`
      :host {
        display: flex;
        gap: 8px;
        align-items: center;
        flex-wrap: wrap;
      }
      .spacer {
        flex: 1;
      }
    `,
  ];

  @property({ attribute: false }) store?: SessionStore;

  private readonly local = new StoreController(
    this,
    () => this.store,
    (s) => s.local,
  );

  override render() {
    const local = this.local.value;
    if (local === undefined) return nothing;
    // Reconnecting or given up, the tab is still in the session: it may leave, keep its model.
    const joined =
      local.connection === 'joined' || local.connection === 'reconnecting' || local.connection === 'closed';
    const canTrain = joined && local.runtimeAttached;
    return html`
      <span class="muted">
        ${local.peerId === null ? 'Not joined' : html`You are <strong>${local.peerId}</strong>`} · backend
        <strong data-field="backend">${local.backend ?? 'unknown'}</strong>
        ${local.runtimeAttached ? nothing : html`· not training`}
        ${local.paused ? html`· <span data-field="paused">paused: out of the session until you resume</span>` : nothing}
      </span>
      <span class="spacer"></span>
      <button
        data-action="pause"
        ?disabled=${!canTrain}
        @click=${() => this.dispatchEvent(uiEvent('liec-pause', { paused: !local.paused }))}
      >
        ${local.paused ? 'Resume' : 'Pause'}
      </button>
      <button
        data-action="download"
        ?disabled=${!canTrain}
        @click=${() => this.dispatchEvent(uiEvent('liec-download', null))}
      >
        Download model
      </button>
      <button
        data-action="leave"
        ?disabled=${!joined}
        @click=${() => this.dispatchEvent(uiEvent('liec-leave', null))}
      >
        Leave
      </button>
    `;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'session-controls': SessionControls;
  }
}
