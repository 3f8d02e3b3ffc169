/**
 * UploadLedger.place, where the aggregator puts an upload that is not for the round it is
 * collecting: kept for the round about to open, folded into e once if its round closed
 * without it (weighted as a member of that round), dropped as a duplicate if that round
 * counted it, refused as unknown if this aggregator never closed it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { senderTag } from '../../shared/protocol/frames.ts';
import { UploadLedger } from '../../client/roles/upload-ledger.ts';

function ledger(): { ledger: UploadLedger; folded: { values: number[]; size: number }[] } {
  const folded: { values: number[]; size: number }[] = [];
  const uploads = new UploadLedger(100, (vector, size) => folded.push({ values: [...vector], size }));
  return { ledger: uploads, folded };
}

const upload = (round: number, value: number) => ({ round, vector: Float32Array.of(value), aux: value });

test('an upload of the round about to open is kept for it, and only for senders accepted then', () => {
  const { ledger: uploads, folded } = ledger();
  assert.equal(uploads.place('w1', upload(5, 1), 5), 'early');
  assert.equal(uploads.place('w2', upload(5, 2), 5), 'early');
  const taken = uploads.takeEarly(5, (from) => from === 'w2');
  assert.deepEqual(
    taken.map((e) => [e.from, e.vector[0], e.aux]),
    [['w2', 2, 2]],
  );
  assert.deepEqual(
    uploads.takeEarly(5, () => true),
    [],
    'taken once; the refused one is forgotten',
  );
  assert.deepEqual(folded, []);
});

test('an upload of a closed round is folded once, at its weight in that round; a counted one is a duplicate', () => {
  const { ledger: uploads, folded } = ledger();
  uploads.remember(3, [senderTag('w1'), senderTag('w2'), senderTag('self')]);
  assert.equal(uploads.place('w3', upload(3, 7), 4), 'fold');
  assert.equal(uploads.place('w3', upload(3, 7), 4), 'duplicate', 'folded once');
  assert.equal(uploads.place('w1', upload(3, 1), 4), 'duplicate', 'already counted in round 3');
  assert.deepEqual(folded, [{ values: [7], size: 3 }]);
  assert.deepEqual(uploads.takeFolds(), [{ peerId: 'w3', round: 3 }]);
  assert.deepEqual(uploads.takeFolds(), []);
});

test('a round named as about to open but already closed is late, not early; an unknown round is refused', () => {
  const { ledger: uploads, folded } = ledger();
  uploads.remember(6, [senderTag('w1')]);
  assert.equal(uploads.place('w2', upload(6, 5), 6), 'fold');
  assert.equal(uploads.place('w2', upload(2, 5), null), 'unknown');
  assert.equal(uploads.place('w2', upload(9, 5), null), 'unknown', 'no round is about to open');
  assert.deepEqual(
    uploads.takeEarly(6, () => true),
    [],
  );
  assert.deepEqual(folded, [{ values: [5], size: 1 }]);
});

test('forget drops what a sender has kept for the next round', () => {
  const { ledger: uploads } = ledger();
  assert.equal(uploads.place('w1', upload(1, 1), 1), 'early');
  uploads.forget('w1');
  assert.deepEqual(
    uploads.takeEarly(1, () => true),
    [],
  );
});
