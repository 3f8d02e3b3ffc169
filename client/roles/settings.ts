/**
 * Every timeout and limit of the peer runtime, named, with its default. The round
 * deadline and quorum come from the session config (the session's creator decides them);
 * the rest are local choices of each peer.
 */
import type { SessionConfig } from '../../shared/protocol/session-config.ts';

export interface PeerSettings {
  /** How long the aggregator waits for uploads after opening a round. From the session config. */
  roundDeadlineMs: number;
  /** Fraction of the expected workers (plus the aggregator itself) a round needs. From the session config. */
  quorum: number;
  /**
   * After the deadline without quorum, how much longer the aggregator waits for it before it
   * aggregates whatever arrived (never forever). @default roundDeadlineMs
   */
  quorumGraceMs: number;
  /** How long the aggregator waits for sync uploads. @default roundDeadlineMs */
  syncDeadlineMs: number;
  /** Frames that fail validation before a peer is disconnected. @default 20 */
  maxBadFrames: number;
  /** How many past rounds' counted sets the aggregator keeps to fold late uploads. @default 1000 */
  lateUploadWindowRounds: number;
  /**
   * How long a worker waits for its link to the aggregator to open before it drops the
   * attempt and starts a fresh one (a lost offer must not stall a failover). @default 5000
   */
  aggregatorConnectTimeoutMs: number;
  /** Pause before a worker links to its aggregator again after a failed or dropped link. @default 250 */
  reconnectDelayMs: number;
  /**
   * Liveness on the data channels (link-liveness.ts): a peer sends a `ping` control message
   * on a link of its role (the aggregator to each worker, a worker to its aggregator) that
   * carried nothing else for this long. Round traffic counts as liveness too, so a training
   * session pings only between rounds and while waiting. @default 500
   */
  aggregatorPingIntervalMs: number;
  /**
   * A worker that heard nothing from its aggregator for this long (not one byte on the
   * link) reports it unreachable to the signaling server, and again every as long while it
   * lasts; a majority of such reports replaces the aggregator. The aggregator likewise
   * stops expecting, in the round collecting, a worker silent for this long. Before the
   * first byte from a new aggregator (or from a worker never heard) the wait is
   * max(this, aggregatorConnectTimeoutMs), the time a link may take to open. A peer whose
   * own event loop stood still longer than half of this (SIGSTOP, a frozen tab, a long
   * computation) first hears again before it judges anyone. Keep it several times
   * aggregatorPingIntervalMs. @default 1500
   */
  aggregatorSilenceMs: number;
  /**
   * Before the session's first round (this worker has applied no broadcast and holds the
   * round-0 model), the silence a worker allows its aggregator instead of
   * aggregatorSilenceMs. Nothing is at stake while peers join, and with many peers on few
   * cores a waiting aggregator starved for a few seconds was replaced again and again (each
   * new term relinks every peer, more load): 19 terms and no round with 31 peers on 2 cores.
   * A dead one is still seen at once (its socket closes), a frozen one by the server's
   * heartbeat timeout, as long as this. @default 15000
   */
  waitingSilenceMs: number;
  /**
   * Invalid frames a worker takes from its aggregator; at one more the aggregator is
   * `faulty`: the worker disconnects it and reports it at once (aggregator-watch.ts). An
   * honest aggregator sends none, and each one costs a worker its round, so the limit is
   * lower than maxBadFrames (which protects the aggregator from a worker). @default 2
   */
  maxBadAggregatorFrames: number;
  /**
   * A worker whose upload has waited this long since its aggregator last closed a round
   * (it answers, but rounds stopped) reports it `stalled`, and again every
   * aggregatorSilenceMs while that lasts. Only once the aggregator closed a round in its
   * term (waiting for minPeers is not a stall). @default roundDeadlineMs + quorumGraceMs +
   * syncDeadlineMs + aggregatorSilenceMs: past anything a working aggregator waits for.
   */
  aggregatorStallMs: number;
  /**
   * Before its first gradient, a peer allows the others this long per model parameter of
   * quiet on top of aggregatorSilenceMs, for a gradient that blocks their event loop (after
   * it, twice its own last gradient time): link-liveness.ts, busyAllowanceMs. @default 0.0015
   * (3x the 0.5 us per parameter of a batch-32 MLP gradient measured on wasm here)
   */
  busyMsPerParam: number;
  /** Artificial delay before each local gradient (fault injection: stragglers). @default 0 */
  computeDelayMs: number;
  /**
   * Rolling sync: how long the aggregator waits, before it computes its own next upload, for
   * the slices of the round just closed from the workers counted in it, so that its gradient
   * is taken on a model with the block's delta (0: it does not wait, and applies the delta
   * after its gradient, as the workers do). Waiting costs nothing where every peer has its
   * own cores; where peers share them, its gradient then competes with the workers'.
   * A slice later than the wait is not counted. @default 0
   */
  sliceWaitMs: number;
  /**
   * After the last round, how long an aggregator that leaves (a `liec join` process exits)
   * waits for the workers that may still need the final model to leave first: one that missed
   * the last broadcast or sync asks for the model when `done` names another, and must find the
   * aggregator still there (final-model.ts). It stops waiting when they have all left.
   * @default 5000
   */
  finalModelLingerMs: number;
}

export function resolvePeerSettings(
  config: SessionConfig,
  overrides: Partial<PeerSettings> = {},
): PeerSettings {
  const settings = {
    roundDeadlineMs: config.roundDeadlineMs,
    quorum: config.quorum,
    quorumGraceMs: config.roundDeadlineMs,
    syncDeadlineMs: config.roundDeadlineMs,
    maxBadFrames: 20,
    maxBadAggregatorFrames: 2,
    lateUploadWindowRounds: 1000,
    aggregatorConnectTimeoutMs: 5000,
    reconnectDelayMs: 250,
    aggregatorPingIntervalMs: 500,
    aggregatorSilenceMs: 1500,
    waitingSilenceMs: 15_000,
    computeDelayMs: 0,
    busyMsPerParam: 0.0015,
    sliceWaitMs: 0,
    finalModelLingerMs: 5000,
    ...overrides,
  };
  const { roundDeadlineMs, quorumGraceMs, syncDeadlineMs, aggregatorSilenceMs } = settings;
  return {
    aggregatorStallMs: roundDeadlineMs + quorumGraceMs + syncDeadlineMs + aggregatorSilenceMs,
    ...settings,
  };
}
