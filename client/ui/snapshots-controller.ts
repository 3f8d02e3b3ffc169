/**
 * The dashboard's operator actions on snapshots (shared/protocol/operator.ts), as a Lit
 * ReactiveController: list the aggregator's snapshots of a session and roll the session back
 * to one. Each action opens its own signaling connection with the operator token the user
 * typed (none on an open server), so a tab that only watches can act too; a request in
 * flight is aborted when the host leaves the page. The host re-renders on every change.
 *
 * @example
 * class Panel extends LitElement {
 *   private readonly ops = new SnapshotsController(this, () => location.origin);
 *   render() { return html`<button @click=${() => this.ops.list(id, token)}>List</button>`; }
 * }
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import type { SnapshotInfo, SnapshotsOk } from '../../shared/protocol/operator.ts';
import { SignalingClient } from '../signaling/index.ts';

export interface SnapshotsView {
  snapshots: readonly SnapshotInfo[];
  aggregatorId: string | null;
  /** The round every peer continues from the last rollback this tab asked for. */
  rolledBack: { round: number; continuesAt: number } | null;
  busy: boolean;
  /** The last failure, e.g. "OPERATOR_REQUIRED: this needs the operator token". */
  error: string | null;
}

export class SnapshotsController implements ReactiveController {
  view: SnapshotsView = { snapshots: [], aggregatorId: null, rolledBack: null, busy: false, error: null };
  private abort = new AbortController();

  constructor(
    private readonly host: ReactiveControllerHost,
    /** The signaling server, read at each action. */
    private readonly serverUrl: () => string,
  ) {
    host.addController(this);
  }

  hostConnected(): void {
    this.abort = new AbortController();
  }

  hostDisconnected(): void {
    this.abort.abort();
  }

  /** Lists the snapshots the session's aggregator keeps. */
  list(sessionId: string, operatorToken: string): Promise<void> {
    return this.run(operatorToken, async (client, signal) => {
      this.show(await client.listSnapshots(sessionId, { signal }));
    });
  }

  /** Rolls the session back to the snapshot of `round`, then lists again. */
  rollback(sessionId: string, operatorToken: string, round: number): Promise<void> {
    return this.run(operatorToken, async (client, signal) => {
      const reply = await client.rollback(sessionId, round, { signal });
      this.show(reply);
      if (reply.continuesAt !== undefined)
        this.set({ rolledBack: { round, continuesAt: reply.continuesAt } });
    });
  }

  private show(reply: Omit<SnapshotsOk, 'ok'>): void {
    this.set({ snapshots: reply.snapshots, aggregatorId: reply.aggregatorId });
  }

  private async run(
    operatorToken: string,
    action: (client: SignalingClient, signal: AbortSignal) => Promise<void>,
  ): Promise<void> {
    if (this.view.busy) return;
    const signal = this.abort.signal;
    const token = operatorToken.trim();
    const client = new SignalingClient(token === '' ? {} : { operatorToken: token });
    this.set({ busy: true, error: null });
    try {
      await client.connect(this.serverUrl(), { signal });
      await action(client, signal);
    } catch (error) {
      if (!signal.aborted) this.set({ error: error instanceof Error ? error.message : String(error) });
    } finally {
      client.close();
      this.set({ busy: false });
    }
  }

  private set(patch: Partial<SnapshotsView>): void {
    this.view = { ...this.view, ...patch };
    this.host.requestUpdate();
  }
}
