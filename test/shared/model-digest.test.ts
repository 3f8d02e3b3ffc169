import assert from 'node:assert/strict';
import { test } from 'node:test';
import { modelDigest } from '../../shared/model-digest.ts';
import { decodeControl, encodeControl } from '../../shared/protocol/control.ts';

test('modelDigest: equal weights give one digest; one flipped bit anywhere gives another', () => {
  const model = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i));
  const digest = modelDigest(model);
  assert.match(digest, /^[0-9a-f]{16}$/);
  assert.equal(modelDigest(model.slice()), digest);
  const words = new Uint32Array(model.buffer);
  for (const index of [0, 499, 999])
    for (const bit of [0, 17, 31]) {
      const flipped = model.slice();
      const flippedWords = new Uint32Array(flipped.buffer);
      flippedWords[index] = (words[index] ?? 0) ^ (1 << bit);
      assert.notEqual(modelDigest(flipped), digest, `word ${index} bit ${bit}`);
    }
  // Two weights swapped: same multiset of words, another model.
  const swapped = model.slice();
  [swapped[3], swapped[4]] = [model[4] ?? 0, model[3] ?? 0];
  assert.notEqual(modelDigest(swapped), digest);
  // A view into a larger buffer digests its own weights only.
  const padded = new Float32Array(1002);
  padded.set(model, 1);
  assert.equal(modelDigest(padded.subarray(1, 1001)), digest);
});

test('done carries the final model digest; a malformed one is refused', () => {
  const done = { kind: 'done', round: 7, testAccuracy: 0.9, modelDigest: '0123456789abcdef' } as const;
  assert.deepEqual(decodeControl(encodeControl(done)), done);
  assert.deepEqual(decodeControl(encodeControl({ kind: 'done', round: 7, testAccuracy: null })), {
    kind: 'done',
    round: 7,
    testAccuracy: null,
  });
  const bad = new TextEncoder().encode(JSON.stringify({ ...done, modelDigest: 'xyz' }));
  assert.throws(() => decodeControl(bad), /CONTROL_INVALID/);
});
