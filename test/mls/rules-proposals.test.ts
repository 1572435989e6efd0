/**
 * RFC 9420 §12.1 (each proposal on its own) and §12.2 (the proposal list of a commit): one
 * negative test per rule a malicious member could break. Bob (leaf 1) commits what an honest
 * client would refuse to send — well signed, membership-tagged and with the right confirmation
 * tag (test/support/evilCommitter.ts) — or Carol sends such a proposal message. Every other
 * member rejects it with the rule's own code and is left exactly as before; then an honest commit
 * and application messages go through.
 */
import { describe, expect, it } from 'vitest';
import type { ProposalOrRef } from '../../src-core/mls/commit.js';
import { CredentialType } from '../../src-core/mls/credential.js';
import type { MlsErrorCode } from '../../src-core/mls/errors.js';
import type { Extension } from '../../src-core/mls/extension.js';
import { ExtensionType } from '../../src-core/mls/extension.js';
import type { FramingWireFormat } from '../../src-core/mls/framing/framedContent.js';
import { WireFormat } from '../../src-core/mls/framing/framedContent.js';
import { processMessage, proposeRemove, proposeUpdate } from '../../src-core/mls/group/index.js';
import type { KeyPackage } from '../../src-core/mls/keyPackage.js';
import { LeafNodeSource } from '../../src-core/mls/leafNode.js';
import type { Proposal } from '../../src-core/mls/proposal.js';
import { ProposalType } from '../../src-core/mls/proposal.js';
import type { PreSharedKeyID } from '../../src-core/mls/psk.js';
import { PSKType, ResumptionPSKUsage } from '../../src-core/mls/psk.js';
import { byRef, byValue, forgeCommit } from '../support/evilCommitter.js';
import type { RuleGroupOptions } from '../support/ruleHarness.js';
import {
  CUSTOM_EXTENSION,
  expectRejected,
  expectStillWorks,
  requiredCapabilities,
  ruleGroup,
} from '../support/ruleHarness.js';
import { keyPackageVariant, rawProposal, updateLeaf } from '../support/tamper.js';
import type { World } from './groupHarness.js';
import { keyPackageFor, text, wire } from './groupHarness.js';

type Forge = (w: World, wireFormat: FramingWireFormat) => Uint8Array;

interface Rule {
  readonly section: string;
  readonly rule: string;
  readonly code: MlsErrorCode;
  readonly forge: Forge;
  /** Who sends the bad message (default Bob, the committer). */
  readonly forger?: string;
  /** Members who helped make it and are not asked to reject it. */
  readonly colluders?: readonly string[];
  readonly group?: RuleGroupOptions;
}

const add = (keyPackage: KeyPackage): Proposal => ({
  proposalType: ProposalType.add,
  add: { keyPackage },
});
const remove = (removed: number): Proposal => ({
  proposalType: ProposalType.remove,
  remove: { removed },
});
const psk = (id: PreSharedKeyID): Proposal => ({
  proposalType: ProposalType.psk,
  psk: { psk: id },
});
const gce = (extensions: Extension[]): Proposal => ({
  proposalType: ProposalType.groupContextExtensions,
  groupContextExtensions: { extensions },
});
const externalPsk = (w: World, nonceLength = w.suite.kdf.size): PreSharedKeyID => ({
  pskType: PSKType.external,
  pskId: text('team secret'),
  pskNonce: w.suite.randomBytes(nonceLength),
});
const resumption = (w: World, usage: ResumptionPSKUsage): PreSharedKeyID => ({
  pskType: PSKType.resumption,
  usage,
  pskGroupId: w.state('bob').groupId,
  pskEpoch: w.state('bob').epoch,
  pskNonce: w.suite.randomBytes(w.suite.kdf.size),
});
const reinit = (w: World, version = 1): Proposal => ({
  proposalType: ProposalType.reinit,
  reInit: { groupId: w.suite.randomBytes(16), version, cipherSuite: 1, extensions: [] },
});

/** Bob commits `proposals` (by value unless given as ProposalOrRef) with an honest path. */
function bobCommits(proposals: (w: World) => (Proposal | ProposalOrRef)[]): Forge {
  return (w, wireFormat) => {
    const list = proposals(w).map((p): ProposalOrRef => ('type' in p ? p : byValue(p)[0]!));
    return forgeCommit(w.state('bob'), { proposals: list, wireFormat }).bytes;
  };
}

