import { describe, expect, it } from 'vitest';
import { CredentialType } from '../../src-core/mls/credential.js';
import type { Credential } from '../../src-core/mls/credential.js';
import { ContentType, WireFormat } from '../../src-core/mls/framing/framedContent.js';
import { decodeMlsMessage } from '../../src-core/mls/framing/mlsMessage.js';
import type { MlsMessage } from '../../src-core/mls/framing/mlsMessage.js';
import { SenderType } from '../../src-core/mls/framing/sender.js';
import type {
  CreatedExternalCommit,
  ExternalCommitOptions,
  GroupConfig,
  GroupState,
} from '../../src-core/mls/group/index.js';
import {
  buildGroupInfo,
  createExternalCommit,
  createGroupInfo,
  groupInfoMessage,
  processMessage,
} from '../../src-core/mls/group/index.js';
import { ProposalType } from '../../src-core/mls/proposal.js';
import { PSKType, ResumptionPSKUsage, newPskNonce } from '../../src-core/mls/psk.js';
import { toHex } from '../support/shared.js';
import type { Client } from './groupHarness.js';
import { World, expectMlsError, newClient, snapshot, text, wire } from './groupHarness.js';

/** A group of `names`, the first creating it and adding the others in one commit. */
function group(names: readonly string[], config: GroupConfig = {}): World {
  const w = new World(1, config);
  w.create(names[0]!);
  const rest = names.slice(1);
  w.commit(
    names[0]!,
    {
      proposals: rest.map((n) => ({
        proposalType: ProposalType.add,
        add: { keyPackage: w.keyPackage(n).keyPackage },
      })),
    },
    rest,
  );
  return w;
}

const FIVE = ['alice', 'bob', 'carol', 'dave', 'erin'];

function joinOptions(
  w: World,
  joiner: Client,
  groupInfo: MlsMessage | Uint8Array,
): ExternalCommitOptions {
  return {
    groupInfo,
    credential: joiner.credential,
    signatureKeyPair: joiner.signature,
    config: w.config,
  };
}

/**
 * Sends the external commit to every member (as bytes); they process and merge it, the joiner
 * merges its staged join and becomes `name`.
 */
function accept(w: World, name: string, created: CreatedExternalCommit): void {
  const bytes = wire(created.commit);
  for (const [member, s] of w.states) {
    const got = processMessage(s, bytes);
    if (got.kind !== 'commit') throw new Error(`${member} read ${got.kind}`);
    expect(got.staged.committer.senderType).toBe(SenderType.newMemberCommit);
    expect(got.staged.removed).toEqual(
      created.staged.removed === undefined ? [] : [created.staged.removed],
    );
    w.states.set(member, got.staged.merge());
  }
  w.states.set(name, created.staged.merge());
  w.expectAgreement();
}

function everyoneSends(w: World): void {
  for (const name of w.states.keys())
    w.send(name, `hello from ${name} in epoch ${w.state(name).epoch}`);
}

function groupInfoBytes(
  s: GroupState,
  opts: Parameters<typeof createGroupInfo>[1] = {},
): Uint8Array {
  return wire(createGroupInfo(s, opts));
}

/** A GroupInfo of `s`'s epoch, signed by `s`, announcing `externalPub`. */
function withExternalPub(s: GroupState, externalPub: Uint8Array): Uint8Array {
  return wire(
    groupInfoMessage(
      buildGroupInfo({
        suite: s.suite,
        groupContext: s.groupContext,
        tree: s.tree,
        confirmationTag: s.confirmationTag,
        signer: s.ownLeaf,
        signaturePrivateKey: s.signaturePrivateKey,
        externalPub,
      }),
    ),
  );
}

