/**
 * What a tab needs to train: the TF.js backend (webgl on a real GPU, else wasm, else cpu,
 * see ../detect-backend.ts; the wasm files are served next to app.js) and the MNIST digits (`mnist.bin`), both started as soon as
 * the page asks, so they load while the tab joins. `createLearner(config)` then builds the
 * session's learner (model, shards, batches), warms it up (WebGL compiles its shaders on the
 * first step: seconds on a software GPU, which would make the tab miss its first rounds),
 * and reuses it for the same config, so a peer that pauses and resumes keeps its data and
 * its TF.js model.
 *
 * @example
 * const training = prepareBrowserTraining();            // starts downloads and backend setup
 * new Peer({ ..., kind: 'browser', createLearner: training.createLearner });
 * await training.backend;                                // 'webgl' | 'wasm' | 'cpu'
 */
import type { SessionConfig } from '../../../shared/protocol/session-config.ts';
import { parsePartitionSpec } from '../../../shared/data/spec.ts';
import { selectBackend, type BackendName, type BackendPreference } from '../../training/backend.ts';
import { createDataLearner, type DataLearner } from '../../training/data-learner.ts';
import { fetchMnist } from '../../training/mnist-browser.ts';
import type { MnistData } from '../../training/mnist.ts';
import { detectBackend } from '../detect-backend.ts';

export interface BrowserTrainingInit {
  /** Where the digits are. @default '/mnist.bin' on the page's origin */
  mnistUrl?: string;
  /** Folder URL of the tfjs-backend-wasm .wasm files (what app-server serves). @default '/' */
  wasmPaths?: string;
  /**
   * Start the backend search here ('wasm' skips webgl; `&backend=wasm` in a link).
   * @default detectBackend(): webgl on a real GPU, else wasm, else cpu
   */
  backend?: BackendPreference;
  /** Receives the line saying which backend runs. @default console.info */
  log?: (line: string) => void;
}

export interface BrowserTraining {
  /** The backend TF.js computes with, once chosen. */
  readonly backend: Promise<BackendName>;
  readonly data: Promise<MnistData>;
  /** The learner for a session config (one per distinct model/data setting, then reused). */
  createLearner(config: SessionConfig): Promise<DataLearner>;
}

/** The config fields a learner depends on. */
function learnerKey(config: SessionConfig): string {
  return [config.model, config.seed, config.dataShards, config.partition, config.batchSize].join('|');
}

export function prepareBrowserTraining(init: BrowserTrainingInit = {}): BrowserTraining {
  const backend = selectBackend(init.backend ?? detectBackend(), {
    wasmPaths: init.wasmPaths ?? '/',
    ...(init.log === undefined ? {} : { log: init.log }),
  });
  const data = fetchMnist(init.mnistUrl ?? new URL('/mnist.bin', location.href).href);
  // Both run at once; a failure is reported by createLearner, not as an unhandled rejection.
  backend.catch(() => {});
  data.catch(() => {});
  const learners = new Map<string, Promise<DataLearner>>();
  return {
    backend,
    data,
    createLearner(config) {
      const key = learnerKey(config);
      let learner = learners.get(key);
      if (learner === undefined) {
        learner = Promise.all([backend, data]).then(([name, mnist]) => {
          const created = createDataLearner({
            data: mnist,
            backend: name,
            workers: config.dataShards,
            partition: parsePartitionSpec(config.partition),
            batchSize: config.batchSize,
            seed: config.seed,
            arch: config.model,
          });
          const ms = created.warmUp();
          (init.log ?? console.info)(`[training] ${name} warm-up: ${ms.toFixed(0)} ms`);
          return created;
        });
        learners.set(key, learner);
        learner.catch(() => learners.delete(key));
      }
      return learner;
    },
  };
}
