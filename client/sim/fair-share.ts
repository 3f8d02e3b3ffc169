/**
 * When each of several messages arrives that cross one shared link (the aggregator's), each
 * also crossing its own peer link and each leaving at its own time: a fluid model where the
 * shared link is split max-min fairly among the messages in flight (a peer link slower than
 * its fair share takes only what it can carry, the others share the rest), as
 * congestion-controlled flows roughly do. Pure arithmetic, simulated time.
 *
 * @example
 * // 3 kB to a 0.5 and a 10 Mbit/s peer through a 10 Mbit/s link, both at t = 0:
 * fairShareArrivals({ mbps: 10, latencyMs: 0 }, [{ link: slow, bytes: 3000 }, { link: fast, bytes: 3000 }]);
 * // [0.048, 0.0048] (plus each peer link's latency)
 */
import type { LinkSpec } from './links.ts';

export interface Flow {
  link: LinkSpec;
  bytes: number;
  /** When it starts, in seconds. @default 0 */
  start?: number;
}

/** When each flow's last byte is through both links, plus its link's latency (same order). */
export function fairShareArrivals(shared: LinkSpec, flows: readonly Flow[]): number[] {
  const capacity = (shared.mbps * 1e6) / 8;
  const cap = flows.map((f) => (f.link.mbps * 1e6) / 8);
  const start = flows.map((f) => f.start ?? 0);
  const remaining = flows.map((f) => Math.max(0, f.bytes));
  const done = flows.map(() => Infinity);
  const pending = new Set(flows.map((_, i) => i));
  const active = new Set<number>();
  let now = Math.min(...start, Infinity);
  while (pending.size > 0 || active.size > 0) {
    for (const i of [...pending])
      if ((start[i] ?? 0) <= now) {
        pending.delete(i);
        active.add(i);
      }
    // Max-min fair rates: the slowest peer links first, each up to an equal share of what is left.
    const order = [...active].sort((a, b) => (cap[a] ?? 0) - (cap[b] ?? 0));
    const rate = new Map<number, number>();
    let left = capacity;
    order.forEach((i, position) => {
      const r = Math.min(cap[i] ?? Infinity, left / (order.length - position));
      rate.set(i, r);
      left -= r;
    });
    let step = Infinity;
    for (const i of active) step = Math.min(step, (remaining[i] ?? 0) / (rate.get(i) ?? Infinity));
    for (const i of pending) step = Math.min(step, (start[i] ?? 0) - now);
    if (!Number.isFinite(step)) step = 0; // unshaped everywhere: all in at once
    now += step;
    for (const i of [...active]) {
      const r = rate.get(i) ?? Infinity;
      const rest = (remaining[i] ?? 0) - (Number.isFinite(r) ? r * step : Infinity);
      remaining[i] = rest;
      if (rest <= 1e-9 * Math.max(1, flows[i]?.bytes ?? 1)) {
        active.delete(i);
        done[i] = now;
      }
    }
  }
  return done.map((t, i) => t + (flows[i]?.link.latencyMs ?? 0) / 1000);
}
