/**
 * A tiny deterministic learning problem for exact tests of the algorithms: worker i has
 * the quadratic loss 0.5 * ||A_i x - b_i||^2 with a diagonal A_i, so its gradient at x is
 * A_i^2 x - A_i b_i, plus seeded noise standing in for minibatch sampling.
 */
import {
  createAggregator,
  createWorker,
  resolveAlgorithmOptions,
  type AlgorithmSpec,
} from '../../shared/algorithm/index.ts';
import { createRng, mixSeed } from '../../shared/random.ts';

export interface QuadraticProblem {
  dim: number;
  gradient(worker: number, x: Float32Array, round: number): Float32Array;
  initialModel(): Float32Array;
}

export function quadraticProblem(dim: number, workers: number, seed: number): QuadraticProblem {
  const rng = createRng(seed);
  const scales = Array.from({ length: workers }, () =>
    Float32Array.from({ length: dim }, () => 0.5 + rng.next()),
  );
  const targets = Array.from({ length: workers }, () =>
    Float32Array.from({ length: dim }, () => rng.normal()),
  );
  return {
    dim,
    gradient(worker, x, round) {
      const a = scales[worker] as Float32Array;
      const b = targets[worker] as Float32Array;
      const noise = createRng(mixSeed(seed, worker, round));
      const g = new Float32Array(dim);
      for (let j = 0; j < dim; j++) {
        const aj = a[j] as number;
        g[j] = aj * (aj * (x[j] as number) - (b[j] as number)) + 0.1 * noise.normal();
      }
      return g;
    },
    initialModel() {
      const init = createRng(mixSeed(seed, 999));
      return Float32Array.from({ length: dim }, () => init.normal());
    },
  };
}

/**
 * LIEC workers on a quadratic problem (top-k 5% both ways, lr 0.05 unless `spec` says
 * otherwise), each a real peer's worker with its own x_common, and their aggregator.
 */
export function liecOnQuadratic(spec: Partial<AlgorithmSpec>, dim: number, workers: number, seed: number) {
  const options = resolveAlgorithmOptions({
    algorithm: 'liec',
    up: 'topk:0.05',
    down: 'topk:0.05',
    learningRate: 0.05,
    ...spec,
  });
  const problem = quadraticProblem(dim, workers, seed);
  return {
    options,
    problem,
    workers: Array.from({ length: workers }, () => createWorker(options, problem.initialModel())),
    aggregator: createAggregator(options, dim),
  };
}
