import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCompressor } from '../../shared/compress/index.ts';
import { expectCode } from './helpers.ts';

test('specs parse to their canonical form', () => {
  const canonical: Array<[string, string]> = [
    ['identity', 'identity'],
    ['fp16', 'fp16'],
    ['topk:0.01', 'topk:0.01'],
    ['topk:1e-2', 'topk:0.01'],
    ['topk:0.01:f16', 'topk:0.01'],
    ['topk:.5:f32', 'topk:0.5:f32'],
    ['topk:1', 'topk:1'],
    ['randk:0.25', 'randk:0.25'],
    ['sign', 'sign'],
    ['sign:256', 'sign:256'],
    ['qsgd:4', 'qsgd:4'],
    ['qsgd:65535', 'qsgd:65535'],
    ['q8', 'q8'],
    ['q8:256', 'q8'],
    ['q8:64', 'q8:64'],
  ];
  for (const [spec, expected] of canonical) {
    const c = parseCompressor(spec);
    assert.equal(c.spec, expected, spec);
    assert.equal(parseCompressor(c.spec).spec, expected, `${spec} round trip`);
  }
});

test('bad specs are BAD_SPEC', () => {
  for (const spec of [
    '',
    'nope',
    'identity:1',
    'fp16:2',
    'topk',
    'topk:0',
    'topk:1.5',
    'topk:-0.1',
    'topk:abc',
    'topk:0.1:f64',
    'topk:0.1:f32:x',
    'topk:NaN',
    'topk:Infinity',
    'randk',
    'randk:0.1:f32',
    'sign:0',
    'sign:1.5',
    'sign:-4',
    'qsgd',
    'qsgd:0',
    'qsgd:65536',
    'q8:0',
    'q8:x',
    'TOPK:0.1',
    ' topk:0.1',
  ]) {
    expectCode(() => parseCompressor(spec), 'BAD_SPEC');
  }
});
