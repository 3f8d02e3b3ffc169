/**
 * A peer's outgoing frames, on their way to the transport. Three jobs:
 *
 * - Right after this peer's own stall (LinkLiveness.settling: it was stopped, or its event
 *   loop stood still) frames wait a moment, in order: the links that closed while it slept
 *   close here first, and a send racing a data channel's close can crash wrtc (a SIGSTOPped
 *   aggregator continued while its workers had closed their links to it did, in
 *   RTCDataChannel::Send).
 * - It keeps the sends in flight, so that leaving drains them (a final upload, `done`).
 * - Fault injection (tests, `liec join --debug-signals`): corrupt(share) truncates that
 *   share of the frames, the way a faulty device would garble them.
 *
 * @example
 * const outbox = new Outbox({ send: (to, b) => transport.send(to, b), track, liveness });
 * outbox.send('w1', bytes);
 * await outbox.drain(2000);
 */
import type { LinkLiveness } from './link-liveness.ts';

export interface OutboxInit {
  readonly send: (to: string, bytes: Uint8Array) => Promise<void>;
  /** Keeps a promise in view until it settles (failures logged, never unhandled). */
  readonly track: (promise: Promise<unknown>) => Promise<void>;
  /** Source of the settling state; none: frames are never held. */
  readonly liveness: () => Pick<LinkLiveness, 'settling' | 'settleMs'> | null;
}

export class Outbox {
  private readonly init: OutboxInit;
  private readonly pending = new Set<Promise<void>>();
  /** Frames waiting out a stall of this peer's own, in order. */
  private readonly held: { to: string; bytes: Uint8Array }[] = [];
  private heldTimer: ReturnType<typeof setTimeout> | undefined;
  private corruptShare = 0;

  constructor(init: OutboxInit) {
    this.init = init;
  }

  send(to: string, bytes: Uint8Array): void {
    const frame = this.corruptShare > 0 && Math.random() < this.corruptShare ? garble(bytes) : bytes;
    if (this.held.length > 0 || this.init.liveness()?.settling === true) {
      this.held.push({ to, bytes: frame });
      this.armHeld();
      return;
    }
    this.dispatch(to, frame);
  }

  /** Sends the frames held since a stall, in order (also on leaving: they may be the last). */
  flush(): void {
    clearTimeout(this.heldTimer);
    this.heldTimer = undefined;
    for (const { to, bytes } of this.held.splice(0)) this.dispatch(to, bytes);
  }

  /** Flushes, then waits for the sends in flight, at most `timeoutMs`. */
  async drain(timeoutMs: number): Promise<void> {
    this.flush();
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.allSettled([...this.pending]),
      new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs))),
    ]);
    clearTimeout(timer);
  }

  /** Fault injection: from now on, truncates `share` (0-1) of the frames sent. */
  corrupt(share: number): void {
    this.corruptShare = Math.min(1, Math.max(0, share));
  }

  private dispatch(to: string, bytes: Uint8Array): void {
    const sent = this.init.track(this.init.send(to, bytes));
    this.pending.add(sent);
    void sent.finally(() => this.pending.delete(sent));
  }

  private armHeld(): void {
    if (this.heldTimer !== undefined) return;
    this.heldTimer = setTimeout(() => {
      this.heldTimer = undefined;
      if (this.init.liveness()?.settling === true) this.armHeld();
      else this.flush();
    }, this.init.liveness()?.settleMs ?? 0);
  }
}

/** A frame cut short: its header names more bytes than arrive, so every receiver rejects it. */
function garble(bytes: Uint8Array): Uint8Array {
  return bytes.slice(0, Math.max(1, Math.floor(bytes.length / 2)));
}
