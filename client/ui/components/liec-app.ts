/**
 * `<liec-app>`: the page. Without a session it shows `<session-form>`; a link
 * `/?session=ID&token=T` joins at once. Once joined it shows the join link to share, the
 * overview, the controls, the peer table and the charts, all fed by one SessionStore.
 *
 * Until the training runtime is wired in, the store is filled from signaling events and
 * /status polls (see ../session-connection.ts). The runtime plugs in with
 * `attachRuntime(runtime)` (interface in ../runtime/attach.ts); it hears about each join
 * through the `liec-joined` event, which carries the joined signaling client.
 *
 * @example
 * const app = document.querySelector('liec-app')!;
 * app.addEventListener('liec-joined', async (e) => {
 *   const runtime = await startRuntime(e.detail.client, e.detail.joined);
 *   app.attachRuntime(runtime);
 * });
 */
import { LitElement, css, html, nothing } from 'lit';
import { customElement, state } from 'lit/decorators.js';
import type { JoinedSession, SignalingClient } from '../../signaling/index.ts';
import { StoreController } from '../controller.ts';
import { detectBackend } from '../detect-backend.ts';
import { parseJoinLink } from '../join-link.ts';
import { attachRuntimeToStore, type DashboardRuntime } from '../runtime/attach.ts';
import { SessionConnection, type JoinResult } from '../session-connection.ts';
import { SessionStore } from '../state.ts';
import './peer-table.ts';
import './session-controls.ts';
import './session-form.ts';
import './session-overview.ts';
import './training-charts.ts';

export interface JoinedEventDetail {
  client: SignalingClient;
  joined: JoinedSession;
  link: string;
}

@customElement('liec-app')
export class LiecApp extends LitElement {
  static override styles = css`
    :host {
      display: grid;
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
  `;

  /** The dashboard's state; the runtime may also write to it directly. */
  readonly store = new SessionStore();
  @state() private joinLink: string | null = null;
  private connection: SessionConnection | undefined;
  private runtime: DashboardRuntime | undefined;
  private detachRuntime: (() => void) | undefined;
  private readonly local = new StoreController(
    this,
    () => this.store,
    (s) => s.local,
  );

  /** The signaling client of the current session, once joined. */
  get signaling(): SignalingClient | undefined {
    return this.local.value?.connection === 'joined' ? this.connection?.client : undefined;
  }

  /** Shows a training runtime's rounds and peers, and routes pause/download/leave to it. */
  attachRuntime(runtime: DashboardRuntime): () => void {
    this.detachRuntime?.();
    this.runtime = runtime;
    const detach = attachRuntimeToStore(this.store, runtime);
    this.detachRuntime = () => {
      detach();
      if (this.runtime === runtime) this.runtime = undefined;
      this.detachRuntime = undefined;
    };
    return this.detachRuntime;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    this.store.setLocal({ backend: detectBackend() });
    this.addEventListener('liec-create', (e) => void this.start((c) => c.create(e.detail.config)));
    this.addEventListener('liec-join', (e) => void this.start((c) => c.join(e.detail)));
    this.addEventListener('liec-leave', () => void this.leave());
    this.addEventListener('liec-pause', (e) => this.setPaused(e.detail.paused));
    this.addEventListener('liec-download', () => void this.download());
    const params = parseJoinLink(new URLSearchParams(location.search));
    if (params !== null) void this.start((c) => c.join(params));
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.detachRuntime?.();
    this.connection?.close();
  }

  override render() {
    const joined = this.local.value?.connection === 'joined';
    return html`
      <header>
        <h1>LIEC-SGD peer-to-peer training</h1>
        <p>Train MNIST together from browser tabs and headless nodes, compressed both ways.</p>
      </header>
      <session-form .store=${this.store} .joinLink=${this.joinLink}></session-form>
      ${
        joined
          ? html`
              <session-overview .store=${this.store}></session-overview>
              <session-controls .store=${this.store}></session-controls>
              <peer-table .store=${this.store}></peer-table>
              <training-charts .store=${this.store}></training-charts>
            `
          : nothing
      }
    `;
  }

  private async start(action: (connection: SessionConnection) => Promise<JoinResult>): Promise<void> {
    if (this.connection !== undefined) return;
    const connection = new SessionConnection({
      baseUrl: location.origin,
      store: this.store,
      capabilities: {
        backend: this.store.state.local.backend ?? 'unknown',
        userAgent: navigator.userAgent.slice(0, 200),
      },
    });
    this.connection = connection;
    let result: JoinResult;
    try {
      result = await action(connection);
    } catch {
      this.connection = undefined; // the store holds the error; the form shows it
      return;
    }
    this.joinLink = result.link;
    history.replaceState(null, '', result.link);
    const detail: JoinedEventDetail = { client: result.client, joined: result.joined, link: result.link };
    this.dispatchEvent(new CustomEvent('liec-joined', { detail, bubbles: true, composed: true }));
  }

  private async leave(): Promise<void> {
    const runtime = this.runtime;
    this.detachRuntime?.();
    try {
      await runtime?.leave();
    } catch (error) {
      console.warn('the training runtime failed to leave cleanly', error);
    } finally {
      this.connection?.close();
      this.connection = undefined;
      this.joinLink = null;
      this.store.reset();
      history.replaceState(null, '', '/');
    }
  }

  private setPaused(paused: boolean): void {
    if (this.runtime?.setPaused === undefined) return;
    this.runtime.setPaused(paused);
    this.store.setLocal({ paused });
  }

  private async download(): Promise<void> {
    const model = await this.runtime?.exportModel?.();
    if (model === undefined) return;
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
