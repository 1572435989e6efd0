/**
 * Building blocks for hostile inputs in the rule tests: a LeafNode's signed content, KeyPackages
 * and Update leaves changed in one field and validly re-signed, and proposals sent past the
 * sender's own checks. Test-only.
 */
import type { KeyPackage, KeyPackageTBS } from '../../src-core/mls/keyPackage.js';
import { signKeyPackage } from '../../src-core/mls/keyPackage.js';
import type { LeafNode, LeafNodeContent } from '../../src-core/mls/leafNode.js';
import { LeafNodeSource, signLeafNode } from '../../src-core/mls/leafNode.js';
import type { FramingWireFormat } from '../../src-core/mls/framing/framedContent.js';
import { WireFormat } from '../../src-core/mls/framing/framedContent.js';
import { encodeMlsMessage } from '../../src-core/mls/framing/mlsMessage.js';
import { protectProposal } from '../../src-core/mls/framing/protect.js';
import type { GroupState } from '../../src-core/mls/group/index.js';
import type { Proposal } from '../../src-core/mls/proposal.js';
import type { Client } from '../mls/groupHarness.js';
import { keyPackageFor } from '../mls/groupHarness.js';

/** What a LeafNode's signature covers (the node without its signature). */
export function leafContent(leaf: LeafNode): LeafNodeContent {
  const { signature: _signature, ...content } = leaf;
  return content;
}

export interface KeyPackageChanges {
  /** The leaf content, re-signed by the client (as a key_package leaf, unless the source changes). */
  readonly leaf?: (honest: LeafNodeContent) => LeafNodeContent;
  readonly tbs?: (honest: KeyPackageTBS) => KeyPackageTBS;
  /** Sign the KeyPackage with this key instead of the client's. */
  readonly signer?: Uint8Array;
}

/** A fresh KeyPackage of `client` with one thing changed, signed again as the changes say. */
export function keyPackageVariant(
  state: GroupState,
  client: Client,
  changes: KeyPackageChanges,
): KeyPackage {
  const suite = state.suite;
  const base = keyPackageFor(suite, client).keyPackage;
  let leafNode = base.leafNode;
  if (changes.leaf !== undefined) {
    const content = changes.leaf(leafContent(base.leafNode));
    leafNode = signLeafNode(
      suite,
      content,
      client.signature.privateKey,
      content.leafNodeSource === LeafNodeSource.keyPackage
        ? undefined
        : { groupId: state.groupId, leafIndex: 0 },
    );
  }
  const tbs: KeyPackageTBS = { ...base, leafNode };
  return signKeyPackage(
    suite,
    changes.tbs?.(tbs) ?? tbs,
    changes.signer ?? client.signature.privateKey,
  );
}

/**
 * An Update leaf for `state`'s member with a fresh encryption key, changed by `change` and signed
 * over `binding` (default: the member's group and leaf).
 */
export function updateLeaf(
  state: GroupState,
  change: (honest: LeafNodeContent) => LeafNodeContent = (c) => c,
  binding: { groupId: Uint8Array; leafIndex: number } = {
    groupId: state.groupId,
    leafIndex: state.ownLeaf,
  },
): LeafNode {
  const own = state.ownLeafNode;
  const content: LeafNodeContent = {
    encryptionKey: state.suite.generateHpkeKeyPair().publicKey,
    signatureKey: own.signatureKey,
    credential: own.credential,
    capabilities: own.capabilities,
    leafNodeSource: LeafNodeSource.update,
    extensions: own.extensions,
  };
  const changed = change(content);
  return signLeafNode(
    state.suite,
    changed,
    state.signaturePrivateKey,
    changed.leafNodeSource === LeafNodeSource.keyPackage ? undefined : binding,
  );
}

/** A proposal message from `state`'s member, sent without the sender's own checks. */
export function rawProposal(
  state: GroupState,
  proposal: Proposal,
  wireFormat: FramingWireFormat = WireFormat.publicMessage,
): Uint8Array {
  const { message } = protectProposal(
    state.framing(),
    { leafIndex: state.ownLeaf, signaturePrivateKey: state.signaturePrivateKey },
    proposal,
    wireFormat,
  );
  return encodeMlsMessage(message);
}
