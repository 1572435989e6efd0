// HPKE in all four modes on both backends: round trips across backends, typed failures for every
// wrong input, sequence numbers, exports, PSK input rules and the export-only AEAD.
import { describe, expect, it } from 'vitest';
import { HpkeMode, hpkeSuite } from '../../src-core/crypto/index.js';
import type { Backend, HpkeSuite, Psk } from '../../src-core/crypto/index.js';
import { BACKENDS, bytes, expectCryptoError, flipBit, other } from './helpers.js';

const te = new TextEncoder();
const info = te.encode('parley test info');
const aad = te.encode('aad');
const psk: Psk = { psk: bytes(32, 0x11), pskId: te.encode('psk id') };

// The MLS suites' HPKE triples plus one with a KEM/KDF mix that MLS does not use.
const TRIPLES = [
  [0x20, 1, 1],
  [0x10, 1, 1],
  [0x20, 1, 3],
  [0x21, 3, 2],
  [0x12, 3, 2],
  [0x11, 2, 2],
  [0x20, 3, 3],
] as const;

function setups(s: HpkeSuite, mode: HpkeMode, pkR: Uint8Array, skS: Uint8Array) {
  switch (mode) {
    case HpkeMode.base:
      return s.setupBaseS(pkR, info);
    case HpkeMode.psk:
      return s.setupPskS(pkR, info, psk);
    case HpkeMode.auth:
      return s.setupAuthS(pkR, info, skS);
    default:
      return s.setupAuthPskS(pkR, info, psk, skS);
  }
}

function receiver(
  s: HpkeSuite,
  mode: HpkeMode,
  enc: Uint8Array,
  skR: Uint8Array,
  pkS: Uint8Array,
  p = psk,
) {
  switch (mode) {
    case HpkeMode.base:
      return s.setupBaseR(enc, skR, info);
    case HpkeMode.psk:
      return s.setupPskR(enc, skR, info, p);
    case HpkeMode.auth:
      return s.setupAuthR(enc, skR, info, pkS);
    default:
      return s.setupAuthPskR(enc, skR, info, p, pkS);
  }
}

const MODES = [HpkeMode.base, HpkeMode.psk, HpkeMode.auth, HpkeMode.authPsk] as const;

