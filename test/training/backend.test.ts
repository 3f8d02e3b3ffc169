import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { activeBackend, selectBackend } from '../../client/training/backend.ts';

test('selects a backend once, logs one line, and reports it', async () => {
  const lines: string[] = [];
  const log = (line: string): void => void lines.push(line);
  const [first, concurrent] = await Promise.all([
    selectBackend(undefined, { log }),
    selectBackend(undefined, { log }),
  ]);
  assert.equal(first, concurrent);
  assert.ok(['node', 'wasm', 'cpu'].includes(first), first);
  assert.equal(activeBackend(), first);
  assert.equal(lines.length, 1);
  assert.match(lines[0] ?? '', new RegExp(`^\\[training\\] TF.js backend: ${first} `));
  if (first !== 'node') assert.match(lines[0] ?? '', /skipped node/);
  assert.equal(await selectBackend(undefined, { log }), first);
  assert.equal(lines.length, 1, 'no second selection, no second line');
  // The chosen backend computes.
  assert.deepEqual([...tf.tidy(() => tf.add(tf.tensor1d([1, 2]), 1)).dataSync()], [2, 3]);
});

test('an explicit preference switches backends, and wasm works in Node', async () => {
  const lines: string[] = [];
  const log = (line: string): void => void lines.push(line);
  assert.equal(await selectBackend('cpu', { log }), 'cpu');
  assert.equal(tf.getBackend(), 'cpu');
  assert.equal(await selectBackend('wasm', { log }), 'wasm');
  assert.equal(tf.getBackend(), 'wasm');
  assert.equal(lines.length, 2);
  assert.match(lines[1] ?? '', /wasm \(tfjs [\d.]+, (simd|no simd)/);
  assert.equal(await selectBackend(undefined, { log }), 'wasm', 'no preference keeps the current one');
});
