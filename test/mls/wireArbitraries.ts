// fast-check generators for the MLS wire structures of src-core/mls. Values cover every variant of
// every select, unknown (custom/GREASE) credential, proposal and extension types, and blank nodes.
import fc from 'fast-check';
import type {
  Capabilities,
  Lifetime,
  RequiredCapabilities,
} from '../../src-core/mls/capabilities.js';
import type { Commit, ProposalOrRef } from '../../src-core/mls/commit.js';
import type { Credential } from '../../src-core/mls/credential.js';
import type { Extension } from '../../src-core/mls/extension.js';
import type { ExternalSender } from '../../src-core/mls/externalSenders.js';
import type { GroupContext } from '../../src-core/mls/groupContext.js';
import type { GroupInfo } from '../../src-core/mls/groupInfo.js';
import type { KeyPackage } from '../../src-core/mls/keyPackage.js';
import type { LeafNode, LeafNodeSourceFields } from '../../src-core/mls/leafNode.js';
import type { Proposal } from '../../src-core/mls/proposal.js';
import type { PreSharedKeyID } from '../../src-core/mls/psk.js';
import type {
  Node,
  ParentNode,
  RatchetTreeNodes,
} from '../../src-core/mls/ratchetTreeExtension.js';
import type { UpdatePath } from '../../src-core/mls/updatePath.js';
import type { GroupSecrets, Welcome } from '../../src-core/mls/welcome.js';

export const bytes = fc.uint8Array({ maxLength: 40 });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
const u16List = fc.array(u16, { maxLength: 6 });

export const extension: fc.Arbitrary<Extension> = fc.record({
  extensionType: u16,
  extensionData: bytes,
});
const extensions = fc.array(extension, { maxLength: 3 });

/** Credential types other than reserved(0), basic(1) and x509(2): GREASE, private use, future. */
const customCredentialType = fc.integer({ min: 3, max: 0xffff });

export const credential: fc.Arbitrary<Credential> = fc.oneof(
  fc.record({ credentialType: fc.constant(1 as const), identity: bytes }),
  fc.record({
    credentialType: fc.constant(2 as const),
    certificates: fc.array(fc.record({ certData: bytes }), { maxLength: 3 }),
  }),
  fc.record({ credentialType: customCredentialType, data: bytes }),
);

export const capabilities: fc.Arbitrary<Capabilities> = fc.record({
  versions: u16List,
  cipherSuites: u16List,
  extensions: u16List,
  proposals: u16List,
  credentials: u16List,
});

export const requiredCapabilities: fc.Arbitrary<RequiredCapabilities> = fc.record({
  extensionTypes: u16List,
  proposalTypes: u16List,
  credentialTypes: u16List,
});

export const lifetime: fc.Arbitrary<Lifetime> = fc.record({ notBefore: u64, notAfter: u64 });

const sourceFields: fc.Arbitrary<LeafNodeSourceFields> = fc.oneof(
  fc.record({ leafNodeSource: fc.constant(1 as const), lifetime }),
  fc.record({ leafNodeSource: fc.constant(2 as const) }),
  fc.record({ leafNodeSource: fc.constant(3 as const), parentHash: bytes }),
);

export const leafNode: fc.Arbitrary<LeafNode> = fc
  .tuple(
    fc.record({ encryptionKey: bytes, signatureKey: bytes, credential, capabilities }),
    sourceFields,
    fc.record({ extensions, signature: bytes }),
  )
  .map(([head, select, tail]) => ({ ...head, ...select, ...tail }));

export const keyPackage: fc.Arbitrary<KeyPackage> = fc.record({
  version: u16,
  cipherSuite: u16,
  initKey: bytes,
  leafNode,
  extensions,
  signature: bytes,
});

export const preSharedKeyId: fc.Arbitrary<PreSharedKeyID> = fc.oneof(
  fc.record({ pskType: fc.constant(1 as const), pskId: bytes, pskNonce: bytes }),
  fc.record({
    pskType: fc.constant(2 as const),
    usage: fc.constantFrom(1 as const, 2 as const, 3 as const),
    pskGroupId: bytes,
    pskEpoch: u64,
    pskNonce: bytes,
  }),
);

