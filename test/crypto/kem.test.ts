// DHKEMs on both backends: DeriveKeyPair (incl. the rejection loop), key validation, low-order and
// off-curve points, and agreement between backends.
import { describe, expect, it } from 'vitest';
import { concat, i2osp, utf8 } from '../../src-core/crypto/bytes.js';
import { hpkeSuite } from '../../src-core/crypto/index.js';
import type { DhGroup } from '../../src-core/crypto/kem/dhGroup.js';
import { DH_GROUPS } from '../../src-core/crypto/kem/dhGroup.js';
import { DhKem } from '../../src-core/crypto/kem/dhkem.js';
import { makeKem } from '../../src-core/crypto/kem/index.js';
import { makeKdf } from '../../src-core/crypto/kdf.js';
import { LabeledKdf } from '../../src-core/crypto/hpke/labeled.js';
import { BACKENDS, bytes, expectCryptoError, flipBit, other } from './helpers.js';

const KEMS = [
  { id: 0x10, name: 'P-256' },
  { id: 0x11, name: 'P-384' },
  { id: 0x12, name: 'P-521' },
  { id: 0x20, name: 'X25519' },
  { id: 0x21, name: 'X448' },
] as const;

function le(v: bigint, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = Number((v >> BigInt(8 * i)) & 0xffn);
  return out;
}

const P25519 = 2n ** 255n - 19n;
const P448 = 2n ** 448n - 2n ** 224n - 1n;

/** u-coordinates of small order (and non-canonical encodings of them), per cr.yp.to/ecdh.html. */
const LOW_ORDER: Record<'X25519' | 'X448', Uint8Array[]> = {
  X25519: [
    le(0n, 32),
    le(1n, 32),
    le(P25519 - 1n, 32),
    le(325606250916557431795983626356110631294008115727848805560023387167927233504n, 32),
    le(39382357235489614581723060781553021112529911719440698176882885853963445705823n, 32),
    le(P25519, 32),
    le(P25519 + 1n, 32),
    // The top bit is masked (RFC 7748 §5), so this is u = 0 again.
    le(2n ** 255n, 32),
  ],
  X448: [le(0n, 56), le(1n, 56), le(P448 - 1n, 56), le(P448, 56), le(P448 + 1n, 56)],
};

