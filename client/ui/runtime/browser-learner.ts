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
import type { TaskSpec } from '../../../shared/data/task.ts';
import { selectBackend, type BackendName, type BackendPreference } from '../../training/backend.ts';
import { createDataLearner, type DataLearner } from '../../training/data-learner.ts';
import { reportEvaluations, type EvaluationReporting } from '../../training/evaluation-reporter.ts';
import { fetchMnist } from '../../training/mnist-browser.ts';
import type { MnistData } from '../../training/mnist.ts';
import { sessionLayersModel, type FlatModel } from '../../training/layers-model.ts';
import { detectBackend } from '../detect-backend.ts';
import { classCountsOf, createTabLearner, readTabData } from './tab-data.ts';
import { tabFiles } from './tab-files.ts';
import { readTabTestSet } from './tab-test-set.ts';

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
  const { model, seed, dataShards, partition, batchSize, task, customModel } = config;
  return [model, seed, dataShards, partition, batchSize, task, customModel?.sha256 ?? ''].join('|');
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
        learner = Promise.all([backend, data]).then(async ([name, mnist]) => {
          // A session's own Layers model (liec create --model): hash and trainability checked first.
          const model =
            config.customModel === undefined
              ? undefined
              : await sessionLayersModel(config.customModel, config);
          if (config.task !== 'mnist') return tabLearner(config, name, model, init.log ?? console.info);
          const created = createDataLearner({
            ...(model === undefined ? {} : { model }),
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

/**
 * A csv or images session: the learner over the files the user picks in the `<local-data>`
 * panel (asked for again, with the reason, until they can be read under the task spec).
 */
async function tabLearner(
  config: SessionConfig,
  backend: BackendName,
  model: FlatModel | undefined,
  log: (line: string) => void,
): Promise<DataLearner> {
  const spec = config.taskSpec;
  if (spec === undefined) throw new Error(`the ${config.task} session has no task spec`);
  for (;;) {
    const files = await tabFiles.request(spec.kind);
    const started = performance.now();
    try {
      const dataset = await readTabData(files, spec);
      const prepareMs = performance.now() - started;
      const { learner, counts } = createTabLearner({
        config,
        dataset,
        backend,
        ...(model === undefined ? {} : { model }),
      });
      // The model the runtime trains from is this tab's model: measured on the validation part
      // every evalEvery rounds, shown in the panel and sent with the heartbeats with its round.
      const reporting = reportEvaluations(learner, {
        everyRounds: config.evalEvery,
        samples: counts.validation,
        evaluate: (weights) => learner.evaluate(weights),
        round: () => tabFiles.round(),
        onReport: (report) => tabFiles.setEvaluation(report),
      });
      tabFiles.setSummary({
        source: dataset.source,
        examples: dataset.labels.length,
        train: counts.train,
        validation: counts.validation,
        classes: spec.classes,
        classCounts: classCountsOf(dataset),
        prepareMs,
      });
      log(
        `[training] ${dataset.labels.length} examples from ${dataset.source} prepared in ${prepareMs.toFixed(0)} ms`,
      );
      learner.warmUp();
      if (spec.testSet !== undefined) void offerTestSet(spec, learner, reporting);
      return reporting.learner;
    } catch (error) {
      tabFiles.setError(error instanceof Error ? error.message : String(error));
    }
  }
}

/**
 * The session names a test set: the panel offers a second picker (training goes on
 * meanwhile); files with the spec's SHA-256 become what the tab reports on, with set 'test',
 * as `liec join --test-data` does. The validation figure is still measured for the panel.
 */
async function offerTestSet(
  spec: TaskSpec,
  learner: DataLearner,
  reporting: EvaluationReporting<DataLearner>,
): Promise<void> {
  const sha256 = spec.testSet?.sha256;
  if (sha256 === undefined) return;
  for (;;) {
    const files = await tabFiles.requestTestSet(spec.kind, sha256);
    try {
      const { source, dataset } = await readTabTestSet(files, spec);
      reporting.switchTo({
        samples: dataset.labels.length,
        set: 'test',
        evaluate: (weights) => {
          tabFiles.setValidationAccuracy(learner.evaluate(weights).accuracy);
          return learner.evaluateOn(weights, dataset.inputs, dataset.labels);
        },
      });
      tabFiles.setTestSet({ source, examples: dataset.labels.length });
      return;
    } catch (error) {
      tabFiles.setTestSetError(error instanceof Error ? error.message : String(error));
    }
  }
}
