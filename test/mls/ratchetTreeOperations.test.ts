// The tree side of Add, Update and Remove (§12.1.1–§12.1.3), extending and truncating (§7.7),
// the extension wire form (§12.4.3.3) and the key index over many versions.
import { describe, expect, it } from 'vitest';
import { cipherSuite } from '../../src-core/crypto/index.js';
import type { LeafNode } from '../../src-core/mls/leafNode.js';
import { NodeType } from '../../src-core/mls/ratchetTreeExtension.js';
import {
  RatchetTree,
  applyAdd,
  applyRemove,
  applyUpdate,
  filteredDirectPath,
  validateRatchetTree,
} from '../../src-core/mls/ratchetTree/index.js';
import { buildPopulatedTree, memberLeafContent } from '../support/populatedTree.js';
import { toHex } from '../support/shared.js';

const suite = cipherSuite(1);
const groupId = new TextEncoder().encode('operations');

let counter = 0;
function fakeLeaf(): LeafNode {
  const c = memberLeafContent(
    suite,
    counter++,
    suite.randomBytes(32),
    suite.randomBytes(32),
    suite.randomBytes(32),
  );
  return { ...c, signature: new Uint8Array(64) };
}

function sameAsFresh(t: RatchetTree): void {
  expect(toHex(t.treeHash())).toBe(toHex(RatchetTree.fromNodes(suite, t.toNodes()).treeHash()));
}

describe('tree operations', () => {
  it('Add takes the leftmost blank leaf, else doubles the tree', () => {
    const { tree } = buildPopulatedTree(suite, 4, { groupId, sign: false });
    const d1 = tree.stage();
    applyRemove(d1, 1);
    expect(applyAdd(d1, fakeLeaf())).toBe(1);
    expect(d1.leafCount).toBe(4);
    expect(applyAdd(d1, fakeLeaf())).toBe(4);
    expect(d1.leafCount).toBe(8);
    const t = d1.commit();
    sameAsFresh(t);
    // Leaf 4 is unmerged at no node: everything above it is new and blank.
    t.forEachParent((p) => expect(p.unmergedLeaves).not.toContain(4));
  });

  it('Add records the new leaf, sorted, at every non-blank node above it', () => {
    const { tree } = buildPopulatedTree(suite, 6, { groupId, sign: false });
    // 8 leaves, members 0-5. Remove 1, then 0 commits a path: nodes 3 and 7 get keys again, node 1
    // stays blank (its copath child, leaf 1, is blank), leaves 1, 6, 7 are free.
    const d = tree.stage();
    applyRemove(d, 1);
    for (const step of filteredDirectPath(d, 0)) {
      d.setParent(step.node, {
        encryptionKey: suite.randomBytes(32),
        parentHash: new Uint8Array(0),
        unmergedLeaves: [],
      });
    }
    expect(applyAdd(d, fakeLeaf())).toBe(1);
    expect(applyAdd(d, fakeLeaf())).toBe(6);
    const t = d.commit();
    expect(t.isBlank(1)).toBe(true);
    expect(t.parentNode(3)!.unmergedLeaves).toEqual([1]);
    expect(t.parentNode(7)!.unmergedLeaves).toEqual([1, 6]);
    expect(t.isBlank(11)).toBe(true);
    sameAsFresh(t);
  });

  it('Remove blanks the direct path and truncates while the right half is empty', () => {
    const { tree } = buildPopulatedTree(suite, 5, { groupId, sign: false });
    const d = tree.stage();
    applyRemove(d, 4);
    expect(d.leafCount).toBe(4);
    const t = d.commit();
    expect(t.nodeCount).toBe(7);
    expect(t.toNodes()).toHaveLength(7);
    sameAsFresh(t);
    // Down to one member: a one-leaf tree.
    const d2 = t.stage();
    for (const i of [3, 2, 1]) applyRemove(d2, i);
    const one = d2.commit();
    expect(one.leafCount).toBe(1);
    expect(one.toNodes()).toHaveLength(1);
    sameAsFresh(one);
  });

  it('Update replaces the leaf and blanks its direct path', () => {
    const { tree } = buildPopulatedTree(suite, 8, { groupId, sign: false });
    const d = tree.stage();
    const leaf = fakeLeaf();
    applyUpdate(d, 5, leaf);
    const t = d.commit();
    expect(t.leafNode(5)).toBe(leaf);
    for (const x of [11, 9, 7]) expect(t.isBlank(x)).toBe(true);
    expect(t.isBlank(13)).toBe(false);
    sameAsFresh(t);
  });

  it('Update and Remove of a blank or missing leaf are errors, and leave the diff usable', () => {
    const { tree } = buildPopulatedTree(suite, 3, { groupId, sign: false });
    const d = tree.stage();
    expect(() => applyRemove(d, 3)).toThrow(expect.objectContaining({ code: 'blank_leaf' }));
    expect(() => applyUpdate(d, 3, fakeLeaf())).toThrow(
      expect.objectContaining({ code: 'blank_leaf' }),
    );
    expect(() => applyRemove(d, 4)).toThrow(expect.objectContaining({ code: 'leaf_out_of_range' }));
    expect(() => applyRemove(d, -1)).toThrow(
      expect.objectContaining({ code: 'leaf_out_of_range' }),
    );
    expect(toHex(d.commit().treeHash())).toBe(toHex(tree.treeHash()));
  });
});

