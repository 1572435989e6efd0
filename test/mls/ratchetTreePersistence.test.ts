// Structure sharing: the persistent vector under the ratchet tree, and tree versions staged on
// top of each other.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cipherSuite } from '../../src-core/crypto/index.js';
import { MlsError } from '../../src-core/mls/errors.js';
import { PersistentVector } from '../../src-core/mls/ratchetTree/persistentVector.js';
import { RatchetTree, applyAdd, applyRemove } from '../../src-core/mls/ratchetTree/index.js';
import { toHex } from '../support/shared.js';
import { buildPopulatedTree, memberLeafContent } from '../support/populatedTree.js';

const suite = cipherSuite(1);
const groupId = new TextEncoder().encode('persistence');

describe('PersistentVector', () => {
  it('matches a plain array under random sets and resizes, and old versions never change', () => {
    type Op =
      { kind: 'set'; at: number; v: number } | { kind: 'resize'; len: number } | { kind: 'freeze' };
    const op: fc.Arbitrary<Op> = fc.oneof(
      {
        weight: 6,
        arbitrary: fc.record({
          kind: fc.constant('set' as const),
          at: fc.nat(5000),
          v: fc.integer(),
        }),
      },
      {
        weight: 2,
        arbitrary: fc.record({ kind: fc.constant('resize' as const), len: fc.nat(5000) }),
      },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('freeze' as const) }) },
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), (ops) => {
        let model: (number | undefined)[] = [];
        let t = PersistentVector.empty<number | undefined>().transient();
        const versions: [PersistentVector<number | undefined>, (number | undefined)[]][] = [];
        for (const o of ops) {
          if (o.kind === 'set') {
            if (model.length === 0) continue;
            const i = o.at % model.length;
            t.set(i, o.v);
            model[i] = o.v;
          } else if (o.kind === 'resize') {
            t.resize(o.len);
            const next = model.slice(0, o.len);
            next.length = o.len;
            model = next;
          } else {
            const v = t.freeze();
            versions.push([v, model.slice()]);
            t = v.transient();
          }
        }
        versions.push([t.freeze(), model.slice()]);
        for (const [v, m] of versions) {
          expect(v.length).toBe(m.length);
          const seen: (number | undefined)[] = [];
          v.forEachIn(0, v.length, (x) => seen.push(x));
          expect(seen).toEqual(Array.from(m));
          for (let i = 0; i < m.length; i += 97) expect(v.get(i)).toBe(m[i]);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('shares every chunk but the changed path with the previous version', () => {
    const v1 = PersistentVector.from(Array.from({ length: 100_000 }, (_, i) => i));
    const t = v1.transient();
    t.set(12_345, -1);
    t.set(12_346, -2); // same chunk: copied once
    const v2 = t.freeze();
    expect(v2.get(12_345)).toBe(-1);
    expect(v1.get(12_345)).toBe(12_345);
    // 100,000 slots: 4 levels (root, two inner levels, leaf chunk).
    expect(v2.unsharedChunks(v1)).toBe(4);
    expect(v1.chunkCount()).toBeGreaterThan(3000);
  });

  it('rejects use after freeze and out-of-range access', () => {
    const t = PersistentVector.from([1, 2, 3]).transient();
    t.freeze();
    expect(() => t.set(0, 1)).toThrow(MlsError);
    expect(() => PersistentVector.from([1]).get(1)).toThrow(MlsError);
    expect(() => PersistentVector.from([1]).get(-1)).toThrow(MlsError);
  });
});

describe('RatchetTree versions', () => {
  it('a staged change leaves the old version intact and shares its unchanged chunks', () => {
    const { tree } = buildPopulatedTree(suite, 2000, { groupId, sign: false });
    const hashBefore = toHex(tree.treeHash());
    const nodesBefore = tree.toNodes();
    const diff = tree.stage();
    applyRemove(diff, 777);
    const next = diff.commit();
    expect(next.leafNode(777)).toBeUndefined();
    expect(tree.leafNode(777)).toBeDefined();
    expect(toHex(tree.treeHash())).toBe(hashBefore);
    expect(tree.toNodes()).toEqual(nodesBefore);
    // 4,095 nodes in 128 chunks; one direct path of 11 nodes touches at most 12 chunks + 4 inner.
    expect(next.unsharedChunks(tree)).toBeLessThanOrEqual(16);
    expect(toHex(next.treeHash())).toBe(
      toHex(RatchetTree.fromNodes(suite, next.toNodes()).treeHash()),
    );
  });

  it('a dropped diff changes nothing, a committed diff cannot be reused', () => {
    const { tree } = buildPopulatedTree(suite, 5, { groupId, sign: false });
    const before = toHex(tree.treeHash());
    const dropped = tree.stage();
    applyRemove(dropped, 2);
    dropped.treeHash();
    expect(toHex(tree.treeHash())).toBe(before);
    expect(tree.leafNode(2)).toBeDefined();
    const diff = tree.stage();
    diff.commit();
    expect(() => diff.commit()).toThrow(MlsError);
    expect(() => diff.setLeaf(0, undefined)).toThrow(MlsError);
  });

  it('two diffs staged on one version are independent', () => {
    const { tree } = buildPopulatedTree(suite, 6, { groupId, sign: false });
    const a = tree.stage();
    const b = tree.stage();
    const leaf = {
      ...memberLeafContent(
        suite,
        99,
        suite.randomBytes(32),
        suite.randomBytes(32),
        new Uint8Array(0),
      ),
      signature: new Uint8Array(64),
    };
    expect(applyAdd(a, leaf)).toBe(6);
    applyRemove(b, 5);
    const va = a.commit();
    const vb = b.commit();
    expect(va.memberCount).toBe(7);
    expect(vb.memberCount).toBe(5);
    expect(tree.memberCount).toBe(6);
    // The key index is shared, but each version answers for itself.
    expect(va.findEncryptionKey(leaf.encryptionKey)).toBe(12);
    expect(vb.findEncryptionKey(leaf.encryptionKey)).toBeUndefined();
    expect(tree.findEncryptionKey(leaf.encryptionKey)).toBeUndefined();
    const removedKey = tree.leafNode(5)!.signatureKey;
    expect(tree.findSignatureKey(removedKey)).toBe(5);
    expect(vb.findSignatureKey(removedKey)).toBeUndefined();
  });
});
