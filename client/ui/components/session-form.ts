/**
 * `<session-form>`: create a training session with every setting of the session config
 * (../config-form.ts: task and model, algorithm, rounds, learning rate, momentum, weight
 * decay, batch size; compressors, sync mode, period, codec, compensation and drift
 * threshold; round deadline, quorum, peers to start with, evaluation period, aggregation;
 * partition, data shards, seed), each filled with its recommended default, or join one by
 * pasting its link. The filled form is checked with the session config schema the server
 * uses; what is wrong is shown next to the form (each field's message under it, all of them
 * next to the button). Valid input goes out as `liec-create` or `liec-join`; the app does
 * the signaling. Once `joinLink` is set (after creating or joining) it shows that link to
 * share instead, with a QR code of it for phones.
 *
 * @example
 * html`<session-form .store=${store} .joinLink=${link} @liec-create=${onCreate}></session-form>`
 */
import { LitElement, css, html, nothing, type PropertyValues } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import {
  CONFIG_FORM,
  defaultFieldValue,
  describeIssue,
  readConfigForm,
  type ConfigIssue,
  type FieldSpec,
} from '../config-form.ts';
import { StoreController } from '../controller.ts';
import { uiEvent } from '../events.ts';
import { parseJoinLink } from '../join-link.ts';
import { qrCodeDataUrl } from '../qr.ts';
import type { SessionStore } from '../state.ts';
import { panelStyles } from './styles.ts';

@customElement('session-form')
export class SessionForm extends LitElement {
  static override styles = [
    panelStyles,
    css`
      fieldset {
        border: none;
        margin: 0 0 10px;
        padding: 0;
        display: grid;
        grid-template-columns: repeat(auto-fill, minmax(160px, 1fr));
        gap: 10px 14px;
        align-items: start;
      }
      legend {
        font-size: 0.8rem;
        font-weight: 600;
        padding: 0;
        margin-bottom: 6px;
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
        min-width: 0;
      }
      [aria-invalid='true'] {
        border-color: var(--liec-error, #c0392b);
        outline: 1px solid var(--liec-error, #c0392b);
      }
      .field-error {
        color: var(--liec-error, #c0392b);
        font-size: 0.75rem;
      }
      .actions {
        display: flex;
        gap: 14px;
        align-items: flex-start;
        margin-top: 4px;
      }
      .issues {
        margin: 0;
        padding-left: 18px;
        color: var(--liec-error, #c0392b);
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
      .invite {
        display: flex;
        gap: 16px;
        align-items: center;
      }
      .invite > div {
        flex: 1;
        min-width: 0;
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
      img.qr {
        width: 112px;
        height: 112px;
        flex: 0 0 auto;
        image-rendering: pixelated;
      }
    `,
  ];

  @property({ attribute: false }) store?: SessionStore;
  /** The link to share once a session is created or joined; the form is hidden while set. */
  @property({ attribute: false }) joinLink: string | null = null;
  /**
   * The session was created here by invitation: joinLink holds this tab's host token and is
   * not shown; each invitation (liec-invite) admits one peer id.
   */
  @property({ attribute: false }) byInvitation = false;
  /** The last invitation minted, shown in place of joinLink. */
  @property({ attribute: false }) invitationLink: string | null = null;
  @state() private issues: readonly ConfigIssue[] = [];
  @state() private joinError: string | null = null;
  @state() private copied = false;
  /** The QR code of joinLink (an SVG data URL) once drawn. */
  @state() private qr: { link: string; url: string } | null = null;

  private readonly local = new StoreController(
    this,
    () => this.store,
    (s) => ({ connection: s.local.connection, errors: s.local.errors }),
  );

