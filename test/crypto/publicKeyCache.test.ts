import { describe, expect, it } from 'vitest';
import { cipherSuite } from '../../src-core/crypto/index.js';

describe('public signature keys cached per key array', () => {
  it('follows an array that is overwritten with another key', () => {
    const suite = cipherSuite(1);
    const a = suite.generateSignatureKeyPair();
    const b = suite.generateSignatureKeyPair();
    const message = Uint8Array.of(1, 2, 3);
    const sigA = suite.signature.sign(a.privateKey, message);
    const sigB = suite.signature.sign(b.privateKey, message);
    const held = a.publicKey.slice();
    expect(suite.signature.verify(held, message, sigA)).toBe(true);
    expect(suite.signature.verify(held, message, sigB)).toBe(false);
    held.set(b.publicKey);
    expect(suite.signature.verify(held, message, sigA)).toBe(false);
    expect(suite.signature.verify(held, message, sigB)).toBe(true);
  });
});