describe.each(BACKENDS)('DHKEM on %s', (backend) => {
  describe.each(KEMS)('$name', ({ id, name }) => {
    const kem = makeKem(id, backend);
    const spec = DH_GROUPS[name];
    const nist = spec.order !== undefined;

    it('DeriveKeyPair is deterministic and agrees with the other backend', () => {
      const ikm = bytes(spec.privateKeySize, 0x42);
      const a = kem.deriveKeyPair(ikm);
      expect(kem.deriveKeyPair(ikm)).toEqual(a);
      expect(makeKem(id, other(backend)).deriveKeyPair(ikm)).toEqual(a);
      expect(kem.deriveKeyPair(flipBit(ikm, 0)).privateKey).not.toEqual(a.privateKey);
      expect(a.privateKey.length).toBe(kem.privateKeySize);
      expect(a.publicKey.length).toBe(kem.publicKeySize);
      expect(kem.publicKeyFromPrivate(a.privateKey)).toEqual(a.publicKey);
    });

    it('generated keys encapsulate, and the other backend decapsulates', () => {
      const r = kem.generateKeyPair();
      expect(kem.isValidPublicKey(r.publicKey)).toBe(true);
      const { enc, sharedSecret } = kem.encap(r.publicKey);
      expect(enc.length).toBe(kem.encSize);
      expect(sharedSecret.length).toBe(kem.secretSize);
      expect(makeKem(id, other(backend)).decap(enc, r.privateKey)).toEqual(sharedSecret);
      const s = kem.generateKeyPair();
      const auth = kem.authEncap(r.publicKey, s.privateKey);
      expect(makeKem(id, other(backend)).authDecap(auth.enc, r.privateKey, s.publicKey)).toEqual(
        auth.sharedSecret,
      );
      // AuthDecap with the wrong sender key gives a different secret (authentication fails later).
      const wrong = kem.generateKeyPair();
      expect(kem.authDecap(auth.enc, r.privateKey, wrong.publicKey)).not.toEqual(auth.sharedSecret);
    });

    it('rejects public keys of the wrong length', () => {
      const r = kem.generateKeyPair();
      for (const bad of [
        r.publicKey.subarray(1),
        concat(r.publicKey, Uint8Array.of(0)),
        new Uint8Array(0),
      ]) {
        expect(kem.isValidPublicKey(bad)).toBe(false);
        expectCryptoError(() => kem.encap(bad), 'invalid_public_key');
        expectCryptoError(() => kem.decap(bad, r.privateKey), 'invalid_public_key');
      }
    });

    it('rejects private keys that are out of range or of the wrong length', () => {
      const bad = [
        bytes(spec.privateKeySize - 1, 1),
        bytes(spec.privateKeySize + 1, 1),
        new Uint8Array(0),
      ];
      if (nist) {
        const n = spec.order!;
        const enc = (v: bigint): Uint8Array => {
          const out = new Uint8Array(spec.privateKeySize);
          for (let i = out.length - 1, x = v; i >= 0; i--, x >>= 8n) out[i] = Number(x & 0xffn);
          return out;
        };
        bad.push(enc(0n), enc(n), enc(n + 1n), bytes(spec.privateKeySize, 0xff));
      }
      const pk = kem.generateKeyPair().publicKey;
      for (const sk of bad) {
        expectCryptoError(() => kem.publicKeyFromPrivate(sk), 'invalid_private_key');
        expectCryptoError(() => kem.decap(pk, sk), 'invalid_private_key');
        expectCryptoError(() => kem.authEncap(pk, sk), 'invalid_private_key');
      }
    });

    if (nist) {
      it('rejects points off the curve and non-uncompressed encodings', () => {
        const r = kem.generateKeyPair();
        const pk = r.publicKey;
        const offCurve = flipBit(pk, pk.length - 1);
        const zero = concat(Uint8Array.of(4), new Uint8Array(pk.length - 1));
        const compressedTag = concat(Uint8Array.of(2), pk.subarray(1));
        const hybridTag = concat(Uint8Array.of(6 | (pk[pk.length - 1]! & 1)), pk.subarray(1));
        // x = p: a non-canonical coordinate (p >= field size is never a valid encoding).
        const bigX = concat(
          Uint8Array.of(4),
          bytes((pk.length - 1) / 2, 0xff),
          pk.subarray(1 + (pk.length - 1) / 2),
        );
        for (const bad of [offCurve, zero, compressedTag, hybridTag, bigX]) {
          expect(kem.isValidPublicKey(bad)).toBe(false);
          expectCryptoError(() => kem.encap(bad), 'invalid_public_key');
          expectCryptoError(() => kem.decap(bad, r.privateKey), 'invalid_public_key');
          expectCryptoError(
            () => kem.authDecap(kem.encap(pk).enc, r.privateKey, bad),
            'invalid_public_key',
          );
        }
      });

      it('DeriveKeyPair masks the first byte of each candidate (P-521: bitmask 0x01)', () => {
        // Over many ikm, the top byte of a P-521 scalar is 0 or 1; P-256/384 use every bit.
        const tops = new Set<number>();
        for (let i = 0; i < 64; i++) tops.add(kem.deriveKeyPair(bytes(32, i)).privateKey[0]!);
        if (name === 'P-521') expect([...tops].every((t) => t <= 1)).toBe(true);
        else expect(Math.max(...tops)).toBeGreaterThan(1);
      });
    } else {
      it('rejects low-order points: the DH would be all zero', () => {
        const r = kem.generateKeyPair();
        for (const bad of LOW_ORDER[name as 'X25519' | 'X448']) {
          expectCryptoError(() => kem.encap(bad), 'invalid_public_key');
          expectCryptoError(() => kem.decap(bad, r.privateKey), 'invalid_public_key');
          expectCryptoError(
            () => kem.authDecap(kem.encap(r.publicKey).enc, r.privateKey, bad),
            'invalid_public_key',
          );
        }
      });
    }
  });

  it('unknown KEM ids are unsupported', () => {
    expectCryptoError(() => makeKem(0x30, backend), 'unsupported');
    expectCryptoError(() => hpkeSuite(0x20, 1, 9, backend), 'unsupported');
    expectCryptoError(() => hpkeSuite(0x20, 4, 1, backend), 'unsupported');
  });
});

describe('DeriveKeyPair rejection sampling (RFC 9180 §7.1.3)', () => {
  // A toy group with a tiny order exercises the candidate loop, which real curves leave after the
  // first candidate with overwhelming probability. The KEM logic under test is the real one.
  function toyKem(order: bigint): DhKem {
    const base = DH_GROUPS['P-256'];
    const group: DhGroup = {
      spec: { ...base, privateKeySize: 1, order, bitmask: 0xff },
      importPrivate: (sk) => ({
        publicKey: () => Uint8Array.from(sk),
        dh: () => new Uint8Array(32),
      }),
    };
    return new DhKem(group, makeKdf(1, 'noble'));
  }
  const ikm = utf8('rejection sampling');
  const labeled = new LabeledKdf(makeKdf(1, 'noble'), concat(utf8('KEM'), i2osp(0x10, 2)));
  const prk = labeled.extract(new Uint8Array(0), 'dkp_prk', ikm);
  const candidate = (counter: number): number =>
    labeled.expand(prk, 'candidate', i2osp(counter, 1), 1)[0]!;

  it('takes the first candidate that is nonzero and below the order', () => {
    const first = candidate(0);
    expect(first).toBeGreaterThan(1);
    // An order just above the first candidate accepts it; one at or below it rejects it.
    expect(toyKem(BigInt(first) + 1n).deriveKeyPair(ikm).privateKey).toEqual(Uint8Array.of(first));
    const order = BigInt(first);
    let counter = 1;
    while (counter < 256 && (candidate(counter) === 0 || BigInt(candidate(counter)) >= order))
      counter++;
    expect(counter).toBeLessThan(256);
    expect(toyKem(order).deriveKeyPair(ikm).privateKey).toEqual(Uint8Array.of(candidate(counter)));
  });

  it('gives up after 256 candidates', () => {
    expectCryptoError(() => toyKem(1n).deriveKeyPair(ikm), 'derive_key_pair_failed');
  });
});
