/**
 * `<liec-app>`: the page. Without a session it shows `<session-form>`; a link
 * `/?session=ID&token=T` joins at once (`&watch=1` only watches, see
 * ../session-connection.ts). Once joined it shows the join link to share (with its QR code),
 * the overview, the controls, the operator's snapshots and rollback, the peer table, the
 * charts, the event list and the session's configuration, all fed by one SessionStore. Banners on top say what is wrong (errors,
 * the signaling connection down and when the next attempt comes); the dashboard stays while
 * the tab reconnects, and after it gave up, until the user leaves.
 *
 * With `runtimeFactory` set (entry.ts sets the in-browser training peer), joining starts that
 * runtime: its peer joins and trains, and it is attached at once (`attachRuntime`); pause,
 * download and leave go to it. Without one the tab joins as a member that does not train.
 * Set the factory before the first update (the link's join waits for it). Each join ends with
 * a `liec-joined` event.
 *
 * @example
 * const app = document.querySelector('liec-app')!;
 * app.runtimeFactory = (params) => new PeerRuntime({ serverUrl: location.origin, ...params, createLearner });
 * app.addEventListener('liec-joined', (e) => console.log('joined as', e.detail.peerId));
 */
import { LitElement, css, html, nothing } from 'lit';
import { customElement, state } from 'lit/decorators.js';
import { StoreController } from '../controller.ts';
import { detectBackend } from '../detect-backend.ts';
import { isWatchLink, parseJoinLink, type JoinParams } from '../join-link.ts';
import { attachRuntimeToStore, type DashboardRuntime, type SessionRuntime } from '../runtime/attach.ts';
import { SessionConnection, type JoinResult } from '../session-connection.ts';
import { SessionStore } from '../state.ts';
import './event-log.ts';
import './live-regions.ts';
import './local-data.ts';
import './peer-table.ts';
import './session-config.ts';
import './session-controls.ts';
import './session-form.ts';
import './session-overview.ts';
import './session-snapshots.ts';
import './status-banners.ts';
import './training-charts.ts';

export interface JoinedEventDetail {
  link: string;
  sessionId: string;
  /** This tab's peer id; null when only watching. */
  peerId: string | null;
  /** The training runtime that joined, if any (already attached). */
  runtime?: SessionRuntime;
}

export type RuntimeFactory = (params: JoinParams) => SessionRuntime;

@customElement('liec-app')
export class LiecApp extends LitElement {
  static override styles = css`
    :host {
      display: grid;
      /* minmax(0, ...): a wide table scrolls inside its panel instead of widening the page. */
      grid-template-columns: minmax(0, 1fr);
      gap: 14px;
      max-width: 1200px;
      margin: 0 auto;
      padding: 16px;
    }
    header h1 {
      margin: 0;
      font-size: 1.3rem;
    }
    header p {
      margin: 2px 0 0;
      color: var(--liec-muted, #5a6575);
    }
    .pair {
      display: grid;
      grid-template-columns: repeat(auto-fit, minmax(min(360px, 100%), 1fr));
      gap: 14px;
      align-items: start;
    }
  `;

  /** The dashboard's state; the runtime may also write to it directly. */
  readonly store = new SessionStore();
  /** Starts the training runtime of a join; without it the tab joins without training. */
  runtimeFactory: RuntimeFactory | undefined;
  @state() private joinLink: string | null = null;
  /** The last invitation this tab minted (a session it created by invitation). */
  @state() private invitationLink: string | null = null;
  private connection: SessionConnection | undefined;
  private attached: DashboardRuntime | undefined;
  private detachRuntime: (() => void) | undefined;
  private readonly local = new StoreController(
    this,
    () => this.store,
    (s) => ({ connection: s.local.connection, session: s.session.id }),
  );

  /** The attached runtime, if any. */
  get runtime(): DashboardRuntime | undefined {
    return this.attached;
  }

  /** Shows a training runtime's rounds and peers, and routes pause/download/leave to it. */
  attachRuntime(runtime: DashboardRuntime): () => void {
    this.detachRuntime?.();
    this.attached = runtime;
    const detach = attachRuntimeToStore(this.store, runtime);
    this.detachRuntime = () => {
      detach();
      if (this.attached === runtime) this.attached = undefined;
      this.detachRuntime = undefined;
    };
    return this.detachRuntime;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    this.store.setLocal({ backend: detectBackend() });
    this.addEventListener(
      'liec-create',
      (e) =>
        void this.start((c) =>
          c.create(e.detail.config, e.detail.operatorToken, e.detail.invitations ?? false),
        ),
    );
    this.addEventListener('liec-invite', () => void this.invite());
    this.addEventListener('liec-join', (e) => void this.start((c) => c.join(e.detail)));
    this.addEventListener('liec-leave', () => void this.leave());
    this.addEventListener('liec-pause', (e) => this.setPaused(e.detail.paused));
    this.addEventListener('liec-download', () => void this.download());
    this.addEventListener('liec-dismiss', (e) => this.store.clearError(e.detail.source));
    const query = new URLSearchParams(location.search);
    const params = parseJoinLink(query);
    // After the first update, so whoever created the element can set runtimeFactory first.
    if (params !== null)
      void this.updateComplete.then(() =>
        this.start((c) => (isWatchLink(query) ? c.watch(params) : c.join(params)), isWatchLink(query)),
      );
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.detachRuntime?.();
    this.connection?.close();
  }

