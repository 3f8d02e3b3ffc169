/**
 * `<training-charts>`: the per-round charts (see chart-specs.ts) drawn with uPlot inside the
 * shadow root. Plots are created when the element is first rendered, fed with setData on
 * every history change, resized with the element, and destroyed when it is disconnected.
 *
 * @example
 * html`<training-charts .store=${store}></training-charts>`
 */
import { LitElement, css, html, nothing, unsafeCSS, type PropertyValues } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import uPlot from 'uplot';
import uplotCss from 'uplot/dist/uPlot.min.css';
import { StoreController } from '../controller.ts';
import type { SessionStore } from '../state.ts';
import { CHART_SPECS, chartIsEmpty } from './chart-specs.ts';
import { panelStyles } from './styles.ts';

/** Width used before the element has been laid out. */
const FALLBACK_WIDTH = 480;

@customElement('training-charts')
export class TrainingCharts extends LitElement {
  static override styles = [
    panelStyles,
    unsafeCSS(uplotCss),
    css`
      .grid {
        display: grid;
        grid-template-columns: repeat(auto-fit, minmax(340px, 1fr));
        gap: 16px;
      }
      figure {
        margin: 0;
        min-width: 0;
      }
      [data-chart] {
        overflow: hidden;
      }
      figcaption {
        font-size: 0.85rem;
        margin-bottom: 4px;
      }
      .empty {
        margin: 0 0 8px;
      }
      .note {
        margin: 4px 0 0;
        font-size: 0.8rem;
      }
    `,
  ];

  @property({ attribute: false }) store?: SessionStore;

  private readonly history = new StoreController(
    this,
    () => this.store,
    (s) => s.history,
  );
  private readonly plots = new Map<string, uPlot>();
  private resizeObserver: ResizeObserver | undefined;

  override render() {
    const history = this.history.value ?? [];
    return html`
      <h2>Training</h2>
      ${history.length === 0 ? html`<p class="empty muted">No finished rounds yet.</p>` : nothing}
      <div class="grid">
        ${CHART_SPECS.map(
          (spec) =>
            html`<figure>
              <figcaption>${spec.title}</figcaption>
              <div id="chart-${spec.id}" data-chart=${spec.id}></div>
              ${
                history.length > 0 && chartIsEmpty(spec, history)
                  ? html`<p class="note muted" data-empty=${spec.id}>${spec.emptyNote}</p>`
                  : nothing
              }
            </figure>`,
        )}
      </div>
    `;
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.resizeObserver?.disconnect();
    this.resizeObserver = undefined;
    for (const plot of this.plots.values()) plot.destroy();
    this.plots.clear();
  }

  protected override updated(_changed: PropertyValues): void {
    const history = this.history.value ?? [];
    for (const spec of CHART_SPECS) {
      const target = this.renderRoot.querySelector<HTMLElement>(`#chart-${spec.id}`);
      if (target === null) continue;
      const plot = this.plots.get(spec.id);
      if (plot === undefined) {
        this.plots.set(spec.id, new uPlot(spec.options(this.widthOf(target)), spec.data(history), target));
      } else {
        plot.setData(spec.data(history));
      }
    }
    this.observeSize();
  }

  private widthOf(target: HTMLElement): number {
    return target.clientWidth > 0 ? target.clientWidth : FALLBACK_WIDTH;
  }

  private observeSize(): void {
    if (this.resizeObserver !== undefined) return;
    this.resizeObserver = new ResizeObserver(() => {
      for (const [id, plot] of this.plots) {
        const target = this.renderRoot.querySelector<HTMLElement>(`#chart-${id}`);
        if (target !== null) plot.setSize({ width: this.widthOf(target), height: plot.height });
      }
    });
    this.resizeObserver.observe(this);
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'training-charts': TrainingCharts;
  }
}
