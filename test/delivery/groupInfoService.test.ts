import { describe, expect, it } from 'vitest';
import {
  encode,
  fixedBytes,
  opaque,
  struct,
  uint8,
  utf8String,
} from '../../src-core/codec/index.js';
import { cipherSuite } from '../../src-core/crypto/index.js';
import type { KeyPair } from '../../src-core/crypto/types.js';
import {
  GROUPINFO_PROTOCOL,
  GROUPINFO_REQUEST_LABEL,
  GroupInfoServer,
  fetchGroupInfo,
} from '../../src-core/delivery/groupInfoService.js';
import type { Group, GroupEvent, PendingCommit } from '../../src-core/mls/client/index.js';
import { MlsClient, rejoinGroup } from '../../src-core/mls/client/index.js';
import { WireFormat } from '../../src-core/mls/framing/framedContent.js';
import { decodeMlsMessage } from '../../src-core/mls/framing/mlsMessage.js';
import { ExtensionType } from '../../src-core/mls/extension.js';
import { basicCredential } from '../mls/groupHarness.js';
import { ManualClock } from './support/memoryNet.js';
import { MemoryRequestNet } from './storeForwardFixture.js';

const suite = cipherSuite(1);

function pendingOf(e: GroupEvent): PendingCommit {
  if (e.kind !== 'commit') throw new Error(`expected a commit, got ${e.kind}`);
  return e.commit;
}

