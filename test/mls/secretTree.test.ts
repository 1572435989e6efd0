import { describe, expect, it } from 'vitest';
import { cipherSuite } from '../../src-core/crypto/index.js';
import type { CipherSuite } from '../../src-core/crypto/types.js';
import { MlsError } from '../../src-core/mls/errors.js';
import type { SecretTreeOptions } from '../../src-core/mls/secretTree.js';
import { SecretTree } from '../../src-core/mls/secretTree.js';
import { deriveSenderDataKeyNonce } from '../../src-core/mls/senderDataSecret.js';
import { toHex } from '../support/shared.js';

const suite = cipherSuite(1);
const secret = (): Uint8Array => new Uint8Array(32).fill(0x5a);
const tree = (leaves: number, options?: SecretTreeOptions): SecretTree =>
  new SecretTree(suite, secret(), leaves, options);

function expectMlsCode(f: () => unknown, code: string): void {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(MlsError);
    expect((e as MlsError).code).toBe(code);
    return;
  }
  throw new Error(`expected MlsError ${code}`);
}

/** A key/nonce pair as one comparable string. */
function kn(k: { key: Uint8Array; nonce: Uint8Array }): string {
  return toHex(k.key) + '/' + toHex(k.nonce);
}

/** A real suite whose expandWithLabel calls are counted (node and ratchet-root derivations). */
function counting(s: CipherSuite): { suite: CipherSuite; calls: () => number } {
  let n = 0;
  const wrapped = Object.create(s) as CipherSuite;
  Object.defineProperty(wrapped, 'expandWithLabel', {
    value: (sec: Uint8Array, label: string, ctx: Uint8Array, len: number) => {
      n++;
      return s.expandWithLabel(sec, label, ctx, len);
    },
  });
  return { suite: wrapped, calls: () => n };
}

