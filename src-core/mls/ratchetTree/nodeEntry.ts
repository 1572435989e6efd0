/**
 * How a node slot's derived values (tree hash, resolution size, member count) follow from the node
 * and its children's values. Shared by the full build of a tree and the path-by-path refresh of a
 * staged change, so both compute exactly the same thing.
 */
import type { CipherSuite } from '../../crypto/types.js';
import type { Node } from '../ratchetTreeExtension.js';
import { NodeType } from '../ratchetTreeExtension.js';
import { level } from '../treeMath.js';
import type { NodeIndex } from '../treeMath.js';
import { leafTreeHash, parentTreeHash } from './treeHash.js';
import type { NodeEntry } from './treeReader.js';

/** The entry of leaf node `x` holding `node`. */
export function leafEntry(suite: CipherSuite, x: NodeIndex, node: Node | undefined): NodeEntry {
  const leaf = node?.nodeType === NodeType.leaf ? node.leafNode : undefined;
  const n = leaf === undefined ? 0 : 1;
  return { node, hash: leafTreeHash(suite, x / 2, leaf), resolutionSize: n, members: n };
}

/** The counts of parent node `node` over its children's entries (the hash left as `hash`). */
export function parentCounts(
  node: Node | undefined,
  l: NodeEntry,
  r: NodeEntry,
  hash: Uint8Array,
): NodeEntry {
  const parent = node?.nodeType === NodeType.parent ? node.parentNode : undefined;
  return {
    node,
    hash,
    resolutionSize:
      parent === undefined ? l.resolutionSize + r.resolutionSize : 1 + parent.unmergedLeaves.length,
    members: l.members + r.members,
  };
}

/** The entry of parent node `node` over its children's fresh entries. */
export function parentEntry(
  suite: CipherSuite,
  node: Node | undefined,
  l: NodeEntry,
  r: NodeEntry,
): NodeEntry {
  const parent = node?.nodeType === NodeType.parent ? node.parentNode : undefined;
  return parentCounts(node, l, r, parentTreeHash(suite, parent, l.hash, r.hash));
}

/**
 * Builds the entries of the subtree under `x` bottom-up, reading nodes with `nodeAt` and storing
 * each entry with `put`. Recursion depth is the tree's height (at most 32).
 */
export function buildSubtree(
  suite: CipherSuite,
  x: NodeIndex,
  nodeAt: (x: NodeIndex) => Node | undefined,
  put: (x: NodeIndex, e: NodeEntry) => void,
): NodeEntry {
  const k = level(x);
  let e: NodeEntry;
  if (k === 0) {
    e = leafEntry(suite, x, nodeAt(x));
  } else {
    const half = 2 ** (k - 1);
    const l = buildSubtree(suite, x - half, nodeAt, put);
    const r = buildSubtree(suite, x + half, nodeAt, put);
    e = parentEntry(suite, nodeAt(x), l, r);
  }
  put(x, e);
  return e;
}
