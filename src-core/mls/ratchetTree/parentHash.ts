/**
 * Parent hashes (RFC 9420 §7.9): computing them, and checking that every non-blank parent node of
 * a tree is parent-hash valid (§7.9.2), as a new member must when joining.
 */
import { Writer, opaque } from '../../codec/index.js';
import type { CipherSuite } from '../../crypto/types.js';
import { MlsError } from '../errors.js';
import { LeafNodeSource } from '../leafNode.js';
import type { ParentNode } from '../ratchetTreeExtension.js';
import { NodeType } from '../ratchetTreeExtension.js';
import type { LeafIndex, NodeIndex } from '../treeMath.js';
import { level } from '../treeMath.js';
import { resolution } from './resolution.js';
import { leafTreeHash, parentTreeHash } from './treeHash.js';
import type { TreeReader } from './treeReader.js';
import { equalBytes, leafSpan } from './treeReader.js';

/**
 * ```
 * struct {
 *     HPKEPublicKey encryption_key;
 *     opaque parent_hash<V>;
 *     opaque original_sibling_tree_hash<V>;
 * } ParentHashInput;
 * ```
 */
export function encodeParentHashInput(
  encryptionKey: Uint8Array,
  parentHash: Uint8Array,
  originalSiblingTreeHash: Uint8Array,
): Uint8Array {
  const w = new Writer(128);
  opaque.encode(w, encryptionKey);
  opaque.encode(w, parentHash);
  opaque.encode(w, originalSiblingTreeHash);
  return w.finish();
}

/** The parent hash of a parent node with the given sibling subtree hash. */
export function parentHash(
  suite: CipherSuite,
  parent: Pick<ParentNode, 'encryptionKey' | 'parentHash'>,
  originalSiblingTreeHash: Uint8Array,
): Uint8Array {
  return suite.hash.digest(
    encodeParentHashInput(parent.encryptionKey, parent.parentHash, originalSiblingTreeHash),
  );
}

/**
 * The tree hash of the subtree under `x` with the leaves in `removed` (sorted, all under `x`)
 * blanked and taken out of every `unmerged_leaves` list: the `original_sibling_tree_hash` of
 * §7.9 when `removed` is the parent's unmerged leaves under `x`. Subtrees holding none of them
 * keep their cached hash, so this costs O(|removed| · height) hashes.
 */
export function treeHashWithout(
  tree: TreeReader,
  x: NodeIndex,
  removed: readonly LeafIndex[],
): Uint8Array {
  if (removed.length === 0) return tree.nodeTreeHash(x);
  if (x % 2 === 0) return leafTreeHash(tree.suite, x / 2, undefined);
  const half = 2 ** (level(x) - 1);
  const mid = leafSpan(x).first + leafSpan(x).count / 2;
  const split = lowerBound(removed, mid);
  const l = treeHashWithout(tree, x - half, removed.slice(0, split));
  const r = treeHashWithout(tree, x + half, removed.slice(split));
  let parent = tree.parentNode(x);
  if (parent !== undefined) {
    const gone = new Set(removed);
    parent = { ...parent, unmergedLeaves: parent.unmergedLeaves.filter((u) => !gone.has(u)) };
  }
  return parentTreeHash(tree.suite, parent, l, r);
}

/** The first position in sorted `xs` whose value is >= v. */
export function lowerBound(xs: readonly number[], v: number): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const m = (lo + hi) >>> 1;
    if (xs[m]! < v) lo = m + 1;
    else hi = m;
  }
  return lo;
}

/** The entries of sorted `leaves` that lie under node `x`. */
export function leavesUnder(leaves: readonly LeafIndex[], x: NodeIndex): LeafIndex[] {
  const { first, count } = leafSpan(x);
  return leaves.slice(lowerBound(leaves, first), lowerBound(leaves, first + count));
}

/** The `parent_hash` a node carries: parent nodes and `commit` leaves have one. */
export function carriedParentHash(tree: TreeReader, x: NodeIndex): Uint8Array | undefined {
  const n = tree.node(x);
  if (n === undefined) return undefined;
  if (n.nodeType === NodeType.parent) return n.parentNode.parentHash;
  return n.leafNode.leafNodeSource === LeafNodeSource.commit ? n.leafNode.parentHash : undefined;
}

/**
 * Whether the node D below parent P, on the side of child `c`, carries a parent hash
 * valid with respect to P (§7.9.2): D is the one node of resolution(c) that is not one of P's
 * unmerged leaves, every unmerged leaf of P under c is in that resolution, and D's parent_hash
 * is the parent hash of P with copath child `s`.
 */
function validVia(tree: TreeReader, parent: ParentNode, c: NodeIndex, s: NodeIndex): boolean {
  if (parent.unmergedLeaves.length === 0) return validViaNoUnmerged(tree, parent, c, s);
  const unmergedUnderC = leavesUnder(parent.unmergedLeaves, c);
  if (tree.resolutionSize(c) !== unmergedUnderC.length + 1) return false;
  const unmergedNodes = new Set(unmergedUnderC.map((u) => 2 * u));
  let d: NodeIndex | undefined;
  let matched = 0;
  for (const y of resolution(tree, c)) {
    if (unmergedNodes.has(y)) matched++;
    else if (d === undefined) d = y;
    else return false;
  }
  if (d === undefined || matched !== unmergedNodes.size) return false;
  const carried = carriedParentHash(tree, d);
  if (carried === undefined) return false;
  const sibling = treeHashWithout(tree, s, leavesUnder(parent.unmergedLeaves, s));
  return equalBytes(carried, parentHash(tree.suite, parent, sibling));
}

/**
 * `validVia` for a parent without unmerged leaves (the common case): the resolution of c is one
 * node D, found by descending through blank parents to the one side that holds anything, and the
 * sibling's tree hash is the cached one. Same answer, without building lists and sets per node.
 */
function validViaNoUnmerged(
  tree: TreeReader,
  parent: ParentNode,
  c: NodeIndex,
  s: NodeIndex,
): boolean {
  if (tree.resolutionSize(c) !== 1) return false;
  let d = c;
  while (tree.node(d) === undefined) {
    // A blank leaf has an empty resolution, so d is a blank parent here.
    const half = 2 ** (level(d) - 1);
    d = tree.resolutionSize(d - half) === 1 ? d - half : d + half;
  }
  const carried = carriedParentHash(tree, d);
  if (carried === undefined) return false;
  return equalBytes(carried, parentHash(tree.suite, parent, tree.nodeTreeHash(s)));
}

/**
 * Checks that every non-blank parent node is parent-hash valid (§7.9.2, "top down"): exactly one
 * of its two sides holds a node whose parent_hash links to it. Every such node is itself a leaf or
 * a parent checked the same way, so each parent chains down to a leaf.
 * Expects sorted `unmerged_leaves` (checked before this by `validateRatchetTree`).
 * Throws MlsError('parent_hash_invalid') naming the first node that fails.
 */
export function verifyParentHashes(tree: TreeReader): void {
  tree.forEachParent((parent, p) => {
    const half = 2 ** (level(p) - 1);
    const l = p - half;
    const r = p + half;
    const valid = Number(validVia(tree, parent, l, r)) + Number(validVia(tree, parent, r, l));
    if (valid !== 1) {
      throw new MlsError(
        'parent_hash_invalid',
        valid === 0
          ? `parent node ${p} is not parent-hash valid`
          : `parent node ${p} is linked from both of its subtrees`,
      );
    }
  });
}
