/**
 * RFC 9420 §12.4.2 (processing a commit), with the leaf rules of §7.3 it applies to the
 * UpdatePath and §7.5–§7.6, §7.9 (path keys, parent hashes): one forged commit per rule a
 * malicious member could break (external commits: rules-external.test.ts). The forger (test/support/evilCommitter.ts) builds everything else as an honest committer
 * would — signature, membership tag, path, confirmation tag — so each commit is rejected for the
 * one rule broken, with that rule's code, by every member, who is left exactly as before; then an
 * honest commit and application messages go through.
 */
import { describe, expect, it } from 'vitest';
import { CredentialType } from '../../src-core/mls/credential.js';
import type { MlsErrorCode } from '../../src-core/mls/errors.js';
import type { FramingWireFormat } from '../../src-core/mls/framing/framedContent.js';
import { WireFormat } from '../../src-core/mls/framing/framedContent.js';
import { SenderType, memberSender } from '../../src-core/mls/framing/sender.js';
import type { GroupState } from '../../src-core/mls/group/index.js';
import { processMessage, proposeRemove, proposeUpdate } from '../../src-core/mls/group/index.js';
import { LeafNodeSource } from '../../src-core/mls/leafNode.js';
import type { Proposal } from '../../src-core/mls/proposal.js';
import { ProposalType } from '../../src-core/mls/proposal.js';
import { PSKType, ResumptionPSKUsage } from '../../src-core/mls/psk.js';
import type { ForgeCommitOptions } from '../support/evilCommitter.js';
import { byRef, byValue, forgeCommit } from '../support/evilCommitter.js';
import type { RuleGroupOptions } from '../support/ruleHarness.js';
import {
  CUSTOM_EXTENSION,
  expectRejected,
  expectStillWorks,
  requiredCapabilities,
  ruleGroup,
} from '../support/ruleHarness.js';
import type { World } from './groupHarness.js';
import { text, wire } from './groupHarness.js';

type Forge = (w: World, wireFormat: FramingWireFormat) => Uint8Array;

interface Rule {
  readonly section: string;
  readonly rule: string;
  readonly code: MlsErrorCode;
  readonly forge: Forge;
  /** Default both: some framing rules only exist for one of them. */
  readonly wireFormats?: readonly FramingWireFormat[];
  readonly group?: RuleGroupOptions;
}

const PUBLIC_ONLY = [WireFormat.publicMessage] as const;
const remove = (removed: number): Proposal => ({
  proposalType: ProposalType.remove,
  remove: { removed },
});

/** Bob's commit of `options`, in the wire format under test. */
function bob(options: (w: World, bob: GroupState) => ForgeCommitOptions): Forge {
  return (w, wireFormat) => {
    const b = w.state('bob');
    return forgeCommit(b, { wireFormat, ...options(w, b) }).bytes;
  };
}

/**
 * Bob's empty commit (which needs a path) with the path changed by `path`. Nobody is removed: a
 * member the commit removes cannot derive the new epoch, so it could check neither the path
 * secrets nor the confirmation tag.
 */
function bobPath(path: (w: World, bob: GroupState) => ForgeCommitOptions['path']): Forge {
  return bob((w, b) => ({ path: path(w, b) }));
}

const flip = (b: Uint8Array): Uint8Array => {
  const c = b.slice();
  c[c.length - 1]! ^= 1;
  return c;
};
const mallory = (w: World) => w.client('mallory').signature.privateKey;
const onlyBasic = (identity: string): RuleGroupOptions => ({
  config: {
    validateCredential: (c) => 'identity' in c && new TextDecoder().decode(c.identity) !== identity,
  },
});

