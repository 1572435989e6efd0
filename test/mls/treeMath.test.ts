import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MlsError } from '../../src-core/mls/errors.js';
import {
  MAX_LEAVES,
  commonAncestor,
  copath,
  directPath,
  isLeaf,
  isValidLeafCount,
  leafCountForWidth,
  leafToNode,
  left,
  level,
  nodeToLeaf,
  nodeWidth,
  parent,
  right,
  root,
  sibling,
} from '../../src-core/mls/treeMath.js';

// The RFC 9420 Appendix C algorithms, transcribed over BigInt (arbitrary-precision bitwise
// operators), as an independent reference for indices beyond 32 bits.
const ref = {
  log2(x: bigint): bigint {
    if (x === 0n) return 0n;
    let k = 0n;
    while (x >> k > 0n) k++;
    return k - 1n;
  },
  level(x: bigint): bigint {
    if ((x & 1n) === 0n) return 0n;
    let k = 0n;
    while (((x >> k) & 1n) === 1n) k++;
    return k;
  },
  root(n: bigint): bigint {
    return (1n << ref.log2(2n * (n - 1n) + 1n)) - 1n;
  },
  left(x: bigint): bigint {
    return x ^ (1n << (ref.level(x) - 1n));
  },
  right(x: bigint): bigint {
    return x ^ (3n << (ref.level(x) - 1n));
  },
  parent(x: bigint): bigint {
    const k = ref.level(x);
    const b = (x >> (k + 1n)) & 1n;
    return (x | (1n << k)) ^ (b << (k + 1n));
  },
  commonAncestor(x: bigint, y: bigint): bigint {
    const lx = ref.level(x) + 1n;
    const ly = ref.level(y) + 1n;
    if (lx <= ly && x >> ly === y >> ly) return y;
    if (ly <= lx && x >> lx === y >> lx) return x;
    let [xn, yn, k] = [x, y, 0n];
    while (xn !== yn) {
      xn >>= 1n;
      yn >>= 1n;
      k++;
    }
    return (xn << k) + (1n << (k - 1n)) - 1n;
  },
};

function expectInvalid(f: () => unknown): void {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(MlsError);
    expect((e as MlsError).code).toBe('invalid_argument');
    return;
  }
  throw new Error('expected an invalid_argument MlsError');
}

