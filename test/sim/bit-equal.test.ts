/**
 * The simulator's results, bit for bit, on real MNIST digits (the 0.1M MLP, 4 workers, 8
 * rounds): the SHA-256 of the final model and of the round history (losses, accuracies, the
 * drift of every evaluated round, bytes) for each algorithm and the LIEC paths that touch a
 * worker's state (alpha measured at a sync, alpha 1, momentum and weight decay, rolling sync,
 * late uploads, local steps, the tree). The digests were recorded on the engine before the
 * virtual workers shared one common model (commit e8a14d3): the default state precision
 * (f32) must give the very same bits.
 *
 * RECORD=1 prints the digests instead of checking them.
 */
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSimulateArgs, type SimulateCli } from '../../client/sim/options.ts';
import { simulationLearner } from '../../client/sim/cli.ts';
import { runSimulation, type SimulationResult } from '../../client/sim/simulator.ts';
import { runTreeSimulation } from '../../client/sim/tree.ts';

const BASE = ['--model', 'mlp', '--workers', '4', '--rounds', '8', '--eval-every', '2', '--seed', '3'];

/** Name, extra flags, and the digest recorded before the change. */
const CASES: readonly [string, string, string][] = [
  ['liec auto', '--sync 3', 'f9aa175bbe95732f'],
  ['liec alpha 1', '--sync 3 --compensation 1', '51c26a6d681ed232'],
  ['liec auto momentum', '--sync 3 --momentum 0.9', '88a43f7dff7475f3'],
  [
    'liec alpha 0.5 momentum wd',
    '--sync 3 --compensation 0.5 --momentum 0.9 --weight-decay 0.0001',
    '7db12e958006b75b',
  ],
  ['liec identity sync', '--sync 3 --sync-codec identity --compensation 0.7', '4789ecd20e854b62'],
  ['liec rolling after', '--sync 3 --sync-mode rolling --slice-delta after', 'b11dd5f5895d7776'],
  [
    'liec partial late',
    // Stand-ins (later than the digests) off: they change a round only when a worker is absent.
    '--sync 3 --participation 0.6 --stragglers 0.4 --deadline-ms 30 --quorum 0.3 --stand-in-rounds 0',
    'a2a95814efb3bc04',
  ],
  ['liec local steps', '--sync 3 --local-steps 2', '547cb0dcbd70ab00'],
  ['liec tree', '--sync 3 --tree-fanout 2', 'c5c9daa49bfae878'],
  ['sgd', '--algorithm sgd', 'b6b7056715a0481e'],
  ['sgd momentum', '--algorithm sgd --momentum 0.9 --up topk:0.05', 'afd9f9f0c75194d5'],
  ['doublesqueeze', '--algorithm doublesqueeze', '6027b827b54c90b2'],
  ['ef-sgd', '--algorithm ef-sgd', 'c3a606c111dc16b4'],
];

async function digest(cli: SimulateCli): Promise<string> {
  const learner = await simulationLearner(cli);
  try {
    const result: SimulationResult =
      cli.treeFanout === undefined
        ? runSimulation(cli.config, learner)
        : runTreeSimulation(cli.config, cli.treeFanout, learner);
    const model = result.finalModel;
    return createHash('sha256')
      .update(new Uint8Array(model.buffer, model.byteOffset, model.byteLength))
      .update(JSON.stringify(result.history))
      .update(String(result.identicalModels))
      .digest('hex')
      .slice(0, 16);
  } finally {
    learner.dispose();
  }
}

const record = process.env.RECORD === '1';
for (const [name, flags, expected] of CASES) {
  test(`${name}: the same bits as before the shared common model`, async () => {
    const cli = parseSimulateArgs([...BASE, ...flags.split(' ')]);
    assert.ok(cli !== 'help');
    const actual = await digest(cli);
    if (record) console.log(`['${name}', '${flags}', '${actual}'],`);
    else assert.equal(actual, expected);
  });
}
