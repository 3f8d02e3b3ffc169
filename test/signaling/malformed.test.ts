import { test } from 'node:test';
import assert from 'node:assert/strict';
import { errorEventSchema, errorReplySchema } from '../../shared/protocol/signaling.ts';
import {
  createSession,
  joinedClient,
  onceSocket,
  rawSocket,
  startServer,
  type RawSocket,
} from './helpers.ts';

/** Emits with an ack and returns the error the server answered with. */
async function errorReply(socket: RawSocket, event: string, ...args: unknown[]) {
  const reply: unknown = await socket.timeout(5000).emitWithAck(event, ...args);
  return errorReplySchema.parse(reply).error;
}

const BAD_JOINS: [string, unknown[]][] = [
  ['no payload', []],
  ['undefined', [undefined]],
  ['null', [null]],
  ['a number', [42]],
  ['a string', ['join me']],
  ['an array', [['sessionId', 'token']]],
  ['an empty object', [{}]],
  ['wrong field types', [{ sessionId: 12345678, token: true, kind: 'headless' }]],
  ['an unknown kind', [{ sessionId: 'abcdefgh', token: 'x', kind: 'toaster' }]],
  [
    'a peerId with bad characters',
    [{ sessionId: 'abcdefgh', token: 'x', kind: 'browser', peerId: '../etc' }],
  ],
  ['a huge token', [{ sessionId: 'abcdefgh', token: 'x'.repeat(10_000), kind: 'browser' }]],
  [
    'too many capabilities',
    [{ sessionId: 'abcdefgh', token: 'x', kind: 'browser', capabilities: manyKeys(100) }],
  ],
  [
    'nested capabilities',
    [{ sessionId: 'abcdefgh', token: 'x', kind: 'browser', capabilities: { a: { b: 1 } } }],
  ],
  ['a binary payload', [Buffer.from([1, 2, 3])]],
  ['__proto__ games', [JSON.parse('{"__proto__": {"polluted": true}, "kind": "browser"}')]],
];

function manyKeys(n: number): Record<string, number> {
  return Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i]));
}

test('malformed session:join payloads get BAD_REQUEST and a closed socket; the server lives on', async (t) => {
  const { url } = await startServer(t);
  for (const [label, args] of BAD_JOINS) {
    const socket = await rawSocket(t, url);
    const closed = onceSocket(socket, 'disconnect');
    const error = await errorReply(socket, 'session:join', ...args);
    assert.equal(error.code, 'BAD_REQUEST', label);
    assert.equal(error.fatal, true, label);
    assert.equal(await closed, 'io server disconnect', label);
  }
  assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
  const session = await createSession(t, url);
  const client = await joinedClient(t, url, session);
  assert.equal(client.connected, true);
});

test('malformed messages from a joined peer: BAD_REQUEST, socket closed, peer removed', async (t) => {
  const { url } = await startServer(t);
  const session = await createSession(t, url);
  const watcher = await joinedClient(t, url, session);
  const cases: [string, unknown[]][] = [
    ['signal', [{ to: 'x' }]],
    ['signal', [{ to: 42, data: {} }]],
    ['peer:ready', [{ ready: 'yes' }]],
    ['round:report', [{ term: -1, round: 0, participants: [], bytes: { up: 0, down: 0 } }]],
    ['round:report', [{ term: 1, round: 1.5, participants: [], bytes: { up: 0, down: 0 } }]],
    ['heartbeat', [{ round: 'three' }]],
    ['heartbeat', [{ stats: { bytes: 'many' } }]],
    ['no-such-event', [{}]],
  ];
  for (const [event, args] of cases) {
    const socket = await rawSocket(t, url);
    const reply: unknown = await socket.emitWithAck('session:join', { ...session, kind: 'headless' });
    assert.equal(typeof reply === 'object' && reply !== null && 'ok' in reply && reply.ok, true);
    const left = new Promise<string>((resolve) => {
      const off = watcher.on('peer:left', (ev) => {
        off();
        resolve(ev.reason);
      });
    });
    const closed = onceSocket(socket, 'disconnect');
    const error = await errorReply(socket, event, ...args);
    assert.equal(error.code, 'BAD_REQUEST', `${event} ${JSON.stringify(args)}`);
    assert.equal(await closed, 'io server disconnect');
    assert.equal(await left, 'disconnect');
  }
  assert.equal(watcher.session?.peers.size, 1);
});

test('without an ack, the failure arrives as an error event', async (t) => {
  const { url } = await startServer(t);
  const socket = await rawSocket(t, url);
  const errorEvent = onceSocket(socket, 'error');
  const closed = onceSocket(socket, 'disconnect');
  socket.emit('session:join', 'not an object');
  const ev = errorEventSchema.parse(await errorEvent);
  assert.equal(ev.code, 'BAD_REQUEST');
  assert.equal(ev.event, 'session:join');
  assert.equal(await closed, 'io server disconnect');
});

test('session messages before joining get NOT_JOINED and the socket stays open', async (t) => {
  const { url } = await startServer(t);
  const socket = await rawSocket(t, url);
  for (const event of ['signal', 'peer:ready', 'round:report']) {
    const error = await errorReply(socket, event, {});
    assert.equal(error.code, 'NOT_JOINED', event);
    assert.equal(error.fatal, false);
  }
  assert.equal(socket.connected, true);
});

test('a message over maxMessageBytes closes the connection, not the server', async (t) => {
  const { url } = await startServer(t, { maxMessageBytes: 10_000 });
  const socket = await rawSocket(t, url);
  const closed = onceSocket(socket, 'disconnect');
  socket.emit('session:create', { config: {}, padding: 'x'.repeat(20_000) });
  assert.equal(await closed, 'transport close');
  const res = await fetch(`${url}/healthz`);
  assert.equal(res.status, 200);
});