const rules: Rule[] = [
  // §12.4.2 framing: epoch, group, membership tag, signature, sender
  {
    section: '12.4.2',
    rule: 'epoch: a commit for the next epoch',
    code: 'wrong_epoch',
    wireFormats: PUBLIC_ONLY,
    forge: bob((_, b) => ({ epoch: b.epoch + 1n })),
  },
  {
    section: '12.4.2',
    rule: 'epoch: a commit for the previous epoch',
    code: 'wrong_epoch',
    wireFormats: PUBLIC_ONLY,
    forge: bob((_, b) => ({ epoch: b.epoch - 1n })),
  },
  {
    section: '12.4.2',
    rule: 'group_id of another group',
    code: 'wrong_group',
    wireFormats: PUBLIC_ONLY,
    forge: bob((w) => ({ groupId: w.suite.randomBytes(32) })),
  },
  {
    section: '12.4.2',
    rule: 'PublicMessage: membership tag under another key (a removed member)',
    code: 'invalid_membership_tag',
    wireFormats: PUBLIC_ONLY,
    forge: bob((w) => ({ membershipKey: w.suite.randomBytes(w.suite.hash.size) })),
  },
  {
    section: '12.4.2',
    rule: "signature: Bob signs a commit claiming Carol's leaf (valid tag / keys)",
    code: 'invalid_signature',
    forge: bob(() => ({ sender: memberSender(2) })),
  },
  {
    section: '12.4.2',
    rule: 'sender: a blank leaf',
    code: 'invalid_sender',
    forge: bob(() => ({ sender: memberSender(6) })),
  },
  {
    section: '12.4.2',
    rule: 'sender: a leaf beyond the tree',
    code: 'invalid_sender',
    wireFormats: PUBLIC_ONLY,
    forge: bob(() => ({ sender: memberSender(99), proposals: byValue(remove(2)), path: 'none' })),
  },
  {
    section: '12.4.2',
    rule: 'sender: an external sender cannot commit (§6.1)',
    code: 'invalid_sender',
    wireFormats: PUBLIC_ONLY,
    forge: bob(() => ({ sender: { senderType: SenderType.external, senderIndex: 0 } })),
  },
  {
    section: '12.4.2',
    rule: 'sender: new_member_proposal cannot commit (§6.1)',
    code: 'invalid_sender',
    wireFormats: PUBLIC_ONLY,
    forge: bob(() => ({ sender: { senderType: SenderType.newMemberProposal } })),
  },
  // §12.4.2 proposals: references and PSKs
  {
    section: '12.4.2',
    rule: 'a proposal reference nobody knows',
    code: 'proposal_not_found',
    forge: bob((w) => ({ proposals: byRef(w.suite.randomBytes(32)) })),
  },
  {
    section: '12.4.2',
    rule: 'a reference to a proposal of the previous epoch',
    code: 'proposal_not_found',
    forge: (w, wireFormat) => {
      const sent = wire(proposeRemove(w.state('alice'), 3).message);
      let ref: Uint8Array | undefined;
      for (const n of ['bob', 'carol', 'dave', 'erin']) {
        const got = processMessage(w.state(n), sent);
        if (got.kind === 'proposal') ref = got.ref;
      }
      w.commit('carol', { byReference: 'none', path: 'always' });
      return forgeCommit(w.state('bob'), { proposals: byRef(ref!), wireFormat }).bytes;
    },
  },
  {
    section: '12.4.2',
    rule: 'an external PSK the members do not have',
    code: 'psk_not_found',
    forge: bob((w) => ({
      proposals: byValue({
        proposalType: ProposalType.psk,
        psk: {
          psk: {
            pskType: PSKType.external,
            pskId: text('only bob has this'),
            pskNonce: w.suite.randomBytes(32),
          },
        },
      }),
      psk: () => new Uint8Array(32).fill(9),
    })),
  },
  {
    section: '12.4.2',
    rule: 'a resumption PSK of an epoch no longer kept',
    code: 'psk_not_found',
    forge: bob((w, b) => ({
      proposals: byValue({
        proposalType: ProposalType.psk,
        psk: {
          psk: {
            pskType: PSKType.resumption,
            usage: ResumptionPSKUsage.application,
            pskGroupId: b.groupId,
            pskEpoch: 0n,
            pskNonce: w.suite.randomBytes(32),
          },
        },
      }),
    })),
  },
  // §12.4.2 "Verify that the path value is populated if ..."
  {
    section: '12.4.2',
    rule: 'path missing: a Remove (of a neighbour)',
    code: 'path_required',
    forge: bob(() => ({ proposals: byValue(remove(2)), path: 'none' })),
  },
  {
    section: '12.4.2',
    rule: 'path missing: an empty commit',
    code: 'path_required',
    forge: bob(() => ({ path: 'none' })),
  },
  {
    section: '12.4.2',
    rule: "path missing: Carol's Update by reference",
    code: 'path_required',
    forge: (w, wireFormat) => {
      const sent = wire(proposeUpdate(w.state('carol')).message);
      let ref: Uint8Array | undefined;
      for (const n of ['alice', 'bob', 'dave', 'erin']) {
        const got = processMessage(w.state(n), sent);
        if (got.kind === 'proposal') ref = got.ref;
      }
      return forgeCommit(w.state('bob'), { proposals: byRef(ref!), path: 'none', wireFormat })
        .bytes;
    },
  },
  {
    section: '12.4.2',
    rule: 'path missing: a GroupContextExtensions',
    code: 'path_required',
    forge: bob(() => ({
      proposals: byValue({
        proposalType: ProposalType.groupContextExtensions,
        groupContextExtensions: { extensions: [] },
      }),
      path: 'none',
    })),
  },
  // §12.4.2 + §7.3: the committer's new LeafNode
  {
    section: '7.3',
    rule: 'path leaf: leaf_node_source is not commit',
    code: 'invalid_leaf_node_source',
    forge: bobPath(() => ({ leaf: (l) => ({ ...l, leafNodeSource: LeafNodeSource.update }) })),
  },
  {
    section: '7.3',
    rule: 'path leaf: signature by another key',
    code: 'invalid_signature',
    forge: bobPath((w) => ({ leafSigner: mallory(w) })),
  },
  {
    section: '7.3',
    rule: 'path leaf: signed for another leaf index',
    code: 'invalid_signature',
    forge: bobPath((_, b) => ({ leafBinding: { groupId: b.groupId, leafIndex: 0 } })),
  },
  {
    section: '7.3',
    rule: 'path leaf: signed for another group',
    code: 'invalid_signature',
    forge: bobPath((w, b) => ({
      leafBinding: { groupId: w.suite.randomBytes(32), leafIndex: b.ownLeaf },
    })),
  },
  {
    section: '7.3',
    rule: 'path leaf: its own credential type missing from its capabilities',
    code: 'unsupported_capability',
    // Every member supports X.509 too, so only the leaf's own capabilities are at fault.
    group: { credentials: [1, 2], config: { validateCredential: () => true } },
    forge: bobPath(() => ({
      leaf: (l) => ({
        ...l,
        credential: {
          credentialType: CredentialType.x509,
          certificates: [{ certData: text('c') }],
        },
        capabilities: { ...l.capabilities, credentials: [1] },
      }),
    })),
  },
  {
    section: '7.3',
    rule: "path leaf: an extension missing from the leaf's capabilities",
    code: 'unsupported_capability',
    forge: bobPath(() => ({
      leaf: (l) => ({ ...l, extensions: [{ extensionType: 0x0a0a, extensionData: text('x') }] }),
    })),
  },
  {
    section: '13.4',
    rule: 'path leaf: an extension type twice',
    code: 'duplicate_extension',
    forge: bobPath(() => ({
      leaf: (l) => {
        const e = { extensionType: 0x0a0a, extensionData: text('x') };
        return {
          ...l,
          capabilities: { ...l.capabilities, extensions: [0x0a0a] },
          extensions: [e, e],
        };
      },
    })),
  },
  {
    section: '7.3',
    rule: "path leaf: lacks the group's required capabilities",
    code: 'missing_required_capability',
    group: {
      supported: [CUSTOM_EXTENSION],
      groupExtensions: [requiredCapabilities([CUSTOM_EXTENSION])],
    },
    forge: bobPath(() => ({
      leaf: (l) => ({ ...l, capabilities: { ...l.capabilities, extensions: [] } }),
    })),
  },
  {
    section: '13.4',
    rule: 'path leaf: does not support a GroupContext extension in use',
    code: 'unsupported_extension',
    group: {
      supported: [CUSTOM_EXTENSION],
      groupExtensions: [{ extensionType: CUSTOM_EXTENSION, extensionData: text('x') }],
    },
    forge: bobPath(() => ({
      leaf: (l) => ({ ...l, capabilities: { ...l.capabilities, extensions: [] } }),
    })),
  },
  {
    section: '7.3',
    rule: 'path leaf: a credential type the other members do not support',
    code: 'credential_type_unsupported',
    group: { config: { validateCredential: () => true } },
    forge: bobPath(() => ({
      leaf: (l) => ({
        ...l,
        credential: {
          credentialType: CredentialType.x509,
          certificates: [{ certData: text('c') }],
        },
        capabilities: { ...l.capabilities, credentials: [1, 2] },
      }),
    })),
  },
  {
    section: '5.3.1',
    rule: 'path leaf: credential refused by the Authentication Service',
    code: 'credential_rejected',
    group: onlyBasic('mallory'),
    forge: bobPath(() => ({
      leaf: (l) => ({
        ...l,
        credential: { credentialType: CredentialType.basic, identity: text('mallory') },
      }),
    })),
  },
  {
    section: '12.4.2',
    rule: "path leaf: encryption_key equal to the committer's current one",
    code: 'duplicate_encryption_key',
    forge: bobPath((_, b) => ({
      leaf: (l) => ({ ...l, encryptionKey: b.ownLeafNode.encryptionKey }),
    })),
  },
  {
    section: '7.3',
    rule: "path leaf: encryption_key of another member (Alice's)",
    code: 'duplicate_encryption_key',
    forge: bobPath((w) => ({
      leaf: (l) => ({ ...l, encryptionKey: w.state('alice').ownLeafNode.encryptionKey }),
    })),
  },
  {
    section: '7.3',
    rule: "path leaf: signature_key of another member (Carol's)",
    code: 'duplicate_signature_key',
    forge: bobPath((w) => ({
      leaf: (l) => ({ ...l, signatureKey: w.state('carol').ownLeafNode.signatureKey }),
    })),
  },
  {
    section: '13.4',
    rule: 'path leaf: encryption_key is not an HPKE public key',
    code: 'invalid_public_key',
    forge: bobPath(() => ({ leaf: (l) => ({ ...l, encryptionKey: l.encryptionKey.subarray(1) }) })),
  },
  // §7.9, §7.5–§7.6: parent hash, path keys, ciphertexts
  {
    section: '7.9.2',
    rule: "parent_hash in the path leaf does not match the path's keys",
    code: 'parent_hash_invalid',
    forge: bobPath(() => ({ parentHash: flip })),
  },
  {
    section: '12.4.2',
    rule: 'path node key already in the tree',
    code: 'duplicate_encryption_key',
    forge: bobPath((w) => ({
      publicKeys: (k) => [k[0]!, w.state('erin').ownLeafNode.encryptionKey, ...k.slice(2)],
    })),
  },
  {
    section: '12.4.2',
    rule: 'the same key at two path nodes',
    code: 'duplicate_encryption_key',
    forge: bobPath(() => ({ publicKeys: (k) => [k[0]!, k[0]!, ...k.slice(2)] })),
  },
  {
    section: '13.4',
    rule: 'path node key is not an HPKE public key',
    code: 'invalid_public_key',
    forge: bobPath(() => ({ publicKeys: (k) => [k[0]!.subarray(2), ...k.slice(1)] })),
  },
  {
    section: '7.6',
    rule: 'UpdatePath shorter than the filtered direct path',
    code: 'update_path_length',
    forge: bobPath(() => ({ nodes: (n) => n.slice(0, -1) })),
  },
  {
    section: '7.6',
    rule: 'a path node with one ciphertext more than its resolution',
    code: 'update_path_ciphertext_count',
    forge: bobPath(() => ({
      nodes: (n) => [
        {
          ...n[0]!,
          encryptedPathSecret: [...n[0]!.encryptedPathSecret, n[0]!.encryptedPathSecret[0]!],
        },
        ...n.slice(1),
      ],
    })),
  },
  {
    section: '12.4.2',
    rule: 'root key differs from the key derived from the path secrets',
    code: 'update_path_key_mismatch',
    forge: bobPath((w) => ({
      publicKeys: (k) => [...k.slice(0, -1), w.suite.generateHpkeKeyPair().publicKey],
    })),
  },
  {
    section: '7.6',
    rule: 'path secret ciphertexts that do not decrypt',
    code: 'decryption_failed',
    forge: bobPath(() => ({
      nodes: (n) =>
        n.map((x) => ({
          ...x,
          encryptedPathSecret: x.encryptedPathSecret.map((c) => ({
            ...c,
            ciphertext: flip(c.ciphertext),
          })),
        })),
    })),
  },
  {
    section: '7.6',
    rule: 'encrypted path secrets of the wrong length',
    code: 'decryption_failed',
    forge: bobPath(() => ({ encryptedSecret: (_i, s) => s.subarray(1) })),
  },
  {
    section: '12.4.2',
    rule: 'confirmation tag does not match',
    code: 'invalid_confirmation_tag',
    forge: bob(() => ({ confirmationTag: flip })),
  },
];

