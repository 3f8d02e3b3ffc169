/**
 * `<local-data>`: this tab's own data in a csv or images session. While the session waits
 * for it, a folder picker (`<input webkitdirectory>`, one subfolder per class) or a CSV file
 * picker; then what the tab holds: its example count (training and validation parts), its
 * class balance, the time it took to prepare, and its local validation accuracy (measured
 * every evalEvery rounds, ../../training/evaluation-reporter.ts) beside the session's: the
 * members' own accuracies weighted by their sizes, as /status states it. When the session
 * names a test set (`liec create --test-set`), a second picker takes those very files: checked
 * by SHA-256 in the tab (../runtime/tab-test-set.ts; another file is refused naming both
 * hashes), they become what the tab reports on, and the session's accuracy is the test set's.
 * The files are read in the tab (../runtime/tab-data.ts); only model updates and that accuracy
 * leave it. Hidden in mnist sessions.
 *
 * @example
 * html`<local-data .store=${store}></local-data>`
 */
import { LitElement, css, html, nothing } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { StoreController } from '../controller.ts';
import type { EvaluationReport } from '../../../shared/protocol/signaling.ts';
import { tabFiles, type TabFilesState, type TabTestSetState } from '../runtime/tab-files.ts';
import type { SessionStore } from '../state.ts';
import { panelStyles } from './styles.ts';

function percent(value: number | null): string {
  return value === null ? 'n/a' : `${(100 * value).toFixed(1)}%`;
}

@customElement('local-data')
export class LocalData extends LitElement {
  static override styles = [
    panelStyles,
    css`
      :host(:not([hidden])) {
        display: block;
      }
      ul {
        display: flex;
        flex-wrap: wrap;
        gap: 4px 12px;
        padding: 0;
        list-style: none;
      }
      .error {
        color: #b00020;
        overflow-wrap: anywhere;
      }
      /* A SHA-256 is 64 characters without a break: it wraps rather than widen the panel. */
      code {
        overflow-wrap: anywhere;
      }
    `,
  ];

  @property({ attribute: false }) store?: SessionStore;
  @state() private files: TabFilesState = tabFiles.state;
  private off: (() => void) | null = null;

  /** The session's accuracy from /status (null until a member has reported). */
  private readonly session = new StoreController(
    this,
    () => this.store,
    (s) => s.session.accuracy,
  );

  override connectedCallback(): void {
    super.connectedCallback();
    this.off = tabFiles.on('change', (next) => (this.files = next));
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.off?.();
    this.off = null;
  }

  private picked(event: Event): void {
    const input = event.target as HTMLInputElement;
    const files = Array.from(input.files ?? []);
    if (files.length > 0) tabFiles.provide(files);
  }

  private pickedTestSet(event: Event): void {
    const input = event.target as HTMLInputElement;
    const files = Array.from(input.files ?? []);
    // The same file picked again after a refusal must fire `change` again.
    input.value = '';
    if (files.length > 0) tabFiles.provideTestSet(files);
  }

  /** The test-set picker while the tab does not hold the set, then what it holds. */
  private renderTestSet(testSet: TabTestSetState, evaluation: EvaluationReport | null) {
    if (!testSet.picking)
      return html`<p>
        Test set <span data-field="test-set-source">${testSet.source}</span> (<span
          data-field="test-set-examples"
          >${testSet.examples}</span
        >
        examples, SHA-256 checked): accuracy
        <strong data-field="test-accuracy"
          >${percent(evaluation?.set === 'test' ? evaluation.accuracy : null)}</strong
        >
      </p>`;
    const what = testSet.kind === 'images' ? 'its folder' : 'its CSV file';
    return html`
      <label
        >If you hold the session's test set (SHA-256
        <code data-field="test-set-sha256">${testSet.sha256}</code>), ${what}:
        ${
          testSet.kind === 'images'
            ? html`<input
                type="file"
                data-input="test-set"
                webkitdirectory
                multiple
                @change=${this.pickedTestSet}
              />`
            : html`<input
                type="file"
                data-input="test-set"
                accept=".csv,text/csv"
                @change=${this.pickedTestSet}
              />`
        }</label
      >
      ${testSet.error === null ? nothing : html`<p class="error" data-field="test-set-error">${testSet.error}</p>`}
    `;
  }

  override render() {
    const { need, summary, error, evaluation, validationAccuracy, testSet } = this.files;
    const session = this.session.value ?? null;
    this.hidden = need === null && summary === null;
    if (this.hidden) return nothing;
    return html`
      <h2>Your data</h2>
      <p class="muted">Read in this tab; only model updates leave it.</p>
      ${
        need === 'images'
          ? html`<label
              >A folder with one subfolder per class:
              <input type="file" data-input="folder" webkitdirectory multiple @change=${this.picked}
            /></label>`
          : nothing
      }
      ${
        need === 'csv'
          ? html`<label
              >A CSV file: <input type="file" data-input="csv" accept=".csv,text/csv" @change=${this.picked}
            /></label>`
          : nothing
      }
      ${error === null ? nothing : html`<p class="error" data-field="data-error">${error}</p>`}
      ${
        summary === null
          ? nothing
          : html`
              <p>
                <strong data-field="examples">${summary.examples}</strong> examples from ${summary.source}
                (${summary.train} training, ${summary.validation} validation), prepared in
                <span data-field="prepare-ms">${summary.prepareMs.toFixed(0)}</span> ms
              </p>
              <ul data-field="class-balance">
                ${summary.classes.map((name, i) => html`<li>${name}: ${summary.classCounts[i] ?? 0}</li>`)}
              </ul>
              <p>
                Local validation accuracy
                <strong data-field="local-accuracy">${percent(validationAccuracy)}</strong>
                (${summary.validation} examples) · session
                <strong data-field="session-accuracy">${percent(session?.value ?? null)}</strong>
                ${
                  session === null
                    ? nothing
                    : html`<span class="muted" data-field="session-accuracy-basis"
                        >(${session.set}, ${session.peers} ${session.peers === 1 ? 'peer' : 'peers'},
                        ${session.samples} examples)</span
                      >`
                }
              </p>
              ${testSet === null ? nothing : this.renderTestSet(testSet, evaluation)}
            `
      }
    `;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'local-data': LocalData;
  }
}
