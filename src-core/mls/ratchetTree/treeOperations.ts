/**
 * The tree side of applying Add, Update and Remove proposals (RFC 9420 §12.1.1–§12.1.3), on a
 * staged diff. Whether a proposal is valid (its LeafNode, its sender, the proposal list) is
 * checked before these run; here only the tree's own rules are enforced: an Update or Remove must
 * name a non-blank leaf.
 */
import { MlsError } from '../errors.js';
import type { LeafNode } from '../leafNode.js';
import type { LeafIndex } from '../treeMath.js';
import { directPath } from '../treeMath.js';
import type { TreeDiff } from './treeDiff.js';

function insertSorted(xs: readonly number[], v: number): number[] {
  const out = xs.slice();
  let i = out.length;
  while (i > 0 && out[i - 1]! > v) i--;
  if (out[i - 1] !== v) out.splice(i, 0, v);
  return out;
}

function requireMember(diff: TreeDiff, leaf: LeafIndex, what: string): void {
  if (!Number.isInteger(leaf) || leaf < 0 || leaf >= diff.leafCount) {
    throw new MlsError('leaf_out_of_range', `${what}: leaf ${leaf} outside the tree`);
  }
  if (diff.leafNode(leaf) === undefined) {
    throw new MlsError('blank_leaf', `${what}: leaf ${leaf} is blank`);
  }
}

/**
 * Add (§12.1.1): the new member takes the leftmost blank leaf, the tree doubling first if there is
 * none, and becomes an unmerged leaf of every non-blank node on its direct path. Returns the leaf.
 */
export function applyAdd(diff: TreeDiff, leafNode: LeafNode): LeafIndex {
  let leaf = diff.leftmostBlankLeaf();
  if (leaf === undefined) {
    leaf = diff.leafCount;
    diff.extend();
  }
  for (const p of directPath(2 * leaf, diff.leafCount)) {
    const parent = diff.parentNode(p);
    if (parent !== undefined) {
      diff.setParent(p, { ...parent, unmergedLeaves: insertSorted(parent.unmergedLeaves, leaf) });
    }
  }
  diff.setLeaf(leaf, leafNode);
  return leaf;
}

/** Update (§12.1.2): the sender's leaf is replaced and its direct path blanked. */
export function applyUpdate(diff: TreeDiff, sender: LeafIndex, leafNode: LeafNode): void {
  requireMember(diff, sender, 'Update');
  diff.setLeaf(sender, leafNode);
  diff.blankDirectPath(sender);
}

/**
 * Remove (§12.1.3): the leaf and its direct path are blanked, then the tree is truncated while its
 * right half holds no member.
 */
export function applyRemove(diff: TreeDiff, removed: LeafIndex): void {
  requireMember(diff, removed, 'Remove');
  diff.setLeaf(removed, undefined);
  diff.blankDirectPath(removed);
  diff.truncate();
}
