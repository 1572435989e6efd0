// The seven MLS cipher suites on both backends: labeled operations round-trip with fresh keys,
// cross-check between backends, and fail typed on wrong labels, contexts and arguments.
import { describe, expect, it } from 'vitest';
import { CryptoError, SUITES, cipherSuite, isCipherSuiteId } from '../../src-core/crypto/index.js';
import type { CipherSuiteId } from '../../src-core/crypto/index.js';
import { BACKENDS, bytes, expectCryptoError, flipBit, other } from './helpers.js';

const IDS: CipherSuiteId[] = [1, 2, 3, 4, 5, 6, 7];
const te = new TextEncoder();

describe.each(BACKENDS)('cipher suites on %s', (backend) => {
  describe.each(IDS)('suite %i', (id) => {
    const cs = cipherSuite(id, { backend });
    const peer = cipherSuite(id, { backend: other(backend) });
    const spec = SUITES[id];

    it('is built from the RFC 9420 §17.1 primitives, once', () => {
      expect(cs.id).toBe(id);
      expect(cs.name).toBe(spec.name);
      expect([cs.hpke.kem.id, cs.kdf.id, cs.aead.id, cs.hash.name, cs.signature.id]).toEqual([
        spec.kem,
        spec.kdf,
        spec.aead,
        spec.hash,
        spec.signature,
      ]);
      expect(cs.kdf.size).toBe(cs.hash.size);
      expect(cipherSuite(id, { backend })).toBe(cs);
    });

    it('SignWithLabel round-trips with a fresh key, across backends, and binds the label', () => {
      const { privateKey, publicKey } = cs.generateSignatureKeyPair();
      const content = te.encode('LeafNodeTBS bytes');
      const sig = cs.signWithLabel(privateKey, 'LeafNodeTBS', content);
      expect(cs.verifyWithLabel(publicKey, 'LeafNodeTBS', content, sig)).toBe(true);
      expect(peer.verifyWithLabel(publicKey, 'LeafNodeTBS', content, sig)).toBe(true);
      expect(cs.verifyWithLabel(publicKey, 'KeyPackageTBS', content, sig)).toBe(false);
      expect(cs.verifyWithLabel(publicKey, 'LeafNodeTBS', flipBit(content, 0), sig)).toBe(false);
      // The label is part of the signed struct, not a prefix of the content.
      expect(cs.signature.verify(publicKey, content, sig)).toBe(false);
      const theirs = peer.signWithLabel(privateKey, 'LeafNodeTBS', content);
      expect(cs.verifyWithLabel(publicKey, 'LeafNodeTBS', content, theirs)).toBe(true);
    });

    it('EncryptWithLabel round-trips with a fresh key, across backends; wrong label or context fails', () => {
      const { privateKey, publicKey } = cs.generateHpkeKeyPair();
      const ctx = te.encode('group context');
      const pt = te.encode('path secret');
      const { kemOutput, ciphertext } = cs.encryptWithLabel(publicKey, 'UpdatePathNode', ctx, pt);
      expect(kemOutput.length).toBe(cs.hpke.kem.encSize);
      expect(cs.decryptWithLabel(privateKey, 'UpdatePathNode', ctx, kemOutput, ciphertext)).toEqual(
        pt,
      );
      expect(
        peer.decryptWithLabel(privateKey, 'UpdatePathNode', ctx, kemOutput, ciphertext),
      ).toEqual(pt);
      const theirs = peer.encryptWithLabel(publicKey, 'UpdatePathNode', ctx, pt);
      expect(
        cs.decryptWithLabel(privateKey, 'UpdatePathNode', ctx, theirs.kemOutput, theirs.ciphertext),
      ).toEqual(pt);
      expectCryptoError(
        () => cs.decryptWithLabel(privateKey, 'Welcome', ctx, kemOutput, ciphertext),
        'aead_open_failed',
      );
      expectCryptoError(
        () =>
          cs.decryptWithLabel(
            privateKey,
            'UpdatePathNode',
            te.encode('other'),
            kemOutput,
            ciphertext,
          ),
        'aead_open_failed',
      );
      expectCryptoError(
        () =>
          cs.decryptWithLabel(privateKey, 'UpdatePathNode', ctx, kemOutput, flipBit(ciphertext, 3)),
        'aead_open_failed',
      );
      const stranger = cs.generateHpkeKeyPair().privateKey;
      expectCryptoError(
        () => cs.decryptWithLabel(stranger, 'UpdatePathNode', ctx, kemOutput, ciphertext),
        'aead_open_failed',
      );
      expectCryptoError(
        () =>
          cs.decryptWithLabel(privateKey, 'UpdatePathNode', ctx, kemOutput.subarray(2), ciphertext),
        'invalid_public_key',
      );
    });

    it('deriveHpkeKeyPair is deterministic, the same on both backends, and usable', () => {
      const secret = bytes(cs.kdf.size, 0x33);
      const a = cs.deriveHpkeKeyPair(secret);
      expect(cs.deriveHpkeKeyPair(secret)).toEqual(a);
      expect(peer.deriveHpkeKeyPair(secret)).toEqual(a);
      expect(cs.deriveHpkeKeyPair(flipBit(secret, 0))).not.toEqual(a);
      const sealed = cs.encryptWithLabel(a.publicKey, 'L', new Uint8Array(0), te.encode('x'));
      expect(
        peer.decryptWithLabel(
          a.privateKey,
          'L',
          new Uint8Array(0),
          sealed.kemOutput,
          sealed.ciphertext,
        ),
      ).toEqual(te.encode('x'));
    });

    it('labeled derivations agree across backends and check their arguments', () => {
      const secret = bytes(cs.kdf.size, 5);
      expect(cs.expandWithLabel(secret, 'key', te.encode('c'), 77)).toEqual(
        peer.expandWithLabel(secret, 'key', te.encode('c'), 77),
      );
      expect(cs.deriveSecret(secret, 'epoch').length).toBe(cs.kdf.size);
      expect(cs.deriveTreeSecret(secret, 'nonce', 0xffffffff, 12)).toEqual(
        peer.deriveTreeSecret(secret, 'nonce', 0xffffffff, 12),
      );
      expect(cs.deriveTreeSecret(secret, 'nonce', 1, 12)).not.toEqual(
        cs.deriveTreeSecret(secret, 'nonce', 2, 12),
      );
      expect(cs.expandWithLabel(secret, 'x', new Uint8Array(0), 0)).toEqual(new Uint8Array(0));
      expectCryptoError(
        () => cs.expandWithLabel(secret, 'x', new Uint8Array(0), 0x10000),
        'invalid_argument',
      );
      expectCryptoError(
        () => cs.expandWithLabel(secret, 'x', new Uint8Array(0), -1),
        'invalid_argument',
      );
      expectCryptoError(
        () => cs.expandWithLabel(secret, 'x', new Uint8Array(0), 255 * cs.kdf.size + 1),
        'invalid_argument',
      );
      expectCryptoError(() => cs.deriveTreeSecret(secret, 'key', -1, 16), 'invalid_argument');
      expectCryptoError(() => cs.deriveTreeSecret(secret, 'key', 2 ** 32, 16), 'invalid_argument');
      expectCryptoError(() => cs.deriveTreeSecret(secret, 'key', 1.5, 16), 'invalid_argument');
    });

    it('references are RefHash with the RFC labels', () => {
      const v = te.encode('a key package');
      expect(cs.makeKeyPackageRef(v)).toEqual(cs.refHash('MLS 1.0 KeyPackage Reference', v));
      expect(cs.makeProposalRef(v)).toEqual(cs.refHash('MLS 1.0 Proposal Reference', v));
      expect(cs.makeKeyPackageRef(v)).not.toEqual(cs.makeProposalRef(v));
      expect(cs.makeKeyPackageRef(v).length).toBe(cs.hash.size);
      expect(peer.makeKeyPackageRef(v)).toEqual(cs.makeKeyPackageRef(v));
    });
  });

  it('randomBytes returns fresh bytes of any length', () => {
    const cs = cipherSuite(1, { backend });
    expect(cs.randomBytes(0).length).toBe(0);
    const a = cs.randomBytes(32);
    expect(a).not.toEqual(cs.randomBytes(32));
    const big = cs.randomBytes(200_000);
    expect(big.length).toBe(200_000);
    // Every 64 KiB chunk was filled (the last bytes are not all zero).
    expect(big.subarray(199_900).some((b) => b !== 0)).toBe(true);
    expectCryptoError(() => cs.randomBytes(-1), 'invalid_argument');
  });
});

describe('cipherSuite()', () => {
  it('rejects ids outside 1..7 with a typed error', () => {
    for (const bad of [0, 8, 0x0a0a, -1, 1.5]) {
      expect(isCipherSuiteId(bad)).toBe(false);
      expectCryptoError(() => cipherSuite(bad as CipherSuiteId), 'unsupported');
    }
    expect(() => cipherSuite(9 as CipherSuiteId)).toThrow(CryptoError);
  });

  it("defaults to the 'auto' backend", () => {
    expect(cipherSuite(1)).toBe(cipherSuite(1, { backend: 'auto' }));
  });
});
