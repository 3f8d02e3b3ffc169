import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCompressor } from '../../shared/compress/index.ts';
import { selectTopK, sparseCount } from '../../shared/compress/select.ts';
import { gaussian } from './helpers.ts';

const D = 101_770; // the MLP's parameter count

test('topk:R:sign keeps the top-k positions, each as its sign times the mean kept magnitude', () => {
  const x = gaussian(5000, 3);
  const codec = parseCompressor('topk:0.02:sign');
  assert.equal(codec.spec, 'topk:0.02:sign');
  const decoded = codec.decode(codec.encode(x, 1), x.length);
  const kept = selectTopK(x, sparseCount(0.02, x.length)).indices;
  let sum = 0;
  for (const i of kept) sum += Math.abs(x[i] as number);
  const scale = Math.fround(sum / kept.length);
  const positions = new Set(kept);
  for (let i = 0; i < x.length; i++) {
    const expected = positions.has(i) ? Math.sign(x[i] as number) * scale : 0;
    assert.equal(decoded[i], expected, `x[${i}]`);
  }
  // Any topk decoder reads it (self-describing payloads).
  assert.deepEqual(parseCompressor('topk:0.5').decode(codec.encode(x, 1), x.length), decoded);
});

test('topk:0.01:sign costs at most 0.1 bit per parameter on the MLP (positions near their entropy)', () => {
  const x = gaussian(D, 9);
  const bitsPerParam = (parseCompressor('topk:0.01:sign').encode(x, 1).length * 8) / D;
  const entropy = -(0.01 * Math.log2(0.01) + 0.99 * Math.log2(0.99));
  assert.ok(bitsPerParam <= 0.1, `${bitsPerParam} bits per parameter`);
  assert.ok(bitsPerParam > entropy, `below the positions' entropy ${entropy}: ${bitsPerParam}`);
  const f16 = (parseCompressor('topk:0.01').encode(x, 1).length * 8) / D;
  assert.ok(bitsPerParam < f16 / 2, `sign ${bitsPerParam} against fp16 values ${f16}`);
});
