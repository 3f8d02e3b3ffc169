/**
 * The aggregator side, one implementation for all four algorithms:
 *   v = mean(counted uploads) + e,  c = C_down(v),  e <- v - c
 * For doublesqueeze and liec this is the server-side error feedback of the method; for
 * sgd and ef-sgd (full-precision down) e only carries late uploads into the next round.
 * LIEC's sync also runs here: average the workers' deviations, flush e into the result.
 */
import type { Compressor } from '../compress/types.ts';
import { decodeChecked } from './decode.ts';
import type { AggregatorAlgorithm, AlgorithmName, AlgorithmOptions } from './types.ts';
import { mean, subtract } from './vector.ts';

class Aggregator implements AggregatorAlgorithm {
  readonly algorithm: AlgorithmName;
  error: Float32Array;
  private readonly length: number;
  private readonly up: Compressor;
  private readonly down: Compressor;
  private readonly syncCodec: Compressor | null;
  private readonly learningRate: number;
  /** sgd keeps no compression error (it is the no-feedback baseline); the others do. */
  private readonly keepsCompressionError: boolean;

  constructor(options: AlgorithmOptions, length: number) {
    this.algorithm = options.algorithm;
    this.length = length;
    this.up = options.up;
    this.down = options.down;
    this.learningRate = options.learningRate;
    this.syncCodec = options.algorithm === 'liec' ? (options.sync?.codec ?? null) : null;
    this.keepsCompressionError = options.algorithm !== 'sgd';
    this.error = new Float32Array(length);
  }

  decodeUpload(payload: Uint8Array): Float32Array {
    return decodeChecked(this.up, payload, this.length);
  }

  aggregate(uploads: readonly Float32Array[], seed: number): Uint8Array {
    const v = mean(uploads, this.length);
    for (let i = 0; i < this.length; i++) v[i] = (v[i] as number) + (this.error[i] as number);
    const payload = this.down.encode(v, seed);
    if (this.keepsCompressionError) subtract(this.error, v, this.down.decode(payload, this.length));
    else this.error.fill(0);
    return payload;
  }

  foldLate(upload: Float32Array, countedInRound: number): void {
    if (upload.length !== this.length) throw new RangeError(`late upload has ${upload.length} values`);
    // As if it had been one more member of its round: weight 1/|S_t|, never lost.
    const weight = 1 / Math.max(1, countedInRound);
    for (let i = 0; i < this.length; i++)
      this.error[i] = (this.error[i] as number) + weight * (upload[i] as number);
  }

  decodeSync(payload: Uint8Array): Float32Array {
    return decodeChecked(this.requireSyncCodec(), payload, this.length);
  }

  aggregateSync(deltas: readonly Float32Array[], seed: number): Uint8Array {
    const codec = this.requireSyncCodec();
    const eta = this.learningRate;
    // Synced model = x_common + mean(x_i - x_common) - eta * e: e is flushed into the model.
    const v = mean(deltas, this.length);
    for (let i = 0; i < this.length; i++) v[i] = (v[i] as number) - eta * (this.error[i] as number);
    const payload = codec.encode(v, seed);
    const sent = codec.decode(payload, this.length);
    // What quantization kept back stays in e (model units / -eta), so nothing is lost.
    for (let i = 0; i < this.length; i++) this.error[i] = -((v[i] as number) - (sent[i] as number)) / eta;
    return payload;
  }

  private requireSyncCodec(): Compressor {
    if (this.syncCodec === null)
      throw new Error(`model sync is only defined for liec (algorithm: ${this.algorithm})`);
    return this.syncCodec;
  }
}

export function createAggregator(options: AlgorithmOptions, length: number): AggregatorAlgorithm {
  return new Aggregator(options, length);
}
