/**
 * A `ratchet_tree` extension decoded together with each leaf's LeafNode bytes as received.
 *
 * Joining hashes every leaf (its tree hash, §7.8) and verifies every leaf's signature over its
 * LeafNodeTBS (§7.2), and both start with the LeafNode's encoding: the bytes just decoded. The
 * decoders are strict (minimal varints, presence bytes 0 or 1, nothing skipped), so those bytes
 * are exactly what encoding the decoded LeafNode gives, and re-encoding 50,000 leaves twice is
 * work that can be skipped. The bytes are views into the extension data: hold them only for the
 * join, never in a tree.
 */
import type { Codec } from '../../codec/index.js';
import { CodecError, optional, varint } from '../../codec/index.js';
import type { RatchetTreeNodes } from '../ratchetTreeExtension.js';
import {
  NodeType,
  nodeCodec,
  ratchetTreeCodec,
  ratchetTreeEncodingProblem,
} from '../ratchetTreeExtension.js';

export interface ReceivedTree {
  readonly nodes: RatchetTreeNodes;
  /** By node index: the encoded LeafNode of each non-blank leaf, else undefined. */
  readonly leafBytes: readonly (Uint8Array | undefined)[];
}

const optionalNode = optional(nodeCodec);

/** `optional<Node> ratchet_tree<V>`, as `ratchetTreeCodec` decodes it, keeping the leaf bytes. */
export const receivedTreeCodec: Codec<ReceivedTree> = {
  encode(w, tree) {
    ratchetTreeCodec.encode(w, tree.nodes);
  },
  decode(r) {
    const sub = r.sub(varint.decode(r));
    const nodes: RatchetTreeNodes[number][] = [];
    const leafBytes: (Uint8Array | undefined)[] = [];
    while (sub.remaining > 0) {
      const start = sub.offset;
      const node = optionalNode.decode(sub);
      if (sub.offset === start) throw new CodecError('empty_item', 'vector item of size 0');
      nodes.push(node);
      // A present leaf is: presence byte, node_type, then the LeafNode.
      leafBytes.push(
        node?.nodeType === NodeType.leaf ? sub.bytes.subarray(start + 2, sub.offset) : undefined,
      );
    }
    const problem = ratchetTreeEncodingProblem(nodes);
    if (problem !== undefined) throw new CodecError('invalid_value', problem);
    return { nodes, leafBytes };
  },
};
