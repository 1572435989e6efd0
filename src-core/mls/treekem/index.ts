/**
 * TreeKEM (RFC 9420 §7.4–§7.6): creating and processing UpdatePaths, and a member's private keys.
 */
export { createUpdatePath } from './createUpdatePath.js';
export type {
  CreateUpdatePathOptions,
  CreatedUpdatePath,
  LeafNodeTemplate,
} from './createUpdatePath.js';
export { mergeUpdatePath, processUpdatePath } from './processUpdatePath.js';
export type { ProcessUpdatePathOptions, ProcessedUpdatePath } from './processUpdatePath.js';
export { PrivatePath } from './privatePath.js';
export { nextPathSecret, nodeKeyPair } from './pathSecrets.js';
export { UPDATE_PATH_NODE_LABEL, mergePathPublic } from './mergePath.js';