/** `from` sends a proposal; everyone else caches it. Returns its ref. */
function broadcast(w: World, from: string, message: Uint8Array): Uint8Array {
  let ref: Uint8Array | undefined;
  for (const [name, s] of w.states) {
    if (name === from) continue;
    const got = processMessage(s, message);
    if (got.kind !== 'proposal') throw new Error(`${name} read a ${got.kind}`);
    ref = got.ref;
  }
  return ref!;
}

const frankKp = (w: World, changes: Parameters<typeof keyPackageVariant>[2] = {}) =>
  keyPackageVariant(w.state('bob'), w.client('frank'), changes);
const mallory = (w: World) => w.client('mallory').signature.privateKey;
const noMallory: RuleGroupOptions = {
  config: {
    validateCredential: (c) =>
      'identity' in c && new TextDecoder().decode(c.identity) !== 'mallory',
  },
};

const rules: Rule[] = [
  // §12.1.1 Add: "invalid if the KeyPackage is invalid" (§10.1, §7.3)
  {
    section: '12.1.1',
    rule: 'Add: KeyPackage signature does not verify',
    code: 'invalid_signature',
    forge: bobCommits((w) => [add(frankKp(w, { signer: mallory(w) }))]),
  },
  {
    section: '12.1.1',
    rule: 'Add: KeyPackage of another cipher suite',
    code: 'unsupported_cipher_suite',
    forge: bobCommits((w) => [add(frankKp(w, { tbs: (t) => ({ ...t, cipherSuite: 3 }) }))]),
  },
  {
    section: '12.1.1',
    rule: 'Add: KeyPackage of another protocol version',
    code: 'unsupported_version',
    forge: bobCommits((w) => [add(frankKp(w, { tbs: (t) => ({ ...t, version: 2 }) }))]),
  },
  {
    section: '12.1.1',
    rule: 'Add: init_key equals the leaf encryption_key',
    code: 'init_key_equals_encryption_key',
    forge: bobCommits((w) => [
      add(frankKp(w, { tbs: (t) => ({ ...t, initKey: t.leafNode.encryptionKey }) })),
    ]),
  },
  {
    section: '12.1.1',
    rule: 'Add: leaf_node_source is not key_package',
    code: 'invalid_leaf_node_source',
    forge: bobCommits((w) => [
      add(frankKp(w, { leaf: (l) => ({ ...l, leafNodeSource: LeafNodeSource.update }) })),
    ]),
  },
  {
    section: '12.1.1',
    rule: 'Add: KeyPackage lifetime is over',
    code: 'invalid_lifetime',
    forge: bobCommits((w) => [
      add(keyPackageFor(w.suite, w.client('frank'), { now: 1000n, validFor: 10n }).keyPackage),
    ]),
  },
  {
    section: '12.1.1',
    rule: 'Add: init_key is not an HPKE public key',
    code: 'invalid_public_key',
    forge: bobCommits((w) => [
      add(frankKp(w, { tbs: (t) => ({ ...t, initKey: t.initKey.subarray(1) }) })),
    ]),
  },
  {
    section: '12.1.1',
    rule: "Add: credential type missing from the leaf's capabilities",
    code: 'unsupported_capability',
    forge: bobCommits((w) => [
      add(
        frankKp(w, {
          leaf: (l) => ({ ...l, capabilities: { ...l.capabilities, credentials: [2] } }),
        }),
      ),
    ]),
  },
  {
    section: '12.1.1',
    rule: 'Add: an extension type twice in the KeyPackage',
    code: 'duplicate_extension',
    forge: bobCommits((w) => {
      const e = { extensionType: 0x0a0a, extensionData: new Uint8Array(0) };
      return [add(frankKp(w, { tbs: (t) => ({ ...t, extensions: [e, e] }) }))];
    }),
  },
  {
    section: '12.1.1',
    rule: 'Add: credential refused by the Authentication Service',
    code: 'credential_rejected',
    group: noMallory,
    forge: bobCommits((w) => [add(keyPackageFor(w.suite, w.client('mallory')).keyPackage)]),
  },
  {
    section: '12.1.1',
    rule: "Add: leaf encryption_key already in the tree (Carol's)",
    code: 'duplicate_encryption_key',
    forge: bobCommits((w) => [
      add(
        frankKp(w, {
          leaf: (l) => ({ ...l, encryptionKey: w.state('carol').ownLeafNode.encryptionKey }),
        }),
      ),
    ]),
  },
  {
    section: '12.1.1',
    rule: "Add: leaf lacks the group's required capabilities",
    code: 'missing_required_capability',
    group: {
      supported: [CUSTOM_EXTENSION],
      groupExtensions: [requiredCapabilities([CUSTOM_EXTENSION])],
    },
    forge: bobCommits((w) => [add(keyPackageFor(w.suite, w.client('frank')).keyPackage)]),
  },
  {
    section: '12.1.1',
    rule: 'Add: leaf does not support a GroupContext extension in use',
    code: 'unsupported_extension',
    group: {
      supported: [CUSTOM_EXTENSION],
      groupExtensions: [{ extensionType: CUSTOM_EXTENSION, extensionData: text('x') }],
    },
    forge: bobCommits((w) => [add(keyPackageFor(w.suite, w.client('frank')).keyPackage)]),
  },
  // §12.1.2 Update: "invalid if the LeafNode is invalid for an Update" (§7.3), sent by Carol
  {
    section: '12.1.2',
    rule: 'Update: leaf_node_source is not update',
    code: 'invalid_leaf_node_source',
    forger: 'carol',
    forge: (w, wf) => {
      const carol = w.state('carol');
      const leafNode = updateLeaf(carol, (c) => ({
        ...c,
        leafNodeSource: LeafNodeSource.commit,
        parentHash: new Uint8Array(32),
      }));
      return rawProposal(carol, { proposalType: ProposalType.update, update: { leafNode } }, wf);
    },
  },
  {
    section: '12.1.2',
    rule: 'Update: leaf signed for another leaf index',
    code: 'invalid_signature',
    forger: 'carol',
    forge: (w, wf) => {
      const carol = w.state('carol');
      const leafNode = updateLeaf(carol, undefined, { groupId: carol.groupId, leafIndex: 3 });
      return rawProposal(carol, { proposalType: ProposalType.update, update: { leafNode } }, wf);
    },
  },
  // §12.1 asks a receiver of a proposal only to check its signature and epoch; these Updates are
  // refused once a commit applies them (§12.2: "the ratchet tree is invalid" after the commit).
  {
    section: '12.1.2',
    rule: 'Update (by reference): encryption_key equal to the leaf being replaced',
    code: 'duplicate_encryption_key',
    // Carol proposes it outside her client's checks, so only she lacks it in her cache.
    colluders: ['carol'],
    forge: (w, wf) => {
      const carol = w.state('carol');
      const leafNode = updateLeaf(carol, (c) => ({
        ...c,
        encryptionKey: carol.ownLeafNode.encryptionKey,
      }));
      const ref = broadcast(
        w,
        'carol',
        rawProposal(carol, { proposalType: ProposalType.update, update: { leafNode } }, wf),
      );
      return forgeCommit(w.state('bob'), { proposals: byRef(ref), wireFormat: wf }).bytes;
    },
  },
  {
    section: '12.1.2',
    rule: "Update (by reference): leaf lacks the group's required capabilities",
    code: 'missing_required_capability',
    group: {
      supported: [CUSTOM_EXTENSION],
      groupExtensions: [requiredCapabilities([CUSTOM_EXTENSION])],
    },
    forge: (w, wf) => {
      const carol = w.state('carol');
      const { message } = proposeUpdate(carol, {
        capabilities: { ...carol.ownLeafNode.capabilities, extensions: [] },
      });
      const ref = broadcast(w, 'carol', wire(message));
      return forgeCommit(w.state('bob'), { proposals: byRef(ref), wireFormat: wf }).bytes;
    },
  },
  {
    section: '12.1.2',
    rule: 'Update: new credential refused by the Authentication Service',
    code: 'credential_rejected',
    forger: 'carol',
    group: noMallory,
    forge: (w, wf) => {
      const carol = w.state('carol');
      const leafNode = updateLeaf(carol, (c) => ({
        ...c,
        credential: { credentialType: CredentialType.basic, identity: text('mallory') },
      }));
      return rawProposal(carol, { proposalType: ProposalType.update, update: { leafNode } }, wf);
    },
  },
  // §12.1.3 Remove: "invalid if removed does not identify a non-blank leaf node"
  {
    section: '12.1.3',
    rule: 'Remove: a blank leaf inside the tree',
    code: 'blank_leaf',
    forge: bobCommits(() => [remove(6)]),
  },
  {
    section: '12.1.3',
    rule: 'Remove: a leaf beyond the tree',
    code: 'leaf_out_of_range',
    forge: bobCommits(() => [remove(99)]),
  },
  // §12.1.4 PreSharedKey
  {
    section: '12.1.4',
    rule: 'PreSharedKey: psk_nonce not KDF.Nh bytes',
    code: 'psk_invalid',
    forge: bobCommits((w) => [psk(externalPsk(w, 5))]),
  },
  {
    section: '12.1.4',
    rule: 'PreSharedKey: resumption usage reinit outside a reinitialization',
    code: 'psk_usage_invalid',
    forge: bobCommits((w) => [psk(resumption(w, ResumptionPSKUsage.reinit))]),
  },
  {
    section: '12.1.4',
    rule: 'PreSharedKey: resumption usage branch outside a branch',
    code: 'psk_usage_invalid',
    forge: bobCommits((w) => [psk(resumption(w, ResumptionPSKUsage.branch))]),
  },
  // §12.1.5 ReInit
  {
    section: '12.1.5',
    rule: "ReInit: version below the group's",
    code: 'invalid_reinit',
    forge: bobCommits((w) => [reinit(w, 0)]),
  },
  // §12.1.7 GroupContextExtensions (and §13.4)
  {
    section: '12.1.7',
    rule: 'GroupContextExtensions: required capabilities the members lack',
    code: 'missing_required_capability',
    forge: bobCommits(() => [gce([requiredCapabilities([CUSTOM_EXTENSION])])]),
  },
  {
    section: '12.1.7',
    rule: 'GroupContextExtensions: an extension a member does not support',
    code: 'unsupported_extension',
    forge: bobCommits(() => [gce([{ extensionType: CUSTOM_EXTENSION, extensionData: text('x') }])]),
  },
  {
    section: '12.1.7',
    rule: 'GroupContextExtensions: an extension type twice (§13.4)',
    code: 'duplicate_extension',
    forge: bobCommits(() => {
      const e = requiredCapabilities([]);
      return [gce([e, e])];
    }),
  },
  {
    section: '12.1.7',
    rule: 'GroupContextExtensions: required_capabilities that does not decode',
    code: 'decode_failed',
    forge: bobCommits(() => [
      gce([
        {
          extensionType: ExtensionType.requiredCapabilities,
          extensionData: new Uint8Array([9, 9]),
        },
      ]),
    ]),
  },
  // §12.2 the list of a regular commit
  {
    section: '12.2',
    rule: 'an Update generated by the committer',
    code: 'update_by_committer',
    forge: bobCommits((w) => [
      { proposalType: ProposalType.update, update: { leafNode: updateLeaf(w.state('bob')) } },
    ]),
  },
  {
    section: '12.2',
    rule: 'a Remove of the committer',
    code: 'remove_committer',
    forge: bobCommits(() => [remove(1)]),
  },
  {
    section: '12.2',
    rule: 'two Removes of the same leaf (a neighbour)',
    code: 'duplicate_leaf_change',
    forge: bobCommits(() => [remove(2), remove(2)]),
  },
  {
    section: '12.2',
    rule: "Carol's Update (by reference) and a Remove of Carol",
    code: 'duplicate_leaf_change',
    forge: (w, wf) => {
      const ref = broadcast(w, 'carol', wire(proposeUpdate(w.state('carol')).message));
      return forgeCommit(w.state('bob'), {
        proposals: [...byRef(ref), ...byValue(remove(2))],
        wireFormat: wf,
      }).bytes;
    },
  },
  {
    section: '12.2',
    rule: 'two Updates of Dave, both by reference',
    code: 'duplicate_leaf_change',
    forge: (w, wf) => {
      const dave = w.state('dave');
      const r1 = broadcast(w, 'dave', wire(proposeUpdate(dave).message));
      const r2 = broadcast(w, 'dave', wire(proposeUpdate(dave).message));
      return forgeCommit(w.state('bob'), { proposals: byRef(r1, r2), wireFormat: wf }).bytes;
    },
  },
  {
    section: '12.2',
    rule: 'two Adds of the same client (two KeyPackages, one signature key)',
    code: 'duplicate_add',
    forge: bobCommits((w) => [add(frankKp(w)), add(frankKp(w))]),
  },
  {
    section: '12.2',
    rule: 'an Add of a client already in the group, without its Remove',
    code: 'add_existing_member',
    forge: bobCommits((w) => [add(keyPackageFor(w.suite, w.client('dave')).keyPackage)]),
  },
  {
    section: '12.2',
    rule: 'two PreSharedKey proposals with the same PreSharedKeyID',
    code: 'duplicate_psk',
    forge: bobCommits((w) => {
      const id = externalPsk(w);
      return [psk(id), psk(id)];
    }),
  },
  {
    section: '12.2',
    rule: 'two GroupContextExtensions proposals',
    code: 'multiple_group_context_extensions',
    forge: bobCommits(() => [gce([]), gce([])]),
  },
  {
    section: '12.2',
    rule: 'a ReInit after another proposal',
    code: 'reinit_not_alone',
    forge: bobCommits((w) => [remove(2), reinit(w)]),
  },
  {
    section: '12.2',
    rule: 'a ReInit before another proposal (a neighbour, by reference)',
    code: 'reinit_not_alone',
    forge: (w, wf) => {
      const ref = broadcast(w, 'alice', wire(proposeRemove(w.state('alice'), 3).message));
      return forgeCommit(w.state('bob'), {
        proposals: [...byValue(reinit(w)), ...byRef(ref)],
        wireFormat: wf,
      }).bytes;
    },
  },
  {
    section: '12.2',
    rule: 'an ExternalInit in a regular commit',
    code: 'external_init_not_allowed',
    forge: bobCommits((w) => [
      {
        proposalType: ProposalType.externalInit,
        externalInit: { kemOutput: w.suite.generateHpkeKeyPair().publicKey },
      },
    ]),
  },
  {
    section: '12.2',
    rule: 'a non-default proposal type some members do not support',
    code: 'unsupported_proposal_type',
    forge: bobCommits(() => [{ proposalType: 0xf0f0, data: text('app') }]),
  },
];

