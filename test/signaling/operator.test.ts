import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { SignalingClient } from '../../client/signaling/index.ts';
import { SignalingError } from '../../shared/protocol/signaling.ts';
import { main } from '../../signaling/main.ts';
import { joinedClient, startServer } from './helpers.ts';

const OPERATOR_TOKEN = 'operator-token-for-tests-0123456789';

async function client(t: TestContext, url: string, operatorToken?: string): Promise<SignalingClient> {
  const c = new SignalingClient(operatorToken === undefined ? {} : { operatorToken });
  await c.connect(url);
  t.after(() => c.close());
  return c;
}

async function refusedWith(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (err: unknown) => err instanceof SignalingError && err.code === code);
}

function metricsOf(url: string, token?: string): Promise<Response> {
  return fetch(
    `${url}/metrics`,
    token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } },
  );
}

test('with an operator token: create, snapshots, rollback and /metrics are refused without it', async (t) => {
  const { url } = await startServer(t, { operatorToken: OPERATOR_TOKEN, operatorRelayTimeoutMs: 300 });
  const anyone = await client(t, url);
  await refusedWith(anyone.create({ rounds: 5 }), 'OPERATOR_REQUIRED');
  const impostor = await client(t, url, 'operator-token-for-tests-0123456788');
  await refusedWith(impostor.create({ rounds: 5 }), 'OPERATOR_REQUIRED');

  const operator = await client(t, url, OPERATOR_TOKEN);
  const created = await operator.create({ rounds: 5 });
  // A peer with the session token still joins without being an operator.
  await joinedClient(t, url, created, { ready: true });
  await refusedWith(anyone.listSnapshots(created.sessionId), 'OPERATOR_REQUIRED');
  await refusedWith(anyone.rollback(created.sessionId, 4), 'OPERATOR_REQUIRED');
  // The operator gets through to the relay: this member is no peer runtime and never answers.
  await refusedWith(operator.listSnapshots(created.sessionId), 'TIMEOUT');
  await refusedWith(operator.listSnapshots('nosuchsession'), 'UNKNOWN_SESSION');

  const refused = await metricsOf(url);
  assert.equal(refused.status, 401);
  assert.match(refused.headers.get('www-authenticate') ?? '', /^Bearer/);
  assert.equal(((await refused.json()) as { code: string }).code, 'OPERATOR_REQUIRED');
  assert.equal((await metricsOf(url, 'Bearer-but-wrong-token-000000000')).status, 401);
  const scraped = await metricsOf(url, OPERATOR_TOKEN);
  assert.equal(scraped.status, 200);
  const text = await scraped.text();
  assert.match(text, /^liec_refused_requests_total\{event="session:create",code="OPERATOR_REQUIRED"\} 2$/m);
  assert.match(text, /^liec_refused_requests_total\{event="snapshots:list",code="OPERATOR_REQUIRED"\} 1$/m);
  assert.match(text, /^liec_refused_requests_total\{event="session:rollback",code="OPERATOR_REQUIRED"\} 1$/m);
  assert.match(text, /^liec_sessions 1$/m);
  assert.match(text, /^liec_peers\{kind="headless",role="aggregator"\} 1$/m);
});

test('open mode (no operator token): anyone creates sessions and reads /metrics', async (t) => {
  const { url } = await startServer(t);
  const anyone = await client(t, url);
  const created = await anyone.create({ rounds: 5 });
  assert.ok(created.sessionId.length >= 8);
  const scraped = await metricsOf(url);
  assert.equal(scraped.status, 200);
  assert.match(await scraped.text(), /^liec_sessions 1$/m);
  // A session without an aggregator has nobody to answer for its snapshots.
  await refusedWith(anyone.listSnapshots(created.sessionId), 'NO_AGGREGATOR');
});

test('the server CLI is closed by default (a random operator token), open with --open', async (t) => {
  const base = ['--port', '0', '--host', '127.0.0.1', '--signaling-only', '--log-level', 'silent'];
  const closed = await main(base, {});
  t.after(() => closed.stop());
  const made = closed.options.operatorToken;
  assert.ok(made !== undefined && made.length >= 16, 'a random operator token');
  await refusedWith((await client(t, closed.url)).create({}), 'OPERATOR_REQUIRED');
  assert.ok((await (await client(t, closed.url, made)).create({})).sessionId);

  const fromEnv = await main(base, { LIEC_OPERATOR_TOKEN: OPERATOR_TOKEN });
  t.after(() => fromEnv.stop());
  assert.equal(fromEnv.options.operatorToken, OPERATOR_TOKEN);

  const open = await main([...base, '--open'], {});
  t.after(() => open.stop());
  assert.equal(open.options.operatorToken, undefined);
  assert.ok((await (await client(t, open.url)).create({})).sessionId);
  await assert.rejects(main([...base, '--open'], { LIEC_OPERATOR_TOKEN: OPERATOR_TOKEN }), RangeError);
});
