/**
 * What a Peer (peer.ts) is started with: the session to join, its settings, and the hooks a CLI,
 * a tab or a test plugs in. Every default is named where the field is.
 */
import type { SessionConfig } from '../../shared/protocol/session-config.ts';
import type { Capabilities } from '../../shared/protocol/signaling.ts';
import type { JoinedSession, SignalingClient } from '../signaling/index.ts';
import type { LinkSettings } from '../transport/index.ts';
import type { Learner } from '../training/learner.ts';
import type { Checkpoint } from './checkpoint-file.ts';
import type { PeerSettings } from './settings.ts';
import type { SnapshotSettings } from './snapshots.ts';

export interface PeerInit {
  serverUrl: string;
  sessionId: string;
  token: string;
  kind: 'headless' | 'browser';
  /** Requested peer id (random when omitted). */
  peerId?: string;
  /** Which data shard to train on. @default join slot mod config.dataShards */
  shard?: number;
  settings?: Partial<PeerSettings>;
  link?: Partial<LinkSettings>;
  /** Builds the learner for a config (MNIST by default). */
  createLearner?: (config: SessionConfig) => Promise<Learner & { backend?: string }>;
  /** How long leave() waits for queued frames to drain. @default 2000 */
  drainTimeoutMs?: number;
  /** What this peer tells the others about itself at join (e.g. its backend). @default {} */
  capabilities?: Capabilities;
  /**
   * Called right after the join, before the learner loads (a dashboard follows membership with
   * it), and again with the new client whenever the peer joins again after its signaling
   * socket dropped.
   */
  onJoined?: (signaling: SignalingClient, joined: JoinedSession) => void;
  /**
   * Continue from this checkpoint (checkpoint.ts) instead of the seed weights or the
   * aggregator's model; start() throws CheckpointError CHECKPOINT_MISMATCH if the session's
   * config or model size differ from the checkpoint's.
   */
  resume?: Checkpoint;
  /** Model snapshots for an operator's rollback, kept by every peer (snapshots.ts). */
  snapshots?: Partial<SnapshotSettings>;
  /** Pause before each attempt to join again after the signaling socket dropped. @default 1000 */
  rejoinDelayMs?: number;
  /**
   * How often the round trip time of this peer's links is read from WebRTC's statistics and
   * reported with its heartbeats (the dashboard's RTT column). @default 2000
   */
  rttSampleIntervalMs?: number;
  log?: (level: 'debug' | 'info' | 'warn', message: string) => void;
}
