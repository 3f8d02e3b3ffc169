/**
 * `setImmediate` and `clearImmediate` for the browser bundle (injected by esbuild where the
 * code names them; browsers have neither). The peer runtime's roles use setImmediate to run
 * the next step after queued messages, without the 4 ms clamp nested setTimeout(0) gets:
 * this shim posts to a MessageChannel, which runs as a task right after pending ones.
 *
 * @example
 * const handle = setImmediate(() => console.log('next task'));
 * clearImmediate(handle);
 */

type Callback = (...args: unknown[]) => void;

const pending = new Map<number, () => void>();
let nextHandle = 1;
let channel: MessageChannel | undefined;

/**
 * Node's MessagePort (tests run this shim in Node) keeps the process alive while it listens:
 * hold it only while callbacks are pending. Browsers' ports have no ref/unref.
 */
function holdOpen(port: MessagePort, hold: boolean): void {
  const method: unknown = Reflect.get(port, hold ? 'ref' : 'unref');
  if (typeof method === 'function') Reflect.apply(method, port, []);
}

function port(): MessagePort {
  if (channel === undefined) {
    const created = new MessageChannel();
    channel = created;
    created.port1.onmessage = (event: MessageEvent<unknown>) => {
      const handle = typeof event.data === 'number' ? event.data : -1;
      const run = pending.get(handle);
      pending.delete(handle);
      if (pending.size === 0) holdOpen(created.port1, false);
      run?.();
    };
  }
  return channel.port2;
}

/** Runs `callback(...args)` as a new task, after the tasks already queued. */
function setImmediateShim(callback: Callback, ...args: unknown[]): number {
  const handle = nextHandle++;
  pending.set(handle, () => callback(...args));
  const sender = port();
  if (channel !== undefined) holdOpen(channel.port1, true);
  sender.postMessage(handle);
  return handle;
}

function clearImmediateShim(handle: number | undefined): void {
  if (handle !== undefined) pending.delete(handle);
  if (pending.size === 0 && channel !== undefined) holdOpen(channel.port1, false);
}

export { setImmediateShim as setImmediate, clearImmediateShim as clearImmediate };
