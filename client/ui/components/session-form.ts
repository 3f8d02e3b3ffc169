/**
 * `<session-form>`: create a training session (algorithm, up and down compressors, rounds,
 * round deadline, quorum, how many peers to wait for before round 0, how often to measure
 * test accuracy) or join one by pasting its link. It validates the input with the
 * shared schemas and dispatches `liec-create` or `liec-join`; the app does the signaling.
 * Once `joinLink` is set (after creating or joining) it shows that link to share instead.
 *
 * @example
 * html`<session-form .store=${store} .joinLink=${link} @liec-create=${onCreate}></session-form>`
 */
import { LitElement, css, html, nothing } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { parseCompressor } from '../../../shared/compress/spec.ts';
import { DEFAULT_SESSION_CONFIG, sessionConfigSchema } from '../../../shared/protocol/signaling.ts';
import { StoreController } from '../controller.ts';
import { uiEvent } from '../events.ts';
import { parseJoinLink } from '../join-link.ts';
import type { SessionStore } from '../state.ts';
import { panelStyles } from './styles.ts';

const ALGORITHMS = ['liec', 'sgd', 'ef-sgd', 'doublesqueeze'] as const;
const COMPRESSOR_SUGGESTIONS = [
  'topk:0.01',
  'topk:0.1',
  'randk:0.01',
  'sign',
  'qsgd:16',
  'q8',
  'fp16',
  'identity',
];

@customElement('session-form')
export class SessionForm extends LitElement {
  static override styles = [
    panelStyles,
    css`
      form {
        display: grid;
        grid-template-columns: repeat(auto-fill, minmax(150px, 1fr));
        gap: 10px 14px;
        align-items: end;
      }
      label {
        display: grid;
        gap: 3px;
        font-size: 0.8rem;
        color: var(--liec-muted, #5a6575);
      }
      input,
      select {
        font: inherit;
        padding: 5px 8px;
        border: 1px solid var(--liec-border, #d8dde3);
        border-radius: 6px;
      }
      .join {
        display: flex;
        gap: 8px;
        margin-top: 14px;
      }
      .join input {
        flex: 1;
      }
      .error {
        color: var(--liec-error, #c0392b);
        margin: 8px 0 0;
      }
      .link {
        display: flex;
        gap: 8px;
        align-items: center;
      }
      .link input {
        flex: 1;
        font-family: ui-monospace, monospace;
        font-size: 0.85rem;
      }
    `,
  ];

  @property({ attribute: false }) store?: SessionStore;
  /** The link to share once a session is created or joined; the form is hidden while set. */
  @property({ attribute: false }) joinLink: string | null = null;
  @state() private formError: string | null = null;
  @state() private copied = false;

  private readonly local = new StoreController(
    this,
    () => this.store,
    (s) => s.local,
  );

  override render() {
    if (this.joinLink !== null) return this.renderLink(this.joinLink);
    const busy = this.local.value?.connection === 'connecting';
    const error = this.formError ?? this.local.value?.error ?? null;
    const d = DEFAULT_SESSION_CONFIG;
    return html`
      <h2>New training session</h2>
      <form @submit=${this.onCreate}>
        <label
          >Algorithm
          <select name="algorithm">
            ${ALGORITHMS.map((a) => html`<option ?selected=${a === d.algorithm}>${a}</option>`)}
          </select>
        </label>
        <label>Compressor up <input name="up" list="compressors" .value=${d.up} required /></label>
        <label>Compressor down <input name="down" list="compressors" .value=${d.down} required /></label>
        <label
          >Rounds <input name="rounds" type="number" min="1" step="1" .value=${String(d.rounds)} required
        /></label>
        <label
          >Round deadline (ms)
          <input
            name="roundDeadlineMs"
            type="number"
            min="1"
            step="1"
            .value=${String(d.roundDeadlineMs)}
            required
          />
        </label>
        <label
          >Quorum (fraction)
          <input
            name="quorum"
            type="number"
            min="0.01"
            max="1"
            step="0.01"
            .value=${String(d.quorum)}
            required
          />
        </label>
        <label
          >Start with peers
          <input name="minPeers" type="number" min="1" step="1" .value=${String(d.minPeers)} required />
        </label>
        <label
          >Evaluate every (rounds)
          <input name="evalEvery" type="number" min="1" step="1" .value=${String(d.evalEvery)} required />
        </label>
        <datalist id="compressors">
          ${COMPRESSOR_SUGGESTIONS.map((c) => html`<option value=${c}></option>`)}
        </datalist>
        <button class="primary" type="submit" data-action="create" ?disabled=${busy}>Create session</button>
      </form>
      <form class="join" @submit=${this.onJoin}>
        <input name="link" placeholder="…or paste a join link" aria-label="join link" />
        <button type="submit" data-action="join" ?disabled=${busy}>Join</button>
      </form>
      ${error === null ? nothing : html`<p class="error" role="alert">${error}</p>`}
    `;
  }

  private renderLink(link: string) {
    return html`
      <h2>Invite peers</h2>
      <div class="link">
        <input readonly data-field="join-link" .value=${link} aria-label="join link" />
        <button @click=${() => void this.copy(link)}>${this.copied ? 'Copied' : 'Copy'}</button>
      </div>
      <p class="muted">Open this link in another tab or on another machine, or pass it to a headless node.</p>
    `;
  }

  private async copy(link: string): Promise<void> {
    try {
      await navigator.clipboard.writeText(link);
      this.copied = true;
    } catch {
      // No clipboard permission: select the text so the user can copy it by hand.
      this.renderRoot.querySelector<HTMLInputElement>('[data-field="join-link"]')?.select();
    }
  }

  private onCreate(event: SubmitEvent): void {
    event.preventDefault();
    if (!(event.currentTarget instanceof HTMLFormElement)) return;
    const form = new FormData(event.currentTarget);
    const text = (name: string): string => String(form.get(name) ?? '').trim();
    const candidate = {
      algorithm: text('algorithm'),
      up: text('up'),
      down: text('down'),
      rounds: Number(text('rounds')),
      roundDeadlineMs: Number(text('roundDeadlineMs')),
      quorum: Number(text('quorum')),
      minPeers: Number(text('minPeers')),
      evalEvery: Number(text('evalEvery')),
    };
    const parsed = sessionConfigSchema.safeParse(candidate);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      this.formError = `${issue?.path.join('.') ?? 'config'}: ${issue?.message ?? 'invalid'}`;
      return;
    }
    for (const key of ['up', 'down'] as const) {
      try {
        parseCompressor(parsed.data[key]);
      } catch (error) {
        this.formError = `compressor ${key}: ${error instanceof Error ? error.message : String(error)}`;
        return;
      }
    }
    this.formError = null;
    this.dispatchEvent(uiEvent('liec-create', { config: parsed.data }));
  }

  private onJoin(event: SubmitEvent): void {
    event.preventDefault();
    if (!(event.currentTarget instanceof HTMLFormElement)) return;
    const params = parseJoinLink(String(new FormData(event.currentTarget).get('link') ?? ''), location.href);
    if (params === null) {
      this.formError = 'that link has no valid session and token';
      return;
    }
    this.formError = null;
    this.dispatchEvent(uiEvent('liec-join', params));
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'session-form': SessionForm;
  }
}