/** Alice (creator) and bob at epoch 1; bob's state then falls behind by one update. */
function setup() {
  const keys = { alice: suite.generateSignatureKeyPair(), bob: suite.generateSignatureKeyPair() };
  const alice = new MlsClient({
    suite,
    credential: basicCredential('alice'),
    signatureKeyPair: keys.alice,
  });
  const bob = new MlsClient({
    suite,
    credential: basicCredential('bob'),
    signatureKeyPair: keys.bob,
  });
  const a = alice.createGroup();
  const out = a.add([bob.createKeyPackages({ count: 1 }).oneTime[0]!.message]);
  a.merge(out.pending);
  const b = bob.joinGroup(out.welcome!);
  const upd = a.update();
  a.merge(upd.pending);
  const net = new MemoryRequestNet();
  const clock = new ManualClock();
  const groups = new Map<string, Group>([[hex(a.groupId), a]]);
  const server = new GroupInfoServer({
    requests: net.port('alice-peer'),
    self: 'alice-peer',
    clock,
    group: (id) => groups.get(hex(id)),
  });
  return { a, b, keys, net, clock, server };
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

// The wire format, spelled out here as the README gives it (the module keeps its codecs private).
const tbsCodec = struct({
  server: utf8String,
  groupId: opaque,
  requester: opaque,
  nonce: fixedBytes(32),
});
const challengeReq = struct({
  version: uint8,
  groupId: opaque,
  requester: opaque,
  type: uint8,
});
const fetchReq = struct({
  version: uint8,
  groupId: opaque,
  requester: opaque,
  type: uint8,
  nonce: fixedBytes(32),
  signature: opaque,
});

async function challenge(
  net: MemoryRequestNet,
  from: string,
  groupId: Uint8Array,
  requester: Uint8Array,
): Promise<Uint8Array> {
  const res = await net
    .port(from)
    .request(
      'alice-peer',
      GROUPINFO_PROTOCOL,
      encode(challengeReq, { version: 1, groupId, requester, type: 1 }),
    );
  expect([...res.subarray(0, 2)]).toEqual([1, 1]);
  return res.subarray(2);
}

function proof(key: KeyPair, server: string, groupId: Uint8Array, nonce: Uint8Array): Uint8Array {
  const tbs = encode(tbsCodec, { server, groupId, requester: key.publicKey, nonce });
  return suite.signWithLabel(key.privateKey, GROUPINFO_REQUEST_LABEL, tbs);
}

describe('GroupInfo service', () => {
  it('a member that fell behind gets a signed GroupInfo with external_pub and the tree, and can rejoin with it', async () => {
    const { a, b, net } = setup();
    const reports = await fetchGroupInfo(net.port('bob-peer'), ['gone', 'alice-peer'], b);
    expect(reports.map((r) => r.error)).toEqual(['peer_unreachable', undefined]);
    const gi = reports[1]!.groupInfo!;
    const m = decodeMlsMessage(gi);
    if (m.wireFormat !== WireFormat.groupInfo) throw new Error('not a GroupInfo');
    expect(m.groupInfo.groupContext.epoch).toBe(a.epoch);
    const types = m.groupInfo.extensions.map((e) => e.extensionType);
    expect(types).toContain(ExtensionType.externalPub);
    expect(types).toContain(ExtensionType.ratchetTree);
    // It is good for a resync: alice processes the external commit bob makes from it.
    const out = rejoinGroup(b, gi);
    const p = pendingOf(a.process(out.commit));
    expect(p.joiner?.leafIndex).toBe(b.ownLeaf);
    a.merge(p);
    const nb = out.pending.merge();
    expect(hex(nb.epochAuthenticator())).toBe(hex(a.epochAuthenticator()));
  });

  it('refuses a stranger, a proof by another key, a replayed or foreign challenge, and bad bodies', async () => {
    const { a, keys, net } = setup();
    const groupId = a.groupId;
    const refused = async (p: Promise<unknown>, code: string): Promise<void> => {
      await expect(p).rejects.toMatchObject({ code: 'peer_refused' });
      await expect(p).rejects.toThrow(code);
    };
    // A stranger with a key of its own is not a member: no challenge, no GroupInfo.
    const mallory = suite.generateSignatureKeyPair();
    await refused(challenge(net, 'mallory-peer', groupId, mallory.publicKey), 'not_member');
    // Nor for a group the server does not hold (the same refusal).
    await refused(
      challenge(net, 'mallory-peer', new Uint8Array(16), mallory.publicKey),
      'not_member',
    );
    // Claiming bob's key does not help without bob's private key.
    const port = net.port('mallory-peer');
    const ask = (nonce: Uint8Array, signature: Uint8Array, from = port) =>
      from.request(
        'alice-peer',
        GROUPINFO_PROTOCOL,
        encode(fetchReq, {
          version: 1,
          groupId,
          requester: keys.bob.publicKey,
          type: 2,
          nonce,
          signature,
        }),
      );
    let nonce = await challenge(net, 'mallory-peer', groupId, keys.bob.publicKey);
    await refused(
      ask(nonce, proof(mallory, 'alice-peer', groupId, nonce)),
      'groupinfo_proof_invalid',
    );
    // The challenge was used up by the failed proof.
    await refused(
      ask(nonce, proof(keys.bob, 'alice-peer', groupId, nonce)),
      'groupinfo_challenge_invalid',
    );
    // A proof made for another server does not verify here.
    nonce = await challenge(net, 'bob-peer', groupId, keys.bob.publicKey);
    const bobPort = net.port('bob-peer');
    await refused(
      ask(nonce, proof(keys.bob, 'other-server', groupId, nonce), bobPort),
      'groupinfo_proof_invalid',
    );
    // A challenge handed to bob's peer is no good from another peer, even with bob's proof.
    nonce = await challenge(net, 'bob-peer', groupId, keys.bob.publicKey);
    await refused(
      ask(nonce, proof(keys.bob, 'alice-peer', groupId, nonce)),
      'groupinfo_challenge_invalid',
    );
    // The right proof, on a fresh challenge, from bob's peer: served once.
    nonce = await challenge(net, 'bob-peer', groupId, keys.bob.publicKey);
    const ok = await ask(nonce, proof(keys.bob, 'alice-peer', groupId, nonce), bobPort);
    expect([...ok.subarray(0, 2)]).toEqual([1, 2]);
    await refused(
      ask(nonce, proof(keys.bob, 'alice-peer', groupId, nonce), bobPort),
      'groupinfo_challenge_invalid',
    );
    // Another version, garbage, trailing bytes.
    const body = encode(challengeReq, {
      version: 1,
      groupId,
      requester: keys.bob.publicKey,
      type: 1,
    });
    const v2 = body.slice();
    v2[0] = 2;
    await refused(port.request('alice-peer', GROUPINFO_PROTOCOL, v2), 'unsupported_version');
    await refused(
      port.request('alice-peer', GROUPINFO_PROTOCOL, new Uint8Array([1, 9])),
      'groupinfo_malformed',
    );
    const trailing = new Uint8Array([...body, 0]);
    await refused(port.request('alice-peer', GROUPINFO_PROTOCOL, trailing), 'groupinfo_malformed');
  });

  it('a removed member is refused, and challenges expire', async () => {
    const { a, b, keys, net, clock } = setup();
    const nonce = await challenge(net, 'bob-peer', a.groupId, keys.bob.publicKey);
    clock.advance(61_000);
    const port = net.port('bob-peer');
    await expect(
      port.request(
        'alice-peer',
        GROUPINFO_PROTOCOL,
        encode(fetchReq, {
          version: 1,
          groupId: a.groupId,
          requester: keys.bob.publicKey,
          type: 2,
          nonce,
          signature: proof(keys.bob, 'alice-peer', a.groupId, nonce),
        }),
      ),
    ).rejects.toThrow('groupinfo_challenge_invalid');
    // `mayServe` narrows: a member it refuses gets the same refusal as a stranger.
    const narrow = new GroupInfoServer({
      requests: net.port('strict-peer'),
      self: 'strict-peer',
      clock,
      group: () => a,
      mayServe: (_key, from) => from !== 'bob-peer',
    });
    const refusedHere = await fetchGroupInfo(port, ['strict-peer', 'alice-peer'], b);
    expect(refusedHere.map((r) => r.error)).toEqual(['peer_refused', undefined]);
    narrow.close();
    const rm = a.remove([b.ownLeaf]);
    a.merge(rm.pending);
    const reports = await fetchGroupInfo(port, ['alice-peer'], b);
    expect(reports).toEqual([{ peer: 'alice-peer', error: 'peer_refused' }]);
  });
});
