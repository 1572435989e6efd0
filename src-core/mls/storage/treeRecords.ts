/**
 * The ratchet tree in records: the current tree node by node, and other trees (kept past epochs,
 * snapshots) as the nodes that differ from a tree that is stored anyway. Both sides of a commit
 * share all but the changed chunks of the persistent vector, so finding those nodes costs
 * O(log n) (`RatchetTree.changedNodes`), and so does rebuilding a tree from its delta.
 */
import type { CipherSuite } from '../../crypto/types.js';
import { MlsError } from '../errors.js';
import type { Node, RatchetTreeNodes } from '../ratchetTreeExtension.js';
import { NodeType } from '../ratchetTreeExtension.js';
import { RatchetTree } from '../ratchetTree/ratchetTree.js';
import { equalBytes } from '../ratchetTree/treeReader.js';
import type { GroupContext } from '../groupContext.js';
import type { NodeIndex } from '../treeMath.js';
import { isValidLeafCount } from '../treeMath.js';
import type { EpochId } from './keys.js';
import type { NodeSlot, TreeDeltaRecord } from './records.js';

/** `tree` as the nodes that differ from `base` (blanks past the end of `base` are implied). */
export function treeDelta(
  base: RatchetTree,
  tree: RatchetTree,
  baseId: EpochId | undefined,
): TreeDeltaRecord {
  const nodes: NodeSlot[] = [];
  if (tree !== base) {
    for (const x of tree.changedNodes(base)) {
      if (x >= tree.nodeCount) continue;
      const node = tree.node(x);
      if (node === undefined && x >= base.nodeCount) continue;
      nodes.push({ index: x, node });
    }
  }
  return { base: baseId, leafCount: tree.leafCount, nodes };
}

function corrupt(what: string): MlsError {
  return new MlsError('state_corrupt', what);
}

function checkSlot(x: NodeIndex, node: Node | undefined, width: number, what: string): void {
  if (!Number.isInteger(x) || x < 0 || x >= width) {
    throw corrupt(`${what}: node ${x} outside a tree of ${width} nodes`);
  }
  if (node !== undefined && (node.nodeType === NodeType.leaf) !== (x % 2 === 0)) {
    throw corrupt(`${what}: node ${x} has the wrong node type`);
  }
}

/** A tree from its nodes (`nodes[x]`, blanks absent); checks the leaf count it gives. */
export function treeFromNodes(
  suite: CipherSuite,
  leafCount: number,
  nodes: ReadonlyMap<NodeIndex, Node>,
  what: string,
): RatchetTree {
  if (!isValidLeafCount(leafCount)) throw corrupt(`${what}: leaf count ${leafCount}`);
  const width = 2 * leafCount - 1;
  const list: (Node | undefined)[] = [];
  for (const [x, node] of nodes) {
    checkSlot(x, node, width, what);
    list[x] = node;
  }
  return build(suite, leafCount, list, what);
}

function build(
  suite: CipherSuite,
  leafCount: number,
  list: (Node | undefined)[],
  what: string,
): RatchetTree {
  let last = list.length - 1;
  while (last >= 0 && list[last] === undefined) last--;
  const nodes: RatchetTreeNodes = Array.from({ length: last + 1 }, (_, i) => list[i]);
  let tree: RatchetTree;
  try {
    tree = RatchetTree.fromNodes(suite, nodes);
  } catch (e) {
    throw new MlsError('state_corrupt', `${what}: not a tree`, { cause: e });
  }
  if (tree.leafCount !== leafCount) {
    throw corrupt(`${what}: ${tree.leafCount} leaves, the record says ${leafCount}`);
  }
  return tree;
}

/** The tree `delta` describes on top of `base`. */
export function applyTreeDelta(
  suite: CipherSuite,
  base: RatchetTree,
  delta: TreeDeltaRecord,
  what: string,
): RatchetTree {
  if (!isValidLeafCount(delta.leafCount)) throw corrupt(`${what}: leaf count ${delta.leafCount}`);
  const width = 2 * delta.leafCount - 1;
  let previous = -1;
  for (const { index, node } of delta.nodes) {
    checkSlot(index, node, width, what);
    if (index <= previous) throw corrupt(`${what}: nodes out of order`);
    previous = index;
  }
  if (delta.leafCount === base.leafCount) {
    // The common case: same size, so only the listed paths are rehashed.
    const diff = base.stage();
    try {
      for (const { index, node } of delta.nodes) {
        if (index % 2 === 0) {
          diff.setLeaf(index / 2, node?.nodeType === NodeType.leaf ? node.leafNode : undefined);
        } else {
          diff.setParent(index, node?.nodeType === NodeType.parent ? node.parentNode : undefined);
        }
      }
      return diff.commit();
    } catch (e) {
      throw new MlsError('state_corrupt', `${what}: delta does not apply`, { cause: e });
    }
  }
  // The size changed in between (a doubling or a truncation): rebuild, O(n) once.
  const list: (Node | undefined)[] = [];
  const shared = Math.min(width, base.nodeCount);
  for (let x = 0; x < shared; x++) list[x] = base.node(x);
  for (const { index, node } of delta.nodes) list[index] = node;
  return build(suite, delta.leafCount, list, what);
}

/** Throws 'state_corrupt' unless `tree` hashes to the tree hash of `gc`. */
export function checkTreeHash(tree: RatchetTree, gc: GroupContext, what: string): void {
  if (!equalBytes(tree.treeHash(), gc.treeHash)) {
    throw corrupt(`${what}: tree hash differs from the GroupContext of epoch ${gc.epoch}`);
  }
}