  override render() {
    const local = this.local.value;
    // Joined, or joined once and now reconnecting (or given up): the session stays on screen.
    const inSession =
      local !== undefined &&
      (local.connection === 'joined' || (this.joinLink !== null && local.session !== null));
    return html`
      <header>
        <h1>LIEC-SGD peer-to-peer training</h1>
        <p>Train MNIST together from browser tabs and headless nodes, compressed both ways.</p>
      </header>
      <status-banners .store=${this.store}></status-banners>
      <session-form
        .store=${this.store}
        .joinLink=${this.joinLink}
        .byInvitation=${this.connection?.invites ?? false}
        .invitationLink=${this.invitationLink}
      ></session-form>
      ${
        inSession
          ? html`
              <session-overview .store=${this.store}></session-overview>
              <session-controls .store=${this.store}></session-controls>
              <local-data .store=${this.store}></local-data>
              <session-snapshots .store=${this.store}></session-snapshots>
              <peer-table .store=${this.store}></peer-table>
              <training-charts .store=${this.store}></training-charts>
              <div class="pair">
                <event-log .store=${this.store}></event-log>
                <session-config .store=${this.store}></session-config>
              </div>
              <live-regions .store=${this.store}></live-regions>
            `
          : nothing
      }
    `;
  }

  /** Mints one invitation: its link replaces the last one shown. */
  private async invite(): Promise<void> {
    const connection = this.connection;
    const sessionId = this.store.state.session.id;
    if (connection === undefined || sessionId === null) return;
    try {
      this.invitationLink = await connection.invite(sessionId);
      this.store.clearError('join');
    } catch (error) {
      this.store.setError('join', `no invitation: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  private async start(
    action: (connection: SessionConnection) => Promise<JoinResult>,
    watching = false,
  ): Promise<void> {
    if (this.connection !== undefined) return;
    const backend = this.store.state.local.backend ?? 'unknown';
    const connection = new SessionConnection({
      baseUrl: location.origin,
      store: this.store,
      capabilities: { backend, userAgent: navigator.userAgent.slice(0, 200) },
      ...(this.runtimeFactory === undefined ? {} : { runtime: this.runtimeFactory }),
    });
    this.connection = connection;
    let result: JoinResult;
    try {
      result = await action(connection);
    } catch {
      this.connection = undefined; // the store holds the error; the form shows it
      return;
    }
    if (result.runtime !== undefined) this.attachRuntime(result.runtime);
    this.joinLink = result.link;
    history.replaceState(null, '', watching ? `${result.link}&watch=1` : result.link);
    const detail: JoinedEventDetail = {
      link: result.link,
      sessionId: result.sessionId,
      peerId: result.peerId,
      ...(result.runtime === undefined ? {} : { runtime: result.runtime }),
    };
    this.dispatchEvent(new CustomEvent('liec-joined', { detail, bubbles: true, composed: true }));
  }

  private async leave(): Promise<void> {
    const runtime = this.attached;
    this.detachRuntime?.();
    try {
      await runtime?.leave();
    } catch (error) {
      console.warn('the training runtime failed to leave cleanly', error);
    } finally {
      this.connection?.close();
      this.connection = undefined;
      this.joinLink = null;
      this.invitationLink = null;
      this.store.reset();
      history.replaceState(null, '', '/');
    }
  }

  private setPaused(paused: boolean): void {
    if (this.attached?.setPaused === undefined) return;
    this.attached.setPaused(paused);
    this.store.setLocal({ paused });
  }

  private async download(): Promise<void> {
    let model: Uint8Array | Blob | null | undefined;
    try {
      model = await this.attached?.exportModel?.();
    } catch (error) {
      this.store.setError('download', error instanceof Error ? error.message : String(error));
      return;
    }
    this.store.clearError('download');
    if (model === undefined || model === null) return; // nothing, or already saved by the runtime
    const { session } = this.store.state;
    const blob =
      model instanceof Blob ? model : new Blob([new Uint8Array(model)], { type: 'application/octet-stream' });
    const url = URL.createObjectURL(blob);
    const anchor = document.createElement('a');
    anchor.href = url;
    anchor.download = `liec-model-${session.id ?? 'session'}-round-${session.round}.bin`;
    anchor.click();
    setTimeout(() => URL.revokeObjectURL(url), 0);
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'liec-app': LiecApp;
  }
  interface HTMLElementEventMap {
    'liec-joined': CustomEvent<JoinedEventDetail>;
  }
}
