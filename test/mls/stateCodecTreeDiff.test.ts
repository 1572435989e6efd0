import { describe, expect, it } from 'vitest';
import { PersistentVector } from '../../src-core/mls/ratchetTree/persistentVector.js';

/** xorshift32: the same sequence on every run. */
function prng(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

function naive<T>(a: readonly T[], b: readonly T[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (i >= a.length || i >= b.length || a[i] !== b[i]) out.push(i);
  }
  return out;
}

describe('PersistentVector.forEachDifference (what storage rewrites after a commit)', () => {
  it('matches a slot-by-slot comparison between any two versions, across growth and truncation', () => {
    const random = prng(0xd1ff);
    const versions: { v: PersistentVector<object>; model: object[] }[] = [];
    let v = PersistentVector.from(Array.from({ length: 40 }, () => ({})));
    let model = [...Array.from({ length: 40 }, (_, i) => v.get(i))];
    versions.push({ v, model });
    for (let step = 0; step < 120; step++) {
      const t = v.transient();
      const next = [...model];
      const r = random();
      // Lengths cross the 32- and 1024-slot boundaries where the trie gains or loses a level.
      if (r < 0.15) {
        const len = Math.floor(random() * 2100);
        t.resize(len);
        next.length = len;
      }
      const writes = Math.floor(random() * 6);
      for (let k = 0; k < writes && t.length > 0; k++) {
        const i = Math.floor(random() * t.length);
        const o = {};
        t.set(i, o);
        next[i] = o;
      }
      v = t.freeze();
      model = next;
      versions.push({ v, model });
    }
    let compared = 0;
    for (let a = 0; a < versions.length; a += 7) {
      for (let b = 0; b < versions.length; b += 5) {
        const got: number[] = [];
        versions[a]!.v.forEachDifference(versions[b]!.v, (i) => got.push(i));
        expect(got).toEqual(naive(versions[a]!.model, versions[b]!.model));
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(300);
  });
});
