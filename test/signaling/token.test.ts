import { test } from 'node:test';
import assert from 'node:assert/strict';
import { signSessionToken, verifySessionToken } from '../../signaling/token.ts';

const secret = Buffer.from('0123456789abcdef0123456789abcdef');

test('a token verifies for its session until it expires', () => {
  const token = signSessionToken(secret, 'session-1', 2000);
  assert.equal(verifySessionToken(secret, 'session-1', token, 1999), undefined);
  assert.equal(verifySessionToken(secret, 'session-1', token, 2000), 'TOKEN_EXPIRED');
});

test('a token for another session, another secret, or any edit is BAD_TOKEN', () => {
  const token = signSessionToken(secret, 'session-1', 5000);
  assert.equal(verifySessionToken(secret, 'session-2', token, 0), 'BAD_TOKEN');
  assert.equal(
    verifySessionToken(Buffer.from('another secret, 32 bytes long!!!'), 'session-1', token, 0),
    'BAD_TOKEN',
  );
  const [expiry, mac = ''] = token.split('.');
  // Extending the expiry without the secret must fail.
  assert.equal(verifySessionToken(secret, 'session-1', `9${expiry}.${mac}`, 0), 'BAD_TOKEN');
  assert.equal(verifySessionToken(secret, 'session-1', `0${expiry}.${mac}`, 0), 'BAD_TOKEN');
  for (let i = 0; i < mac.length; i++) {
    const flipped = mac.slice(0, i) + (mac[i] === 'A' ? 'B' : 'A') + mac.slice(i + 1);
    assert.equal(
      verifySessionToken(secret, 'session-1', `${expiry}.${flipped}`, 0),
      'BAD_TOKEN',
      `char ${i}`,
    );
  }
});

test('malformed tokens are BAD_TOKEN, never an exception', () => {
  for (const token of [
    '',
    '.',
    'abc',
    '123.',
    '.abc',
    '1.2.3',
    '1e3.' + 'A'.repeat(43),
    '-1.' + 'A'.repeat(43),
    '1.' + 'A'.repeat(44),
  ]) {
    assert.equal(verifySessionToken(secret, 'session-1', token, 0), 'BAD_TOKEN', JSON.stringify(token));
  }
});
