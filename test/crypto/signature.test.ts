// Signature schemes on both backends: round trips and cross-backend verification, strict DER,
// high-S acceptance, and `verify` returning false (never throwing) on malformed input.
import { describe, expect, it } from 'vitest';
import { makeSignatureScheme } from '../../src-core/crypto/index.js';
import { ECDSA_SPECS } from '../../src-core/crypto/signature/ecdsa.js';
import { decodeDerSignature, encodeDerSignature } from '../../src-core/crypto/signature/der.js';
import { BACKENDS, bytes, expectCryptoError, flipBit, other } from './helpers.js';

const SCHEMES = [
  { id: 0x0807, name: 'Ed25519', sk: 32, pk: 32 },
  { id: 0x0808, name: 'Ed448', sk: 57, pk: 57 },
  { id: 0x0403, name: 'ECDSA P-256', sk: 32, pk: 65 },
  { id: 0x0503, name: 'ECDSA P-384', sk: 48, pk: 97 },
  { id: 0x0603, name: 'ECDSA P-521', sk: 66, pk: 133 },
];

const msg = new TextEncoder().encode('the message');

describe.each(BACKENDS)('signatures on %s', (backend) => {
  describe.each(SCHEMES)('$name', ({ id, sk, pk }) => {
    const scheme = makeSignatureScheme(id, backend);
    const peer = makeSignatureScheme(id, other(backend));
    const keys = scheme.generateKeyPair();

    it('generated keys sign; both backends verify; the public key derives the same', () => {
      expect(keys.privateKey.length).toBe(sk);
      expect(keys.publicKey.length).toBe(pk);
      expect(peer.publicKeyFromPrivate(keys.privateKey)).toEqual(keys.publicKey);
      const sig = scheme.sign(keys.privateKey, msg);
      expect(scheme.verify(keys.publicKey, msg, sig)).toBe(true);
      expect(peer.verify(keys.publicKey, msg, sig)).toBe(true);
      const theirs = peer.sign(keys.privateKey, msg);
      expect(scheme.verify(keys.publicKey, msg, theirs)).toBe(true);
    });

    it('signs with what the key array holds now, even after it is overwritten in place', () => {
      // The node backend caches imported private keys per array: a reused array must not sign
      // with a stale key.
      const a = scheme.generateKeyPair();
      const b = scheme.generateKeyPair();
      const held = a.privateKey.slice();
      expect(scheme.verify(a.publicKey, msg, scheme.sign(held, msg))).toBe(true);
      held.set(b.privateKey);
      const sig = scheme.sign(held, msg);
      expect(scheme.verify(b.publicKey, msg, sig)).toBe(true);
      expect(scheme.verify(a.publicKey, msg, sig)).toBe(false);
    });

    it('rejects another message, another key, and flipped bits', () => {
      const sig = scheme.sign(keys.privateKey, msg);
      expect(scheme.verify(keys.publicKey, flipBit(msg, 0), sig)).toBe(false);
      expect(scheme.verify(scheme.generateKeyPair().publicKey, msg, sig)).toBe(false);
      for (const i of [0, 1, Math.floor(sig.length / 2), sig.length - 1]) {
        expect(scheme.verify(keys.publicKey, msg, flipBit(sig, i))).toBe(false);
      }
    });

    it('returns false, never throws, on malformed keys and signatures', () => {
      const sig = scheme.sign(keys.privateKey, msg);
      const badKeys = [
        new Uint8Array(0),
        keys.publicKey.subarray(1),
        Uint8Array.from([...keys.publicKey, 0]),
        bytes(pk, 0),
        bytes(pk, 0xff),
        flipBit(keys.publicKey, pk - 1),
      ];
      for (const k of badKeys) expect(scheme.verify(k, msg, sig)).toBe(false);
      const badSigs = [
        new Uint8Array(0),
        sig.subarray(1),
        sig.subarray(0, sig.length - 1),
        Uint8Array.from([...sig, 0]),
        bytes(sig.length, 0),
        bytes(sig.length, 0xff),
      ];
      for (const s of badSigs) expect(scheme.verify(keys.publicKey, msg, s)).toBe(false);
    });

    it('rejects private keys of the wrong length', () => {
      // ECDSA scalars may arrive without leading zeros (minimal big-endian), so only EdDSA seeds
      // must have the exact length; a longer key is wrong for both.
      const isEcdsa = (id & 0xff) === 0x03;
      const tooShort = isEcdsa ? [] : [bytes(sk - 1, 1)];
      for (const bad of [new Uint8Array(0), ...tooShort, bytes(sk + 1, 1)]) {
        expectCryptoError(() => scheme.sign(bad, msg), 'invalid_private_key');
        expectCryptoError(() => scheme.publicKeyFromPrivate(bad), 'invalid_private_key');
      }
    });
  });

  describe.each(Object.values(ECDSA_SPECS))('ECDSA $curve encoding', (spec) => {
    const scheme = makeSignatureScheme(spec.id, backend);
    const peer = makeSignatureScheme(spec.id, other(backend));
    const keys = scheme.generateKeyPair();
    const sig = scheme.sign(keys.privateKey, msg);
    const rs = decodeDerSignature(sig)!;

    it('emits strict low-S DER', () => {
      expect(rs).toBeDefined();
      expect(rs.s <= spec.order / 2n).toBe(true);
      expect(encodeDerSignature(rs.r, rs.s)).toEqual(sig);
    });

    it('accepts the high-S twin of a signature', () => {
      const high = encodeDerSignature(rs.r, spec.order - rs.s);
      expect(scheme.verify(keys.publicKey, msg, high)).toBe(true);
      expect(peer.verify(keys.publicKey, msg, high)).toBe(true);
    });

    it('rejects r or s of zero or at least the order', () => {
      for (const [r, s] of [
        [0n, rs.s],
        [rs.r, 0n],
        [spec.order, rs.s],
        [rs.r, spec.order],
        [rs.r + spec.order, rs.s],
      ] as const) {
        expect(scheme.verify(keys.publicKey, msg, encodeDerSignature(r, s))).toBe(false);
      }
    });

    it('rejects BER that is not DER: padded integers, long-form lengths, trailing bytes', () => {
      // A redundant leading zero on r.
      const rBytes = sig.subarray(sig[1] === 0x81 ? 3 : 2);
      const rLen = rBytes[1]!;
      const padded = Uint8Array.from([
        0x30,
        ...derLen(sig.length - (sig[1] === 0x81 ? 3 : 2) + 1),
        0x02,
        rLen + 1,
        0x00,
        ...rBytes.subarray(2),
      ]);
      expect(decodeDerSignature(padded)).toBeUndefined();
      expect(scheme.verify(keys.publicKey, msg, padded)).toBe(false);
      // The sequence length in long form when the short form would do (P-256/P-384 only).
      if (sig[1]! < 0x80) {
        const longForm = Uint8Array.from([0x30, 0x81, sig[1]!, ...sig.subarray(2)]);
        expect(scheme.verify(keys.publicKey, msg, longForm)).toBe(false);
      }
      expect(scheme.verify(keys.publicKey, msg, Uint8Array.from([...sig, 0x00]))).toBe(false);
      // Wrong outer tag, negative integer.
      expect(scheme.verify(keys.publicKey, msg, Uint8Array.from([0x31, ...sig.subarray(1)]))).toBe(
        false,
      );
      expect(
        decodeDerSignature(Uint8Array.of(0x30, 0x06, 0x02, 0x01, 0x80, 0x02, 0x01, 0x01)),
      ).toBeUndefined();
      expect(
        decodeDerSignature(Uint8Array.of(0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01)),
      ).toEqual({ r: 1n, s: 1n });
    });

    it('rejects compressed public keys (MLS uses the uncompressed form)', () => {
      const n = (keys.publicKey.length - 1) / 2;
      const y = keys.publicKey[keys.publicKey.length - 1]!;
      const compressed = Uint8Array.from([2 | (y & 1), ...keys.publicKey.subarray(1, 1 + n)]);
      expect(scheme.verify(compressed, msg, sig)).toBe(false);
    });

    it('rejects private keys out of range', () => {
      expectCryptoError(() => scheme.sign(bytes(spec.scalarSize, 0), msg), 'invalid_private_key');
      expectCryptoError(
        () => scheme.sign(bytes(spec.scalarSize, 0xff), msg),
        'invalid_private_key',
      );
      expectCryptoError(
        () => scheme.sign(bytes(spec.scalarSize + 1, 1), msg),
        'invalid_private_key',
      );
      expectCryptoError(() => scheme.sign(new Uint8Array(0), msg), 'invalid_private_key');
    });

    it('accepts a private key written as a minimal big-endian integer (leading zeros dropped)', () => {
      let kp = scheme.generateKeyPair();
      while (kp.privateKey[0] !== 0) kp = scheme.generateKeyPair();
      const short = kp.privateKey.subarray(1);
      expect(scheme.publicKeyFromPrivate(short)).toEqual(kp.publicKey);
      expect(scheme.verify(kp.publicKey, msg, scheme.sign(short, msg))).toBe(true);
    });
  });

  it('unknown signature schemes are unsupported', () => {
    expectCryptoError(() => makeSignatureScheme(0x0804, backend), 'unsupported');
  });
});

function derLen(n: number): number[] {
  return n < 0x80 ? [n] : [0x81, n];
}