export const proposal: fc.Arbitrary<Proposal> = fc.oneof(
  fc.record({ proposalType: fc.constant(1 as const), add: fc.record({ keyPackage }) }),
  fc.record({ proposalType: fc.constant(2 as const), update: fc.record({ leafNode }) }),
  fc.record({ proposalType: fc.constant(3 as const), remove: fc.record({ removed: u32 }) }),
  fc.record({ proposalType: fc.constant(4 as const), psk: fc.record({ psk: preSharedKeyId }) }),
  fc.record({
    proposalType: fc.constant(5 as const),
    reInit: fc.record({ groupId: bytes, version: u16, cipherSuite: u16, extensions }),
  }),
  fc.record({
    proposalType: fc.constant(6 as const),
    externalInit: fc.record({ kemOutput: bytes }),
  }),
  fc.record({
    proposalType: fc.constant(7 as const),
    groupContextExtensions: fc.record({ extensions }),
  }),
  fc.record({ proposalType: fc.integer({ min: 8, max: 0xffff }), data: bytes }),
);

export const proposalOrRef: fc.Arbitrary<ProposalOrRef> = fc.oneof(
  fc.record({ type: fc.constant(1 as const), proposal }),
  fc.record({ type: fc.constant(2 as const), reference: bytes }),
);

const hpkeCiphertext = fc.record({ kemOutput: bytes, ciphertext: bytes });

export const updatePath: fc.Arbitrary<UpdatePath> = fc.record({
  leafNode,
  nodes: fc.array(
    fc.record({
      encryptionKey: bytes,
      encryptedPathSecret: fc.array(hpkeCiphertext, { maxLength: 3 }),
    }),
    { maxLength: 3 },
  ),
});

export const commit: fc.Arbitrary<Commit> = fc.record({
  proposals: fc.array(proposalOrRef, { maxLength: 3 }),
  path: fc.option(updatePath, { nil: undefined }),
});

export const groupContext: fc.Arbitrary<GroupContext> = fc.record({
  version: fc.constant(1),
  cipherSuite: u16,
  groupId: bytes,
  epoch: u64,
  treeHash: bytes,
  confirmedTranscriptHash: bytes,
  extensions,
});

export const groupInfo: fc.Arbitrary<GroupInfo> = fc.record({
  groupContext,
  extensions,
  confirmationTag: bytes,
  signer: u32,
  signature: bytes,
});

export const groupSecrets: fc.Arbitrary<GroupSecrets> = fc.record({
  joinerSecret: bytes,
  pathSecret: fc.option(fc.record({ pathSecret: bytes }), { nil: undefined }),
  psks: fc.array(preSharedKeyId, { maxLength: 3 }),
});

export const welcome: fc.Arbitrary<Welcome> = fc.record({
  cipherSuite: u16,
  secrets: fc.array(fc.record({ newMember: bytes, encryptedGroupSecrets: hpkeCiphertext }), {
    maxLength: 3,
  }),
  encryptedGroupInfo: bytes,
});

const parentNode: fc.Arbitrary<ParentNode> = fc.record({
  encryptionKey: bytes,
  parentHash: bytes,
  unmergedLeaves: fc.array(u32, { maxLength: 4 }),
});
const leaf = leafNode.map((l): Node => ({ nodeType: 1, leafNode: l }));
const parent = parentNode.map((p): Node => ({ nodeType: 2, parentNode: p }));

/** A ratchet_tree as the extension carries it: leaves at even positions, last node non-blank. */
export const ratchetTree: fc.Arbitrary<RatchetTreeNodes> = fc
  .integer({ min: 1, max: 5 })
  .chain((leaves) =>
    fc.tuple(
      ...Array.from({ length: 2 * leaves - 1 }, (_, i) => {
        const node = i % 2 === 0 ? leaf : parent;
        return i === 2 * leaves - 2 ? node : fc.option(node, { nil: undefined });
      }),
    ),
  );

export const externalSender: fc.Arbitrary<ExternalSender> = fc.record({
  signatureKey: bytes,
  credential,
});
