import { describe, expect, it } from 'vitest';
import { decode, encode } from '../../src-core/codec/index.js';
import type { CipherSuite } from '../../src-core/crypto/types.js';
import { requiredCapabilitiesCodec } from '../../src-core/mls/capabilities.js';
import type { Commit } from '../../src-core/mls/commit.js';
import { ProposalOrRefType } from '../../src-core/mls/commit.js';
import { ExtensionType } from '../../src-core/mls/extension.js';
import { authenticateCommit } from '../../src-core/mls/framing/authenticatedContent.js';
import type { FramedContent } from '../../src-core/mls/framing/framedContent.js';
import { ContentType, WireFormat } from '../../src-core/mls/framing/framedContent.js';
import { decodeMlsMessage } from '../../src-core/mls/framing/mlsMessage.js';
import type { FramedMlsMessage } from '../../src-core/mls/framing/mlsMessage.js';
import { SenderType } from '../../src-core/mls/framing/sender.js';
import { updateInterimTranscriptHash } from '../../src-core/mls/framing/transcriptHash.js';
import {
  createGroup,
  createGroupInfo,
  defaultCapabilities,
  externalPubCodec,
  processMessage,
  sendApplicationMessage,
} from '../../src-core/mls/group/index.js';
import { nextEpoch } from '../../src-core/mls/group/epochTransition.js';
import { PROTOCOL_VERSION_MLS10 } from '../../src-core/mls/groupContext.js';
import { externalInitSend, zeroSecret } from '../../src-core/mls/keySchedule.js';
import type { Proposal } from '../../src-core/mls/proposal.js';
import { ProposalType } from '../../src-core/mls/proposal.js';
import { RatchetTree, applyRemove } from '../../src-core/mls/ratchetTree/index.js';
import { ratchetTreeCodec } from '../../src-core/mls/ratchetTreeExtension.js';
import { createUpdatePath } from '../../src-core/mls/treekem/index.js';
import { toHex } from '../support/shared.js';
import type { Client } from './groupHarness.js';
import { World, expectMlsError, keyPackageFor, snapshot, text, wire } from './groupHarness.js';

const byValue = (...ps: Proposal[]): Commit['proposals'] =>
  ps.map((proposal) => ({ type: ProposalOrRefType.proposal, proposal }));

/**
 * A joiner's external commit (§12.4.3.2), built from the primitives: what the other members must
 * accept. Returns the message and the epoch authenticator the joiner derives.
 */
function externalCommit(
  suite: CipherSuite,
  groupInfoBytes: Uint8Array,
  joiner: Client,
  options: { remove?: number; extra?: Proposal[] } = {},
): { message: FramedMlsMessage; epochAuthenticator: Uint8Array } {
  const m = decodeMlsMessage(groupInfoBytes);
  if (m.wireFormat !== WireFormat.groupInfo) throw new Error('not a GroupInfo');
  const gi = m.groupInfo;
  const gc = gi.groupContext;
  const ext = (t: number) => gi.extensions.find((e) => e.extensionType === t)!.extensionData;
  const tree = RatchetTree.fromNodes(
    suite,
    decode(ratchetTreeCodec, ext(ExtensionType.ratchetTree)),
  );
  const { externalPub } = decode(externalPubCodec, ext(ExtensionType.externalPub));
  const { kemOutput, initSecret } = externalInitSend(suite, externalPub);
  const proposals: Proposal[] = [
    { proposalType: ProposalType.externalInit, externalInit: { kemOutput } },
  ];
  const diff = tree.stage();
  if (options.remove !== undefined) {
    proposals.push({ proposalType: ProposalType.remove, remove: { removed: options.remove } });
    applyRemove(diff, options.remove);
  }
  proposals.push(...(options.extra ?? []));
  let leaf = diff.leftmostBlankLeaf();
  if (leaf === undefined) {
    leaf = diff.leafCount;
    diff.extend();
  }
  const provisional = { ...gc, epoch: gc.epoch + 1n };
  const path = createUpdatePath({
    tree: diff.commit(),
    leafIndex: leaf,
    groupContext: provisional,
    leafNode: {
      signatureKey: joiner.signature.publicKey,
      credential: joiner.credential,
      capabilities: defaultCapabilities(suite, 1),
      extensions: [],
    },
    signaturePrivateKey: joiner.signature.privateKey,
  });
  const content: FramedContent = {
    groupId: gc.groupId,
    epoch: gc.epoch,
    sender: { senderType: SenderType.newMemberCommit },
    authenticatedData: new Uint8Array(0),
    contentType: ContentType.commit,
    commit: { proposals: byValue(...proposals), path: path.updatePath },
  };
  let authenticator: Uint8Array | undefined;
  const ac = authenticateCommit(
    suite,
    {
      signaturePrivateKey: joiner.signature.privateKey,
      wireFormat: WireFormat.publicMessage,
      content,
      groupContext: gc,
    },
    (signature) => {
      const next = nextEpoch({
        suite,
        interimTranscriptHash: updateInterimTranscriptHash(
          suite,
          gc.confirmedTranscriptHash,
          gi.confirmationTag,
        ),
        provisional: path.groupContext,
        initSecret,
        commitSecret: path.commitSecret,
        pskSecret: zeroSecret(suite),
        wireFormat: WireFormat.publicMessage,
        content,
        signature,
      });
      authenticator = next.keys.epoch.epochAuthenticator.slice();
      return next.keys.epoch.confirmationTag(next.groupContext.confirmedTranscriptHash);
    },
  );
  return {
    message: {
      version: PROTOCOL_VERSION_MLS10,
      wireFormat: WireFormat.publicMessage,
      publicMessage: { content: ac.content, auth: ac.auth },
    },
    epochAuthenticator: authenticator!,
  };
}

