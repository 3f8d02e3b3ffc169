/**
 * The hand-off between the `<local-data>` panel, where the user picks a folder or a CSV
 * file, and the browser learner, which needs them once the session turns out to be a csv or
 * images one: the learner asks (`request`), the panel shows the matching picker, the user's
 * files resolve the learner's wait. Afterwards it holds what the panel shows about the data
 * (summary, a read error to fix) and how to measure the tab's local validation accuracy.
 * One per page (`tabFiles`); the current state is also `window.liecTabData` (tests).
 *
 * @example
 * const files = await tabFiles.request('images'); // the panel shows a folder picker
 * tabFiles.setSummary({ source: 'digits', examples: 1000, ... });
 */
import { TypedEmitter } from '../../../shared/typed-emitter.ts';
import type { TabDataSummary } from './tab-data.ts';

export interface TabFilesState {
  /** The kind of data the session waits for from this tab; null when it needs none. */
  need: 'csv' | 'images' | null;
  summary: TabDataSummary | null;
  /** Why the last pick could not be used (the panel asks for another). */
  error: string | null;
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
  state: TabFilesState = { need: null, summary: null, error: null };
  private waiting: ((files: File[]) => void) | null = null;
  /** Accuracy of the tab's current model on its validation part; null before it has one. */
  localAccuracy: () => number | null = () => null;

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

  /** The figure the panel shows, also published for tests. */
  measure(): number | null {
    const accuracy = this.localAccuracy();
    if (typeof window !== 'undefined') window.liecTabData = { ...this.state, validationAccuracy: accuracy };
    return accuracy;
  }

  private update(patch: Partial<TabFilesState>): void {
    this.state = { ...this.state, ...patch };
    if (typeof window !== 'undefined')
      window.liecTabData = {
        ...this.state,
        validationAccuracy: window.liecTabData?.validationAccuracy ?? null,
      };
    this.emit('change', this.state);
  }
}

export const tabFiles = new TabFiles();
