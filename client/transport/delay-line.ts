/**
 * A first-in first-out queue of actions, each run at (or just after) its own due time, in the
 * order they were queued. Link shaping holds chunks in one: sent chunks until the link's
 * latency has passed, received chunks until the downlink has carried them. One timer at a
 * time, for the head; clear() drops everything (a closed link delivers nothing more).
 *
 * @example
 * const line = new DelayLine();
 * line.push(performance.now() + 20, () => channel.send(chunk)); // 20 ms from now
 * line.clear();
 */

export class DelayLine {
  readonly #queue: { at: number; run: () => void }[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #cleared = false;

  /** Queues `run` for clock time `at` (performance.now() ms). Due times should not decrease. */
  push(at: number, run: () => void): void {
    if (this.#cleared) return;
    this.#queue.push({ at, run });
    if (this.#queue.length === 1) this.#arm();
  }

  /** Actions waiting. */
  get size(): number {
    return this.#queue.length;
  }

  /** Drops every waiting action and refuses new ones. */
  clear(): void {
    this.#cleared = true;
    this.#queue.length = 0;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(): void {
    const head = this.#queue[0];
    if (head === undefined) return;
    this.#timer = setTimeout(() => this.#fire(), Math.max(0, head.at - performance.now()));
  }

  #fire(): void {
    this.#timer = undefined;
    // setTimeout may fire a fraction of a millisecond early (it rounds): accept that much.
    const now = performance.now() + 0.5;
    while (!this.#cleared) {
      const head = this.#queue[0];
      if (head === undefined || head.at > now) break;
      this.#queue.shift();
      head.run();
    }
    if (!this.#cleared) this.#arm();
  }
}