  /** The link others join with: the last invitation, or the session's link. */
  private get sharedLink(): string | null {
    return this.byInvitation ? this.invitationLink : this.joinLink;
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('joinLink') || changed.has('invitationLink') || changed.has('byInvitation')) {
      this.copied = false;
      const link = this.sharedLink;
      if (link !== null && this.qr?.link !== link) {
        qrCodeDataUrl(link).then(
          (url) => {
            if (this.sharedLink === link) this.qr = { link, url };
          },
          (error: unknown) => console.warn('no QR code for the join link', error),
        );
      }
    }
  }

  override render() {
    if (this.joinLink !== null && this.byInvitation) return this.renderInvitations();
    if (this.joinLink !== null) return this.renderLink(this.joinLink);
    const busy = this.local.value?.connection === 'connecting';
    const failed = this.local.value?.errors.find((e) => e.source === 'join')?.message ?? null;
    const error = this.joinError ?? failed;
    return html`
      <h2>New training session</h2>
      <form novalidate @submit=${this.onCreate} aria-describedby="form-issues">
        ${CONFIG_FORM.map(
          (group) =>
            html`<fieldset>
              <legend>${group.title}</legend>
              ${group.fields.map((field) => this.renderField(field))}
            </fieldset>`,
        )}
        <div class="actions">
          <input
            name="operatorToken"
            type="password"
            autocomplete="off"
            placeholder="operator token, if the server has one"
            aria-label="operator token"
          />
          <label
            title="Each peer joins with a link of its own, which admits its peer id only: a peer the session expels cannot come back under another id"
          >
            <input type="checkbox" name="invitations" /> by invitation only
          </label>
          <button class="primary" type="submit" data-action="create" ?disabled=${busy}>Create session</button>
          <div id="form-issues" role="alert" data-field="form-issues">
            ${
              this.issues.length === 0
                ? nothing
                : html`<ul class="issues">
                    ${this.issues.map((issue) => html`<li>${describeIssue(issue)}</li>`)}
                  </ul>`
            }
          </div>
        </div>
      </form>
      <form class="join" @submit=${this.onJoin}>
        <input name="link" placeholder="…or paste a join link" aria-label="join link" />
        <button type="submit" data-action="join" ?disabled=${busy}>Join</button>
      </form>
      ${error === null ? nothing : html`<p class="error" role="alert" data-field="join-error">${error}</p>`}
    `;
  }

  private renderField(field: FieldSpec) {
    const issue = this.issues.find((i) => i.field === field.name);
    const id = `field-${field.name}`;
    const value = defaultFieldValue(field.name);
    const invalid = issue === undefined ? 'false' : 'true';
    let control;
    if (field.kind === 'select') {
      control = html`<select id=${id} name=${field.name} aria-invalid=${invalid}>
        ${field.options.map((o) => html`<option ?selected=${o === value}>${o}</option>`)}
      </select>`;
    } else if (field.kind === 'number') {
      control = html`<input
        id=${id}
        name=${field.name}
        type="number"
        inputmode="decimal"
        step=${String(field.step)}
        min=${field.min ?? nothing}
        max=${field.max ?? nothing}
        .value=${value}
        aria-invalid=${invalid}
        aria-describedby=${issue === undefined ? nothing : `${id}-error`}
      />`;
    } else {
      control = html`<input
          id=${id}
          name=${field.name}
          list="${id}-list"
          .value=${value}
          autocomplete="off"
          spellcheck="false"
          aria-invalid=${invalid}
          aria-describedby=${issue === undefined ? nothing : `${id}-error`}
        />
        <datalist id="${id}-list">
          ${field.suggestions.map((s) => html`<option value=${s}></option>`)}
        </datalist>`;
    }
    return html`<label title=${field.hint}
      >${field.label} ${control}
      ${issue === undefined ? nothing : html`<span class="field-error" id="${id}-error">${issue.message}</span>`}
    </label>`;
  }

  private renderInvitations() {
    const link = this.invitationLink;
    return html`
      <h2>Invite peers</h2>
      <p class="muted">
        By invitation only: each link admits one peer, under an id of its own.
        <button data-action="invite" @click=${() => this.dispatchEvent(uiEvent('liec-invite', null))}>
          New invitation
        </button>
      </p>
      ${link === null ? nothing : this.renderLinkBox(link)}
    `;
  }

  private renderLink(link: string) {
    return html`
      <h2>Invite peers</h2>
      ${this.renderLinkBox(link)}
    `;
  }

  private renderLinkBox(link: string) {
    const qr = this.qr?.link === link ? this.qr.url : null;
    return html`
      <div class="invite">
        <div>
          <div class="link">
            <input readonly data-field="join-link" .value=${link} aria-label="join link" />
            <button @click=${() => void this.copy(link)}>${this.copied ? 'Copied' : 'Copy'}</button>
          </div>
          <p class="muted">
            Open this link in another tab or on another machine, scan the code with a phone, or pass the link
            to a headless node.
          </p>
        </div>
        ${
          qr === null
            ? nothing
            : html`<img class="qr" data-field="join-qr" src=${qr} alt="QR code of the join link" />`
        }
      </div>
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
    const form = event.currentTarget;
    if (!(form instanceof HTMLFormElement)) return;
    const data = new FormData(form);
    const result = readConfigForm((name) => {
      const value = data.get(name);
      return typeof value === 'string' ? value : null;
    });
    if (!result.ok) {
      this.issues = result.issues;
      const first = result.issues.find((i) => i.field !== null)?.field;
      if (first !== undefined && first !== null)
        void this.updateComplete.then(() =>
          this.renderRoot.querySelector<HTMLElement>(`[name="${first}"]`)?.focus(),
        );
      return;
    }
    this.issues = [];
    this.joinError = null;
    const token = String(data.get('operatorToken') ?? '').trim();
    const invitations = data.get('invitations') === 'on';
    this.dispatchEvent(
      uiEvent('liec-create', {
        config: result.config,
        ...(token === '' ? {} : { operatorToken: token }),
        ...(invitations ? { invitations } : {}),
      }),
    );
  }

  private onJoin(event: SubmitEvent): void {
    event.preventDefault();
    if (!(event.currentTarget instanceof HTMLFormElement)) return;
    const params = parseJoinLink(String(new FormData(event.currentTarget).get('link') ?? ''), location.href);
    if (params === null) {
      this.joinError = 'that link has no valid session and token';
      return;
    }
    this.joinError = null;
    this.dispatchEvent(uiEvent('liec-join', params));
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'session-form': SessionForm;
  }
}
