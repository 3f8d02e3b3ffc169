/**
 * The hand-off between the `<local-data>` panel, where the user picks a folder or a CSV
 * file, and the browser learner, which needs them once the session turns out to be a csv or
 * images one: the learner asks (`request`), the panel shows the matching picker, the user's
 * files resolve the learner's wait. Afterwards it holds what the panel shows about the data
 * (summary, a read error to fix) and the tab's last evaluation of its own model on its
 * validation part, which its heartbeats carry to the server (`heartbeat`, the session's
 * accuracy on /status). One per page (`tabFiles`); the current state is also
 * `window.liecTabData` (tests).
 *
 * @example
 * const files = await tabFiles.request('images'); // the panel shows a folder picker
 * tabFiles.setSummary({ source: 'digits', examples: 1000, ... });
 */
import type { EvaluationReport } from '../../../shared/protocol/signaling.ts';
import { TypedEmitter } from '../../../shared/typed-emitter.ts';
import type { TabDataSummary } from './tab-data.ts';

export interface TabFilesState {
  /** The kind of data the session waits for from this tab; null when it needs none. */
  need: 'csv' | 'images' | null;
  summary: TabDataSummary | null;
  /** Why the last pick could not be used (the panel asks for another). */
  error: string | null;
  /** The tab's last measurement of its own model on its validation part; null before one. */
  evaluation: EvaluationReport | null;
}

export interface TabFilesEvents {
  change: (state: TabFilesState) => void;
}

declare global {
  interface Window {
    liecTabData?: TabFilesState & { validationAccuracy: number | null };
  }
}

export class TabFiles extends TypedEmitter<TabFilesEvents> {
  state: TabFilesState = { need: null, summary: null, error: null, evaluation: null };
  private waiting: ((files: File[]) => void) | null = null;
  private sessionId: string | null = null;

  /** Resolves with the next files the user picks for a `kind` session. */
  request(kind: 'csv' | 'images'): Promise<File[]> {
    this.update({ need: kind });
    return new Promise((resolve) => (this.waiting = resolve));
  }

  /** The user's pick (from the panel). */
  provide(files: File[]): void {
    const waiting = this.waiting;
    this.waiting = null;
    this.update({ error: null });
    waiting?.(files);
  }

  setSummary(summary: TabDataSummary): void {
    this.update({ summary, need: null, error: null });
  }

  setError(error: string): void {
    this.update({ error });
  }

  /** A new measurement of the tab's model (client/training/evaluation-reporter.ts). */
  setEvaluation(evaluation: EvaluationReport): void {
    this.update({ evaluation });
  }

  /** The session the tab (re)joined: a measurement made in another one is dropped. */
  forSession(sessionId: string): void {
    if (this.sessionId !== null && this.sessionId !== sessionId) this.update({ evaluation: null });
    this.sessionId = sessionId;
  }

  /** What the tab's heartbeats add: its last measurement (SignalingClient.addToHeartbeats). */
  heartbeat(): { evaluation?: EvaluationReport } {
    return this.state.evaluation === null ? {} : { evaluation: this.state.evaluation };
  }

  private update(patch: Partial<TabFilesState>): void {
    this.state = { ...this.state, ...patch };
    if (typeof window !== 'undefined')
      window.liecTabData = { ...this.state, validationAccuracy: this.state.evaluation?.accuracy ?? null };
    this.emit('change', this.state);
  }
}

export const tabFiles = new TabFiles();
