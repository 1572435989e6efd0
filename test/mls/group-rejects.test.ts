import { beforeEach, describe, expect, it } from 'vitest';
import type { Commit } from '../../src-core/mls/commit.js';
import { ProposalOrRefType } from '../../src-core/mls/commit.js';
import type { MlsErrorCode } from '../../src-core/mls/errors.js';
import { ContentType, WireFormat } from '../../src-core/mls/framing/framedContent.js';
import { decodeMlsMessage } from '../../src-core/mls/framing/mlsMessage.js';
import { protectProposal } from '../../src-core/mls/framing/protect.js';
import type { GroupState } from '../../src-core/mls/group/index.js';
import { processMessage, proposeUpdate } from '../../src-core/mls/group/index.js';
import { signKeyPackage } from '../../src-core/mls/keyPackage.js';
import { LeafNodeSource, signLeafNode } from '../../src-core/mls/leafNode.js';
import type { Proposal } from '../../src-core/mls/proposal.js';
import { ProposalType } from '../../src-core/mls/proposal.js';
import { PSKType, ResumptionPSKUsage } from '../../src-core/mls/psk.js';
import {
  World,
  commitOf,
  expectMlsError,
  forgeCommit,
  keyPackageFor,
  snapshot,
  text,
  wire,
} from './groupHarness.js';

const byValue = (...proposals: Proposal[]): Commit['proposals'] =>
  proposals.map((proposal) => ({ type: ProposalOrRefType.proposal, proposal }));

/** Alice, Bob, Carol and Dave; handshakes as PublicMessages so tests can take commits apart. */
function fourMembers(config: ConstructorParameters<typeof World>[1] = {}, suiteId: 1 | 2 = 1) {
  const w = new World(suiteId, { handshakeWireFormat: 'public', ...config });
  w.create('alice');
  const adds: Proposal[] = ['bob', 'carol', 'dave'].map((n) => ({
    proposalType: ProposalType.add,
    add: { keyPackage: w.keyPackage(n).keyPackage },
  }));
  w.commit('alice', { proposals: adds }, ['bob', 'carol', 'dave']);
  return w;
}

/**
 * `message` is rejected by Alice with `code`, twice (nothing was consumed the first time), and
 * her state is exactly as before.
 */
function rejected(w: World, message: Uint8Array, code: MlsErrorCode): void {
  const alice: GroupState = w.state('alice');
  const before = snapshot(alice);
  expectMlsError(() => processMessage(alice, message), code);
  expectMlsError(() => processMessage(alice, message), code);
  expect(snapshot(alice)).toBe(before);
}

