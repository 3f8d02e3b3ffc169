/**
 * `<session-config>`: the running session's configuration, every setting with the form's
 * label and grouping (../config-form.ts), settings that differ from the defaults marked.
 * Each value carries `data-config="<name>"` (tests read them).
 *
 * @example
 * html`<session-config .store=${store}></session-config>`
 */
import { LitElement, css, html, nothing } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import { defaultValueOf } from '../../../shared/protocol/session-config.ts';
import { CONFIG_FORM } from '../config-form.ts';
import { StoreController } from '../controller.ts';
import type { SessionStore } from '../state.ts';
import { panelStyles } from './styles.ts';

@customElement('session-config')
export class SessionConfigView extends LitElement {
  static override styles = [
    panelStyles,
    css`
      .groups {
        display: grid;
        grid-template-columns: repeat(auto-fit, minmax(230px, 1fr));
        gap: 8px 24px;
      }
      h3 {
        font-size: 0.8rem;
        margin: 0 0 4px;
        font-weight: 600;
      }
      dl {
        display: grid;
        grid-template-columns: auto 1fr;
        gap: 2px 12px;
        margin: 0;
        font-size: 0.85rem;
      }
      dt {
        color: var(--liec-muted, #5a6575);
      }
      dd {
        margin: 0;
        font-family: ui-monospace, monospace;
        overflow-wrap: anywhere;
      }
      dd.changed {
        font-weight: 700;
      }
    `,
  ];

  @property({ attribute: false }) store?: SessionStore;

  private readonly config = new StoreController(
    this,
    () => this.store,
    (s) => s.session.config,
  );

  override render() {
    const config = this.config.value;
    if (config === undefined || config === null) return nothing;
    return html`
      <h2>Configuration</h2>
      <div class="groups">
        ${CONFIG_FORM.map(
          (group) =>
            html`<section>
              <h3>${group.title}</h3>
              <dl>
                ${group.fields.map((field) => {
                  const value = config[field.name];
                  const byDefault = defaultValueOf(config, field.name);
                  const changed = value !== byDefault;
                  return html`<dt>${field.label}</dt>
                    <dd
                      class=${changed ? 'changed' : ''}
                      data-config=${field.name}
                      title=${changed ? `default: ${String(byDefault)}` : 'default'}
                    >
                      ${String(value)}
                    </dd>`;
                })}
              </dl>
            </section>`,
        )}
      </div>
    `;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'session-config': SessionConfigView;
  }
}
