/**
 * `<peer-table>`: one row per peer: id, role, kind, state, round-trip time, bytes up and
 * down, current throughput each way, whether this tab's link to it is direct or relayed
 * through TURN (from the selected ICE candidate pair), the last round that counted its
 * update, and its TF.js backend. The aggregator comes first, dropped peers last; this tab's
 * row is marked.
 *
 * @example
 * html`<peer-table .store=${store}></peer-table>`
 */
import { LitElement, css, html, nothing } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import { StoreController } from '../controller.ts';
import { formatBytes, formatMs, formatRate } from '../format.ts';
import type { PeerRow, SessionStore } from '../state.ts';
import { panelStyles } from './styles.ts';

function order(row: PeerRow): number {
  if (row.state === 'dropped') return 2;
  return row.role === 'aggregator' ? 0 : 1;
}

export function sortPeers(peers: readonly PeerRow[]): PeerRow[] {
  return [...peers].sort((a, b) => order(a) - order(b) || a.peerId.localeCompare(b.peerId));
}

@customElement('peer-table')
export class PeerTable extends LitElement {
  static override styles = [
    panelStyles,
    css`
      table {
        width: 100%;
        border-collapse: collapse;
        font-variant-numeric: tabular-nums;
      }
      th,
      td {
        text-align: left;
        padding: 4px 8px;
        border-bottom: 1px solid var(--liec-border, #d8dde3);
        white-space: nowrap;
      }
      th {
        font-size: 0.75rem;
        color: var(--liec-muted, #5a6575);
        font-weight: 600;
      }
      td.num {
        text-align: right;
      }
      tr.self td:first-child::after {
        content: ' (this tab)';
        color: var(--liec-muted, #5a6575);
      }
      tr.dropped td {
        color: var(--liec-muted, #5a6575);
        text-decoration: line-through;
      }
      .state {
        display: inline-block;
        padding: 1px 8px;
        border-radius: 10px;
        font-size: 0.8rem;
        background: var(--liec-button, #f3f5f8);
      }
      .state.training,
      .state.sending {
        background: #dbe8ff;
      }
      .state.late {
        background: #ffe9c7;
      }
      .state.dropped {
        background: #f8d7d7;
      }
      .wrap {
        overflow-x: auto;
      }
      .link.relay {
        color: var(--liec-warn, #b26b00);
        font-weight: 600;
      }
      th abbr {
        text-decoration: none;
      }
    `,
  ];

  @property({ attribute: false }) store?: SessionStore;

  private readonly data = new StoreController(
    this,
    () => this.store,
    (s) => ({ peers: s.peers, self: s.local.peerId }),
  );

  override render() {
    const data = this.data.value;
    if (data === undefined) return nothing;
    const live = data.peers.filter((p) => p.state !== 'dropped').length;
    return html`
      <h2>
        Peers
        <span class="muted" data-field="peer-count" aria-live="polite" aria-atomic="true"
          >${live} connected</span
        >
      </h2>
      <div class="wrap">
        <table>
          <thead>
            <tr>
              <th>Peer</th>
              <th>Role</th>
              <th>Kind</th>
              <th>State</th>
              <th>RTT</th>
              <th>Up</th>
              <th>Down</th>
              <th>
                <abbr title="bytes per second, up / down, between its last two reports"
                  >Throughput ↑ / ↓</abbr
                >
              </th>
              <th>
                <abbr title="this tab's WebRTC link to the peer: direct, or relayed through a TURN server"
                  >Link</abbr
                >
              </th>
              <th>Last counted</th>
              <th>Backend</th>
            </tr>
          </thead>
          <tbody>
            ${sortPeers(data.peers).map((p) => this.renderRow(p, p.peerId === data.self))}
          </tbody>
        </table>
      </div>
    `;
  }

  private renderRow(p: PeerRow, self: boolean) {
    const classes = [self ? 'self' : '', p.state === 'dropped' ? 'dropped' : ''].join(' ');
    return html`<tr class=${classes} data-peer=${p.peerId} data-state=${p.state}>
      <td>${p.peerId}</td>
      <td>${p.role}</td>
      <td>${p.kind}</td>
      <td><span class="state ${p.state}">${p.state}</span></td>
      <td class="num">${formatMs(p.rttMs)}</td>
      <td class="num">${formatBytes(p.bytesUp)}</td>
      <td class="num">${formatBytes(p.bytesDown)}</td>
      <td class="num" data-field="throughput">
        ${p.rateUp === null && p.rateDown === null ? '-' : `${formatRate(p.rateUp)} / ${formatRate(p.rateDown)}`}
      </td>
      <td data-field="link" data-link=${p.link ?? 'none'}>${this.renderLink(p)}</td>
      <td class="num">${p.lastRoundCounted ?? '-'}</td>
      <td>${p.backend ?? '-'}</td>
    </tr>`;
  }

  private renderLink(p: PeerRow) {
    if (p.link === null) return '-';
    const text = p.link === 'relay' ? 'relayed (TURN)' : 'direct';
    return html`<span
      class="link ${p.link}"
      title="ICE candidates (this tab / peer): ${p.linkCandidates ?? '?'}"
      >${text}</span
    >`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'peer-table': PeerTable;
  }
}
