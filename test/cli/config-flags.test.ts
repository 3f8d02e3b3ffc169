import assert from 'node:assert/strict';
import { test } from 'node:test';
import { configFromFlags } from '../../client/cli/create.ts';
import { configInputFromFlags } from '../../client/cli/config-flags.ts';
import { parseSessionConfig } from '../../shared/protocol/session-config.ts';

test('liec create / npm start flags map to the session config, a rolling sync included', () => {
  const config = configFromFlags({ algorithm: 'liec', up: 'topk:0.01', sync: '10', 'sync-mode': 'rolling' });
  assert.equal(config.syncMode, 'rolling');
  assert.equal(config.syncPeriod, 10);
  assert.equal(config.down, 'topk:0.01', 'down follows up unless given');
  assert.equal(configFromFlags({}).syncMode, 'full', 'full syncs by default');
});

test('a bad sync mode, or a rolling sync of period 1, is refused before anything is created, naming the flags', () => {
  assert.throws(
    () => configFromFlags({ 'sync-mode': 'sometimes' }),
    /option '--sync-mode <mode>' argument 'sometimes'/,
  );
  assert.throws(
    () => configFromFlags({ algorithm: 'liec', 'sync-mode': 'rolling', sync: '1' }),
    /--sync-mode rolling.*--sync >= 2/,
  );
});

test('the tuned thin-link setting can be given from the command line: rolling sync, momentum, learning rate', () => {
  const config = configFromFlags({ 'sync-mode': 'rolling', sync: '5', momentum: '0.8', lr: '0.5' });
  assert.equal(config.momentum, 0.8);
  assert.equal(config.learningRate, 0.5);
  assert.equal(configFromFlags({}).momentum, 0, 'no momentum by default');
  assert.throws(() => configFromFlags({ momentum: '1' }), /--momentum <x>' argument '1'/);
});

test('flags left unset stay unset, so the learning settings follow the model and task added later', () => {
  assert.deepEqual(configInputFromFlags({ rounds: '5' }), { rounds: 5 });
  const withModel = parseSessionConfig({ ...configInputFromFlags({}), model: 'cnn' });
  assert.equal(withModel.learningRate, parseSessionConfig({ model: 'cnn' }).learningRate);
  assert.notEqual(withModel.learningRate, configFromFlags({}).learningRate);
  assert.equal(
    parseSessionConfig({ ...configInputFromFlags({ lr: '0.6' }), model: 'cnn' }).learningRate,
    0.6,
  );
});
