import { create as createQr } from 'qrcode';
import { describe, expect, it } from 'vitest';
import { cipherSuite } from '../../src-core/crypto/index.js';
import { IdentityError } from '../../src-core/identity/errors.js';
import {
  compareSafetyQr,
  digitsOf,
  formatSafetyNumber,
  iteratedDigest,
  safetyNumber,
  safetyQrMatrix,
  safetyQrPayload,
  safetyQrSvg,
  userKeyFingerprint,
} from '../../src-core/identity/safetyNumber.js';
import { hex, toHex } from '../support/shared.js';

const suite = cipherSuite(1); // Ed25519 signatures: the user key's scheme
const newKey = (): Uint8Array => suite.generateSignatureKeyPair().publicKey;

// Fixed keys 00..1f and 20..3f. The expected values were computed independently with Python's
// hashlib from the construction documented in safetyNumber.ts.
const KEY_A = Uint8Array.from({ length: 32 }, (_, i) => i);
const KEY_B = Uint8Array.from({ length: 32 }, (_, i) => 32 + i);

describe('safety number', () => {
  it('known answer: fingerprints, per-party digests and the 60 digits', () => {
    expect(toHex(userKeyFingerprint(KEY_A))).toBe(
      'eef9a20225e9c55dfd682bdfe02b38ccef2763910da639019c28e95df6753283',
    );
    expect(toHex(userKeyFingerprint(KEY_B))).toBe(
      '1f2c62c4fa2ccda3bc92a1d5f69780b3ec306c75a662c43a63f5aae2e97c9156',
    );
    const n = safetyNumber(KEY_A, KEY_B);
    expect(toHex(n.local.digest)).toBe(
      '04e8e975fce0479308ab5589dfd82b3c30332b4e6968151df0f7a4e8fc0b3bff',
    );
    expect(toHex(n.remote.digest)).toBe(
      '3b9a29f1c405e3d73cef2f9c0823edcf016af01a9960b875c5a58c0ec6b7604d',
    );
    expect(n.local.digits).toBe('833889265168619975508046454411');
    expect(n.remote.digits).toBe('105967035142093157709779782455');
    expect(n.digits).toBe('105967035142093157709779782455833889265168619975508046454411');
    expect(n.groups).toHaveLength(12);
    expect(formatSafetyNumber(n)).toBe(
      '10596 70351 42093 15770\n97797 82455 83388 92651\n68619 97550 80464 54411',
    );
  });

  it("is Signal's construction: libsignal's published displayable fingerprint", () => {
    // libsignal fingerprint tests: version 0 prefix, 33-byte keys, phone numbers as identifiers.
    const alice = hex('0506863bc66d02b40d27b8d49ca7c09e9239236f9d7d25d6fcca5ce13c7064d868');
    const bob = hex('05f781b6fb32fed9ba1cf2de978d4d5da28dc34046ae814402b5c0dbd96fda907b');
    const v0 = new Uint8Array([0, 0]);
    const enc = new TextEncoder();
    const a = digitsOf(iteratedDigest(v0, alice, enc.encode('+14152222222'), 5200));
    const b = digitsOf(iteratedDigest(v0, bob, enc.encode('+14153333333'), 5200));
    expect(a < b ? a + b : b + a).toBe(
      '300354477692869396892869876765458257569162576843440918079131',
    );
  });

  it('both sides see the same 60 digits', () => {
    const alice = newKey();
    const bob = newKey();
    const ab = safetyNumber(alice, bob);
    const ba = safetyNumber(bob, alice);
    expect(ab.digits).toMatch(/^\d{60}$/);
    expect(ba.digits).toBe(ab.digits);
    expect(ba.groups).toEqual(ab.groups);
    expect(ba.local.digest).toEqual(ab.remote.digest);
  });

  it('changes when either key changes', () => {
    const alice = newKey();
    const bob = newKey();
    const base = safetyNumber(alice, bob).digits;
    expect(safetyNumber(newKey(), bob).digits).not.toBe(base);
    expect(safetyNumber(alice, newKey()).digits).not.toBe(base);
    // One flipped bit of one key is enough.
    const flipped = bob.slice();
    flipped[31] ^= 1;
    expect(safetyNumber(alice, flipped).digits).not.toBe(base);
  });

  it('rejects keys that are not 32 bytes', () => {
    const bad = new Uint8Array(33);
    for (const call of [() => safetyNumber(bad, KEY_B), () => safetyNumber(KEY_A, bad)]) {
      expect(call).toThrow(IdentityError);
      expect(call).toThrow(/^invalid_key:/);
    }
  });
});

