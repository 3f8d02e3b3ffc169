/**
 * Held model weights on a real server (port 0): PUT /models/<sha256> checks the hash and
 * the size (413 past maxCustomModelBytes, 400 on a mismatch, 401 without the operator's
 * token), GET serves the bytes or a 404 naming the hash, session:create refuses a model whose
 * weights are not held whole, a peer's fetch checks length and hash, and with Redis an upload
 * to one instance is served by another. MemoryModelStore's bounds with a fake clock.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { TrainingError } from '../../client/training/errors.ts';
import {
  customModelWeights,
  fetchSessionModelWeights,
  uploadModelWeights,
} from '../../client/training/model-weights.ts';
import type { CustomModel } from '../../shared/protocol/custom-model.ts';
import { SignalingError } from '../../shared/protocol/signaling.ts';
import { MemoryModelStore } from '../../signaling/model-store.ts';
import { REDIS_SKIP, startInstances, startRedis } from '../scale/support.ts';
import { connectedClient, startServer } from './helpers.ts';

/** Dense 784 -> 10: 7,850 float32 values, 31,400 bytes. */
const WEIGHT_BYTES = 31_400;

function weights(seed: number, bytes = WEIGHT_BYTES): Uint8Array<ArrayBuffer> {
  return Uint8Array.from({ length: bytes }, (_, i) => (i * 31 + seed * 7) % 251);
}

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** A one-layer model naming its weights by hash (the model hash is not what these tests check). */
function heldModel(weightsSha256: string): CustomModel {
  return {
    format: 'layers-model',
    modelTopology: {
      class_name: 'Sequential',
      config: {
        name: 's',
        layers: [{ class_name: 'Dense', config: { name: 'd', units: 10, batch_input_shape: [null, 784] } }],
      },
    },
    weightSpecs: [
      { name: 'd/kernel', shape: [784, 10], dtype: 'float32' },
      { name: 'd/bias', shape: [10], dtype: 'float32' },
    ],
    weightsSha256,
    sha256: '0'.repeat(64),
  };
}

async function put(url: string, key: string, body: Uint8Array<ArrayBuffer>, token?: string) {
  const response = await fetch(`${url}/models/${key}`, {
    method: 'PUT',
    body,
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
}

async function rejectsWith(promise: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    const named = error instanceof SignalingError || error instanceof TrainingError ? error.code : undefined;
    assert.equal(named, code, String(error));
    assert.match(error instanceof Error ? error.message : '', message);
    return true;
  });
}

test('PUT and GET /models/<sha256>: hash and size checked, refusals named, the server keeps serving', async (t) => {
  const { url } = await startServer(t, { maxCustomModelBytes: 40_000 });
  const bytes = weights(1);
  const key = sha256(bytes);
  assert.deepEqual(await put(url, key, bytes), { status: 201, body: { sha256: key, bytes: WEIGHT_BYTES } });
  const got = await fetch(`${url}/models/${key}`);
  assert.equal(got.status, 200);
  assert.deepEqual(new Uint8Array(await got.arrayBuffer()), bytes);
  assert.equal(
    (await fetch(`${url}/models/${key}`, { method: 'HEAD' })).headers.get('content-length'),
    '31400',
  );

  const other = sha256(weights(2));
  const mismatch = await put(url, other, bytes);
  assert.equal(mismatch.status, 400);
  assert.equal(mismatch.body['code'], 'MODEL_HASH_MISMATCH');
  const missing = await fetch(`${url}/models/${other}`);
  assert.equal(missing.status, 404);
  const missingBody = (await missing.json()) as { code: string; error: string };
  assert.equal(missingBody.code, 'MODEL_NOT_FOUND');
  assert.match(missingBody.error, new RegExp(other));

  const big = weights(3, 50_000);
  const declared = await put(url, sha256(big), big);
  assert.equal(declared.status, 413);
  assert.match(
    String(declared.body['error']),
    /50000 bytes, over this server's limit of 40000 \(maxCustomModelBytes\)/,
  );
  // Without a content-length (streamed): cut off once past the limit.
  const streamed = await fetch(`${url}/models/${sha256(big)}`, {
    method: 'PUT',
    body: new ReadableStream({
      start(controller) {
        controller.enqueue(big);
        controller.close();
      },
    }),
    duplex: 'half',
  } as RequestInit);
  assert.equal(streamed.status, 413);
  await rejectsWith(uploadModelWeights(url, big), 'CUSTOM_MODEL_WEIGHTS', /413 .*maxCustomModelBytes/);

  assert.equal((await fetch(`${url}/models/not-a-hash`)).status, 400);
  assert.equal((await fetch(`${url}/models/${key}`, { method: 'POST' })).status, 405);
  assert.equal((await fetch(`${url}/healthz`)).status, 200, 'still serving');
});

