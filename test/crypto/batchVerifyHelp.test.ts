/**
 * BatchVerifier.verify({ help: false }): the calling thread leaves every chunk to the workers,
 * with the same answers; and it still gets them when there are no workers (none asked for, or
 * closed), since nobody else would verify the queue.
 */
import { describe, expect, it } from 'vitest';
import type { SignatureCheck } from '../../src-core/crypto/batchVerify.js';
import { createBatchVerifier } from '../../src-core/crypto/batchVerify.js';
import { cipherSuite } from '../../src-core/crypto/index.js';

const scheme = cipherSuite(1).signature;

function checks(n: number): SignatureCheck[] {
  const { privateKey, publicKey } = scheme.generateKeyPair();
  return Array.from({ length: n }, (_, i) => {
    const message = new TextEncoder().encode(`message ${i}`);
    const signature = scheme.sign(privateKey, message);
    if (i % 7 === 3) signature[i % signature.length]! ^= 1;
    return { publicKey, message, signature };
  });
}

describe('BatchVerifier without the calling thread helping', () => {
  const all = checks(300);
  const want = all.map((c) => scheme.verify(c.publicKey, c.message, c.signature));

  it('gives the answers of scheme.verify, for chunks submitted one after another', async () => {
    const v = createBatchVerifier(scheme, { workers: 2 });
    try {
      const parts = [0, 64, 128, 192, 256].map((at) =>
        v.verify(all.slice(at, at + 64), { help: false }),
      );
      expect((await Promise.all(parts)).flat()).toEqual(want);
      expect(want.filter((ok) => !ok).length).toBeGreaterThan(0);
    } finally {
      await v.close();
    }
  });

  it('verifies on the calling thread when there are no workers, or they were closed', async () => {
    const none = createBatchVerifier(scheme, { workers: 0 });
    expect(await none.verify(all.slice(0, 100), { help: false })).toEqual(want.slice(0, 100));
    const closed = createBatchVerifier(scheme, { workers: 2 });
    expect(await closed.verify(all.slice(0, 10), { help: false })).toEqual(want.slice(0, 10));
    await closed.close();
    expect(await closed.verify(all.slice(100), { help: false })).toEqual(want.slice(100));
  });
});
