/**
 * The shared typed emitter (shared/typed-emitter.ts): subscription order and arguments,
 * once, off, listenerCount, removeAllListeners, listeners added or removed during an
 * emission, and the error semantics: a throwing listener neither stops the others nor reaches
 * the emitter's caller, and its error is rethrown in a microtask (captured here by mocking
 * queueMicrotask, so the test runner does not see an uncaught error).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TypedEmitter } from '../../shared/typed-emitter.ts';

interface ClockEvents {
  tick: (n: number) => void;
  message: (from: string, bytes: Uint8Array) => void;
  error: (error: Error) => void;
}

/** A TypedEmitter whose emit is public, for the tests. */
class Clock extends TypedEmitter<ClockEvents> {
  fire<K extends keyof ClockEvents>(event: K, ...args: Parameters<ClockEvents[K]>): void {
    this.emit(event, ...args);
  }
}

test('on: listeners run in subscription order with every argument; the returned function unsubscribes', () => {
  const clock = new Clock();
  const seen: string[] = [];
  clock.on('message', (from, bytes) => seen.push(`a ${from} ${bytes.length}`));
  const off = clock.on('message', (from) => seen.push(`b ${from}`));
  clock.on('tick', (n) => seen.push(`tick ${n}`));
  clock.fire('message', 'p1', new Uint8Array(3));
  off();
  off(); // twice is harmless
  clock.fire('message', 'p2', new Uint8Array(0));
  clock.fire('tick', 7);
  assert.deepEqual(seen, ['a p1 3', 'b p1', 'a p2 0', 'tick 7']);
});

test('the same listener subscribed twice runs twice; off removes the earliest subscription', () => {
  const clock = new Clock();
  const seen: number[] = [];
  const listener = (n: number): void => void seen.push(n);
  clock.on('tick', listener);
  clock.on('tick', listener);
  clock.fire('tick', 1);
  clock.off('tick', listener);
  assert.equal(clock.listenerCount('tick'), 1);
  clock.fire('tick', 2);
  clock.off('tick', listener);
  clock.off('tick', listener); // no subscription left: nothing happens
  clock.fire('tick', 3);
  assert.deepEqual(seen, [1, 1, 2]);
});

test('once: runs for the next emission only, also when that emission is nested in a listener', () => {
  const clock = new Clock();
  const seen: string[] = [];
  clock.once('tick', (n) => seen.push(`once ${n}`));
  clock.on('tick', (n) => {
    seen.push(`on ${n}`);
    if (n === 1) clock.fire('tick', 2); // the once listener comes after this one
  });
  clock.fire('tick', 1);
  clock.fire('tick', 3);
  // The once listener ran for 1 (before the nested emission of 2) and never again.
  assert.deepEqual(seen, ['once 1', 'on 1', 'on 2', 'on 3']);

  const nested = new Clock();
  const calls: number[] = [];
  nested.on('tick', (n) => {
    if (n === 1) nested.fire('tick', 2);
  });
  nested.once('tick', (n) => calls.push(n));
  nested.fire('tick', 1);
  assert.deepEqual(calls, [2], 'the nested emission consumed it; the outer one does not run it again');
  assert.equal(nested.listenerCount('tick'), 1);
});

test('once: unsubscribed before it runs, by its returned function or by off with the listener', () => {
  const clock = new Clock();
  const seen: number[] = [];
  const offFirst = clock.once('tick', (n) => seen.push(n));
  const second = (n: number): void => void seen.push(n * 10);
  clock.once('tick', second);
  assert.equal(clock.listenerCount('tick'), 2);
  offFirst();
  clock.off('tick', second);
  assert.equal(clock.listenerCount('tick'), 0);
  clock.fire('tick', 1);
  assert.deepEqual(seen, []);
});

test('listenerCount counts per event and drops as once listeners run', () => {
  const clock = new Clock();
  assert.equal(clock.listenerCount('tick'), 0);
  clock.on('tick', () => {});
  clock.once('tick', () => {});
  clock.on('error', () => {});
  assert.equal(clock.listenerCount('tick'), 2);
  assert.equal(clock.listenerCount('error'), 1);
  assert.equal(clock.listenerCount('message'), 0);
  clock.fire('tick', 1);
  assert.equal(clock.listenerCount('tick'), 1);
});

