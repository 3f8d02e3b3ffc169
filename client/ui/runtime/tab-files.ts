/**
 * The hand-off between the `<local-data>` panel, where the user picks a folder or a CSV
 * file, and the browser learner, which needs them once the session turns out to be a csv or
 * images one: the learner asks (`request`), the panel shows the matching picker, the user's
 * files resolve the learner's wait. Afterwards it holds what the panel shows about the data
 * (summary, a read error to fix) and the tab's last evaluation of its own model, which its
 * heartbeats carry to the server (`heartbeat`, the session's accuracy on /status): on its
 * validation part, or on the session's named test set once the user picked those very files
 * (`requestTestSet`, a second picker; ./tab-test-set.ts checks their SHA-256). The heartbeat's
 * report carries the round the tab was in (`forSession`'s round source). One per page
 * (`tabFiles`); the current state is also `window.liecTabData` (tests).
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
  /** The tab's last report of its own model (validation part or test set); null before one. */
  evaluation: EvaluationReport | null;
  /** The tab's last accuracy on its own validation part (shown whichever set it reports). */
  validationAccuracy: number | null;
  /** The session's named test set, when its task spec names one; null otherwise. */
  testSet: TabTestSetState | null;
}

/** The panel's test-set picker and what the tab holds of the set. */
export interface TabTestSetState {
  kind: 'csv' | 'images';
  /** The SHA-256 the session names. */
  sha256: string;
  /** True while the panel offers the picker (until a pick matches the hash and reads). */
  picking: boolean;
  /** Why the last pick was refused: another hash (both named) or a read error. */
  error: string | null;
  /** The picked set's name and size once accepted. */
  source: string | null;
  examples: number | null;
}

export interface TabFilesEvents {
  change: (state: TabFilesState) => void;
}

declare global {
  interface Window {
    liecTabData?: TabFilesState;
  }
}

export class TabFiles extends TypedEmitter<TabFilesEvents> {
  state: TabFilesState = {
    need: null,
    summary: null,
    error: null,
    evaluation: null,
    validationAccuracy: null,
    testSet: null,
  };
  private waiting: ((files: File[]) => void) | null = null;
  private waitingTestSet: ((files: File[]) => void) | null = null;
  private sessionId: string | null = null;
  private roundSource: () => number | undefined = () => undefined;

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

  /** Resolves with the next files the user picks as the session's test set (hash `sha256`). */
  requestTestSet(kind: 'csv' | 'images', sha256: string): Promise<File[]> {
    const previous = this.state.testSet;
    this.update({
      testSet: { kind, sha256, picking: true, error: previous?.error ?? null, source: null, examples: null },
    });
    return new Promise((resolve) => (this.waitingTestSet = resolve));
  }

  /** The user's test-set pick (from the panel). */
  provideTestSet(files: File[]): void {
    const waiting = this.waitingTestSet;
    this.waitingTestSet = null;
    waiting?.(files);
  }

  /** A test-set pick refused: the panel shows why and offers the picker again. */
  setTestSetError(error: string): void {
    if (this.state.testSet !== null) this.update({ testSet: { ...this.state.testSet, error } });
  }

  /** The test set is held: its reports replace the validation part's. */
  setTestSet(held: { source: string; examples: number }): void {
    if (this.state.testSet === null) return;
    this.update({ testSet: { ...this.state.testSet, ...held, picking: false, error: null } });
  }

  setSummary(summary: TabDataSummary): void {
    this.update({ summary, need: null, error: null });
  }

  setError(error: string): void {
    this.update({ error });
  }

  /** A new report of the tab's model (client/training/evaluation-reporter.ts). */
  setEvaluation(evaluation: EvaluationReport): void {
    this.update({
      evaluation,
      ...(evaluation.set === 'test' ? {} : { validationAccuracy: evaluation.accuracy }),
    });
  }

  /** The tab's accuracy on its validation part, measured beside a test-set report. */
  setValidationAccuracy(validationAccuracy: number): void {
    this.update({ validationAccuracy });
  }

  /**
   * The session the tab (re)joined and where its current round is read: a measurement made in
   * another session is dropped.
   */
  forSession(sessionId: string, round: () => number | undefined): void {
    if (this.sessionId !== null && this.sessionId !== sessionId)
      this.update({ evaluation: null, validationAccuracy: null, testSet: null });
    this.sessionId = sessionId;
    this.roundSource = round;
  }

  /** The round the tab is in, for its reports (undefined before it joined). */
  round(): number | undefined {
    return this.roundSource();
  }

  /** What the tab's heartbeats add: its last measurement (SignalingClient.addToHeartbeats). */
  heartbeat(): { evaluation?: EvaluationReport } {
    return this.state.evaluation === null ? {} : { evaluation: this.state.evaluation };
  }

  private update(patch: Partial<TabFilesState>): void {
    this.state = { ...this.state, ...patch };
    if (typeof window !== 'undefined') window.liecTabData = this.state;
    this.emit('change', this.state);
  }
}

export const tabFiles = new TabFiles();