describe('SecretTree', () => {
  it('gives receivers the keys the sender used, for both ratchets independently', () => {
    const sender = tree(8);
    const receiver = tree(8);
    const sent = [0, 1, 2].map(() => sender.nextSendKey(5, 'application'));
    const hs = sender.nextSendKey(5, 'handshake');
    expect(sent.map((s) => s.generation)).toEqual([0, 1, 2]);
    expect(hs.generation).toBe(0);
    expect(kn(hs)).not.toBe(kn(sent[0]!));
    for (const s of sent) expect(kn(receiver.keyFor(5, 'application', s.generation))).toBe(kn(s));
    expect(kn(receiver.keyFor(5, 'handshake', 0))).toBe(kn(hs));
    expect(sent[0]!.key).toHaveLength(suite.aead.keySize);
    expect(sent[0]!.nonce).toHaveLength(suite.aead.nonceSize);
  });

  it('gives every leaf different keys', () => {
    const t = tree(4);
    const keys = [0, 1, 2, 3].map((l) => kn(t.keyFor(l, 'application', 0)));
    expect(new Set(keys).size).toBe(4);
  });

  it('rejects a key used twice', () => {
    const t = tree(4);
    t.keyFor(1, 'application', 0);
    expectMlsCode(() => t.keyFor(1, 'application', 0), 'key_already_used');
    t.keyFor(1, 'application', 3);
    expectMlsCode(() => t.keyFor(1, 'application', 3), 'key_already_used');
    t.keyFor(1, 'application', 1);
    expectMlsCode(() => t.keyFor(1, 'application', 1), 'key_already_used');
    const s = t.nextSendKey(2, 'handshake');
    expectMlsCode(() => t.keyFor(2, 'handshake', s.generation), 'key_already_used');
  });

  it('accepts out-of-order generations within the window and deletes those beyond it', () => {
    const ref = tree(2);
    const want = Array.from({ length: 12 }, (_, g) => kn(ref.keyFor(0, 'application', g)));
    const t = tree(2, { outOfOrderWindow: 4 });
    expect(kn(t.keyFor(0, 'application', 10))).toBe(want[10]);
    // Generations 6..9 are kept (4 below the highest consumed); 0..5 are gone.
    expect(t.stats().skippedKeys).toBe(4);
    expectMlsCode(() => t.keyFor(0, 'application', 5), 'generation_too_old');
    expectMlsCode(() => t.keyFor(0, 'application', 0), 'generation_too_old');
    expect(kn(t.keyFor(0, 'application', 7))).toBe(want[7]);
    expect(kn(t.keyFor(0, 'application', 6))).toBe(want[6]);
    expect(t.stats().skippedKeys).toBe(2);
    // Moving on to 11 pushes 6 out of the window; 7 was used, 8 and 9 stay.
    expect(kn(t.keyFor(0, 'application', 11))).toBe(want[11]);
    expectMlsCode(() => t.keyFor(0, 'application', 6), 'generation_too_old');
    expectMlsCode(() => t.keyFor(0, 'application', 7), 'key_already_used');
    expect(t.stats().skippedKeys).toBe(2);
    expect(kn(t.keyFor(0, 'application', 9))).toBe(want[9]);
  });

  it('deletes stored keys that fall out of the window as the ratchet moves on', () => {
    const t = tree(2, { outOfOrderWindow: 4 });
    t.keyFor(1, 'application', 10); // keeps 6..9
    t.keyFor(1, 'application', 12); // keeps 11; 6 and 7 fall out (below 12 - 4)
    expect(t.stats().skippedKeys).toBe(3);
    expectMlsCode(() => t.keyFor(1, 'application', 7), 'generation_too_old');
    expect(() => t.keyFor(1, 'application', 8)).not.toThrow();
    t.nextSendKey(1, 'application'); // 13: 9 is still within 13 - 4
    expect(t.stats().skippedKeys).toBe(2);
    t.nextSendKey(1, 'application'); // 14: 9 falls out
    expect(t.stats().skippedKeys).toBe(1);
    expectMlsCode(() => t.keyFor(1, 'application', 9), 'generation_too_old');
    expect(() => t.keyFor(1, 'application', 11)).not.toThrow();
    expect(t.stats().skippedKeys).toBe(0);
  });

  it('keeps no skipped keys with a zero window', () => {
    const t = tree(2, { outOfOrderWindow: 0 });
    t.keyFor(1, 'handshake', 5);
    expect(t.stats().skippedKeys).toBe(0);
    expectMlsCode(() => t.keyFor(1, 'handshake', 4), 'generation_too_old');
  });

  it('rejects generations too far ahead of the next expected one', () => {
    const t = tree(2, { maxForwardDistance: 10 });
    expectMlsCode(() => t.keyFor(0, 'application', 11), 'generation_too_far');
    t.keyFor(0, 'application', 10);
    expectMlsCode(() => t.keyFor(0, 'application', 22), 'generation_too_far');
    t.keyFor(0, 'application', 21);
    expectMlsCode(() => t.keyFor(0, 'application', 2 ** 32 - 1), 'generation_too_far');
    expectMlsCode(() => tree(2).keyFor(0, 'application', 1001), 'generation_too_far');
    expect(() => tree(2).keyFor(0, 'application', 1000)).not.toThrow();
  });

  it('rejects leaves outside the tree and malformed generations', () => {
    const t = tree(4);
    for (const leaf of [4, -1, 1.5, 2 ** 32]) {
      expectMlsCode(() => t.keyFor(leaf, 'application', 0), 'leaf_out_of_range');
      expectMlsCode(() => t.nextSendKey(leaf, 'handshake'), 'leaf_out_of_range');
    }
    expectMlsCode(() => t.keyFor(0, 'application', -1), 'invalid_argument');
    expectMlsCode(() => t.keyFor(0, 'application', 2 ** 32), 'invalid_argument');
    expectMlsCode(() => new SecretTree(suite, secret(), 3), 'invalid_argument');
    expectMlsCode(() => new SecretTree(suite, new Uint8Array(16), 4), 'invalid_argument');
    expectMlsCode(() => tree(4, { outOfOrderWindow: -1 }), 'invalid_argument');
  });

  it('changes no state when a lookup fails', () => {
    const t = tree(8, { outOfOrderWindow: 2, maxForwardDistance: 5 });
    const before = t.stats();
    expectMlsCode(() => t.keyFor(3, 'application', 6), 'generation_too_far');
    expectMlsCode(() => t.keyFor(8, 'application', 0), 'leaf_out_of_range');
    expect(t.stats()).toEqual(before);
    t.keyFor(3, 'application', 4);
    const after = t.stats();
    expectMlsCode(() => t.keyFor(3, 'application', 4), 'key_already_used');
    expectMlsCode(() => t.keyFor(3, 'application', 1), 'generation_too_old');
    expectMlsCode(() => t.keyFor(3, 'application', 11), 'generation_too_far');
    expect(t.stats()).toEqual(after);
    // The next generation is still 5 and the window still holds 2 and 3.
    const ref = tree(8);
    const want = [2, 3, 5].map((g) => kn(ref.keyFor(3, 'application', g)));
    expect([2, 3, 5].map((g) => kn(t.keyFor(3, 'application', g)))).toEqual(want);
  });

  it('withKey consumes nothing when the callback throws, and consumes on success', () => {
    const t = tree(8);
    const ref = tree(8);
    const want = kn(ref.keyFor(6, 'application', 3));
    const before = t.stats();
    const seen: string[] = [];
    const forged = (): never => {
      throw new Error('AEAD open failed');
    };
    expect(() =>
      t.withKey(6, 'application', 3, (key, nonce) => {
        seen.push(kn({ key, nonce }));
        forged();
      }),
    ).toThrow('AEAD open failed');
    expect(seen).toEqual([want]);
    expect(t.stats()).toEqual(before);
    // A stored (skipped) key also survives a failed attempt.
    t.keyFor(6, 'application', 5);
    expect(() => t.withKey(6, 'application', 3, forged)).toThrow('AEAD open failed');
    expect(t.withKey(6, 'application', 3, (key, nonce) => kn({ key, nonce }))).toBe(want);
    expectMlsCode(() => t.withKey(6, 'application', 3, () => 1), 'key_already_used');
  });

  it('zeroizes the key handed to withKey once it has been used', () => {
    const t = tree(2);
    let held: Uint8Array | undefined;
    t.withKey(0, 'handshake', 0, (key) => {
      held = key;
    });
    expect(held!.every((b) => b === 0)).toBe(true);
  });

  it('deletes each node secret once both children are derived', () => {
    const enc = secret();
    const t = new SecretTree(suite, enc, 4);
    expect(t.stats()).toEqual({ nodeSecrets: 1, leavesInUse: 0, skippedKeys: 0 });
    t.keyFor(0, 'application', 0);
    // Root (3) and node 1 are consumed; 5 (right subtree) and 2 (leaf 1) remain.
    expect(t.stats().nodeSecrets).toBe(2);
    expect(enc.every((b) => b === 0)).toBe(true);
    t.keyFor(1, 'handshake', 0);
    expect(t.stats().nodeSecrets).toBe(1);
    t.keyFor(3, 'handshake', 0);
    expect(t.stats().nodeSecrets).toBe(1);
    t.nextSendKey(2, 'application');
    expect(t.stats()).toEqual({ nodeSecrets: 0, leavesInUse: 4, skippedKeys: 0 });
  });

  it('is created in O(1) and derives only the path of a touched leaf (2^20 and 2^32 leaves)', () => {
    for (const logN of [20, 32]) {
      const c = counting(suite);
      const t = new SecretTree(c.suite, secret(), 2 ** logN);
      expect(c.calls()).toBe(0);
      for (const leaf of [0, 12345, 2 ** logN - 1]) t.keyFor(leaf, 'application', 0);
      // Per leaf: two children per level on the path, then two ratchet roots.
      expect(c.calls()).toBeLessThanOrEqual(3 * (2 * logN + 2));
      expect(t.stats().nodeSecrets).toBeLessThanOrEqual(3 * logN);
      expect(t.stats().leavesInUse).toBe(3);
    }
  });

  it('gives the same keys whatever order leaves are first used in', () => {
    const a = tree(16);
    const b = tree(16);
    const order = [9, 2, 15, 0, 7];
    const ka = order.map((l) => kn(a.keyFor(l, 'handshake', 1)));
    const kb = [...order].reverse().map((l) => kn(b.keyFor(l, 'handshake', 1)));
    expect(ka).toEqual(kb.reverse());
  });

  it('destroy zeroizes everything and refuses further use', () => {
    const enc = secret();
    const t = new SecretTree(suite, enc, 8, { outOfOrderWindow: 8 });
    t.keyFor(1, 'application', 5);
    t.destroy();
    expect(t.stats()).toEqual({ nodeSecrets: 0, leavesInUse: 0, skippedKeys: 0 });
    expectMlsCode(() => t.keyFor(1, 'application', 2), 'secret_deleted');
    expectMlsCode(() => t.nextSendKey(0, 'handshake'), 'secret_deleted');
    const untouched = secret();
    new SecretTree(suite, untouched, 8).destroy();
    expect(untouched.every((b) => b === 0)).toBe(true);
  });
});

describe('sender data key and nonce', () => {
  const sds = new Uint8Array(32).fill(0x33);

  it('samples only the first Nh bytes of the ciphertext', () => {
    const ct = new Uint8Array(100).map((_, i) => i);
    const longer = Uint8Array.from(ct);
    longer[50] = 0xff;
    expect(kn(deriveSenderDataKeyNonce(suite, sds, ct))).toBe(
      kn(deriveSenderDataKeyNonce(suite, sds, longer)),
    );
    const early = Uint8Array.from(ct);
    early[31] = 0xff;
    expect(kn(deriveSenderDataKeyNonce(suite, sds, early))).not.toBe(
      kn(deriveSenderDataKeyNonce(suite, sds, ct)),
    );
  });

  it('uses a short ciphertext whole', () => {
    const a = deriveSenderDataKeyNonce(suite, sds, new Uint8Array([1, 2, 3]));
    const b = deriveSenderDataKeyNonce(suite, sds, new Uint8Array([1, 2]));
    expect(kn(a)).not.toBe(kn(b));
    expect(a.key).toHaveLength(suite.aead.keySize);
    expect(a.nonce).toHaveLength(suite.aead.nonceSize);
  });
});