describe('tree math', () => {
  it('handles a one-leaf tree: the leaf is the root', () => {
    expect(nodeWidth(1)).toBe(1);
    expect(root(1)).toBe(0);
    expect(directPath(0, 1)).toEqual([]);
    expect(copath(0, 1)).toEqual([]);
    expectInvalid(() => parent(0, 1));
    expectInvalid(() => sibling(0, 1));
    expectInvalid(() => left(0));
    expectInvalid(() => right(0));
  });

  it('matches the RFC figure of an eight-leaf tree', () => {
    expect(root(8)).toBe(7);
    expect(directPath(leafToNode(2), 8)).toEqual([5, 3, 7]);
    expect(copath(leafToNode(2), 8)).toEqual([6, 1, 11]);
    expect(commonAncestor(0, 6)).toBe(3);
    expect(commonAncestor(4, 4)).toBe(4);
    expect(commonAncestor(1, 6)).toBe(3);
    expect(commonAncestor(2, 12)).toBe(7);
  });

  it('rejects leaf counts that are not a power of two or out of range', () => {
    for (const n of [
      0,
      3,
      5,
      6,
      7,
      12,
      1000,
      2 ** 31 + 2 ** 30,
      MAX_LEAVES + 1,
      2 ** 33,
      -1,
      1.5,
      NaN,
    ]) {
      expect(isValidLeafCount(n)).toBe(false);
      expectInvalid(() => nodeWidth(n));
      expectInvalid(() => root(n));
      expectInvalid(() => directPath(0, n));
    }
    for (const n of [1, 2, 4, 2 ** 20, 2 ** 31, MAX_LEAVES]) expect(isValidLeafCount(n)).toBe(true);
  });

  it('rejects nodes outside the tree and non-integer indices', () => {
    expectInvalid(() => parent(7, 4));
    expectInvalid(() => directPath(15, 8));
    expectInvalid(() => level(-1));
    expectInvalid(() => level(0.5));
    expectInvalid(() => level(2 * MAX_LEAVES - 1));
    expectInvalid(() => leafToNode(MAX_LEAVES));
    expectInvalid(() => nodeToLeaf(3));
    expectInvalid(() => leafCountForWidth(6));
  });

  it('converts between leaves and nodes', () => {
    expect(leafToNode(5)).toBe(10);
    expect(nodeToLeaf(10)).toBe(5);
    expect(isLeaf(10)).toBe(true);
    expect(isLeaf(11)).toBe(false);
    expect(leafToNode(MAX_LEAVES - 1)).toBe(2 * MAX_LEAVES - 2);
    expect(nodeToLeaf(2 * MAX_LEAVES - 2)).toBe(MAX_LEAVES - 1);
    expect(leafCountForWidth(nodeWidth(2 ** 20))).toBe(2 ** 20);
  });

  it('handles the 2^32-leaf extremes', () => {
    const n = MAX_LEAVES;
    const lastLeaf = 2 * n - 2;
    expect(nodeWidth(n)).toBe(2 ** 33 - 1);
    expect(root(n)).toBe(2 ** 32 - 1);
    expect(level(root(n))).toBe(32);
    expect(left(root(n))).toBe(2 ** 31 - 1);
    expect(right(root(n))).toBe(2 ** 32 - 1 + 2 ** 31);
    expect(level(2 ** 32 + 2 ** 31 - 1)).toBe(31);
    const dp = directPath(lastLeaf, n);
    expect(dp).toHaveLength(32);
    expect(dp[0]).toBe(lastLeaf - 1);
    expect(dp[31]).toBe(root(n));
    expect(sibling(lastLeaf, n)).toBe(lastLeaf - 2);
    expect(copath(lastLeaf, n)[31]).toBe(left(root(n)));
    expect(copath(0, n)[31]).toBe(right(root(n)));
    expect(commonAncestor(0, lastLeaf)).toBe(root(n));
    expect(parent(left(root(n)), n)).toBe(root(n));
    expect(parent(right(root(n)), n)).toBe(root(n));
  });

  it('agrees with the RFC algorithms over BigInt for random nodes up to 2^32 leaves', () => {
    const logN = fc.integer({ min: 0, max: 32 });
    const tree = logN.chain((k) =>
      fc.tuple(
        fc.constant(2 ** k),
        fc.integer({ min: 0, max: 2 ** (k + 1) - 2 }),
        fc.integer({ min: 0, max: 2 ** (k + 1) - 2 }),
      ),
    );
    fc.assert(
      fc.property(tree, ([n, x, y]) => {
        const bx = BigInt(x);
        expect(root(n)).toBe(Number(ref.root(BigInt(n))));
        expect(level(x)).toBe(Number(ref.level(bx)));
        if (x % 2 === 1) {
          expect(left(x)).toBe(Number(ref.left(bx)));
          expect(right(x)).toBe(Number(ref.right(bx)));
        }
        if (x !== root(n)) expect(parent(x, n)).toBe(Number(ref.parent(bx)));
        expect(commonAncestor(x, y)).toBe(Number(ref.commonAncestor(bx, BigInt(y))));
        const dp = directPath(x, n);
        const cp = copath(x, n);
        expect(cp).toHaveLength(dp.length);
        let cur = x;
        for (let i = 0; i < dp.length; i++) {
          expect(dp[i]).toBe(parent(cur, n));
          expect(cp[i]).toBe(sibling(cur, n));
          cur = dp[i]!;
        }
      }),
      { numRuns: 500 },
    );
  });
});
