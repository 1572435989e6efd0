import {
  CodecError,
  enumOf,
  opaque,
  optional,
  struct,
  uint32,
  uint8,
  variant,
  vector,
} from '../codec/index.js';
import type { Codec } from '../codec/index.js';
import type { LeafNode } from './leafNode.js';
import { leafNodeCodec } from './leafNode.js';

/** `enum { reserved(0), leaf(1), parent(2), (255) } NodeType;` */
export const NodeType = { leaf: 1, parent: 2 } as const;
export type NodeType = (typeof NodeType)[keyof typeof NodeType];

/**
 * ```
 * struct {
 *     HPKEPublicKey encryption_key;
 *     opaque parent_hash<V>;
 *     uint32 unmerged_leaves<V>;
 * } ParentNode;
 * ```
 * `unmerged_leaves` MUST be sorted (§7.1); that and the other tree invariants are checked when
 * the tree is validated, not here.
 */
export interface ParentNode {
  readonly encryptionKey: Uint8Array;
  readonly parentHash: Uint8Array;
  readonly unmergedLeaves: readonly number[];
}

export const parentNodeCodec: Codec<ParentNode> = struct<ParentNode>({
  encryptionKey: opaque,
  parentHash: opaque,
  unmergedLeaves: vector(uint32) as Codec<readonly number[]>,
});

/**
 * ```
 * struct {
 *     NodeType node_type;
 *     select (Node.node_type) {
 *         case leaf:   LeafNode leaf_node;
 *         case parent: ParentNode parent_node;
 *     };
 * } Node;
 * ```
 */
export type Node =
  | { readonly nodeType: typeof NodeType.leaf; readonly leafNode: LeafNode }
  | { readonly nodeType: typeof NodeType.parent; readonly parentNode: ParentNode };

export const nodeCodec: Codec<Node> = variant<NodeType, Node, 'nodeType'>(
  'nodeType',
  enumOf<NodeType>(uint8, [NodeType.leaf, NodeType.parent], 'NodeType'),
  {
    [NodeType.leaf]: struct<{ leafNode: LeafNode }>({ leafNode: leafNodeCodec }),
    [NodeType.parent]: struct<{ parentNode: ParentNode }>({ parentNode: parentNodeCodec }),
  },
);

/** The tree in array order (§12.4.3.3, Appendix C); `undefined` is a blank node. */
export type RatchetTreeNodes = readonly (Node | undefined)[];

/**
 * The rules of the extension's encoding itself (§12.4.3.3): at least one node, the last node
 * non-blank (trailing blanks are implied, never sent), leaves at even positions and parent nodes
 * at odd ones. Returns a description of the first violation, or undefined.
 */
export function ratchetTreeEncodingProblem(nodes: RatchetTreeNodes): string | undefined {
  if (nodes.length === 0) return 'ratchet_tree is empty';
  if (nodes[nodes.length - 1] === undefined) return 'ratchet_tree ends with a blank node';
  for (let i = 0; i < nodes.length; i++) {
    const n = nodes[i];
    if (n === undefined) continue;
    const want = i % 2 === 0 ? NodeType.leaf : NodeType.parent;
    if (n.nodeType !== want) return `node ${i} has node_type ${n.nodeType}, expected ${want}`;
  }
  return undefined;
}

const nodeListCodec = vector(optional(nodeCodec)) as Codec<RatchetTreeNodes>;

/**
 * `optional<Node> ratchet_tree<V>;`: the `extension_data` of a `ratchet_tree` extension.
 * Both directions enforce `ratchetTreeEncodingProblem`, so no tree that a receiver must reject
 * is ever produced or accepted.
 */
export const ratchetTreeCodec: Codec<RatchetTreeNodes> = {
  encode(w, nodes) {
    const problem = ratchetTreeEncodingProblem(nodes);
    if (problem !== undefined) throw new CodecError('invalid_value', problem);
    nodeListCodec.encode(w, nodes);
  },
  decode(r) {
    const nodes = nodeListCodec.decode(r);
    const problem = ratchetTreeEncodingProblem(nodes);
    if (problem !== undefined) throw new CodecError('invalid_value', problem);
    return nodes;
  },
};
