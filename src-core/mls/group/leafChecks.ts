/**
 * Checks of a LeafNode against the group it enters (RFC 9420 §7.3, §13.4) that the ratchet tree
 * module leaves to the group: the GroupContext extensions are supported, and HPKE public keys are
 * well-formed points (a malformed key placed in the tree would make every later commit that must
 * encrypt to it fail, stalling the group).
 */
import type { CipherSuite } from '../../crypto/types.js';
import { supportsExtension } from '../capabilities.js';
import { MlsError } from '../errors.js';
import type { Extension } from '../extension.js';
import type { LeafNode } from '../leafNode.js';
import {
  checkCredentialCompatibility,
  checkLeafKeysUnique,
  checkRequiredCapabilities,
  requiredCapabilitiesOf,
} from '../ratchetTree/leafValidation.js';
import type { TreeReader } from '../ratchetTree/treeReader.js';
import type { LeafIndex } from '../treeMath.js';

/** Throws MlsError('invalid_public_key') unless `key` is a valid HPKE public key of the suite. */
export function checkHpkePublicKey(suite: CipherSuite, key: Uint8Array, what: string): void {
  if (!suite.hpke.kem.isValidPublicKey(key)) {
    throw new MlsError('invalid_public_key', `${what} is not a valid HPKE public key`);
  }
}

/**
 * §13.4: a member's capabilities list every GroupContext extension in use (default types need no
 * listing, §7.2). Throws MlsError('unsupported_extension').
 */
export function checkLeafSupportsExtensions(
  leaf: LeafNode,
  extensions: readonly Extension[],
  who: string,
): void {
  for (const { extensionType } of extensions) {
    if (!supportsExtension(leaf.capabilities, extensionType)) {
      throw new MlsError(
        'unsupported_extension',
        `${who} does not support GroupContext extension ${extensionType}`,
      );
    }
  }
}

/**
 * A leaf about to be placed at `leafIndex` of `tree`, checked against the group with extensions
 * `extensions`: required capabilities, GroupContext extensions, credential types in use, unique
 * keys, and a valid encryption key. Signatures and the leaf's own rules are checked elsewhere
 * (`verifyLeafNode`, `verifyKeyPackage`).
 */
export function checkLeafAgainstGroup(
  tree: TreeReader,
  leaf: LeafNode,
  leafIndex: LeafIndex,
  extensions: readonly Extension[],
): void {
  checkRequiredCapabilities(leaf, requiredCapabilitiesOf(extensions));
  checkLeafSupportsExtensions(leaf, extensions, `leaf ${leafIndex}`);
  checkCredentialCompatibility(tree, leaf, leafIndex);
  checkLeafKeysUnique(tree, leaf, leafIndex);
}

/**
 * §12.1.7, §13.4: every member of `tree` supports `extensions` (including its
 * required_capabilities). O(n): only a GroupContextExtensions proposal asks for it.
 */
export function checkMembersSupportExtensions(
  tree: TreeReader,
  extensions: readonly Extension[],
): void {
  const required = requiredCapabilitiesOf(extensions);
  tree.forEachMember((leaf, i) => {
    checkRequiredCapabilities(leaf, required);
    checkLeafSupportsExtensions(leaf, extensions, `member ${i}`);
  });
}
