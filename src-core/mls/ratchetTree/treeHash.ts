/**
 * Tree hashes (RFC 9420 §7.8): every node's hash summarizes its subtree; the root's goes into the
 * GroupContext. The tree caches one per node and recomputes only the changed paths.
 */
import { Writer, opaque, optional, uint32, uint8 } from '../../codec/index.js';
import type { CipherSuite } from '../../crypto/types.js';
import type { LeafNode } from '../leafNode.js';
import { leafNodeCodec } from '../leafNode.js';
import type { ParentNode } from '../ratchetTreeExtension.js';
import { NodeType, parentNodeCodec } from '../ratchetTreeExtension.js';

const optionalLeafNode = optional(leafNodeCodec);
const optionalParentNode = optional(parentNodeCodec);

/**
 * ```
 * struct {
 *   NodeType node_type;
 *   select (TreeHashInput.node_type) {
 *     case leaf:   LeafNodeHashInput leaf_node;
 *     case parent: ParentNodeHashInput parent_node;
 *   };
 * } TreeHashInput;
 *
 * struct {
 *     uint32 leaf_index;
 *     optional<LeafNode> leaf_node;
 * } LeafNodeHashInput;
 * ```
 */
export function encodeLeafHashInput(leafIndex: number, leaf: LeafNode | undefined): Uint8Array {
  const w = new Writer(leaf === undefined ? 8 : 512);
  uint8.encode(w, NodeType.leaf);
  uint32.encode(w, leafIndex);
  optionalLeafNode.encode(w, leaf);
  return w.finish();
}

/**
 * ```
 * struct {
 *     optional<ParentNode> parent_node;
 *     opaque left_hash<V>;
 *     opaque right_hash<V>;
 * } ParentNodeHashInput;
 * ```
 * (behind `node_type = parent` in TreeHashInput)
 */
export function encodeParentHashInput(
  parent: ParentNode | undefined,
  leftHash: Uint8Array,
  rightHash: Uint8Array,
): Uint8Array {
  const w = new Writer(256);
  uint8.encode(w, NodeType.parent);
  optionalParentNode.encode(w, parent);
  opaque.encode(w, leftHash);
  opaque.encode(w, rightHash);
  return w.finish();
}

/** The tree hash of leaf `leafIndex` holding `leaf` (or blank). */
export function leafTreeHash(
  suite: CipherSuite,
  leafIndex: number,
  leaf: LeafNode | undefined,
): Uint8Array {
  return suite.hash.digest(encodeLeafHashInput(leafIndex, leaf));
}

/**
 * `leafTreeHash` of a non-blank leaf from its LeafNode's encoding (as received, see
 * receivedTree.ts): the LeafNodeHashInput is that encoding behind a fixed 6-byte head.
 */
export function encodedLeafTreeHash(
  suite: CipherSuite,
  leafIndex: number,
  leafNodeBytes: Uint8Array,
): Uint8Array {
  const input = new Uint8Array(6 + leafNodeBytes.length);
  input[0] = NodeType.leaf;
  new DataView(input.buffer).setUint32(1, leafIndex);
  input[5] = 1; // optional<LeafNode>: present
  input.set(leafNodeBytes, 6);
  return suite.hash.digest(input);
}

/** The tree hash of a parent node (or blank) over its children's tree hashes. */
export function parentTreeHash(
  suite: CipherSuite,
  parent: ParentNode | undefined,
  leftHash: Uint8Array,
  rightHash: Uint8Array,
): Uint8Array {
  return suite.hash.digest(encodeParentHashInput(parent, leftHash, rightHash));
}