function threeMembers(): World {
  const w = new World();
  w.create('alice');
  w.commit(
    'alice',
    {
      proposals: ['bob', 'carol'].map((n) => ({
        proposalType: ProposalType.add,
        add: { keyPackage: w.keyPackage(n).keyPackage },
      })),
    },
    ['bob', 'carol'],
  );
  return w;
}

describe('external commits (members processing them)', () => {
  it('a joiner with the GroupInfo commits itself in; every member agrees with it', () => {
    const w = threeMembers();
    const dave = w.client('dave');
    const gi = wire(createGroupInfo(w.state('bob')));
    const { message, epochAuthenticator } = externalCommit(w.suite, gi, dave);
    const bytes = wire(message);
    for (const name of ['alice', 'bob', 'carol']) {
      const got = processMessage(w.state(name), bytes);
      if (got.kind !== 'commit') throw new Error('not a commit');
      expect(got.staged.committer.senderType).toBe(SenderType.newMemberCommit);
      w.states.set(name, got.staged.merge());
    }
    w.expectAgreement();
    expect(toHex(w.state('alice').epochAuthenticator())).toBe(toHex(epochAuthenticator));
    expect(w.state('alice').memberCount).toBe(4);
    w.send('carol', 'welcome dave');
  });

  it('a resync: the joiner replaces its old leaf with a Remove', () => {
    const w = threeMembers();
    const carol = w.client('carol');
    const carolLeaf = w.leafOf('carol');
    const gi = wire(createGroupInfo(w.state('alice')));
    const { message, epochAuthenticator } = externalCommit(w.suite, gi, carol, {
      remove: carolLeaf,
    });
    for (const name of ['alice', 'bob']) {
      const got = processMessage(w.state(name), wire(message));
      if (got.kind !== 'commit') throw new Error('not a commit');
      expect(got.staged.removed).toEqual([carolLeaf]);
      w.states.set(name, got.staged.merge());
    }
    w.states.delete('carol');
    w.expectAgreement();
    expect(toHex(w.state('bob').epochAuthenticator())).toBe(toHex(epochAuthenticator));
  });

  it('rejects external commits with other proposals, or for a past epoch, changing nothing', () => {
    const w = threeMembers();
    const gi = wire(createGroupInfo(w.state('alice')));
    const eve = w.client('eve');
    const bob = w.state('bob');
    const before = snapshot(bob);
    const withAdd = externalCommit(w.suite, gi, eve, {
      extra: [
        {
          proposalType: ProposalType.add,
          add: { keyPackage: keyPackageFor(w.suite, w.client('x')).keyPackage },
        },
      ],
    });
    expectMlsError(() => processMessage(bob, wire(withAdd.message)), 'invalid_external_commit');
    const twoInits = externalCommit(w.suite, gi, eve, {
      extra: [
        {
          proposalType: ProposalType.externalInit,
          externalInit: { kemOutput: new Uint8Array(32) },
        },
      ],
    });
    expectMlsError(() => processMessage(bob, wire(twoInits.message)), 'invalid_external_commit');
    expect(snapshot(bob)).toBe(before);
    // A GroupInfo of the epoch before: its external_pub gives another init secret.
    const stale = wire(createGroupInfo(w.state('alice')));
    w.commit('alice', { path: 'always' });
    const late = externalCommit(w.suite, stale, eve);
    expectMlsError(() => processMessage(w.state('bob'), wire(late.message)), 'wrong_epoch');
  });
});

