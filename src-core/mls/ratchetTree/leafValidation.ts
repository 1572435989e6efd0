/**
 * Leaf node validation against a group (RFC 9420 §7.3): the checks that need the group's tree and
 * context on top of `verifyLeafNode`'s local ones. Used for a LeafNode in an Add, an Update or an
 * UpdatePath; validating a whole received tree is `validateRatchetTree`'s job, which applies the
 * same rules in bulk.
 *
 * Validating the credential itself with the Authentication Service (§5.3.1) is the caller's.
 */
import { decode } from '../../codec/index.js';
import type { RequiredCapabilities } from '../capabilities.js';
import {
  missingRequiredCapability,
  requiredCapabilitiesCodec,
  supportsCredential,
} from '../capabilities.js';
import { MlsError } from '../errors.js';
import type { Extension } from '../extension.js';
import { ExtensionType } from '../extension.js';
import type { LeafNode, LeafNodeSource, LifetimePolicy } from '../leafNode.js';
import { verifyLeafNode } from '../leafNode.js';
import type { LeafIndex } from '../treeMath.js';
import type { TreeReader } from './treeReader.js';

/** The group parameters a leaf is checked against. */
export interface GroupLeafContext {
  readonly groupId: Uint8Array;
  /** The GroupContext extensions in force (their `required_capabilities`, §11.1). */
  readonly extensions: readonly Extension[];
  /** Checks key_package leaves' lifetimes when given (§7.3 recommends it for received ones). */
  readonly lifetime?: LifetimePolicy;
}

/** The `required_capabilities` GroupContext extension, if present. */
export function requiredCapabilitiesOf(
  extensions: readonly Extension[],
): RequiredCapabilities | undefined {
  const ext = extensions.find((e) => e.extensionType === ExtensionType.requiredCapabilities);
  if (ext === undefined) return undefined;
  try {
    return decode(requiredCapabilitiesCodec, ext.extensionData);
  } catch (e) {
    throw new MlsError('decode_failed', 'required_capabilities extension does not decode', {
      cause: e,
    });
  }
}

/**
 * The group's `required_capabilities` (§7.3, §11.1). Nothing more is asked of the capabilities
 * against the group: §7.3 does not require a leaf to list the group's cipher suite or version, and
 * conforming implementations omit them (the official TreeKEM vectors for suite 7 have leaves
 * listing suites 1–6 only), so checking them would reject valid groups.
 */
export function checkRequiredCapabilities(
  leaf: LeafNode,
  required: RequiredCapabilities | undefined,
): void {
  if (required === undefined) return;
  const missing = missingRequiredCapability(leaf.capabilities, required);
  if (missing !== undefined) {
    throw new MlsError(
      'missing_required_capability',
      `leaf does not support required ${missing.kind} type ${missing.type}`,
    );
  }
}

/**
 * Credential types (§7.3): the leaf supports every credential type other members use, and every
 * other member supports the leaf's. A tree that passed validation keeps the invariant "every
 * member supports every type in use", so only a type new to the group needs a walk of the members.
 */
export function checkCredentialCompatibility(
  tree: TreeReader,
  leaf: LeafNode,
  leafIndex: LeafIndex,
): void {
  const replaced = leafIndex < tree.leafCount ? tree.leafNode(leafIndex) : undefined;
  const inUseByOthers = (type: number): boolean => {
    const n = tree.credentialTypes.get(type) ?? 0;
    return n - (replaced?.credential.credentialType === type ? 1 : 0) > 0;
  };
  for (const type of tree.credentialTypes.keys()) {
    if (inUseByOthers(type) && !supportsCredential(leaf.capabilities, type)) {
      throw new MlsError(
        'credential_type_unsupported',
        `leaf does not support credential type ${type} used in the group`,
      );
    }
  }
  const own = leaf.credential.credentialType;
  if (inUseByOthers(own)) return;
  tree.forEachMember((other, i) => {
    if (i !== leafIndex && !supportsCredential(other.capabilities, own)) {
      throw new MlsError(
        'credential_type_unsupported',
        `member ${i} does not support credential type ${own}`,
      );
    }
  });
}

/**
 * Keys unique in the tree (§7.3, §16.8): the leaf's encryption key is held by no node, and its
 * signature key by no other leaf (a member may keep its own signature key).
 */
export function checkLeafKeysUnique(tree: TreeReader, leaf: LeafNode, leafIndex: LeafIndex): void {
  const at = tree.findEncryptionKey(leaf.encryptionKey);
  if (at !== undefined) {
    throw new MlsError('duplicate_encryption_key', `encryption key already held by node ${at}`);
  }
  const signer = tree.findSignatureKey(leaf.signatureKey);
  if (signer !== undefined && signer !== leafIndex) {
    throw new MlsError('duplicate_signature_key', `signature key already held by leaf ${signer}`);
  }
}

/**
 * Validates a LeafNode that is to be placed at `leafIndex` of `tree` (the tree it enters, before
 * the change): §7.3 in full except credential validation. `source` is what the context demands
 * (key_package for an Add, update for an Update, commit for an UpdatePath).
 * Throws MlsError naming the failed rule.
 */
export function validateLeafNodeForTree(
  tree: TreeReader,
  leaf: LeafNode,
  leafIndex: LeafIndex,
  source: LeafNodeSource,
  group: GroupLeafContext,
): void {
  checkRequiredCapabilities(leaf, requiredCapabilitiesOf(group.extensions));
  checkCredentialCompatibility(tree, leaf, leafIndex);
  checkLeafKeysUnique(tree, leaf, leafIndex);
  verifyLeafNode(tree.suite, leaf, {
    source,
    binding: { groupId: group.groupId, leafIndex },
    ...(group.lifetime === undefined ? {} : { lifetime: group.lifetime }),
  });
}