describe('external commit: joining', () => {
  it('a joiner enters a 5-member group at the leftmost blank leaf; then everyone talks', () => {
    const w = group(FIVE);
    expect(w.state('alice').tree.leafCount).toBe(8);
    const frank = w.client('frank');
    const created = createExternalCommit(joinOptions(w, frank, groupInfoBytes(w.state('dave'))));
    expect(created.staged.ownLeaf).toBe(5);
    expect(created.staged.epoch).toBe(w.state('alice').epoch + 1n);
    const authenticator = toHex(created.staged.epochAuthenticator());
    // The commit travels as a PublicMessage from a new member, with a path.
    const m = decodeMlsMessage(wire(created.commit));
    if (m.wireFormat !== WireFormat.publicMessage) throw new Error('not a PublicMessage');
    expect(m.publicMessage.content.sender.senderType).toBe(SenderType.newMemberCommit);
    expect(m.publicMessage.membershipTag).toBeUndefined();
    accept(w, 'frank', created);
    expect(toHex(w.state('alice').epochAuthenticator())).toBe(authenticator);
    expect(w.state('frank').memberCount).toBe(6);
    everyoneSends(w);
    // The newcomer is a full member: it commits, and the others follow.
    w.commit('frank', { path: 'always' });
    w.commit('bob', { proposals: [{ proposalType: ProposalType.remove, remove: { removed: 0 } }] });
    everyoneSends(w);
  });

  it('takes a leaf freed by a Remove, and extends a full tree', () => {
    const w = group(['alice', 'bob', 'carol', 'dave']);
    expect(w.state('alice').tree.leafCount).toBe(4);
    // Full tree: the joiner's leaf is a new one at the right.
    const erin = createExternalCommit(
      joinOptions(w, w.client('erin'), groupInfoBytes(w.state('bob'))),
    );
    expect(erin.staged.ownLeaf).toBe(4);
    expect(erin.staged.tree.leafCount).toBe(8);
    accept(w, 'erin', erin);
    // A blank in the middle is taken first.
    w.commit('alice', {
      proposals: [{ proposalType: ProposalType.remove, remove: { removed: 1 } }],
    });
    w.states.delete('bob');
    const frank = createExternalCommit(
      joinOptions(w, w.client('frank'), groupInfoBytes(w.state('erin'))),
    );
    expect(frank.staged.ownLeaf).toBe(1);
    accept(w, 'frank', frank);
    everyoneSends(w);
  });

  it('works with the tree given out of band, and chains through the GroupInfo the joiner returns', () => {
    const w = group(FIVE);
    const alice = w.state('alice');
    const bare = groupInfoBytes(alice, { ratchetTree: false });
    expectMlsError(
      () => createExternalCommit(joinOptions(w, w.client('frank'), bare)),
      'missing_ratchet_tree',
    );
    const frank = createExternalCommit({
      ...joinOptions(w, w.client('frank'), bare),
      ratchetTree: alice.tree.toNodes(),
      newGroupInfo: {},
    });
    accept(w, 'frank', frank);
    // Gina joins from frank's GroupInfo of the epoch frank's commit started.
    const gina = createExternalCommit(joinOptions(w, w.client('gina'), wire(frank.groupInfo!)));
    accept(w, 'gina', gina);
    everyoneSends(w);
  });

  it('carries PreSharedKey proposals: an external PSK both sides hold', () => {
    const pskId = text('shared secret id');
    const value = new Uint8Array(32).fill(7);
    const config: GroupConfig = {
      externalPsk: (id) => (toHex(id) === toHex(pskId) ? value : undefined),
    };
    const w = group(['alice', 'bob', 'carol'], config);
    const suite = w.suite;
    const psk = { pskType: PSKType.external, pskId, pskNonce: newPskNonce(suite) } as const;
    const gi = groupInfoBytes(w.state('alice'));
    // A joiner without the PSK cannot make the commit.
    expectMlsError(
      () =>
        createExternalCommit({ ...joinOptions(w, w.client('frank'), gi), config: {}, psks: [psk] }),
      'psk_not_found',
    );
    expectMlsError(
      () => createExternalCommit({ ...joinOptions(w, w.client('frank'), gi), psks: [psk, psk] }),
      'duplicate_psk',
    );
    const branchPsk = {
      pskType: PSKType.resumption,
      usage: ResumptionPSKUsage.branch,
      pskGroupId: w.state('alice').groupId,
      pskEpoch: 1n,
      pskNonce: newPskNonce(suite),
    } as const;
    expectMlsError(
      () => createExternalCommit({ ...joinOptions(w, w.client('frank'), gi), psks: [branchPsk] }),
      'psk_usage_invalid',
    );
    const created = createExternalCommit({ ...joinOptions(w, w.client('frank'), gi), psks: [psk] });
    accept(w, 'frank', created);
    everyoneSends(w);
  });
});