describe.each([
  ['PublicMessage', WireFormat.publicMessage],
  ['PrivateMessage', WireFormat.privateMessage],
] as const)('§12.4.2 rules, %s', (_name, wireFormat) => {
  const cases = rules.filter((r) => (r.wireFormats ?? [wireFormat]).includes(wireFormat));
  it.each(cases.map((r) => [`§${r.section} ${r.rule} -> ${r.code}`, r] as const))(
    '%s',
    (_title, rule) => {
      const w = ruleGroup(rule.group);
      const message = rule.forge(w, wireFormat);
      expectRejected(w, message, rule.code, ['bob']);
      expectStillWorks(w, 'bob');
    },
  );
});

describe('the forger breaks nothing unless told to', () => {
  it.each([
    ['member, PublicMessage', WireFormat.publicMessage],
    ['member, PrivateMessage', WireFormat.privateMessage],
  ] as const)('%s: accepted, same epoch authenticator', (_n, wireFormat) => {
    const w = ruleGroup({ config: { externalPsk: () => new Uint8Array(32).fill(5) } });
    const forged = forgeCommit(w.state('bob'), {
      wireFormat,
      proposals: byValue(remove(2), {
        proposalType: ProposalType.psk,
        psk: {
          psk: { pskType: PSKType.external, pskId: text('k'), pskNonce: w.suite.randomBytes(32) },
        },
      }),
    });
    for (const n of ['alice', 'dave', 'erin']) {
      const got = processMessage(w.state(n), forged.bytes);
      if (got.kind !== 'commit') throw new Error('not a commit');
      expect(got.staged.epochAuthenticator()).toEqual(forged.epochAuthenticator);
    }
  });
});
