/**
 * `<session-overview>`: the session at a glance: id, round out of total, phase, aggregator
 * and term, how many peers are live; the latest loss and test accuracy as numbers; the time
 * since the session was created, seconds per round over the recent rounds and the time left
 * at that pace (../progress.ts, refreshed every second); and the participation of recent
 * rounds as a strip of bars (counted / expected workers per round).
 *
 * @example
 * html`<session-overview .store=${store}></session-overview>`
 */
import { LitElement, css, html, nothing } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import { StoreController } from '../controller.ts';
import { formatDuration, formatNumber, formatPace, formatPercent } from '../format.ts';
import { sessionProgress } from '../progress.ts';
import type { Participation, SessionStore } from '../state.ts';
import { TickController } from '../tick-controller.ts';
import { panelStyles } from './styles.ts';

/** Rounds shown in the participation strip. */
const PARTICIPATION_SHOWN = 40;

@customElement('session-overview')
export class SessionOverview extends LitElement {
  static override styles = [
    panelStyles,
    css`
      dl {
        display: grid;
        grid-template-columns: repeat(auto-fill, minmax(140px, 1fr));
        gap: 8px 16px;
        margin: 0;
      }
      dt {
        font-size: 0.75rem;
        color: var(--liec-muted, #5a6575);
      }
      dd {
        margin: 0;
        overflow-wrap: anywhere;
        font-size: 1.1rem;
        font-variant-numeric: tabular-nums;
      }
      dd small {
        font-size: 0.75rem;
        color: var(--liec-muted, #5a6575);
      }
      .wide {
        grid-column: span 2;
      }
      .phase {
        text-transform: capitalize;
      }
      .strip {
        display: flex;
        align-items: flex-end;
        gap: 2px;
        height: 28px;
        margin-top: 10px;
      }
      .strip span {
        flex: 0 0 6px;
        background: var(--liec-accent, #2f6fed);
        border-radius: 1px;
      }
      .strip span.partial {
        background: var(--liec-warn, #d98c1f);
      }
    `,
  ];

  @property({ attribute: false }) store?: SessionStore;

  private readonly data = new StoreController(
    this,
    () => this.store,
    (s) => ({ session: s.session, peers: s.peers, local: s.local, history: s.history }),
  );
  private readonly tick = new TickController(this, 1000, () => {
    const session = this.data.value?.session;
    return session !== undefined && session.id !== null && session.phase !== 'done';
  });

  override render() {
    const data = this.data.value;
    if (data === undefined) return nothing;
    const { session, peers, local } = data;
    const live = peers.filter((p) => p.state !== 'dropped').length;
    const aggregator =
      session.aggregatorPeerId === null
        ? 'none yet'
        : `${session.aggregatorPeerId}${session.aggregatorPeerId === local.peerId ? ' (this tab)' : ''}`;
    const last = session.participation.at(-1);
    const progress = sessionProgress(data, this.tick.now);
    return html`
      <h2>Session</h2>
      <dl>
        <div class="wide">
          <dt>Session</dt>
          <dd data-field="session">${session.id ?? '-'}</dd>
        </div>
        <div>
          <dt>Round</dt>
          <dd data-field="round">
            ${session.round}${session.totalRounds === null ? '' : ` / ${session.totalRounds}`}
          </dd>
        </div>
        <div>
          <dt>Phase</dt>
          <dd class="phase" data-field="phase">${session.phase}</dd>
        </div>
        <div>
          <dt>Aggregator</dt>
          <dd data-field="aggregator">${aggregator}</dd>
        </div>
        <div>
          <dt>Term</dt>
          <dd data-field="term">${session.term}</dd>
        </div>
        <div>
          <dt>Live peers</dt>
          <dd data-field="live-peers">${live}</dd>
        </div>
        <div>
          <dt>Last round counted</dt>
          <dd data-field="participation">
            ${last === undefined ? '-' : `${last.counted} / ${last.expected}`}
          </dd>
        </div>
        <div>
          <dt>Test accuracy</dt>
          <dd data-field="accuracy">
            ${formatPercent(progress.accuracy?.value ?? null)}
            ${progress.accuracy === null ? nothing : html`<small>round ${progress.accuracy.round}</small>`}
          </dd>
        </div>
        ${
          // csv and images: the members' own accuracies weighted by their sizes (/status).
          session.accuracy === null
            ? nothing
            : html`<div>
                <dt>Session accuracy</dt>
                <dd
                  data-field="session-accuracy"
                  title="the members' own accuracies, weighted by their sizes"
                >
                  ${formatPercent(session.accuracy.value)}
                  <small>${session.accuracy.set}, ${session.accuracy.peers} of ${live}</small>
                </dd>
              </div>`
        }
        <div>
          <dt>Loss</dt>
          <dd data-field="loss">
            ${formatNumber(progress.loss?.value ?? null, 4)}
            ${progress.loss === null ? nothing : html`<small>round ${progress.loss.round}</small>`}
          </dd>
        </div>
        <div>
          <dt>Elapsed</dt>
          <dd data-field="elapsed" title="since the session was created">
            ${formatDuration(progress.elapsedMs)}
          </dd>
        </div>
        <div>
          <dt>Time per round</dt>
          <dd data-field="round-time" title="over the last rounds">${formatPace(progress.msPerRound)}</dd>
        </div>
        <div>
          <dt>Time left</dt>
          <dd data-field="time-left" title="rounds left at the current pace">
            ${progress.remainingMs === null ? '-' : `≈ ${formatDuration(progress.remainingMs)}`}
          </dd>
        </div>
      </dl>
      ${this.renderStrip(session.participation)}
    `;
  }

  private renderStrip(participation: readonly Participation[]) {
    if (participation.length === 0) return nothing;
    const shown = participation.slice(-PARTICIPATION_SHOWN);
    return html`<div class="strip" aria-label="participation per round">
      ${shown.map((p) => {
        const share = p.expected > 0 ? Math.min(1, p.counted / p.expected) : 1;
        return html`<span
          class=${share < 1 ? 'partial' : ''}
          style="height: ${Math.max(8, share * 100)}%"
          title="round ${p.round}: ${p.counted} of ${p.expected} workers counted"
        ></span>`;
      })}
    </div>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'session-overview': SessionOverview;
  }
}