describe('extension wire form', () => {
  it('round-trips a signed tree and rejects bad data with typed errors', () => {
    const { tree } = buildPopulatedTree(suite, 11, { groupId });
    const data = tree.toExtensionData();
    const back = RatchetTree.fromExtensionData(suite, data);
    expect(toHex(back.treeHash())).toBe(toHex(tree.treeHash()));
    validateRatchetTree(back, { groupId, treeHash: tree.treeHash(), extensions: [] });
    expect(() => RatchetTree.fromExtensionData(suite, data.subarray(0, data.length - 1))).toThrow(
      expect.objectContaining({ code: 'decode_failed' }),
    );
    expect(() => RatchetTree.fromNodes(suite, [])).toThrow(
      expect.objectContaining({ code: 'invalid_tree' }),
    );
    expect(() => RatchetTree.fromNodes(suite, [...tree.toNodes(), undefined])).toThrow(
      expect.objectContaining({ code: 'invalid_tree' }),
    );
    const leaf = { nodeType: NodeType.leaf, leafNode: fakeLeaf() } as const;
    expect(() => RatchetTree.fromNodes(suite, [leaf, leaf])).toThrow(
      expect.objectContaining({ code: 'invalid_tree' }),
    );
  });
});

describe('key index', () => {
  it('stays correct and bounded over thousands of versions', () => {
    let t = RatchetTree.create(suite, fakeLeaf());
    const d0 = t.stage();
    for (let i = 0; i < 3; i++) applyAdd(d0, fakeLeaf());
    t = d0.commit();
    const first = t.leafNode(2)!;
    for (let i = 0; i < 3000; i++) {
      const d = t.stage();
      applyUpdate(d, i % 4, fakeLeaf());
      t = d.commit();
    }
    // 4 leaves: 8 live keys. Stale records are dropped once they outnumber the live ones by far.
    expect(t.state.keyIndex.size).toBeLessThanOrEqual(2 * 8 + 4096 + 2);
    for (let i = 0; i < 4; i++) {
      const leaf = t.leafNode(i)!;
      expect(t.findEncryptionKey(leaf.encryptionKey)).toBe(2 * i);
      expect(t.findSignatureKey(leaf.signatureKey)).toBe(i);
    }
    expect(t.findEncryptionKey(first.encryptionKey)).toBeUndefined();
    expect(t.findSignatureKey(first.signatureKey)).toBeUndefined();
  });
});
