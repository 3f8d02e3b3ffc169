/**
 * One queue per socket: its requests (and its disconnect) are handled one after another,
 * in arrival order, even when a handler waits on the session store. Without it a heartbeat
 * could overtake the join before it, or two signals (offer, then candidates) could reach
 * the remote out of order once the store is remote. The tracker also lets stop() wait for
 * every queued step before closing the store.
 *
 * @example
 * const queues = new SocketQueues();
 * queues.run(socket.id, async () => { await store.heartbeat(member, round, stats); });
 * await queues.idle();
 */

export class SocketQueues {
  private readonly tails = new Map<string, Promise<void>>();

  /** Runs `step` after every earlier step of the same socket; never rejects. */
  run(socketId: string, step: () => Promise<void>): Promise<void> {
    const previous = this.tails.get(socketId) ?? Promise.resolve();
    const next = previous.then(step).catch(() => {
      // Steps report their own failures; a failed step must not block the ones behind it.
    });
    this.tails.set(socketId, next);
    void next.then(() => {
      if (this.tails.get(socketId) === next) this.tails.delete(socketId);
    });
    return next;
  }

  /** Sockets with work queued or running. */
  get busy(): number {
    return this.tails.size;
  }

  /** Resolves once every queued step (including ones queued meanwhile) has finished. */
  async idle(): Promise<void> {
    while (this.tails.size > 0) await Promise.all([...this.tails.values()]);
  }
}