test('removeAllListeners removes one event, or every event when called without one', () => {
  const clock = new Clock();
  const seen: string[] = [];
  clock.on('tick', () => seen.push('tick'));
  clock.once('tick', () => seen.push('tick once'));
  clock.on('error', () => seen.push('error'));
  clock.removeAllListeners('tick');
  assert.equal(clock.listenerCount('tick'), 0);
  assert.equal(clock.listenerCount('error'), 1);
  clock.fire('tick', 1);
  clock.fire('error', new Error('x'));
  clock.removeAllListeners();
  clock.fire('error', new Error('y'));
  assert.equal(clock.listenerCount('error'), 0);
  assert.deepEqual(seen, ['error']);
});

test('during an emission: a listener removed by an earlier one does not run, one added runs from the next', () => {
  const clock = new Clock();
  const seen: string[] = [];
  let offB = (): void => {};
  clock.on('tick', (n) => {
    seen.push(`a ${n}`);
    if (n === 1) {
      offB();
      clock.on('tick', (m) => seen.push(`c ${m}`));
    }
  });
  offB = clock.on('tick', (n) => seen.push(`b ${n}`));
  clock.fire('tick', 1);
  clock.fire('tick', 2);
  assert.deepEqual(seen, ['a 1', 'a 2', 'c 2']);

  const cleared = new Clock();
  const ran: string[] = [];
  cleared.on('tick', () => cleared.removeAllListeners());
  cleared.on('tick', () => ran.push('second'));
  cleared.fire('tick', 1);
  assert.deepEqual(ran, [], 'removeAllListeners also stops the emission in progress');
});

test('emitting with no listener does nothing, an error event included', () => {
  const clock = new Clock();
  assert.doesNotThrow(() => clock.fire('error', new Error('nobody listens')));
  assert.doesNotThrow(() => clock.fire('tick', 1));
});

test('a throwing listener: the others still run, emit returns normally, the error is rethrown in a microtask', (t) => {
  const scheduled: (() => void)[] = [];
  t.mock.method(globalThis, 'queueMicrotask', (callback: () => void) => {
    scheduled.push(callback);
  });
  const clock = new Clock();
  const seen: string[] = [];
  const first = new Error('first listener bug');
  const third = new TypeError('third listener bug');
  clock.on('tick', () => {
    seen.push('first');
    throw first;
  });
  clock.once('tick', () => seen.push('second'));
  clock.on('tick', () => {
    seen.push('third');
    throw third;
  });
  clock.on('tick', () => seen.push('fourth'));
  assert.doesNotThrow(() => clock.fire('tick', 1));
  assert.deepEqual(seen, ['first', 'second', 'third', 'fourth']);
  assert.equal(clock.listenerCount('tick'), 3, 'the once listener is gone even though a neighbour threw');
  // One rethrow per failure, each with the listener's own error.
  assert.equal(scheduled.length, 2);
  assert.throws(
    () => scheduled[0]?.(),
    (error) => error === first,
  );
  assert.throws(
    () => scheduled[1]?.(),
    (error) => error === third,
  );
});

test('a throwing once listener is still removed', (t) => {
  const scheduled: (() => void)[] = [];
  t.mock.method(globalThis, 'queueMicrotask', (callback: () => void) => {
    scheduled.push(callback);
  });
  const clock = new Clock();
  let calls = 0;
  clock.once('tick', () => {
    calls++;
    throw new Error('bug');
  });
  clock.fire('tick', 1);
  clock.fire('tick', 2);
  assert.equal(calls, 1);
  assert.equal(scheduled.length, 1);
});

test('event names and listener signatures are checked by the compiler', () => {
  const clock = new Clock();
  // @ts-expect-error -- 'tock' is not an event of the map
  clock.on('tock', () => {});
  // @ts-expect-error -- a tick listener receives a number, not a string
  clock.on('tick', (s: string) => s.length);
  // @ts-expect-error -- message takes two arguments
  clock.fire('message', 'p1');
  assert.equal(clock.listenerCount('tick'), 1);
});
