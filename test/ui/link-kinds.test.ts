/**
 * Direct or TURN-relayed links (client/ui/runtime/link-kinds.ts): the selected ICE candidate
 * pair found in getStats reports as Chrome and Firefox give them, the ICE username fragment
 * that ties a connection to the peer whose offer or answer carried it, and the sampler that
 * reports each connected peer's link; plus the join link's QR code.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { qrCodeDataUrl, qrCodeSvg } from '../../client/ui/qr.ts';
import {
  ConnectionRegistry,
  LinkKindSampler,
  iceUfragOf,
  linkKindOf,
  selectedCandidateTypes,
  type StatsConnection,
} from '../../client/ui/runtime/link-kinds.ts';
import type { PeerPatch } from '../../client/ui/state.ts';

const candidates = [
  { type: 'local-candidate', id: 'L1', candidateType: 'host' },
  { type: 'local-candidate', id: 'L2', candidateType: 'relay' },
  { type: 'remote-candidate', id: 'R1', candidateType: 'srflx' },
  { type: 'remote-candidate', id: 'R2', candidateType: 'host' },
];
const pair = (id: string, local: string, remote: string, extra: Record<string, unknown> = {}) => ({
  type: 'candidate-pair',
  id,
  localCandidateId: local,
  remoteCandidateId: remote,
  ...extra,
});

test("Chrome: the transport's selectedCandidatePairId names the pair", () => {
  const reports = [
    { type: 'transport', id: 'T', selectedCandidatePairId: 'P2' },
    pair('P1', 'L1', 'R1', { nominated: true, state: 'succeeded' }),
    pair('P2', 'L2', 'R2', { nominated: true, state: 'succeeded' }),
    ...candidates,
    { type: 'codec', id: 'C' },
  ];
  const types = selectedCandidateTypes(reports);
  assert.deepEqual(types, { local: 'relay', remote: 'host' });
  assert.equal(types === null ? null : linkKindOf(types), 'relay');
});

test('Firefox: the pair marked selected; else a nominated, succeeded one; else none', () => {
  assert.deepEqual(
    selectedCandidateTypes([
      pair('P1', 'L2', 'R2'),
      pair('P2', 'L1', 'R1', { selected: true }),
      ...candidates,
    ]),
    { local: 'host', remote: 'srflx' },
  );
  const fallback = selectedCandidateTypes([
    pair('P1', 'L2', 'R2', { nominated: true, state: 'in-progress' }),
    pair('P2', 'L1', 'R2', { nominated: true, state: 'succeeded' }),
    ...candidates,
  ]);
  assert.deepEqual(fallback, { local: 'host', remote: 'host' });
  assert.equal(fallback === null ? null : linkKindOf(fallback), 'direct');
  assert.equal(selectedCandidateTypes([pair('P1', 'L1', 'R1'), ...candidates]), null, 'nothing selected yet');
  assert.equal(
    selectedCandidateTypes([pair('P1', 'L1', 'RX', { selected: true }), ...candidates]),
    null,
    'a candidate missing from the report',
  );
  assert.equal(selectedCandidateTypes([null, 3, 'x', {}]), null);
});

const SDP = 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\na=ice-ufrag:Ab+c\r\na=ice-pwd:secret\r\n';

test('iceUfragOf: from an SDP, an offer, or the transport envelope; not from candidates', () => {
  assert.equal(iceUfragOf(SDP), 'Ab+c');
  assert.equal(iceUfragOf({ type: 'offer', sdp: SDP }), 'Ab+c');
  assert.equal(iceUfragOf({ v: 1, kind: 'signal', link: 'x', data: { type: 'answer', sdp: SDP } }), 'Ab+c');
  assert.equal(
    iceUfragOf({ v: 1, kind: 'signal', link: 'x', data: { type: 'candidate', candidate: {} } }),
    null,
  );
  assert.equal(iceUfragOf(null), null);
  assert.equal(iceUfragOf('v=0'), null);
});

function connection(ufrag: string, reports: unknown[], state = 'connected'): StatsConnection {
  return {
    connectionState: state,
    remoteDescription: { sdp: `v=0\r\na=ice-ufrag:${ufrag}\r\n` },
    getStats: async () => new Map(reports.map((r, i) => [String(i), r])),
  };
}

test('the sampler reports the link of each connected peer it heard an offer or answer from', async () => {
  const registry = new ConnectionRegistry();
  const reported: PeerPatch[] = [];
  const sampler = new LinkKindSampler({ registry, report: (patch) => reported.push(patch) });
  const relayed = [
    { type: 'transport', id: 'T', selectedCandidatePairId: 'P' },
    pair('P', 'L2', 'R1'),
    ...candidates,
  ];
  const direct = [pair('P', 'L1', 'R2', { selected: true }), ...candidates];
  registry.add(connection('aaaa', relayed));
  registry.add(connection('bbbb', direct));
  registry.add(connection('cccc', direct)); // no signal from anyone with this ufrag
  const closed = connection('dddd', direct, 'closed');
  registry.add(closed);
  sampler.noteSignal('peer-a', {
    v: 1,
    kind: 'signal',
    link: 'l',
    data: { type: 'offer', sdp: 'a=ice-ufrag:aaaa' },
  });
  sampler.noteSignal('peer-b', { type: 'answer', sdp: 'a=ice-ufrag:bbbb' });
  sampler.noteSignal('peer-d', { type: 'answer', sdp: 'a=ice-ufrag:dddd' });
  sampler.noteSignal('peer-c', { type: 'candidate' });
  await sampler.sample();
  assert.deepEqual(
    reported.sort((x, y) => x.peerId.localeCompare(y.peerId)),
    [
      { peerId: 'peer-a', link: 'relay', linkCandidates: 'relay/srflx' },
      { peerId: 'peer-b', link: 'direct', linkCandidates: 'host/host' },
    ],
  );
  assert.equal(registry.live().length, 3, 'closed connections are forgotten');
});

test('the QR code of a join link is an SVG data URL', async () => {
  const link = 'http://10.0.0.5:8080/?session=abcd1234&token=1795794294415.VoLPq61';
  const svg = await qrCodeSvg(link);
  assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  const url = await qrCodeDataUrl(link);
  assert.ok(url.startsWith('data:image/svg+xml;charset=utf-8,'));
  assert.equal(decodeURIComponent(url.slice(url.indexOf(',') + 1)), svg);
});
