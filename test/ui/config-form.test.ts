/**
 * The create form's fields (client/ui/config-form.ts): every session setting is there with
 * its default from DEFAULT_SESSION_CONFIG; a filled form reads into the config the session
 * schema accepts, or into issues that name their field.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  CONFIG_FIELDS,
  CONFIG_FORM,
  defaultFieldValue,
  describeIssue,
  readConfigForm,
  type ConfigField,
} from '../../client/ui/config-form.ts';
import { DEFAULT_SESSION_CONFIG, parseSessionConfig } from '../../shared/protocol/session-config.ts';

/** The form as first shown, with `changes` typed over it. */
function filled(changes: Partial<Record<ConfigField, string>> = {}): (name: ConfigField) => string | null {
  return (name) => changes[name] ?? defaultFieldValue(name);
}

test('the form has every session setting once, with its default', () => {
  const names = CONFIG_FIELDS.map((f) => f.name);
  assert.deepEqual([...names].sort(), Object.keys(DEFAULT_SESSION_CONFIG).sort());
  assert.equal(new Set(names).size, names.length);
  assert.ok(CONFIG_FORM.every((group) => group.fields.length > 0));
  // The learning settings follow the model unless set (learningDefaultsOf).
  for (const name of ['learningRate', 'localSteps', 'up', 'down', 'standInRounds'] as const)
    assert.equal(defaultFieldValue(name), 'auto', name);
  assert.equal(defaultFieldValue('compensation'), String(DEFAULT_SESSION_CONFIG.compensation));
  for (const field of CONFIG_FIELDS) {
    if (field.kind === 'select')
      assert.ok(field.options.includes(defaultFieldValue(field.name)), `${field.name}: default is an option`);
  }
});

test('the untouched form reads back into the defaults', () => {
  const result = readConfigForm(filled());
  assert.ok(result.ok, JSON.stringify(result));
  assert.deepEqual(result.config, DEFAULT_SESSION_CONFIG);
});

test('every setting comes through, numbers as numbers, compensation "auto" or a number', () => {
  const result = readConfigForm(
    filled({
      model: 'cnn',
      algorithm: 'doublesqueeze',
      rounds: '77',
      learningRate: ' 0.05 ',
      momentum: '0.9',
      weightDecay: '0.0001',
      batchSize: '48',
      up: 'q8',
      down: 'fp16',
      syncMode: 'rolling',
      syncPeriod: '8',
      syncCodec: 'q4',
      compensation: '0.25',
      roundDeadlineMs: '2500',
      quorum: '0.75',
      minPeers: '3',
      evalEvery: '5',
      aggregation: 'median',
      partition: 'dirichlet:0.5',
      dataShards: '6',
      seed: '42',
    }),
  );
  assert.ok(result.ok, JSON.stringify(result));
  const expected = parseSessionConfig({
    model: 'cnn',
    algorithm: 'doublesqueeze',
    rounds: 77,
    learningRate: 0.05,
    momentum: 0.9,
    weightDecay: 0.0001,
    batchSize: 48,
    up: 'q8',
    down: 'fp16',
    syncMode: 'rolling',
    syncPeriod: 8,
    syncCodec: 'q4',
    compensation: 0.25,
    roundDeadlineMs: 2500,
    quorum: 0.75,
    minPeers: 3,
    evalEvery: 5,
    aggregation: 'median',
    partition: 'dirichlet:0.5',
    dataShards: 6,
    seed: 42,
  });
  assert.deepEqual(result.config, expected);
  assert.equal(readConfigForm(filled({ compensation: 'auto' })).ok, true);
  // The drift threshold needs a full sync (a rolling one has no drift trigger).
  const drift = readConfigForm(filled({ syncMode: 'full', syncDriftThreshold: '0.05' }));
  assert.ok(drift.ok, JSON.stringify(drift));
  assert.equal(drift.config.syncDriftThreshold, 0.05);
  assert.equal(readConfigForm(filled({ syncMode: 'rolling', syncDriftThreshold: '0.05' })).ok, false);
});

test('"auto" leaves the learning settings to the model: the tuned ones on the mlp, the conservative on the cnn', () => {
  const mlp = readConfigForm(filled());
  const cnn = readConfigForm(filled({ model: 'cnn' }));
  const cnnSet = readConfigForm(filled({ model: 'cnn', learningRate: '0.6', localSteps: '2', up: 'fp16' }));
  assert.ok(mlp.ok && cnn.ok && cnnSet.ok);
  assert.deepEqual(cnn.config, parseSessionConfig({ model: 'cnn' }));
  assert.notEqual(mlp.config.learningRate, cnn.config.learningRate);
  assert.deepEqual(
    [cnnSet.config.learningRate, cnnSet.config.localSteps, cnnSet.config.up, cnnSet.config.down],
    [0.6, 2, 'fp16', cnn.config.down],
  );
});

test('what is wrong is named by field, all at once; a rule across fields has no field', () => {
  const result = readConfigForm(
    filled({ rounds: '', momentum: '1.5', learningRate: 'fast', partition: 'random', compensation: 'some' }),
  );
  assert.equal(result.ok, false);
  if (result.ok) return;
  const byField = new Map(result.issues.map((i) => [i.field, i.message]));
  assert.equal(byField.get('rounds'), 'required');
  assert.match(byField.get('learningRate') ?? '', /expected "auto" or a number, got "fast"/);
  assert.match(byField.get('compensation') ?? '', /"auto" or a number/);
  assert.match(byField.get('momentum') ?? '', /1/, 'the schema checks the fields that were read');
  assert.match(byField.get('partition') ?? '', /iid/);
  assert.equal(describeIssue({ field: 'momentum', message: 'too big' }), 'Momentum: too big');

  const crossField = readConfigForm(filled({ algorithm: 'ef-sgd', down: 'topk:0.01' }));
  assert.equal(crossField.ok, false);
  if (crossField.ok) return;
  assert.deepEqual(
    crossField.issues.map((i) => i.field),
    [null],
  );
  assert.match(crossField.issues[0]?.message ?? '', /ef-sgd/);
  assert.match(describeIssue(crossField.issues[0] ?? { field: null, message: '' }), /^ef-sgd/);
});
