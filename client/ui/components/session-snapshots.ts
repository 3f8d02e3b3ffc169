/**
 * `<session-snapshots>`: the operator's rollback control. It lists the model snapshots the
 * session's aggregator keeps (round, test accuracy, age, model hash) and rolls the session
 * back to one after a confirmation: from the round it names, every peer trains from that
 * snapshot. Both need the server's operator token unless the server is open; the token is
 * typed here and never stored. The network side is SnapshotsController.
 *
 * @example
 * html`<session-snapshots .store=${store}></session-snapshots>`
 */
import { LitElement, css, html, nothing } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { StoreController } from '../controller.ts';
import { SnapshotsController } from '../snapshots-controller.ts';
import type { SessionStore } from '../state.ts';
import { panelStyles } from './styles.ts';

@customElement('session-snapshots')
export class SessionSnapshots extends LitElement {
  static override styles = [
    panelStyles,
    css`
      .row {
        display: flex;
        gap: 8px;
        align-items: center;
        flex-wrap: wrap;
      }
      table {
        border-collapse: collapse;
        margin-top: 8px;
        width: 100%;
      }
      th,
      td {
        text-align: right;
        padding: 3px 8px;
        font-variant-numeric: tabular-nums;
      }
      td.hash {
        font-family: monospace;
        text-align: left;
      }
      .error {
        color: var(--liec-danger, #b42318);
      }
    `,
  ];

  @property({ attribute: false }) store?: SessionStore;
  /** The signaling server the operator requests go to. @default location.origin */
  @property({ attribute: false }) serverUrl = globalThis.location?.origin ?? '';
  @state() private token = '';
  private readonly ops = new SnapshotsController(this, () => this.serverUrl);
  private readonly session = new StoreController(
    this,
    () => this.store,
    (s) => s.session.id,
  );

  override render() {
    const sessionId = this.session.value ?? null;
    if (sessionId === null) return nothing;
    const { snapshots, busy, error, rolledBack, aggregatorId } = this.ops.view;
    const now = Date.now();
    return html`
      <h2>Snapshots and rollback</h2>
      <div class="row">
        <label>
          Operator token
          <input
            type="password"
            autocomplete="off"
            placeholder="not needed on an open server"
            .value=${this.token}
            @input=${(e: Event) => (this.token = (e.target as HTMLInputElement).value)}
          />
        </label>
        <button
          data-action="list-snapshots"
          ?disabled=${busy}
          @click=${() => this.ops.list(sessionId, this.token)}
        >
          List snapshots
        </button>
        ${aggregatorId === null ? nothing : html`<span class="muted">kept by ${aggregatorId}</span>`}
      </div>
      ${error === null ? nothing : html`<p class="error" role="alert" data-field="snapshot-error">${error}</p>`}
      ${
        rolledBack === null
          ? nothing
          : html`<p data-field="rolled-back">
              Rolled back to round ${rolledBack.round}: every peer continues from it at round
              ${rolledBack.continuesAt}.
            </p>`
      }
      ${
        snapshots.length === 0
          ? nothing
          : html`<table>
              <thead>
                <tr>
                  <th>Round</th>
                  <th>Accuracy</th>
                  <th>Taken</th>
                  <th>Model</th>
                  <th></th>
                </tr>
              </thead>
              <tbody>
                ${snapshots.map(
                  (s) =>
                    html`<tr data-round=${s.round}>
                      <td>${s.round}</td>
                      <td>${s.testAccuracy === null ? 'n/a' : `${(s.testAccuracy * 100).toFixed(2)}%`}</td>
                      <td>${Math.max(0, Math.round((now - s.takenAt) / 1000))} s ago</td>
                      <td class="hash">${s.modelSha256.slice(0, 12)}</td>
                      <td>
                        <button
                          data-action="rollback"
                          ?disabled=${busy}
                          @click=${() => this.confirmRollback(sessionId, s.round)}
                        >
                          Roll back
                        </button>
                      </td>
                    </tr>`,
                )}
              </tbody>
            </table>`
      }
    `;
  }

  private confirmRollback(sessionId: string, round: number): void {
    const question = `Roll the whole session back to the model of round ${round}? Every peer continues from it.`;
    if (globalThis.confirm?.(question) === false) return;
    void this.ops.rollback(sessionId, this.token, round);
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'session-snapshots': SessionSnapshots;
  }
}