describe('bad commits are rejected with their rule and change nothing', () => {
  let w: World;
  beforeEach(() => {
    w = fourMembers();
  });

  /** After a rejection the group still works: a genuine commit goes through. */
  function stillWorks(): void {
    w.commit('carol', { path: 'always' });
    w.send('alice', 'still fine');
  }

  it('tampered path ciphertext', () => {
    const genuine = w.prepare('bob', { path: 'always' });
    const commit = commitOf(wire(genuine.commit));
    const path = commit.path!;
    const nodes = path.nodes.map((n) => ({
      ...n,
      encryptedPathSecret: n.encryptedPathSecret.map((ct) => {
        const c = ct.ciphertext.slice();
        c[0]! ^= 1;
        return { ...ct, ciphertext: c };
      }),
    }));
    rejected(
      w,
      wire(forgeCommit(w.state('bob'), { ...commit, path: { ...path, nodes } })),
      'decryption_failed',
    );
    genuine.staged.discard();
    stillWorks();
  });

  it('wrong confirmation tag', () => {
    const genuine = w.prepare('bob', { path: 'always' });
    const commit = commitOf(wire(genuine.commit));
    rejected(w, wire(forgeCommit(w.state('bob'), commit)), 'invalid_confirmation_tag');
    // The genuine commit (same content, right tag) is accepted afterwards.
    w.deliver('bob', genuine);
    w.send('alice', 'after the genuine commit');
  });

  it('wrong parent hash in the path leaf (validly re-signed)', () => {
    const genuine = w.prepare('bob', { path: 'always' });
    const commit = commitOf(wire(genuine.commit));
    const path = commit.path!;
    const leaf = path.leafNode;
    if (leaf.leafNodeSource !== LeafNodeSource.commit) throw new Error('not a commit leaf');
    const parentHash = leaf.parentHash.slice();
    parentHash[0]! ^= 1;
    const bob = w.state('bob');
    const resigned = signLeafNode(
      w.suite,
      { ...leaf, parentHash },
      w.client('bob').signature.privateKey,
      {
        groupId: bob.groupId,
        leafIndex: bob.ownLeaf,
      },
    );
    rejected(
      w,
      wire(forgeCommit(bob, { ...commit, path: { ...path, leafNode: resigned } })),
      'parent_hash_invalid',
    );
    genuine.staged.discard();
    stillWorks();
  });

  it('path missing where the proposals need one', () => {
    const carol = w.leafOf('carol');
    rejected(
      w,
      wire(
        forgeCommit(w.state('bob'), {
          proposals: byValue({ proposalType: ProposalType.remove, remove: { removed: carol } }),
          path: undefined,
        }),
      ),
      'path_required',
    );
    // An empty commit needs a path too.
    rejected(
      w,
      wire(forgeCommit(w.state('bob'), { proposals: [], path: undefined })),
      'path_required',
    );
    stillWorks();
  });

  it('invalid proposal lists, each with its code', () => {
    const bob = w.state('bob');
    const suite = w.suite;
    const carolLeaf = w.leafOf('carol');
    const remove = (removed: number): Proposal => ({
      proposalType: ProposalType.remove,
      remove: { removed },
    });
    const kp = keyPackageFor(suite, w.client('erin')).keyPackage;
    const addErin: Proposal = { proposalType: ProposalType.add, add: { keyPackage: kp } };
    const psk = (nonce: Uint8Array): Proposal => ({
      proposalType: ProposalType.psk,
      psk: { psk: { pskType: PSKType.external, pskId: text('nobody has this'), pskNonce: nonce } },
    });
    const gce: Proposal = {
      proposalType: ProposalType.groupContextExtensions,
      groupContextExtensions: { extensions: [] },
    };
    const reinit: Proposal = {
      proposalType: ProposalType.reinit,
      reInit: { groupId: suite.randomBytes(16), version: 1, cipherSuite: 1, extensions: [] },
    };
    // An Update by the committer, taken from a real Update proposal of Bob's.
    const sent = decodeMlsMessage(wire(proposeUpdate(bob).message));
    if (sent.wireFormat !== WireFormat.publicMessage) throw new Error('public expected');
    const c = sent.publicMessage.content;
    if (c.contentType !== ContentType.proposal) throw new Error('proposal expected');
    // Carol's signature key in a new KeyPackage: a client already in the group.
    const carolAgain = keyPackageFor(suite, w.client('carol')).keyPackage;
    const nonce = suite.randomBytes(suite.kdf.size);
    const cases: [Commit['proposals'], MlsErrorCode][] = [
      [byValue(c.proposal), 'update_by_committer'],
      [byValue(remove(bob.ownLeaf)), 'remove_committer'],
      [byValue(remove(carolLeaf), remove(carolLeaf)), 'duplicate_leaf_change'],
      [byValue(remove(99)), 'leaf_out_of_range'],
      [byValue(addErin, addErin), 'duplicate_add'],
      [
        byValue({ proposalType: ProposalType.add, add: { keyPackage: carolAgain } }),
        'add_existing_member',
      ],
      [byValue(psk(nonce), psk(nonce)), 'duplicate_psk'],
      [byValue(psk(nonce)), 'psk_not_found'],
      [byValue(gce, gce), 'multiple_group_context_extensions'],
      [byValue(reinit, addErin), 'reinit_not_alone'],
      [
        byValue({
          proposalType: ProposalType.externalInit,
          externalInit: { kemOutput: suite.randomBytes(32) },
        }),
        'external_init_not_allowed',
      ],
      [byValue({ proposalType: 0xf0f0, data: new Uint8Array(1) }), 'unsupported_proposal_type'],
      [
        byValue({
          proposalType: ProposalType.psk,
          psk: {
            psk: {
              pskType: PSKType.resumption,
              usage: ResumptionPSKUsage.reinit,
              pskGroupId: bob.groupId,
              pskEpoch: bob.epoch,
              pskNonce: nonce,
            },
          },
        }),
        'psk_usage_invalid',
      ],
      [byValue(psk(new Uint8Array(5))), 'psk_invalid'],
      [
        [{ type: ProposalOrRefType.reference, reference: suite.randomBytes(32) }],
        'proposal_not_found',
      ],
    ];
    for (const [proposals, code] of cases) {
      rejected(w, wire(forgeCommit(bob, { proposals, path: undefined })), code);
    }
    stillWorks();
  });

  it('our own commit echoed back, and a commit of another epoch', () => {
    const mine = w.prepare('alice', { path: 'always' });
    rejected(w, wire(mine.commit), 'own_message');
    mine.staged.discard();
    const old = w.prepare('bob', { path: 'always' });
    old.staged.discard();
    stillWorks();
    rejected(w, wire(old.commit), 'wrong_epoch');
  });

  it('PrivateMessage: an invalid commit consumes no handshake key', () => {
    const p = fourMembers({ handshakeWireFormat: 'private' });
    const bob = p.state('bob');
    const forged = forgeCommit(
      bob,
      {
        proposals: byValue({ proposalType: ProposalType.remove, remove: { removed: bob.ownLeaf } }),
        path: undefined,
      },
      { wireFormat: WireFormat.privateMessage },
    );
    rejected(p, wire(forged), 'remove_committer');
    p.commit('bob', { path: 'always' });
    p.send('alice', 'fine');
  });
});

