// The cached tree hashes, resolution sizes and member counts of staged and committed tree versions
// agree, after random operation sequences, with a from-scratch computation and with the RFC's
// definitions (§4.1.1, §4.1.2, §7.8) computed naively from the nodes alone.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cipherSuite } from '../../src-core/crypto/index.js';
import type { LeafNode } from '../../src-core/mls/leafNode.js';
import { NodeType } from '../../src-core/mls/ratchetTreeExtension.js';
import type { TreeDiff, TreeReader } from '../../src-core/mls/ratchetTree/index.js';
import {
  RatchetTree,
  applyAdd,
  applyRemove,
  applyUpdate,
  filteredDirectPath,
  resolution,
} from '../../src-core/mls/ratchetTree/index.js';
import { directPath, left, level, right } from '../../src-core/mls/treeMath.js';
import { memberLeafContent } from '../support/populatedTree.js';
import { toHex } from '../support/shared.js';

const suite = cipherSuite(1);

let counter = 0;
function fakeLeaf(): LeafNode {
  const content = memberLeafContent(
    suite,
    counter++,
    suite.randomBytes(32),
    suite.randomBytes(32),
    suite.randomBytes(32),
  );
  return { ...content, signature: new Uint8Array(64) };
}

function naiveResolution(t: TreeReader, x: number): number[] {
  const n = t.node(x);
  if (n !== undefined) {
    return n.nodeType === NodeType.parent
      ? [x, ...n.parentNode.unmergedLeaves.map((u) => 2 * u)]
      : [x];
  }
  if (level(x) === 0) return [];
  return [...naiveResolution(t, left(x)), ...naiveResolution(t, right(x))];
}

function members(t: TreeReader): number[] {
  const out: number[] = [];
  for (let i = 0; i < t.leafCount; i++) if (t.leafNode(i) !== undefined) out.push(i);
  return out;
}

/** Checks every cached value of `t` against the definitions and a fresh build. */
function checkAgainstScratch(t: TreeReader): void {
  const fresh = RatchetTree.fromNodes(suite, t.toNodes());
  expect(fresh.leafCount).toBe(t.leafCount);
  for (let x = 0; x < t.nodeCount; x++) {
    expect(toHex(t.nodeTreeHash(x))).toBe(toHex(fresh.nodeTreeHash(x)));
    const res = naiveResolution(t, x);
    expect(resolution(t, x)).toEqual(res);
    expect(t.resolutionSize(x)).toBe(res.length);
  }
  const m = members(t);
  expect(t.memberCount).toBe(m.length);
  let firstBlank: number | undefined;
  for (let i = 0; i < t.leafCount && firstBlank === undefined; i++) {
    if (t.leafNode(i) === undefined) firstBlank = i;
  }
  expect(t.leftmostBlankLeaf()).toBe(firstBlank);
  expect(t.rightmostMember()).toBe(m.length === 0 ? undefined : m[m.length - 1]);
  for (const i of m) {
    const path = t.leafCount === 1 ? [] : directPath(2 * i, t.leafCount);
    // The copath child of p is its child on the other side from leaf i.
    const want = path.filter((p) => naiveResolution(t, 2 * i < p ? right(p) : left(p)).length > 0);
    expect(filteredDirectPath(t, i).map((s) => s.node)).toEqual(want);
  }
}

type Op =
  | { kind: 'add' }
  | { kind: 'update' | 'remove' | 'path'; pick: number }
  | { kind: 'commit' }
  | { kind: 'read' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ kind: 'add' } as Op) },
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constantFrom('update' as const, 'remove' as const, 'path' as const),
      pick: fc.nat(),
    }),
  },
  { weight: 2, arbitrary: fc.constant({ kind: 'commit' } as Op) },
  { weight: 2, arbitrary: fc.constant({ kind: 'read' } as Op) },
);

/** What merging an UpdatePath does to the public tree, with random keys. */
function mergeRandomPath(diff: TreeDiff, leaf: number): void {
  const steps = filteredDirectPath(diff, leaf);
  diff.blankDirectPath(leaf);
  for (const s of steps) {
    diff.setParent(s.node, {
      encryptionKey: suite.randomBytes(32),
      parentHash: suite.randomBytes(32),
      unmergedLeaves: [],
    });
  }
  diff.setLeaf(leaf, fakeLeaf());
}

describe('ratchet tree caches', () => {
  it('match a from-scratch computation after random operation sequences', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 40 }), (ops) => {
        let version = RatchetTree.create(suite, fakeLeaf());
        const kept: [RatchetTree, string, ReturnType<RatchetTree['toNodes']>][] = [];
        let diff = version.stage();
        for (const op of ops) {
          const m = members(diff);
          switch (op.kind) {
            case 'add':
              applyAdd(diff, fakeLeaf());
              break;
            case 'update':
              applyUpdate(diff, m[op.pick % m.length]!, fakeLeaf());
              break;
            case 'remove':
              if (m.length > 1) applyRemove(diff, m[op.pick % m.length]!);
              break;
            case 'path':
              mergeRandomPath(diff, m[op.pick % m.length]!);
              break;
            case 'read':
              // Lazily refreshed values read in the middle of staging.
              checkAgainstScratch(diff);
              break;
            case 'commit':
              version = diff.commit();
              kept.push([version, toHex(version.treeHash()), version.toNodes()]);
              diff = version.stage();
              break;
          }
        }
        version = diff.commit();
        checkAgainstScratch(version);
        // Every earlier version still holds exactly what it held when it was committed.
        for (const [v, hash, nodes] of kept) {
          expect(toHex(v.treeHash())).toBe(hash);
          expect(v.toNodes()).toEqual(nodes);
          checkAgainstScratch(v);
        }
      }),
      { numRuns: 60 },
    );
  });

  it('recompute only the changed path: one leaf change costs one hash per level', () => {
    let n = 0;
    const counting = {
      ...suite,
      hash: { ...suite.hash, digest: (d: Uint8Array) => (n++, suite.hash.digest(d)) },
    };
    const leaves = Array.from({ length: 1024 }, () => fakeLeaf());
    const tree = RatchetTree.fromNodes(
      counting,
      leaves.flatMap((leafNode, i) => [
        { nodeType: NodeType.leaf, leafNode } as const,
        ...(i < leaves.length - 1 ? [undefined] : []),
      ]),
    );
    n = 0;
    const diff = tree.stage();
    applyUpdate(diff, 300, fakeLeaf());
    diff.commit();
    // The leaf, then its 10 ancestors.
    expect(n).toBe(11);
  });
});