describe('external commit: resync after state loss', () => {
  it('a member that lost its state rejoins, its old leaf removed in the same commit', () => {
    const w = group(FIVE);
    w.commit('bob', { path: 'always' });
    const lostLeaf = w.leafOf('carol');
    const oldCarol = w.state('carol');
    // Carol's device lost the group state and its leaf's signature key; same identity, new key.
    w.states.delete('carol');
    const carol: Client = {
      ...newClient(w.suite, 'carol'),
      credential: w.client('carol').credential,
    };
    w.clients.set('carol', carol);
    const created = createExternalCommit({
      ...joinOptions(w, carol, groupInfoBytes(w.state('erin'))),
      resync: lostLeaf,
    });
    expect(created.staged.removed).toBe(lostLeaf);
    // The leftmost blank leaf is the one just freed.
    expect(created.staged.ownLeaf).toBe(lostLeaf);
    accept(w, 'carol', created);
    expect(w.state('alice').memberCount).toBe(5);
    everyoneSends(w);
    // Had the old state survived somewhere, it is out of the group.
    const got = processMessage(oldCarol, wire(created.commit));
    if (got.kind !== 'commit') throw new Error('not a commit');
    expect(got.staged.selfRemoved).toBe(true);
  });

  it('a resync may keep the old leaf signature key', () => {
    const w = group(FIVE);
    const bobLeaf = w.leafOf('bob');
    w.states.delete('bob');
    const created = createExternalCommit({
      ...joinOptions(w, w.client('bob'), groupInfoBytes(w.state('alice'))),
      resync: bobLeaf,
    });
    accept(w, 'bob', created);
    everyoneSends(w);
  });

  it('the members judge the identity: a resync under another identity is refused', () => {
    const identity = (c: Credential): string | undefined =>
      c.credentialType === CredentialType.basic && 'identity' in c ? toHex(c.identity) : undefined;
    // Basic credentials; one that replaces another must name the same identity (§5.3.1).
    const sameIdentity: GroupConfig = {
      validateCredential: (credential, _key, ctx) =>
        identity(credential) !== undefined &&
        (ctx.previous === undefined || identity(ctx.previous) === identity(credential)),
    };
    const w = group(FIVE, sameIdentity);
    const mallory = w.client('mallory');
    const created = createExternalCommit({
      ...joinOptions(w, mallory, groupInfoBytes(w.state('alice'))),
      resync: w.leafOf('bob'),
    });
    const dave = w.state('dave');
    const before = snapshot(dave);
    expectMlsError(() => processMessage(dave, wire(created.commit)), 'credential_rejected');
    expect(snapshot(dave)).toBe(before);
    created.staged.discard();
    expectMlsError(() => created.staged.merge(), 'staged_commit_consumed');
  });

  it('refuses a resync of a blank or absent leaf, and a joiner whose key is already in the group', () => {
    const w = group(FIVE);
    const gi = groupInfoBytes(w.state('alice'));
    const frank = w.client('frank');
    expectMlsError(
      () => createExternalCommit({ ...joinOptions(w, frank, gi), resync: 6 }),
      'blank_leaf',
    );
    expectMlsError(
      () => createExternalCommit({ ...joinOptions(w, frank, gi), resync: 8 }),
      'leaf_out_of_range',
    );
    // Bob joining again with his current key, without removing his leaf.
    expectMlsError(
      () => createExternalCommit(joinOptions(w, w.client('bob'), gi)),
      'duplicate_signature_key',
    );
  });
});

