/**
 * What training needs from a model and its data, the one seam between learning and the
 * rest: the simulator's virtual workers and a real peer's roles both drive a Learner, and
 * neither knows TF.js or MNIST. Weights and gradients are flat Float32Arrays (the layout is
 * the learner's business).
 *
 * @example
 * const learner: Learner = await createMnistLearner({ workers: 4, partition: { kind: 'iid' }, batchSize: 32, seed: 1, arch: 'mlp' });
 * const { gradient, loss } = learner.gradient(shard, learner.initialWeights());
 */
export interface Learner {
  readonly numParams: number;
  initialWeights(): Float32Array;
  /**
   * Loss gradient on worker (shard) `worker`'s next local batch, at `weights`. The gradient
   * vector may be the learner's own, overwritten by its next gradient() call (no 4 MB of
   * garbage a round on the 1M model): use it at once (every caller hands it straight to the
   * algorithm's step) or copy it.
   */
  gradient(worker: number, weights: Float32Array): { gradient: Float32Array; loss: number };
  evaluate(weights: Float32Array): { accuracy: number; loss: number };
}
