import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sessionIdSchema, peerIdSchema } from '../../shared/protocol/signaling.ts';
import { randomId } from '../../signaling/ids.ts';

test('random ids never start with - or _ (they are passed on command lines as --session <id>)', () => {
  // With plain base64url, 1 id in 32 starts with one of them: 20,000 draws would show ~625.
  for (let i = 0; i < 20_000; i++) {
    const sessionId = randomId(12);
    assert.match(sessionId, /^[A-Za-z0-9]/);
    assert.equal(sessionIdSchema.safeParse(sessionId).success, true);
    const peerId = randomId(6);
    assert.match(peerId, /^[A-Za-z0-9]/);
    assert.equal(peerIdSchema.safeParse(peerId).success, true);
  }
});
