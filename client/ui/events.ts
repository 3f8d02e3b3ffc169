/**
 * The custom events the UI components dispatch, typed through HTMLElementEventMap so
 * `addEventListener('liec-pause', (e) => e.detail.paused)` type-checks. All bubble and
 * cross shadow roots (composed), so `<liec-app>` hears them from any depth.
 *
 * @example
 * this.dispatchEvent(uiEvent('liec-pause', { paused: true }));
 */
import type { SessionConfigInput } from '../../shared/protocol/signaling.ts';
import type { ErrorSource } from './state.ts';

export interface UiEventDetails {
  /** Leave the session (close the runtime and the signaling connection). */
  'liec-leave': null;
  /** Pause or resume local training. */
  'liec-pause': { paused: boolean };
  /** Download the current model. */
  'liec-download': null;
  /** Create a session with this config (then join it); the operator token if the server has one. */
  'liec-create': { config: SessionConfigInput; operatorToken?: string; invitations?: boolean };
  /** A new invitation link (a session this tab created by invitation). */
  'liec-invite': null;
  /** Join a session from a link's parameters. */
  'liec-join': { sessionId: string; token: string };
  /** The user dismissed the error banner of this source. */
  'liec-dismiss': { source: ErrorSource };
}
export type UiEventName = keyof UiEventDetails;

declare global {
  interface HTMLElementEventMap {
    'liec-leave': CustomEvent<UiEventDetails['liec-leave']>;
    'liec-pause': CustomEvent<UiEventDetails['liec-pause']>;
    'liec-download': CustomEvent<UiEventDetails['liec-download']>;
    'liec-create': CustomEvent<UiEventDetails['liec-create']>;
    'liec-join': CustomEvent<UiEventDetails['liec-join']>;
    'liec-invite': CustomEvent<UiEventDetails['liec-invite']>;
    'liec-dismiss': CustomEvent<UiEventDetails['liec-dismiss']>;
  }
}

export function uiEvent<K extends UiEventName>(
  name: K,
  detail: UiEventDetails[K],
): CustomEvent<UiEventDetails[K]> {
  return new CustomEvent(name, { detail, bubbles: true, composed: true });
}
