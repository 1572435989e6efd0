// AEADs on both backends: round trips, cross-backend agreement, and every tampering fails typed.
import { describe, expect, it } from 'vitest';
import { makeAead } from '../../src-core/crypto/aead.js';
import { AEAD_EXPORT_ONLY } from '../../src-core/crypto/index.js';
import { BACKENDS, bytes, expectCryptoError, flipBit, other } from './helpers.js';

const AEADS = [
  { id: 1, name: 'AES-128-GCM' },
  { id: 2, name: 'AES-256-GCM' },
  { id: 3, name: 'ChaCha20-Poly1305' },
];

describe.each(BACKENDS)('AEAD on %s', (backend) => {
  describe.each(AEADS)('$name', ({ id }) => {
    const aead = makeAead(id, backend);
    const key = bytes(aead.keySize, 7);
    const nonce = bytes(aead.nonceSize, 9);
    const aad = new TextEncoder().encode('header');
    const pt = new TextEncoder().encode('attack at dawn, or maybe a little later');

    it('round-trips and agrees with the other backend', () => {
      const ct = aead.seal(key, nonce, aad, pt);
      expect(ct.length).toBe(pt.length + aead.tagSize);
      expect(aead.open(key, nonce, aad, ct)).toEqual(pt);
      const peer = makeAead(id, other(backend));
      expect(peer.seal(key, nonce, aad, pt)).toEqual(ct);
      expect(peer.open(key, nonce, aad, ct)).toEqual(pt);
    });

    it('handles an empty plaintext and empty aad', () => {
      const ct = aead.seal(key, nonce, new Uint8Array(0), new Uint8Array(0));
      expect(ct.length).toBe(aead.tagSize);
      expect(aead.open(key, nonce, new Uint8Array(0), ct)).toEqual(new Uint8Array(0));
    });

    it('rejects a tampered ciphertext, tag, aad, nonce or key', () => {
      const ct = aead.seal(key, nonce, aad, pt);
      expectCryptoError(() => aead.open(key, nonce, aad, flipBit(ct, 0)), 'aead_open_failed');
      expectCryptoError(
        () => aead.open(key, nonce, aad, flipBit(ct, ct.length - 1, 7)),
        'aead_open_failed',
      );
      expectCryptoError(() => aead.open(key, nonce, flipBit(aad, 2), ct), 'aead_open_failed');
      expectCryptoError(() => aead.open(key, nonce, new Uint8Array(0), ct), 'aead_open_failed');
      expectCryptoError(() => aead.open(key, flipBit(nonce, 11), aad, ct), 'aead_open_failed');
      expectCryptoError(() => aead.open(flipBit(key, 0), nonce, aad, ct), 'aead_open_failed');
    });

    it('rejects truncated and extended ciphertexts', () => {
      const ct = aead.seal(key, nonce, aad, pt);
      expectCryptoError(
        () => aead.open(key, nonce, aad, ct.subarray(0, ct.length - 1)),
        'aead_open_failed',
      );
      expectCryptoError(() => aead.open(key, nonce, aad, ct.subarray(0, 15)), 'aead_open_failed');
      expectCryptoError(() => aead.open(key, nonce, aad, new Uint8Array(0)), 'aead_open_failed');
      const longer = new Uint8Array(ct.length + 1);
      longer.set(ct);
      expectCryptoError(() => aead.open(key, nonce, aad, longer), 'aead_open_failed');
    });

    it('rejects keys and nonces of the wrong length', () => {
      expectCryptoError(
        () => aead.seal(bytes(aead.keySize - 1, 1), nonce, aad, pt),
        'invalid_length',
      );
      expectCryptoError(() => aead.seal(key, bytes(8, 1), aad, pt), 'invalid_length');
      const ct = aead.seal(key, nonce, aad, pt);
      expectCryptoError(
        () => aead.open(bytes(aead.keySize + 1, 1), nonce, aad, ct),
        'invalid_length',
      );
    });
  });

  it('export-only AEAD cannot seal or open', () => {
    const aead = makeAead(AEAD_EXPORT_ONLY, backend);
    expect([aead.keySize, aead.nonceSize, aead.tagSize]).toEqual([0, 0, 0]);
    const z = new Uint8Array(0);
    expectCryptoError(() => aead.seal(z, z, z, z), 'hpke_export_only');
    expectCryptoError(() => aead.open(z, z, z, z), 'hpke_export_only');
  });

  it('unknown AEAD ids are unsupported', () => {
    expectCryptoError(() => makeAead(4, backend), 'unsupported');
  });
});
