/**
 * Styles shared by the dashboard's components. Colours and spacing come from CSS custom
 * properties set in static/app.css (they inherit through shadow roots), so the page theme
 * lives in one place.
 *
 * @example
 * static styles = [panelStyles, css`:host { display: block; }`];
 */
import { css } from 'lit';

export const panelStyles = css`
  :host {
    display: block;
    background: var(--liec-panel, #fff);
    border: 1px solid var(--liec-border, #d8dde3);
    border-radius: 8px;
    padding: 12px 16px;
    color: var(--liec-text, #1d2430);
  }
  h2 {
    font-size: 0.95rem;
    margin: 0 0 8px;
    color: var(--liec-muted, #5a6575);
    font-weight: 600;
    letter-spacing: 0.02em;
    text-transform: uppercase;
  }
  .muted {
    color: var(--liec-muted, #5a6575);
  }
  button {
    font: inherit;
    padding: 6px 14px;
    border-radius: 6px;
    border: 1px solid var(--liec-border, #d8dde3);
    background: var(--liec-button, #f3f5f8);
    cursor: pointer;
  }
  button.primary {
    background: var(--liec-accent, #2f6fed);
    border-color: var(--liec-accent, #2f6fed);
    color: #fff;
  }
  button:disabled {
    opacity: 0.5;
    cursor: default;
  }
`;
