/**
 * Sessions by invitation, on a real server (port 0) and real sockets: the creator gets a host
 * token (it joins, and mints invitations) and no token open to anyone exists; each invitation
 * admits one peer id, given to the peer that joins with it; an expelled peer's invitation is
 * refused like its id, so the device cannot come back under another id. Tokens of one kind
 * never pass for another (signaling/token.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SignalingError } from '../../shared/protocol/signaling.ts';
import {
  signHostToken,
  signInvitation,
  signSessionToken,
  verifyHostToken,
  verifyJoinToken,
  verifySessionToken,
} from '../../signaling/token.ts';
import { connectedClient, joinedClient, nextEvent, startServer } from './helpers.ts';

const refusal = (code: string) => (err: unknown) => err instanceof SignalingError && err.code === code;

test('host tokens and invitations: each admits what it names and passes for nothing else', () => {
  const secret = Buffer.from('a secret of at least thirty-two bytes!!');
  const host = signHostToken(secret, 's1', 5000);
  const invitation = signInvitation(secret, 's1', 'p1', 5000);
  const open = signSessionToken(secret, 's1', 5000);
  assert.deepEqual(verifyJoinToken(secret, 's1', host, 0), {});
  assert.deepEqual(verifyJoinToken(secret, 's1', invitation, 0), { peerId: 'p1' });
  assert.deepEqual(verifyJoinToken(secret, 's1', open, 0), {});
  assert.deepEqual(verifyJoinToken(secret, 's1', invitation, 5000), { problem: 'TOKEN_EXPIRED' });
  // Another session, another peer id, another kind: refused.
  assert.deepEqual(verifyJoinToken(secret, 's2', invitation, 0), { problem: 'BAD_TOKEN' });
  const otherId = invitation.replace('i.p1.', 'i.p2.');
  assert.deepEqual(verifyJoinToken(secret, 's1', otherId, 0), { problem: 'BAD_TOKEN' });
  assert.equal(
    verifySessionToken(secret, 's1', host.slice(2), 0),
    'BAD_TOKEN',
    'a host token is no session token',
  );
  assert.equal(verifyHostToken(secret, 's1', `h.${open}`, 0), 'BAD_TOKEN', 'nor the other way round');
  const bare = invitation.slice('i.p1.'.length);
  assert.deepEqual(verifyJoinToken(secret, 's1', bare, 0), { problem: 'BAD_TOKEN' });
  assert.deepEqual(verifyJoinToken(secret, 's1', `h.${bare}`, 0), { problem: 'BAD_TOKEN' });
  assert.deepEqual(verifyJoinToken(secret, 's1', 'i.p1.', 0), { problem: 'BAD_TOKEN' });
});

test('a session by invitation: the host joins and invites, each invitation admits its own id, an expelled device stays out', async (t) => {
  const { url } = await startServer(t, { maxOffences: 1 });
  const creator = await connectedClient(t, url);
  const created = await creator.create({ rounds: 10 }, { invitations: true });
  creator.close();
  assert.equal(created.invitations, true);
  assert.match(created.token, /^h\./);
  const { sessionId } = created;
  const host = await joinedClient(
    t,
    url,
    { sessionId, token: created.token },
    { peerId: 'host', ready: true },
  );

  // Only the host token mints; a count gives new ids, names give those ids.
  const minter = await connectedClient(t, url);
  const { invitations } = await minter.invite(sessionId, created.token, { count: 2 });
  assert.equal(invitations.length, 2);
  assert.notEqual(invitations[0]?.peerId, invitations[1]?.peerId);
  const named = await minter.invite(sessionId, created.token, { peerIds: ['sensor-7'] });
  assert.deepEqual(
    named.invitations.map((i) => i.peerId),
    ['sensor-7'],
  );
  const [first, second] = invitations;
  assert.ok(first !== undefined && second !== undefined);
  await assert.rejects(minter.invite(sessionId, first.token, { count: 1 }), refusal('BAD_TOKEN'));
  await assert.rejects(minter.invite('nosuchsession', created.token, { count: 1 }), refusal('BAD_TOKEN'));

  // The peer joining with an invitation gets its id; another id with it is refused.
  const a = await connectedClient(t, url);
  const joinedA = await a.join({ sessionId, token: first.token, kind: 'headless', ready: true });
  assert.equal(joinedA.peerId, first.peerId);
  const impostor = await connectedClient(t, url);
  await assert.rejects(
    impostor.join({ sessionId, token: second.token, kind: 'headless', peerId: 'someone-else' }),
    refusal('BAD_TOKEN'),
  );
  const b = await connectedClient(t, url);
  const joinedB = await b.join({ sessionId, token: second.token, kind: 'headless', peerId: second.peerId });
  assert.equal(joinedB.peerId, second.peerId);
  // Two devices with one invitation: the second is refused while the first is a member.
  const twin = await connectedClient(t, url);
  await assert.rejects(
    twin.join({ sessionId, token: first.token, kind: 'headless' }),
    refusal('PEER_ID_TAKEN'),
  );

  // a is expelled: the aggregator (the host) drops it for invalid frames, one offence, the
  // limit here (maxOffences 1).
  const expelledTold = nextEvent(a, 'expelled');
  assert.equal(joinedA.aggregator.peerId, 'host');
  assert.deepEqual(await host.reportPeer(joinedA.aggregator.term, first.peerId, 21), {
    offences: 1,
    limit: 1,
    expelled: true,
  });
  assert.equal((await expelledTold).peerId, first.peerId);

  // The device keeps its invitation but cannot come back: the invitation admits only the
  // refused id, and no token of this session admits a new id to anyone but the host.
  const back = await connectedClient(t, url);
  await assert.rejects(back.join({ sessionId, token: first.token, kind: 'headless' }), refusal('EXPELLED'));
  const renamed = await connectedClient(t, url);
  await assert.rejects(
    renamed.join({ sessionId, token: first.token, kind: 'headless', peerId: 'fresh-id' }),
    refusal('BAD_TOKEN'),
  );
  assert.equal(b.connected && host.connected, true, 'the others carry on');
});

test('an open session keeps its token for everyone and has no host to invite', async (t) => {
  const { url } = await startServer(t);
  const creator = await connectedClient(t, url);
  const created = await creator.create({ rounds: 10 });
  assert.equal(created.invitations, false);
  await assert.rejects(creator.invite(created.sessionId, created.token, { count: 1 }), refusal('BAD_TOKEN'));
  await assert.rejects(
    creator.invite(created.sessionId, `h.${created.token}`, { count: 1 }),
    refusal('BAD_TOKEN'),
  );
  await assert.rejects(
    creator.invite(created.sessionId, created.token, { count: 0 }),
    (err: unknown) => err instanceof SignalingError,
  );
});
