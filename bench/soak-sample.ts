/**
 * What a soak process samples (bench/soak-peer.ts writes it, bench/soak.ts reads it), and
 * how it counts its open file descriptors.
 */
import { readdirSync } from 'node:fs';

/** One line of a soak peer's output file. */
export interface SoakSample {
  peerId: string;
  /** Epoch ms. */
  at: number;
  role: 'aggregator' | 'worker' | null;
  round: number;
  heapUsedBytes: number;
  rssBytes: number;
  arrayBuffersBytes: number;
  tensors: number;
  tensorBytes: number;
  fds: number;
  /** True for the sample written as the peer leaves. */
  last?: boolean;
}

/** Open descriptors of this process (Linux /proc; the directory's own handle not counted). */
export function openFds(): number {
  try {
    return readdirSync('/proc/self/fd').length - 1;
  } catch {
    return -1; // not Linux: reported as unknown
  }
}