describe('external commit: bad GroupInfo or commit', () => {
  it('a GroupInfo whose signature does not verify', () => {
    const w = group(FIVE);
    const m = createGroupInfo(w.state('bob'));
    if (m.wireFormat !== WireFormat.groupInfo) throw new Error('not a GroupInfo');
    const sig = m.groupInfo.signature.slice();
    sig[3]! ^= 1;
    const forged = { ...m, groupInfo: { ...m.groupInfo, signature: sig } };
    expectMlsError(
      () => createExternalCommit(joinOptions(w, w.client('frank'), forged)),
      'invalid_signature',
    );
    // Signed by Bob, but claiming Carol as signer.
    const wrongSigner = { ...m, groupInfo: { ...m.groupInfo, signer: w.leafOf('carol') } };
    expectMlsError(
      () => createExternalCommit(joinOptions(w, w.client('frank'), wrongSigner)),
      'invalid_signature',
    );
    const noSigner = { ...m, groupInfo: { ...m.groupInfo, signer: 7 } };
    expectMlsError(
      () => createExternalCommit(joinOptions(w, w.client('frank'), noSigner)),
      'invalid_signature',
    );
  });

  it('a GroupInfo without external_pub, or with a malformed one', () => {
    const w = group(FIVE);
    const alice = w.state('alice');
    expectMlsError(
      () =>
        createExternalCommit(
          joinOptions(w, w.client('frank'), groupInfoBytes(alice, { externalPub: false })),
        ),
      'missing_external_pub',
    );
    const shortKey = withExternalPub(alice, new Uint8Array(31));
    expectMlsError(
      () => createExternalCommit(joinOptions(w, w.client('frank'), shortKey)),
      'invalid_public_key',
    );
  });

  it('a wrong external_pub: the members reject the commit and change nothing', () => {
    const w = group(FIVE);
    const alice = w.state('alice');
    // A well-formed key that is not this epoch's: the joiner cannot tell, the members can.
    const wrong = withExternalPub(alice, w.suite.generateHpkeKeyPair().publicKey);
    const created = createExternalCommit(joinOptions(w, w.client('frank'), wrong));
    for (const name of FIVE) {
      const s = w.state(name);
      const before = snapshot(s);
      expectMlsError(() => processMessage(s, wire(created.commit)), 'invalid_confirmation_tag');
      expect(snapshot(s)).toBe(before);
    }
  });

  it('a tree that does not match the GroupInfo, and a GroupContext edited after signing', () => {
    const w = group(FIVE);
    const alice = w.state('alice');
    const old = alice.tree.toNodes();
    const bare = groupInfoBytes(alice, { ratchetTree: false });
    w.commit('bob', { path: 'always' });
    const bare2 = groupInfoBytes(w.state('alice'), { ratchetTree: false });
    expectMlsError(
      () => createExternalCommit({ ...joinOptions(w, w.client('frank'), bare2), ratchetTree: old }),
      'tree_hash_mismatch',
    );
    const m = decodeMlsMessage(bare);
    if (m.wireFormat !== WireFormat.groupInfo) throw new Error('not a GroupInfo');
    const edited = {
      ...m,
      groupInfo: {
        ...m.groupInfo,
        groupContext: { ...m.groupInfo.groupContext, epoch: m.groupInfo.groupContext.epoch + 1n },
      },
    };
    expectMlsError(
      () =>
        createExternalCommit({ ...joinOptions(w, w.client('frank'), edited), ratchetTree: old }),
      'invalid_signature',
    );
  });

  it('a commit stripped of its path is refused by the members', () => {
    const w = group(FIVE);
    const created = createExternalCommit(
      joinOptions(w, w.client('frank'), groupInfoBytes(w.state('alice'))),
    );
    const m = created.commit;
    if (m.wireFormat !== WireFormat.publicMessage) throw new Error('not a PublicMessage');
    const content = m.publicMessage.content;
    if (content.contentType !== ContentType.commit) throw new Error('not a commit');
    const pathless = { ...content.commit, path: undefined };
    const stripped = {
      ...m,
      publicMessage: { ...m.publicMessage, content: { ...content, commit: pathless } },
    };
    const bob = w.state('bob');
    const before = snapshot(bob);
    // Without a path there is no leaf whose key the signature could be checked with.
    expectMlsError(() => processMessage(bob, wire(stripped)), 'invalid_sender');
    expect(snapshot(bob)).toBe(before);
  });

  it('two joiners race for one epoch: the second is stale once the first is in', () => {
    const w = group(FIVE);
    const gi = groupInfoBytes(w.state('alice'));
    const frank = createExternalCommit(joinOptions(w, w.client('frank'), gi));
    const gina = createExternalCommit(joinOptions(w, w.client('gina'), gi));
    expect(gina.staged.ownLeaf).toBe(frank.staged.ownLeaf);
    accept(w, 'frank', frank);
    expectMlsError(() => processMessage(w.state('bob'), wire(gina.commit)), 'wrong_epoch');
    gina.staged.discard();
    everyoneSends(w);
  });
});
