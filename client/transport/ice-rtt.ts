/**
 * A link's round trip time from WebRTC statistics (RTCPeerConnection.getStats): the
 * `currentRoundTripTime` of the candidate pair ICE selected, which ICE consent checks refresh
 * every few seconds. It is the network's round trip; an emulated `linkLatencyMs`
 * (shaping.ts) is applied above WebRTC and is not in it.
 *
 * @example
 * peer.getStats((err, reports) => console.log(selectedPairRoundTripMs(reports)));
 */
import { z } from 'zod';

const candidatePairSchema = z.object({
  type: z.literal('candidate-pair'),
  state: z.string().optional(),
  nominated: z.boolean().optional(),
  selected: z.boolean().optional(),
  currentRoundTripTime: z.number().nonnegative().finite().optional(),
});

/**
 * Milliseconds, from the selected pair (Firefox marks it `selected`) or else the nominated,
 * succeeded one with a measurement; undefined when no report has one.
 */
export function selectedPairRoundTripMs(reports: readonly unknown[]): number | undefined {
  const pairs = reports.flatMap((report) => {
    const parsed = candidatePairSchema.safeParse(report);
    return parsed.success && parsed.data.currentRoundTripTime !== undefined ? [parsed.data] : [];
  });
  const chosen =
    pairs.find((p) => p.selected === true) ??
    pairs.find((p) => p.nominated === true && p.state === 'succeeded');
  return chosen?.currentRoundTripTime === undefined ? undefined : chosen.currentRoundTripTime * 1000;
}
