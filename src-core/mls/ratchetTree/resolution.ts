/**
 * Resolutions and filtered direct paths (RFC 9420 §4.1.1, §4.1.2).
 *
 * A resolution is found by descending only into blank parents whose cached resolution size is
 * non-zero, so its cost is its own length times the height at most, never the subtree's size.
 */
import { NodeType } from '../ratchetTreeExtension.js';
import type { LeafIndex, NodeIndex } from '../treeMath.js';
import { level } from '../treeMath.js';
import type { TreeReader } from './treeReader.js';

/**
 * The resolution of node `x`, as node indices in order: a non-blank node followed by its unmerged
 * leaves; nothing for a blank leaf; for a blank parent, its left child's resolution, then its
 * right child's.
 */
export function resolution(tree: TreeReader, x: NodeIndex): NodeIndex[] {
  const out: NodeIndex[] = [];
  const visit = (y: NodeIndex): void => {
    const n = tree.node(y);
    if (n !== undefined) {
      out.push(y);
      if (n.nodeType === NodeType.parent)
        for (const u of n.parentNode.unmergedLeaves) out.push(2 * u);
      return;
    }
    if (y % 2 === 0 || tree.resolutionSize(y) === 0) return;
    const half = 2 ** (level(y) - 1);
    visit(y - half);
    visit(y + half);
  };
  visit(x);
  return out;
}

/** One step of a filtered direct path: the node and its child on the leaf's copath. */
export interface PathStep {
  readonly node: NodeIndex;
  readonly copathChild: NodeIndex;
}

/**
 * The filtered direct path of `leaf` (§4.1.2), leaf to root: its direct path without the nodes
 * whose copath child has an empty resolution (unmerged leaves count), each with that child.
 */
export function filteredDirectPath(tree: TreeReader, leaf: LeafIndex): PathStep[] {
  const root = tree.root;
  const out: PathStep[] = [];
  let x = 2 * leaf;
  if (x >= tree.nodeCount) return out;
  while (x !== root) {
    const step = 2 ** level(x);
    const isRight = Math.floor(x / (2 * step)) % 2 === 1;
    const p = isRight ? x - step : x + step;
    const copathChild = isRight ? x - 2 * step : x + 2 * step;
    if (tree.resolutionSize(copathChild) > 0) out.push({ node: p, copathChild });
    x = p;
  }
  return out;
}

/**
 * The resolution of `x` without the leaves in `excluded` (members added by the same Commit, to
 * whom path secrets are not encrypted, §7.6).
 */
export function resolutionExcluding(
  tree: TreeReader,
  x: NodeIndex,
  excluded: ReadonlySet<LeafIndex>,
): NodeIndex[] {
  const r = resolution(tree, x);
  if (excluded.size === 0) return r;
  return r.filter((y) => y % 2 === 1 || !excluded.has(y / 2));
}
