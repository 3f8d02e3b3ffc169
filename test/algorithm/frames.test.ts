import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  FrameError,
  decodeFrame,
  decodeTags,
  encodeFrame,
  encodeTags,
  frameBytes,
  senderTag,
  type Frame,
} from '../../shared/protocol/frames.ts';

const sample: Frame = {
  type: 'broadcast',
  term: 3,
  round: 41,
  sender: senderTag('peer-a'),
  aux: 0.25,
  meta: encodeTags([1, 2, 0xffffffff]),
  payload: new Uint8Array([3, 10, 0, 0, 0, 9, 9]),
};

test('frames round-trip every field and have the exact documented size', () => {
  const bytes = encodeFrame(sample);
  assert.equal(bytes.length, frameBytes(12, 7));
  const frame = decodeFrame(bytes);
  assert.equal(frame.type, 'broadcast');
  assert.equal(frame.term, 3);
  assert.equal(frame.round, 41);
  assert.equal(frame.sender, senderTag('peer-a'));
  assert.equal(frame.aux, 0.25);
  assert.deepEqual(decodeTags(frame.meta), [1, 2, 0xffffffff]);
  assert.deepEqual(frame.payload, sample.payload);
});

test('malformed frames are rejected with stable codes', () => {
  const bytes = encodeFrame(sample);
  const code = (b: Uint8Array) => {
    try {
      decodeFrame(b);
      return 'accepted';
    } catch (e) {
      assert.ok(e instanceof FrameError);
      return e.code;
    }
  };
  assert.equal(code(bytes.subarray(0, 10)), 'FRAME_TRUNCATED');
  assert.equal(code(bytes.subarray(0, bytes.length - 1)), 'FRAME_LENGTH');
  const wrongVersion = Uint8Array.from(bytes);
  wrongVersion[0] = 99;
  assert.equal(code(wrongVersion), 'FRAME_VERSION');
  const wrongType = Uint8Array.from(bytes);
  wrongType[1] = 200;
  assert.equal(code(wrongType), 'FRAME_TYPE');
  const wrongCodec = Uint8Array.from(bytes);
  wrongCodec[2] = 7;
  assert.equal(code(wrongCodec), 'FRAME_FIELD');
  const nanAux = Uint8Array.from(bytes);
  new DataView(nanAux.buffer).setFloat32(16, NaN, true);
  assert.equal(code(nanAux), 'FRAME_FIELD');
  assert.throws(() => encodeFrame({ ...sample, round: -1 }), FrameError);
  assert.throws(() => decodeTags(new Uint8Array(3)), FrameError);
});

test('random bytes never crash the frame decoder', () => {
  let seed = 1;
  for (let n = 0; n < 2000; n++) {
    const length = n % 64;
    const bytes = new Uint8Array(length);
    for (let i = 0; i < length; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      bytes[i] = seed >>> 24;
    }
    try {
      decodeFrame(bytes);
    } catch (e) {
      assert.ok(e instanceof FrameError);
    }
  }
});