test('session:create refuses held weights that are missing, short or over the limit', async (t) => {
  const { url } = await startServer(t, { maxCustomModelBytes: 40_000 });
  const client = await connectedClient(t, url);
  const bytes = weights(4);
  const key = sha256(bytes);
  await rejectsWith(
    client.create({ customModel: heldModel(key) }),
    'INVALID_CONFIG',
    /not on this server: upload/,
  );
  const short = weights(4, WEIGHT_BYTES - 4);
  assert.equal((await put(url, sha256(short), short)).status, 201);
  await rejectsWith(
    client.create({ customModel: heldModel(sha256(short)) }),
    'INVALID_CONFIG',
    /31396 bytes, the model's specs announce 31400/,
  );
  const large = {
    ...heldModel(key),
    weightSpecs: [{ name: 'd/kernel', shape: [784, 20], dtype: 'float32' as const }],
  };
  await rejectsWith(
    client.create({ customModel: large }),
    'INVALID_CONFIG',
    /62720 bytes, over this server's limit/,
  );
  assert.equal((await put(url, key, bytes)).status, 201);
  const created = await client.create({ customModel: heldModel(key) });
  assert.equal(created.config.customModel?.weightsSha256, key);
});

test('with an operator token an upload needs it', async (t) => {
  const token = 'operator-token-of-some-length';
  const { url } = await startServer(t, { operatorToken: token });
  const bytes = weights(5);
  const refused = await put(url, sha256(bytes), bytes);
  assert.equal(refused.status, 401);
  assert.equal(refused.body['code'], 'OPERATOR_REQUIRED');
  assert.equal((await put(url, sha256(bytes), bytes, token)).status, 201);
});

test('a peer fetches held weights and refuses bytes that are not the ones named', async (t) => {
  const { url } = await startServer(t);
  const bytes = weights(6);
  const model = heldModel(sha256(bytes));
  await rejectsWith(
    fetchSessionModelWeights(url, model),
    'CUSTOM_MODEL_WEIGHTS',
    /404 no model weights with SHA-256/,
  );
  assert.throws(() => customModelWeights(model), /were not fetched/);
  // Bytes the server did not check (another server, a proxy): the peer checks them itself.
  const serve = (body: Uint8Array<ArrayBuffer>) => ({
    fetch: () => Promise.resolve(new Response(body)),
  });
  const tampered = bytes.slice();
  tampered[100] = (tampered[100] ?? 0) ^ 1;
  await rejectsWith(
    fetchSessionModelWeights(url, model, serve(tampered)),
    'CUSTOM_MODEL_WEIGHTS',
    /SHA-256 is/,
  );
  await rejectsWith(
    fetchSessionModelWeights(url, model, serve(bytes.slice(4))),
    'CUSTOM_MODEL_WEIGHTS',
    /got 31396 bytes of weights, the model's specs announce 31400/,
  );
  assert.equal((await put(url, sha256(bytes), bytes)).status, 201);
  await fetchSessionModelWeights(url, model);
  assert.deepEqual(customModelWeights(model), bytes);
});

test(
  'with Redis, weights uploaded to one instance are served and accepted by another',
  { skip: REDIS_SKIP, timeout: 30_000 },
  async (t) => {
    const redis = await startRedis(t);
    const [a, b] = await startInstances(t, redis.url, 2);
    assert.ok(a !== undefined && b !== undefined);
    const bytes = weights(7);
    const key = sha256(bytes);
    assert.equal((await put(a.url, key, bytes)).status, 201);
    const got = await fetch(`${b.url}/models/${key}`);
    assert.equal(got.status, 200);
    assert.deepEqual(new Uint8Array(await got.arrayBuffer()), bytes);
    const client = await connectedClient(t, b.url);
    const created = await client.create({ customModel: heldModel(key) });
    assert.equal(created.config.customModel?.weightsSha256, key);
    assert.equal((await fetch(`${b.url}/models/${sha256(weights(8))}`)).status, 404);
  },
);

test('MemoryModelStore drops the least recently used model past its bytes, and unused ones past the TTL', async () => {
  let now = 0;
  const store = new MemoryModelStore({ maxHeldBytes: 250, ttlMs: 1000, now: () => now });
  await store.put('a', new Uint8Array(100));
  await store.put('b', new Uint8Array(100));
  assert.equal((await store.get('a'))?.byteLength, 100); // a is now the most recent
  await store.put('c', new Uint8Array(100)); // 300 > 250: b goes
  assert.equal(await store.sizeOf('b'), undefined);
  assert.equal(await store.sizeOf('a'), 100);
  assert.equal(store.heldBytes, 200);
  now = 999;
  assert.equal((await store.get('c'))?.byteLength, 100);
  now = 1500; // a unused for 1500 ms, c for 501
  assert.equal(await store.sizeOf('a'), undefined);
  assert.equal(await store.sizeOf('c'), 100);
  assert.equal(store.heldBytes, 100);
});