describe('bad proposal messages', () => {
  it('are rejected, and not cached', () => {
    const w = fourMembers();
    const bob = w.state('bob');
    const expired = keyPackageFor(w.suite, w.client('erin'), { now: 1000n, validFor: 10n });
    // Bob's own checks would stop this: send it past them, as a broken client could.
    const { message } = protectProposal(
      bob.framing(),
      { leafIndex: bob.ownLeaf, signaturePrivateKey: bob.signaturePrivateKey },
      { proposalType: ProposalType.add, add: { keyPackage: expired.keyPackage } },
      WireFormat.publicMessage,
    );
    rejected(w, wire(message), 'invalid_lifetime');
    expect(w.state('alice').proposals.size).toBe(0);
    // A Remove of a blank leaf.
    const { message: m2 } = protectProposal(
      bob.framing(),
      { leafIndex: bob.ownLeaf, signaturePrivateKey: bob.signaturePrivateKey },
      { proposalType: ProposalType.remove, remove: { removed: 7 } },
      WireFormat.publicMessage,
    );
    rejected(w, wire(m2), 'leaf_out_of_range');
    // A proposal altered in transit (here its signature).
    const sent = decodeMlsMessage(wire(proposeUpdate(bob).message));
    if (sent.wireFormat !== WireFormat.publicMessage) throw new Error('public expected');
    const sig = sent.publicMessage.auth.signature.slice();
    sig[0]! ^= 1;
    const forged = { ...sent, publicMessage: { ...sent.publicMessage, auth: { signature: sig } } };
    rejected(w, wire(forged), 'invalid_membership_tag');
    expect(w.state('alice').proposals.size).toBe(0);
  });
});

describe('policy hooks', () => {
  it('the proposal policy can forbid removals by anyone but leaf 0', () => {
    const w = fourMembers({
      proposalPolicy: (p, sender) =>
        p.proposalType !== ProposalType.remove ||
        (sender.senderType === 1 && sender.leafIndex === 0),
    });
    const carol = w.leafOf('carol');
    const remove: Proposal = { proposalType: ProposalType.remove, remove: { removed: carol } };
    expectMlsError(() => w.prepare('bob', { proposals: [remove] }), 'proposal_rejected_by_policy');
    const prepared = w.prepare('alice', { proposals: [remove] });
    // A commit by Bob carrying the same Remove, forged past his own check, is rejected by Dave.
    const forged = forgeCommit(w.state('bob'), {
      proposals: byValue(remove),
      path: commitOf(wire(prepared.commit)).path,
    });
    expectMlsError(
      () => processMessage(w.state('dave'), wire(forged)),
      'proposal_rejected_by_policy',
    );
    w.deliver('alice', prepared);
    expect(w.states.has('carol')).toBe(false);
  });

  it('the credential validator can refuse a member', () => {
    const w = fourMembers({
      validateCredential: (cred) =>
        'identity' in cred && new TextDecoder().decode(cred.identity) !== 'mallory',
    });
    const kp = keyPackageFor(w.suite, w.client('mallory')).keyPackage;
    const add: Proposal = { proposalType: ProposalType.add, add: { keyPackage: kp } };
    expectMlsError(() => w.prepare('bob', { proposals: [add] }), 'credential_rejected');
    rejected(
      w,
      wire(forgeCommit(w.state('bob'), { proposals: byValue(add), path: undefined })),
      'credential_rejected',
    );
  });

  it('an Add whose init key is not a valid P-256 point is refused', () => {
    const w = fourMembers({}, 2);
    const erin = w.client('erin');
    const bundle = keyPackageFor(w.suite, erin);
    const badKey = bundle.keyPackage.initKey.slice();
    badKey[badKey.length - 1]! ^= 1; // off the curve (almost surely)
    const kp = signKeyPackage(
      w.suite,
      { ...bundle.keyPackage, initKey: badKey },
      erin.signature.privateKey,
    );
    const add: Proposal = { proposalType: ProposalType.add, add: { keyPackage: kp } };
    expectMlsError(() => w.prepare('bob', { proposals: [add] }), 'invalid_public_key');
  });

  it('an expired KeyPackage is refused', () => {
    const w = fourMembers();
    const old = keyPackageFor(w.suite, w.client('erin'), { now: 1000n, validFor: 10n }).keyPackage;
    expectMlsError(
      () =>
        w.prepare('bob', {
          proposals: [{ proposalType: ProposalType.add, add: { keyPackage: old } }],
        }),
      'invalid_lifetime',
    );
  });

  it('a member without a committed PSK cannot follow, and keeps its state', () => {
    let available = true;
    const w = fourMembers({
      externalPsk: () => (available ? new Uint8Array(32).fill(1) : undefined),
    });
    const created = w.prepare('alice', {
      proposals: [
        {
          proposalType: ProposalType.psk,
          psk: {
            psk: { pskType: PSKType.external, pskId: text('k'), pskNonce: w.suite.randomBytes(32) },
          },
        },
      ],
    });
    const carol = w.state('carol');
    const before = snapshot(carol);
    available = false;
    expectMlsError(() => processMessage(carol, wire(created.commit)), 'psk_not_found');
    expect(snapshot(carol)).toBe(before);
    available = true;
    w.deliver('alice', created);
    w.send('carol', 'with the PSK');
  });
});
