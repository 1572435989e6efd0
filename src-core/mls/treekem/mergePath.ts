/**
 * The public half of an UpdatePath, shared by its sender and its receivers (RFC 9420 §7.5, §7.9):
 * blank the sender's direct path, put the new public keys on its filtered direct path with empty
 * unmerged lists, and chain the parent hashes from the root down.
 */
import type { ParentNode } from '../ratchetTreeExtension.js';
import { parentHash } from '../ratchetTree/parentHash.js';
import type { RatchetTree } from '../ratchetTree/ratchetTree.js';
import type { PathStep } from '../ratchetTree/resolution.js';
import type { TreeDiff } from '../ratchetTree/treeDiff.js';
import type { LeafIndex } from '../treeMath.js';

/** The HPKE label of path secret encryption (§7.6). */
export const UPDATE_PATH_NODE_LABEL = 'UpdatePathNode';

/**
 * Writes the path's parent nodes into `diff` (staged on `tree`) and returns the parent hash the
 * sender's new leaf must carry. `publicKeys[i]` belongs to `steps[i].node`.
 *
 * The sibling hashes come from `tree`: the subtree under a copath child is disjoint from the
 * sender's direct path, so the path leaves its hash as it was, and with the parent's unmerged list
 * now empty the "original" sibling tree hash is the current one.
 */
export function mergePathPublic(
  tree: RatchetTree,
  diff: TreeDiff,
  sender: LeafIndex,
  steps: readonly PathStep[],
  publicKeys: readonly Uint8Array[],
): Uint8Array {
  diff.blankDirectPath(sender);
  let above: Uint8Array = new Uint8Array(0);
  for (let i = steps.length - 1; i >= 0; i--) {
    const step = steps[i]!;
    const parent: ParentNode = {
      encryptionKey: publicKeys[i]!,
      parentHash: above,
      unmergedLeaves: [],
    };
    diff.setParent(step.node, parent);
    above = parentHash(tree.suite, parent, tree.nodeTreeHash(step.copathChild));
  }
  return above;
}