describe('safety number QR', () => {
  it('known answer: the payload bytes', () => {
    const payload = safetyQrPayload(safetyNumber(KEY_A, KEY_B));
    expect(toHex(payload)).toBe(
      '530001' +
        '04e8e975fce0479308ab5589dfd82b3c30332b4e6968151df0f7a4e8fc0b3bff' +
        '3b9a29f1c405e3d73cef2f9c0823edcf016af01a9960b875c5a58c0ec6b7604d',
    );
  });

  it('round trip: the symbol carries exactly our payload, and scanning it matches', async () => {
    const alice = newKey();
    const bob = newKey();
    const shown = safetyQrPayload(safetyNumber(alice, bob));
    // No QR image decoder is installed: we check the byte segment the encoder put in the symbol.
    const qr = createQr([{ data: shown, mode: 'byte' }], { errorCorrectionLevel: 'M' });
    expect(qr.segments).toHaveLength(1);
    const carried = (qr.segments[0] as unknown as { data: Uint8Array }).data;
    expect(Uint8Array.from(carried)).toEqual(shown);
    const matrix = safetyQrMatrix(shown);
    expect(matrix.size).toBe(qr.modules.size);
    expect(matrix.modules).toEqual(qr.modules.data);
    const svg = await safetyQrSvg(shown);
    expect(svg.startsWith('<svg')).toBe(true);

    expect(compareSafetyQr(shown, safetyNumber(bob, alice))).toEqual({ kind: 'match' });
  });

  it('mismatch says which key differs', () => {
    const alice = newKey();
    const bob = newKey();
    const mallory = newKey();
    // Alice was given Mallory's key for Bob: her QR names the wrong key for the scanner (Bob).
    const fromAlice = safetyQrPayload(safetyNumber(alice, mallory));
    expect(compareSafetyQr(fromAlice, safetyNumber(bob, alice))).toEqual({
      kind: 'mismatch',
      theirKeyDiffers: false,
      ourKeyDiffers: true,
    });
    // Bob holds Mallory's key for Alice: the shower's own digest differs from what Bob expects.
    const fromRealAlice = safetyQrPayload(safetyNumber(alice, bob));
    expect(compareSafetyQr(fromRealAlice, safetyNumber(bob, mallory))).toEqual({
      kind: 'mismatch',
      theirKeyDiffers: true,
      ourKeyDiffers: false,
    });
  });

  it('wrong version and malformed payloads give their outcome, never a throw', () => {
    const ours = safetyNumber(KEY_B, KEY_A);
    const good = safetyQrPayload(safetyNumber(KEY_A, KEY_B));
    const v2 = good.slice();
    v2[2] = 2;
    expect(compareSafetyQr(v2, ours)).toEqual({ kind: 'wrong_version', version: 2 });
    expect(compareSafetyQr(new Uint8Array(0), ours).kind).toBe('malformed');
    expect(compareSafetyQr(good.subarray(0, 40), ours).kind).toBe('malformed');
    const longer = new Uint8Array(good.length + 1);
    longer.set(good);
    expect(compareSafetyQr(longer, ours).kind).toBe('malformed');
    const notOurs = good.slice();
    notOurs[0] = 0x50;
    expect(compareSafetyQr(notOurs, ours).kind).toBe('malformed');
    expect(compareSafetyQr(good, ours)).toEqual({ kind: 'match' });
  });
});
