/**
 * Liveness of the members whose sockets this instance holds: when each last sent a valid
 * message. Kept in process, not in the session store, because the instance a peer is
 * connected to is the one that sweeps it (it alone sees the socket; writing every message's
 * timestamp to Redis would cost a round trip per message for nothing). Members of a crashed
 * instance are reclaimed through its lease instead (see SessionStore.renewLease).
 *
 * @example
 * liveness.track(socket.id, { sessionId, peerId, socketId: socket.id });
 * liveness.touch(socket.id);
 * for (const member of liveness.silentSince(now - timeoutMs)) remove(member);
 */
import type { MemberKey } from './store.ts';

interface Entry {
  readonly member: MemberKey;
  lastSeen: number;
}

export class LivenessTracker {
  private readonly entries = new Map<string, Entry>();
  private readonly retries = new Map<string, MemberKey>();
  private readonly now: () => number;

  constructor(now: () => number) {
    this.now = now;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Starts watching a membership owned by `member.socketId`. */
  track(member: MemberKey): void {
    this.entries.set(member.socketId, { member, lastSeen: this.now() });
  }

  /** Any valid message proves the sender alive, not only heartbeats. */
  touch(socketId: string): void {
    const entry = this.entries.get(socketId);
    if (entry !== undefined) entry.lastSeen = this.now();
  }

  /** Stops watching the socket's membership (only that of `peerId`, when given). */
  forget(socketId: string, peerId?: string): void {
    const entry = this.entries.get(socketId);
    if (entry !== undefined && (peerId === undefined || entry.member.peerId === peerId)) {
      this.entries.delete(socketId);
    }
  }

  /** A removal whose store step failed (or a join whose outcome is unknown): the sweep retries it. */
  retryLater(member: MemberKey): void {
    this.entries.delete(member.socketId);
    this.retries.set(member.socketId, member);
  }

  /** The removals to retry now (each handed out once; a failing one is queued again). */
  takeRetries(): MemberKey[] {
    const members = [...this.retries.values()];
    this.retries.clear();
    return members;
  }

  /** Members silent since before `deadline` (ms since epoch). */
  silentSince(deadline: number): MemberKey[] {
    const silent: MemberKey[] = [];
    for (const entry of this.entries.values()) if (entry.lastSeen < deadline) silent.push(entry.member);
    return silent;
  }

  /** Every tracked membership. */
  members(): MemberKey[] {
    return [...this.entries.values()].map((entry) => entry.member);
  }
}
