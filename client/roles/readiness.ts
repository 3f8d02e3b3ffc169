/**
 * When a peer tells the signaling server it can serve as aggregator (`peer:ready`). The server
 * elects the ready member connected longest, so a peer behind the session must not be ready:
 * an aggregator replaced while it was cut off, frozen or corrupting frames holds an older round
 * than its workers, and elected again it would hand that older model to all of them (the
 * session loses every round since; on skewed data it then races those rounds with the few
 * peers in step with it). Found with `npm run chaos -- --partition dirichlet:0.1 --keep-logs`.
 *
 * Rules: ready once it holds a model; not ready from the moment it is deposed (a new term names
 * another aggregator) until it has applied a frame of its new aggregator (a model, or a
 * broadcast); ready again when the session has no aggregator at all (an older model beats
 * none). A frozen aggregator cannot say it is behind: the server marks the one it replaces on
 * its workers' reports not ready itself (signaling/sessions.ts, reportUnreachable), and the
 * peer, once woken, announces ready only when caught up.
 *
 * @example
 * const readiness = new Readiness((ready) => void membership.setReady(ready));
 * readiness.modelHeld();                       // ready
 * readiness.termChanged(true, 'p2', 'p1');     // p1 led, p2 leads now: not ready
 * readiness.applied();                         // caught up under p2: ready
 */
export class Readiness {
  private readonly announce: (ready: boolean) => void;
  /** Deposed, and no frame of the new aggregator applied since. */
  private behind = false;

  constructor(announce: (ready: boolean) => void) {
    this.announce = announce;
  }

  /** It holds a model (loaded, or sent by its aggregator): in step. */
  modelHeld(): void {
    this.behind = false;
    this.announce(true);
  }

  /** It applied a broadcast of its aggregator. */
  applied(): void {
    if (!this.behind) return;
    this.behind = false;
    this.announce(true);
  }

  /** A new term with `aggregatorId` (null: none); `ledLastTerm`: this peer was the aggregator. */
  termChanged(ledLastTerm: boolean, aggregatorId: string | null, selfId: string): void {
    if (aggregatorId === null) {
      if (this.behind) this.modelHeld();
      return;
    }
    if (ledLastTerm && aggregatorId !== selfId) this.deposed();
  }

  private deposed(): void {
    this.behind = true;
    this.announce(false);
  }
}
