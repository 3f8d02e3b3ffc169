/**
 * `liec join`'s learner and what it reports: MNIST as ever for an mnist session, its own
 * `--data` for csv and images (a clear error naming the task when it has none). A csv or
 * images peer measures the model it holds every evalEvery rounds and sends the figure with
 * its heartbeats (client/training/evaluation-reporter.ts): on its validation part, or, with
 * `--test-data PATH` whose SHA-256 is the test set the session names (`liec create
 * --test-set`), on that test set, which /status then takes as the session's accuracy.
 *
 * @example
 * const local = joinData({ data: 'rows.csv', testData: 'holdout.csv', round: () => peer.round });
 * new Peer({ ..., createLearner: local.create, onJoined: (client) => local.attach(client) });
 */
import type { SessionAccuracy } from '../../shared/protocol/signaling-status.ts';
import type { SessionConfig } from '../../shared/protocol/session-config.ts';
import type { Dataset } from '../../shared/data/task.ts';
import type { SignalingClient } from '../signaling/signaling-client.ts';
import type { EvaluationReporting } from '../training/evaluation-reporter.ts';
import type { TaskLearner } from '../training/task-learner.ts';
import { CommandFailure, oneLine } from './command.ts';

/** How long the final report may hold up leaving when the server is slow or gone. */
const FINAL_REPORT_TIMEOUT_MS = 3000;

export interface JoinDataInit {
  /** --data: this peer's CSV file or image folder. */
  data?: string;
  /** --test-data: the session's named test set, if this peer holds it. */
  testData?: string;
  /** --shard: train on this part of `data` after its held-back test part (the demo). */
  share?: number;
  /** The peer's current round, sent with each report. */
  round: () => number;
}

/** What the summary says of the named test set: its size and the final model's accuracy on it. */
export interface TestSetSummary {
  examples: number;
  accuracy: number | null;
}

export function joinData(init: JoinDataInit) {
  let learner: TaskLearner | null = null;
  let testSet: Dataset | null = null;
  let reporting: EvaluationReporting<TaskLearner> | null = null;
  let client: SignalingClient | null = null;
  /** Set once the final model was measured: every later heartbeat says its report is final. */
  let final = false;
  const heartbeat = () => {
    const { evaluation } = reporting?.heartbeat() ?? {};
    if (evaluation === undefined) return {};
    return { evaluation: final ? { ...evaluation, final: true } : evaluation };
  };
  return {
    /** Each (re)joined signaling client carries this peer's evaluations in its heartbeats. */
    attach(joined: SignalingClient): void {
      client = joined;
      joined.addToHeartbeats(heartbeat);
    },
    /**
     * Measures the final model, waits until the server has recorded it and the other members'
     * final reports are in (at most FINAL_REPORTS_WAIT_MS), then reads the session's accuracy
     * from /status (undefined for mnist; null when the server had none). Without the wait the
     * first peer to leave would take its figure out before the last one's arrived.
     */
    async reportFinal(
      model: Float32Array | null,
      server: string,
      sessionId: string,
    ): Promise<SessionAccuracy | null | undefined> {
      if (reporting === null) return undefined;
      reporting.stop();
      if (model !== null) reporting.measure(model);
      final = true;
      const sent = await client?.heartbeatNow({ timeoutMs: FINAL_REPORT_TIMEOUT_MS }).then(
        () => true,
        () => false,
      );
      if (sent !== true) return null;
      return (await import('./session-accuracy.ts')).awaitFinalSessionAccuracy(server, sessionId);
    },
    async create(config: SessionConfig) {
      if (config.task === 'mnist') {
        if (init.data !== undefined || init.testData !== undefined)
          throw new CommandFailure(
            '--data and --test-data are for csv and images sessions; this one trains on mnist',
          );
        return (await import('../training/session-learner.ts')).defaultLearner(config);
      }
      if (init.data === undefined)
        throw new CommandFailure(`this session's task is ${config.task}: pass this peer's data with --data`);
      const named = init.testData === undefined ? null : await readNamedTestSet(config, init.testData);
      const { createTaskLearner } = await import('../training/task-learner.ts');
      const task = await createTaskLearner({
        config,
        dataPath: init.data,
        ...(init.share === undefined ? {} : { share: init.share }),
      });
      learner = task;
      testSet = named;
      const { reportEvaluations } = await import('../training/evaluation-reporter.ts');
      reporting = reportEvaluations(task, {
        everyRounds: config.evalEvery,
        round: init.round,
        ...(named === null
          ? {
              samples: task.counts.validation,
              evaluate: (weights) => task.evaluate(weights),
              set: 'validation',
            }
          : {
              samples: named.labels.length,
              evaluate: (weights) => task.evaluateOn(weights, named),
              set: 'test',
            }),
      });
      return reporting.learner;
    },
    validation(model: Float32Array | null) {
      return learner === null
        ? undefined
        : {
            examples: learner.counts.validation,
            accuracy: model === null ? null : learner.evaluate(model).accuracy,
            train: learner.counts.train,
            test: learner.counts.test,
          };
    },
    testAccuracy(model: Float32Array | null): number | null {
      return learner === null || model === null ? null : (learner.evaluateTest(model)?.accuracy ?? null);
    },
    testSet(model: Float32Array | null): TestSetSummary | undefined {
      if (learner === null || testSet === null) return undefined;
      return {
        examples: testSet.labels.length,
        accuracy: model === null ? null : learner.evaluateOn(model, testSet).accuracy,
      };
    },
  };
}

/** --test-data: read only when its hash is the session's test set; else a clear refusal. */
async function readNamedTestSet(config: SessionConfig, path: string): Promise<Dataset> {
  const spec = config.taskSpec;
  const wanted = spec?.testSet?.sha256;
  if (spec === undefined || wanted === undefined)
    throw new CommandFailure(`--test-data ${path}: this session names no test set (liec create --test-set)`);
  const { testSetSha256 } = await import('../training/test-set.ts');
  let actual: string;
  try {
    actual = await testSetSha256(path);
  } catch (error) {
    throw new CommandFailure(`--test-data ${path}: ${oneLine(error)}`);
  }
  if (actual !== wanted)
    throw new CommandFailure(
      `--test-data ${path}: SHA-256 ${actual} is not the session's test set (${wanted})`,
    );
  const { readTaskData } = await import('../training/local-data.ts');
  try {
    return await readTaskData(spec, path);
  } catch (error) {
    throw new CommandFailure(`--test-data: ${oneLine(error)}`);
  }
}
