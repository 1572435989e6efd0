/**
 * The ratchet tree (RFC 9420 §4, §7): persistent versions, staged changes, tree and parent hashes,
 * resolutions, the tree side of Add/Update/Remove, and validation of a received tree.
 */
export { RatchetTree } from './ratchetTree.js';
export type { TreeState } from './ratchetTree.js';
export { TreeDiff } from './treeDiff.js';
export { TreeReader, leafSpan } from './treeReader.js';
export type { CredentialTypeCounts } from './treeReader.js';
export { filteredDirectPath, resolution, resolutionExcluding } from './resolution.js';
export type { PathStep } from './resolution.js';
export { leafTreeHash, parentTreeHash } from './treeHash.js';
export {
  carriedParentHash,
  parentHash,
  treeHashWithout,
  verifyParentHashes,
} from './parentHash.js';
export { applyAdd, applyRemove, applyUpdate } from './treeOperations.js';
export {
  checkCredentialCompatibility,
  checkLeafKeysUnique,
  checkRequiredCapabilities,
  requiredCapabilitiesOf,
  validateLeafNodeForTree,
} from './leafValidation.js';
export type { GroupLeafContext } from './leafValidation.js';
export {
  checkKeysUnique,
  checkMembersSupportGroup,
  checkUnmergedLeaves,
  validateRatchetTree,
  validateRatchetTreeAsync,
} from './treeValidation.js';
export type {
  LeafSignatureCheck,
  SignatureBatchVerifier,
  TreeValidationContext,
} from './treeValidation.js';