describe.each(BACKENDS)('HPKE on %s', (backend: Backend) => {
  describe.each(TRIPLES)('kem %i kdf %i aead %i', (kemId, kdfId, aeadId) => {
    const s = hpkeSuite(kemId, kdfId, aeadId, backend);
    const peer = hpkeSuite(kemId, kdfId, aeadId, other(backend));
    const r = s.kem.generateKeyPair();
    const snd = s.kem.generateKeyPair();

    it.each(MODES)('mode %s: many messages in sequence, opened by the other backend', (mode) => {
      const { enc, context } = setups(s, mode, r.publicKey, snd.privateKey);
      const rx = receiver(peer, mode, enc, r.privateKey, snd.publicKey);
      for (let i = 0; i < 5; i++) {
        const pt = te.encode(`message ${i}`);
        const ct = context.seal(aad, pt);
        expect(rx.open(aad, ct)).toEqual(pt);
      }
      expect(context.sequenceNumber).toBe(5);
      expect(rx.sequenceNumber).toBe(5);
      expect(rx.export(te.encode('ctx'), 42)).toEqual(context.export(te.encode('ctx'), 42));
    });

    it.each(MODES)('mode %s: wrong key, info, psk or sender fails typed', (mode) => {
      const { enc, context } = setups(s, mode, r.publicKey, snd.privateKey);
      const ct = context.seal(aad, te.encode('secret'));
      const wrongR = s.kem.generateKeyPair();
      expectCryptoError(
        () => receiver(s, mode, enc, wrongR.privateKey, snd.publicKey).open(aad, ct),
        'aead_open_failed',
      );
      expectCryptoError(
        () => s.setupBaseR(enc, r.privateKey, te.encode('other info')).open(aad, ct),
        'aead_open_failed',
      );
      if (mode === HpkeMode.psk || mode === HpkeMode.authPsk) {
        const otherPsk = { psk: bytes(32, 0x12), pskId: psk.pskId };
        expectCryptoError(
          () => receiver(s, mode, enc, r.privateKey, snd.publicKey, otherPsk).open(aad, ct),
          'aead_open_failed',
        );
      }
      if (mode === HpkeMode.auth || mode === HpkeMode.authPsk) {
        const impostor = s.kem.generateKeyPair().publicKey;
        expectCryptoError(
          () => receiver(s, mode, enc, r.privateKey, impostor).open(aad, ct),
          'aead_open_failed',
        );
      }
    });

    it('single-shot base mode: tampering fails typed, the right inputs open', () => {
      const pt = te.encode('hello');
      const { enc, ciphertext } = s.seal(r.publicKey, info, aad, pt);
      expect(peer.open(enc, r.privateKey, info, aad, ciphertext)).toEqual(pt);
      expectCryptoError(
        () => s.open(enc, r.privateKey, info, aad, flipBit(ciphertext, 0)),
        'aead_open_failed',
      );
      expectCryptoError(
        () => s.open(enc, r.privateKey, info, flipBit(aad, 0), ciphertext),
        'aead_open_failed',
      );
      expectCryptoError(
        () => s.open(enc, r.privateKey, info, aad, ciphertext.subarray(1)),
        'aead_open_failed',
      );
      // A different valid enc decapsulates to another secret; a malformed one is rejected.
      expectCryptoError(
        () => s.open(s.kem.generateKeyPair().publicKey, r.privateKey, info, aad, ciphertext),
        'aead_open_failed',
      );
      expectCryptoError(
        () => s.open(enc.subarray(1), r.privateKey, info, aad, ciphertext),
        'invalid_public_key',
      );
    });

    it('sequence numbers: an out-of-order open fails and does not advance the context', () => {
      const { enc, context } = s.setupBaseS(r.publicKey, info);
      const c0 = context.seal(aad, te.encode('zero'));
      const c1 = context.seal(aad, te.encode('one'));
      const rx = s.setupBaseR(enc, r.privateKey, info);
      expectCryptoError(() => rx.open(aad, c1), 'aead_open_failed');
      expect(rx.sequenceNumber).toBe(0);
      expect(rx.open(aad, c0)).toEqual(te.encode('zero'));
      expect(rx.open(aad, c1)).toEqual(te.encode('one'));
      expectCryptoError(() => rx.open(aad, c1), 'aead_open_failed');
    });

    it('single-shot export agrees between sender and receiver', () => {
      const { enc, exported } = s.sendExport(r.publicKey, info, te.encode('exp'), 64);
      expect(exported.length).toBe(64);
      expect(peer.receiveExport(enc, r.privateKey, info, te.encode('exp'), 64)).toEqual(exported);
      expect(peer.receiveExport(enc, r.privateKey, info, te.encode('exq'), 64)).not.toEqual(
        exported,
      );
      expectCryptoError(
        () => s.receiveExport(enc, r.privateKey, info, aad, 255 * s.kdf.size + 1),
        'invalid_argument',
      );
    });
  });

  it('VerifyPSKInputs: a PSK needs its id, and only PSK modes take one', () => {
    const s = hpkeSuite(0x20, 1, 1, backend);
    const r = s.kem.generateKeyPair();
    const ss = bytes(32, 1);
    expectCryptoError(
      () => s.keySchedule(HpkeMode.psk, ss, info, { psk: psk.psk, pskId: new Uint8Array(0) }),
      'hpke_invalid_psk',
    );
    expectCryptoError(
      () => s.keySchedule(HpkeMode.psk, ss, info, { psk: new Uint8Array(0), pskId: psk.pskId }),
      'hpke_invalid_psk',
    );
    expectCryptoError(() => s.keySchedule(HpkeMode.psk, ss, info), 'hpke_invalid_psk');
    expectCryptoError(() => s.keySchedule(HpkeMode.authPsk, ss, info), 'hpke_invalid_psk');
    expectCryptoError(() => s.keySchedule(HpkeMode.base, ss, info, psk), 'hpke_invalid_psk');
    expectCryptoError(() => s.keySchedule(HpkeMode.auth, ss, info, psk), 'hpke_invalid_psk');
    expectCryptoError(
      () => s.setupPskS(r.publicKey, info, { psk: new Uint8Array(0), pskId: new Uint8Array(0) }),
      'hpke_invalid_psk',
    );
  });

  it('export-only suites export but cannot seal or open', () => {
    const s = hpkeSuite(0x20, 1, 0xffff, backend);
    const r = s.kem.generateKeyPair();
    const { enc, context } = s.setupBaseS(r.publicKey, info);
    const rx = s.setupBaseR(enc, r.privateKey, info);
    expect(rx.export(aad, 32)).toEqual(context.export(aad, 32));
    expectCryptoError(() => context.seal(aad, te.encode('x')), 'hpke_export_only');
    expectCryptoError(() => rx.open(aad, bytes(16, 0)), 'hpke_export_only');
    expectCryptoError(() => s.seal(r.publicKey, info, aad, te.encode('x')), 'hpke_export_only');
  });

  it('a destroyed context refuses to seal, open or export', () => {
    const s = hpkeSuite(0x20, 1, 1, backend);
    const r = s.kem.generateKeyPair();
    const { enc, context } = s.setupBaseS(r.publicKey, info);
    const ct = context.seal(aad, te.encode('x'));
    const rx = s.setupBaseR(enc, r.privateKey, info);
    context.destroy();
    rx.destroy();
    expectCryptoError(() => context.seal(aad, te.encode('x')), 'hpke_context_destroyed');
    expectCryptoError(() => context.export(aad, 32), 'hpke_context_destroyed');
    expectCryptoError(() => rx.open(aad, ct), 'hpke_context_destroyed');
  });
});