describe('GroupContext extensions, custom proposals, ReInit', () => {
  const CUSTOM_EXT = 0xff00;
  const CUSTOM_PROPOSAL = 0xf0f0;

  it('required capabilities bind current and new members', () => {
    const w = threeMembers();
    const required = {
      extensionType: ExtensionType.requiredCapabilities,
      extensionData: encode(requiredCapabilitiesCodec, {
        extensionTypes: [CUSTOM_EXT],
        proposalTypes: [],
        credentialTypes: [],
      }),
    };
    const gce: Proposal = {
      proposalType: ProposalType.groupContextExtensions,
      groupContextExtensions: { extensions: [required] },
    };
    // The members list no support for CUSTOM_EXT.
    expectMlsError(() => w.prepare('alice', { proposals: [gce] }), 'missing_required_capability');

    // A group whose members all support it.
    const suite = w.suite;
    const caps = {
      ...defaultCapabilities(suite, 1),
      extensions: [CUSTOM_EXT],
      proposals: [CUSTOM_PROPOSAL],
    };
    const v = new World();
    const founder = v.client('founder');
    v.states.set(
      'founder',
      createGroup({
        suite,
        credential: founder.credential,
        signatureKeyPair: founder.signature,
        capabilities: caps,
        extensions: [required],
      }),
    );
    const good = keyPackageFor(suite, v.client('good'), { capabilities: caps });
    v.pending.set('good', good);
    const bad = keyPackageFor(suite, v.client('bad'));
    expectMlsError(
      () =>
        v.prepare('founder', {
          proposals: [{ proposalType: ProposalType.add, add: { keyPackage: bad.keyPackage } }],
        }),
      'missing_required_capability',
    );
    v.commit(
      'founder',
      { proposals: [{ proposalType: ProposalType.add, add: { keyPackage: good.keyPackage } }] },
      ['good'],
    );
    // A custom proposal type every member supports goes through and reaches the application.
    const custom: Proposal = { proposalType: CUSTOM_PROPOSAL, data: text('app-defined') };
    const staged = v.commit('good', { proposals: [custom] });
    expect(staged.get('founder')!.customProposals).toEqual([custom]);
    // The unsupported one is refused in the first group.
    expectMlsError(() => w.prepare('alice', { proposals: [custom] }), 'unsupported_proposal_type');
  });

  it('a committed ReInit stops the group', () => {
    const w = threeMembers();
    const reinit: Proposal = {
      proposalType: ProposalType.reinit,
      reInit: { groupId: w.suite.randomBytes(32), version: 1, cipherSuite: 3, extensions: [] },
    };
    expectMlsError(
      () =>
        w.prepare('alice', {
          proposals: [{ ...reinit, reInit: { ...reinit.reInit, version: 0 } } as Proposal],
        }),
      'invalid_reinit',
    );
    const created = w.prepare('alice', { proposals: [reinit] });
    const others = ['bob', 'carol'].map((n) => {
      const got = processMessage(w.state(n), wire(created.commit));
      if (got.kind !== 'commit') throw new Error('not a commit');
      expect(got.staged.reInit?.cipherSuite).toBe(3);
      return got.staged.merge();
    });
    const alice = created.staged.merge();
    for (const s of [alice, ...others]) {
      expect(s.status).toBe('reinit');
      expectMlsError(() => sendApplicationMessage(s, text('x')), 'group_inactive');
    }
  });
});
