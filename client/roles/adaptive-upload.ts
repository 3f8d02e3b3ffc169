/**
 * topk:auto on a real peer, both halves of shared/algorithm/adaptive-ratio.ts' rule.
 *
 * Aggregator: roundSlack() gives each counted worker's slack (upload-slack.ts) from when its
 * upload was counted, in ms after the round opened; the broadcast carries it
 * (shared/protocol/broadcast-meta.ts), each worker's own in its copy. The aggregator's own gradient never crosses a link:
 * its slack is 0, and it uses the session's codec (topk at maxRatio).
 *
 * Worker: noteUploadFeedback() keeps what the broadcast said about its upload (counted with
 * a slack, or not counted: late), and roundUploadCompressor() sizes the next upload from it,
 * its last ratio and its measured uplink rate (the transport's meter, see
 * client/transport/shaping.ts). Undefined for every other up codec (the worker then uses
 * the session's own).
 *
 * @example
 * state.prepareUpload(seed, roundUploadCompressor(ctx));
 */
import { NO_FEEDBACK, nextTopKRatio } from '../../shared/algorithm/adaptive-ratio.ts';
import { uploadSlack } from '../../shared/algorithm/upload-slack.ts';
import { createTopK, type Compressor } from '../../shared/compress/index.ts';
import type { BroadcastMeta } from '../../shared/protocol/broadcast-meta.ts';
import type { RoleContext } from './context.ts';
import type { AppliedBroadcast, LocalState } from './local-state.ts';
import type { RoundCollection } from './round-collection.ts';

export function roundUploadCompressor(ctx: RoleContext): Compressor | undefined {
  const state = ctx.state;
  const adaptive = state.options.adaptiveUp;
  if (adaptive === undefined) return undefined;
  const ratio = nextTopKRatio(
    {
      d: state.learner.numParams,
      previousRatio: state.upRatio,
      bytesPerSecond: ctx.uplinkBytesPerSecond?.(),
      deadlineSeconds: ctx.settings.roundDeadlineMs / 1000,
      feedback: state.upFeedback,
    },
    adaptive,
  );
  state.upRatio = ratio;
  state.upFeedback = NO_FEEDBACK;
  return createTopK({ ratio });
}

/** Keeps what a broadcast said about this worker's upload (topk:auto sessions only). */
export function noteUploadFeedback(state: LocalState, meta: BroadcastMeta, selfTag: number): void {
  if (state.options.adaptiveUp === undefined || state.upRatio === undefined) return;
  if (!meta.tags.includes(selfTag)) {
    state.upFeedback = { kind: 'late' };
    return;
  }
  const slack = meta.slackSeconds;
  state.upFeedback = slack === null ? NO_FEEDBACK : { kind: 'counted', slackSeconds: slack };
}

/** Slack of each counted upload of a closing round, in seconds, in `current.counted()` order. */
export function roundSlack(current: RoundCollection, selfId: string): number[] {
  const counted = current.counted();
  const workers = counted.filter((id) => id !== selfId);
  const slack = uploadSlack(workers.map((id) => (current.arrivedMs.get(id) ?? 0) / 1000));
  return counted.map((id) => (id === selfId ? 0 : (slack[workers.indexOf(id)] ?? 0)));
}

/** The slack of `tag`'s upload in a topk:auto broadcast (for its copy); undefined if none. */
export function slackFor(broadcast: AppliedBroadcast, tag: number): number | undefined {
  const i = broadcast.counted.indexOf(tag);
  return i < 0 ? undefined : broadcast.slackSeconds?.[i];
}
