/**
 * topk:auto on a real peer: this round's upload compressor, sized from the peer's measured
 * uplink rate (the transport's meter, see client/transport/shaping.ts) and the session's round
 * deadline by shared/algorithm/adaptive-ratio.ts. Undefined for every other up codec (the
 * worker then uses the session's own). The aggregator's own gradient never crosses a link:
 * it uses the session's codec (topk at maxRatio).
 *
 * @example
 * state.prepareUpload(seed, roundUploadCompressor(ctx));
 */
import { chooseTopKRatio } from '../../shared/algorithm/index.ts';
import { createTopK, type Compressor } from '../../shared/compress/index.ts';
import type { RoleContext } from './context.ts';

export function roundUploadCompressor(ctx: RoleContext): Compressor | undefined {
  const adaptive = ctx.state.options.adaptiveUp;
  if (adaptive === undefined) return undefined;
  const ratio = chooseTopKRatio(
    {
      d: ctx.state.learner.numParams,
      bytesPerSecond: ctx.uplinkBytesPerSecond?.(),
      deadlineSeconds: ctx.settings.roundDeadlineMs / 1000,
    },
    adaptive,
  );
  return createTopK({ ratio });
}
