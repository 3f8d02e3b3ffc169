import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { OutgoingFrame } from '../../client/roles/context.ts';
import type { AppliedBroadcast } from '../../client/roles/local-state.ts';
import { WorkerRoster } from '../../client/roles/worker-roster.ts';
import { decodeBroadcastMeta } from '../../shared/protocol/broadcast-meta.ts';
import { MODEL_START_OVER, senderTag } from '../../shared/protocol/frames.ts';
import { createRoleHarness } from '../support/role-harness.ts';

const TERM = 3;

function roster(): {
  workers: WorkerRoster;
  counted: OutgoingFrame[];
  h: ReturnType<typeof createRoleHarness>;
} {
  const h = createRoleHarness();
  const counted: OutgoingFrame[] = [];
  return { workers: new WorkerRoster(h.ctx, TERM, (frame) => counted.push(frame)), counted, h };
}

const broadcast = (round: number, counted: string[]): AppliedBroadcast => ({
  round,
  term: TERM,
  counted: counted.map(senderTag),
  payload: Uint8Array.of(1, 2, 3),
  sync: false,
});

test('sendModels serves the waiting workers in the order they asked, then they are in step', () => {
  const { workers, h } = roster();
  workers.markInStep('w1');
  workers.admit('w2');
  workers.awaitModel('w3');
  workers.admit('w2'); // asks again: keeps its place
  assert.equal(workers.size, 3);
  workers.sendModels(4);
  assert.deepEqual(
    h.sent.map((s) => [s.to, s.frame.type, s.frame.term, s.frame.round]),
    [
      ['w2', 'model', TERM, 4],
      ['w3', 'model', TERM, 4],
    ],
  );
  assert.deepEqual([...workers.inStep], ['w1', 'w2', 'w3']);
  workers.sendModels(5); // nobody waits any more
  assert.equal(h.sent.length, 2);
});

test('a broadcast skips `except`, sends an unchanged counted list as "same", and in full again after admit', () => {
  const { workers, counted, h } = roster();
  for (const id of ['w1', 'w2', 'w3']) workers.markInStep(id);
  assert.deepEqual(workers.sendBroadcast(broadcast(0, ['w1', 'w2'])), ['w1', 'w2', 'w3']);
  assert.deepEqual(workers.sendBroadcast(broadcast(1, ['w1', 'w2']), 'w3'), ['w1', 'w2']);
  workers.admit('w1'); // what it was sent is unknown now
  workers.markInStep('w1');
  workers.sendBroadcast(broadcast(2, ['w1', 'w2']));
  const tagsOf = (to: string): unknown[] =>
    h.sentTo(to, 'broadcast').map((f) => decodeBroadcastMeta(f.meta).tags);
  const full = [senderTag('w1'), senderTag('w2')].sort((a, b) => a - b);
  assert.deepEqual(tagsOf('w1'), [full, 'same', full]);
  assert.deepEqual(tagsOf('w2'), [full, 'same', 'same']);
  assert.deepEqual(tagsOf('w3'), [full, 'same']);
  assert.equal(counted.length, h.sent.length, 'every frame sent is counted for the report');
});

test('a worker whose link opens is sent the counted list in full: what it was sent before may never have reached it', () => {
  const { workers, h } = roster();
  // A new aggregator counts every member in step from the start of its term, one whose link
  // is still down too (its old aggregator, frozen): the full list went nowhere.
  for (const id of ['w1', 'w2']) workers.markInStep(id);
  workers.sendBroadcast(broadcast(0, ['w1', 'w2']));
  workers.sendBroadcast(broadcast(1, ['w1', 'w2']));
  workers.linked('w1');
  workers.sendBroadcast(broadcast(2, ['w1', 'w2']));
  workers.sendBroadcast(broadcast(3, ['w1', 'w2']));
  const tagsOf = (to: string): unknown[] =>
    h.sentTo(to, 'broadcast').map((f) => decodeBroadcastMeta(f.meta).tags);
  const full = [senderTag('w1'), senderTag('w2')].sort((a, b) => a - b);
  assert.deepEqual(tagsOf('w1'), [full, 'same', full, 'same']);
  assert.deepEqual(tagsOf('w2'), [full, 'same', 'same', 'same']);
});

test('remove forgets a worker in step or waiting; controls go to those in step with the given round', () => {
  const { workers, h } = roster();
  workers.markInStep('w1');
  workers.markInStep('w2');
  workers.awaitModel('w3');
  workers.remove('w2');
  workers.remove('w3');
  assert.equal(workers.size, 1);
  workers.sendControlToInStep({ kind: 'done', round: 7, testAccuracy: null }, 7);
  workers.sendModels(7);
  assert.deepEqual(
    h.sent.map((s) => [s.to, s.frame.type, s.frame.round]),
    [['w1', 'control', 7]],
  );
});

test("after a rollback each worker's first model starts it over; later ones keep what it holds", () => {
  const { workers, h } = roster();
  workers.admit('w1');
  workers.sendModels(2);
  workers.admit('w1'); // out of step before any rollback: keeps its own
  workers.sendModels(3);
  workers.admit('w2');
  workers.sendModels(5, true); // the rollback: w1 is in step, only w2 waits
  workers.admit('w3'); // back from the abandoned model
  workers.admit('w2'); // out of step again, after it had the rolled-back model
  workers.sendModels(6);
  assert.deepEqual(
    h.sent.map((s) => [s.to, s.frame.round, s.frame.aux]),
    [
      ['w1', 2, 0],
      ['w1', 3, 0],
      ['w2', 5, MODEL_START_OVER],
      ['w3', 6, MODEL_START_OVER],
      ['w2', 6, 0],
    ],
  );
});