const WIRE_FORMATS = [
  ['PublicMessage', WireFormat.publicMessage],
  ['PrivateMessage', WireFormat.privateMessage],
] as const;

describe.each(WIRE_FORMATS)('§12.1/§12.2 rules, %s', (_name, wireFormat) => {
  it.each(rules.map((r) => [`§${r.section} ${r.rule} -> ${r.code}`, r] as const))(
    '%s',
    (_title, rule) => {
      const w = ruleGroup(rule.group);
      const forger = rule.forger ?? 'bob';
      const message = rule.forge(w, wireFormat);
      expectRejected(w, message, rule.code, [forger, ...(rule.colluders ?? [])]);
      expectStillWorks(w, forger);
    },
  );
});

describe('what the list rules allow', () => {
  it('an Add of a member that the same commit removes (a re-add) is accepted', () => {
    const w = ruleGroup();
    const daveAgain = keyPackageFor(w.suite, w.client('dave'));
    w.pending.set('dave', daveAgain);
    const staged = w.commit('bob', { proposals: [remove(3), add(daveAgain.keyPackage)] }, ['dave']);
    expect(staged.get('alice')!.removed).toEqual([3]);
    expect(w.leafOf('dave')).toBe(3);
    w.send('dave', 'back again');
  });

  it('the forger, told to break nothing, makes a commit every member accepts', () => {
    const w = ruleGroup();
    const forged = forgeCommit(w.state('bob'), {
      proposals: byValue(remove(2), add(frankKp(w))),
    });
    for (const name of ['alice', 'dave', 'erin']) {
      const got = processMessage(w.state(name), forged.bytes);
      if (got.kind !== 'commit') throw new Error('not a commit');
      expect(got.staged.epochAuthenticator()).toEqual(forged.epochAuthenticator);
      got.staged.discard();
    }
  });
});
