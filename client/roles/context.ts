/**
 * What a role (worker or aggregator) may use of the peer around it: a narrow interface,
 * so roles are tested and read without the transport or signaling in view.
 */
import type { Frame } from '../../shared/protocol/frames.ts';
import type { SessionConfig } from '../../shared/protocol/session-config.ts';
import type { RollbackMark } from '../../shared/protocol/signaling.ts';
import type { LocalState } from './local-state.ts';
import type { PeerEventEmitter } from './events.ts';
import type { PeerSettings } from './settings.ts';

/** A frame as roles write it: the runtime stamps the sender tag. */
export type OutgoingFrame = Omit<Frame, 'sender'>;

export interface RoleContext {
  readonly selfId: string;
  readonly config: SessionConfig;
  readonly settings: PeerSettings;
  readonly state: LocalState;
  readonly events: PeerEventEmitter;
  /**
   * Queues a frame for a peer. The runtime owns the send queue: it awaits each send, logs
   * failures (a dead link is noticed through its close event), and drains on shutdown.
   */
  send(to: string, frame: OutgoingFrame): void;
  /**
   * Drops an invalid frame with a counted reason. With `strike`, it counts against the
   * sender: past settings.maxBadFrames the sender is disconnected.
   */
  reject(peerId: string, code: string, message: string, strike: boolean): void;
  /**
   * Session members other than this peer that hold a model (announced ready), as the
   * signaling server reports them: the workers a new aggregator expects in the round in
   * flight. Members still joining, or that never train, are not awaited.
   */
  members(): string[];
  /** Tells the signaling server how far training got (for status and for a successor). */
  reportRound(report: {
    term: number;
    round: number;
    participants: string[];
    bytes: { up: number; down: number };
    /** From opening the round to sending its broadcast (the server's round duration histogram). */
    durationMs?: number;
    /** Figures a dashboard shows for the round (loss, drift, expected uploads). */
    metrics?: Record<string, number>;
  }): void;
  log(level: 'debug' | 'info' | 'warn', message: string): void;
  /**
   * Whether `peerId` has been silent on its data channel past settings.aggregatorSilenceMs
   * (link-liveness.ts), as this peer sees it since its role began. Absent: nobody is.
   */
  isSilent?: (peerId: string) => boolean;
  /** The session's last operator rollback, as the server announced it (RollbackMark); absent: none. */
  lastRollback?: () => RollbackMark | undefined;
  /** This peer's measured uplink rate in bytes/s (topk:auto); undefined before a measurement. */
  uplinkBytesPerSecond?: () => number | undefined;
}
