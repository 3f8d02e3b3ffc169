/**
 * `liec create --invitations` and `liec invite` against a real signaling server, and peers
 * training over real WebRTC with what they printed: the host with its host token, two more
 * with one invitation each, every one under the id its invitation names.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { main as createMain } from '../../client/cli/create.ts';
import { main as inviteMain } from '../../client/cli/invite.ts';
import { Peer } from '../../client/roles/peer.ts';
import { createSignalingServer } from '../../signaling/index.ts';
import { withTimeout } from '../support/session.ts';
import { captureIo } from './capture.ts';

const ROUNDS = 5;

test(
  'liec create --invitations, liec invite --count 2: three peers train, each under its invitation`s id',
  { timeout: 120_000 },
  async (t) => {
    const server = createSignalingServer({ logLevel: 'silent' });
    const url = await server.start({ port: 0, host: '127.0.0.1' });
    t.after(() => server.stop());
    const createdIo = captureIo();
    const createArgs = ['--server', url, '--invitations', '--rounds', String(ROUNDS), '--min-peers', '3'];
    assert.equal(
      await createMain([...createArgs, '--data-shards', '3', '--json'], createdIo),
      0,
      createdIo.stderr(),
    );
    const created = JSON.parse(createdIo.stdout()) as {
      sessionId: string;
      token: string;
      invitations: boolean;
    };
    assert.equal(created.invitations, true);

    const human = captureIo();
    assert.equal(await createMain(createArgs, human), 0, human.stderr());
    assert.match(human.stdout(), /^by invitation only/m);
    assert.match(human.stdout(), /liec invite --server \S+ --session \S+ --token h\.\S+ --count N$/m);

    const invitedIo = captureIo();
    const inviteArgs = ['--server', url, '--session', created.sessionId, '--token', created.token];
    assert.equal(
      await inviteMain([...inviteArgs, '--count', '2', '--json'], invitedIo),
      0,
      invitedIo.stderr(),
    );
    const { invitations } = JSON.parse(invitedIo.stdout()) as {
      invitations: { peerId: string; token: string; links: { headless: string } }[];
    };
    assert.equal(invitations.length, 2);
    for (const invitation of invitations)
      assert.ok(invitation.links.headless.endsWith(`--token ${invitation.token}`), invitation.links.headless);

    // Named ids, in words.
    const namedIo = captureIo();
    assert.equal(await inviteMain([...inviteArgs, '--peer-id', 'line-1', '--peer-id', 'line-2'], namedIo), 0);
    assert.match(namedIo.stdout(), /^peer line-1:$/m);
    assert.match(namedIo.stdout(), /^peer line-2:$/m);

    // Only the host token invites; a missing token is a usage error.
    const refused = captureIo();
    const withInvitation = [
      '--server',
      url,
      '--session',
      created.sessionId,
      '--token',
      invitations[0]?.token ?? '',
    ];
    assert.equal(await inviteMain([...withInvitation, '--count', '1'], refused), 1);
    assert.match(refused.stderr(), /host token/);
    const usage = captureIo();
    assert.equal(await inviteMain(['--server', url, '--session', created.sessionId], usage), 2);
    assert.match(usage.stderr(), /--token/);

    const tokens = [created.token, ...invitations.map((i) => i.token)];
    const peers = tokens.map(
      (token) => new Peer({ serverUrl: url, sessionId: created.sessionId, token, kind: 'headless' }),
    );
    t.after(() => Promise.all(peers.map((p) => p.leave())));
    await Promise.all(peers.map((p) => p.start()));
    assert.deepEqual(
      peers.slice(1).map((p) => p.peerId),
      invitations.map((i) => i.peerId),
    );
    const done = await withTimeout(Promise.all(peers.map((p) => p.finished)), 90_000, 'training to finish');
    assert.equal(done.length, 3);
    assert.deepEqual(
      peers.map((p) => p.round),
      [ROUNDS, ROUNDS, ROUNDS],
    );
  },
);
