/**
 * Safety numbers: what two users compare out of band (read aloud, or one scans the other's QR) to
 * check that each holds the other's real user key, with no one in the middle.
 *
 * The construction is Signal's numeric fingerprint (libsignal `NumericFingerprintGenerator`, version
 * 2 of its scannable format), with Parley's own constants:
 *
 *   per party:  h_0 = LABEL ‖ uint16(SAFETY_NUMBER_VERSION) ‖ user_key ‖ identifier
 *               h_i = SHA-512(h_{i-1} ‖ user_key)          for i = 1 .. 5200
 *               digest = h_5200[0..32)
 *               digits = six chunks of 5 bytes of the digest, each big-endian mod 100000, as 5 digits
 *   the pair:   the two 30-digit strings, the smaller (as text) first: 60 digits in 12 groups of 5.
 *
 * Choices (ours, documented because they freeze the format):
 * - `user_key` is the Ed25519 user key (32 raw bytes): it, not a device key, is what a contact
 *   pins, so one comparison covers every device the user certifies.
 * - `identifier` is the user key fingerprint (`userKeyFingerprint` below). Signal uses the phone
 *   number or ACI there to bind the key to an account; Parley has no account beside the key, so the
 *   fingerprint plays the role and keeps the input self-describing.
 * - LABEL ("parley safety number") separates this hash chain from every other use of the key.
 * - The 5200 iterations are Signal's: they cost ~1/4 second of brute force per guess on a phone
 *   when it was chosen, which makes finding a second key with the same 30 digits (~100 bits) harder.
 *
 * The QR payload carries both 32-byte digests rather than the digits, so a scan compares 256 bits
 * per side exactly (the digits are a ~100-bit projection for reading aloud).
 */
import { create as createQr, toString as qrToString } from 'qrcode';
import { sha256 } from '@noble/hashes/sha2.js';
import { decode, encode, fixedBytes, struct, uint16, uint8 } from '../codec/index.js';
import type { Codec } from '../codec/index.js';
import { makeHash } from '../crypto/hash.js';
import { IdentityError } from './errors.js';

export const SAFETY_NUMBER_VERSION = 1;
export const SAFETY_NUMBER_ITERATIONS = 5200;
/** Bytes of each party's digest kept (Signal keeps 32 for the scannable form, 30 for digits). */
export const SAFETY_DIGEST_BYTES = 32;
const LABEL = new TextEncoder().encode('parley safety number');
const ED25519_KEY_BYTES = 32;
// node:crypto where the runtime has it (about 3x noble's speed for 10,400 small hashes), else noble.
const SHA512 = makeHash('SHA-512', 'auto');

const FINGERPRINT_LABEL = new TextEncoder().encode('parley user key fingerprint');

/**
 * The user key fingerprint: SHA-256("parley user key fingerprint" ‖ uint16(1) ‖ user_key), 32
 * bytes. It names a user key in the trust store, the record book digests and the membership log,
 * and is the safety number's stable identifier. Throws 'invalid_key' for a key not of 32 bytes.
 */
export function userKeyFingerprint(userKey: Uint8Array): Uint8Array {
  checkUserKey(userKey, 'the');
  const input = new Uint8Array(FINGERPRINT_LABEL.length + 2 + userKey.length);
  input.set(FINGERPRINT_LABEL, 0);
  input[FINGERPRINT_LABEL.length + 1] = 1;
  input.set(userKey, FINGERPRINT_LABEL.length + 2);
  return sha256(input);
}

/** One party's half: the digest (for QR) and its 30 digits. */
export interface SafetyHalf {
  readonly digest: Uint8Array;
  readonly digits: string;
}

export interface SafetyNumber {
  /** 60 digits, no spaces: the same on both sides. */
  readonly digits: string;
  /** The 12 groups of five, in display order. */
  readonly groups: readonly string[];
  readonly local: SafetyHalf;
  readonly remote: SafetyHalf;
}

function checkUserKey(key: Uint8Array, who: string): void {
  if (key.length !== ED25519_KEY_BYTES) {
    throw new IdentityError('invalid_key', `${who} user key has ${key.length} bytes, not 32`);
  }
}

/**
 * Signal's per-party iteration: h_0 = prefix ‖ key ‖ identifier, h_i = SHA-512(h_{i-1} ‖ key).
 * Exported so a test can check it against libsignal's published vector (prefix uint16(0), the
 * 33-byte Curve25519 keys and phone numbers); Parley calls it through `safetyHalf`.
 */
export function iteratedDigest(
  prefix: Uint8Array,
  key: Uint8Array,
  identifier: Uint8Array,
  iterations: number,
): Uint8Array {
  const head = new Uint8Array(prefix.length + key.length + identifier.length);
  head.set(prefix, 0);
  head.set(key, prefix.length);
  head.set(identifier, prefix.length + key.length);
  let h = SHA512.digest(concat2(head, key));
  const buf = new Uint8Array(h.length + key.length);
  buf.set(key, h.length);
  for (let i = 1; i < iterations; i++) {
    buf.set(h, 0);
    h = SHA512.digest(buf);
  }
  return h;
}

const PREFIX = (() => {
  const p = new Uint8Array(LABEL.length + 2);
  p.set(LABEL, 0);
  p[LABEL.length] = SAFETY_NUMBER_VERSION >> 8;
  p[LABEL.length + 1] = SAFETY_NUMBER_VERSION & 0xff;
  return p;
})();

/** One party's iterated digest and its 30 digits. */
export function safetyHalf(userKey: Uint8Array): SafetyHalf {
  const h = iteratedDigest(PREFIX, userKey, userKeyFingerprint(userKey), SAFETY_NUMBER_ITERATIONS);
  return { digest: h.slice(0, SAFETY_DIGEST_BYTES), digits: digitsOf(h) };
}

function concat2(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/** Six 5-digit chunks from the first 30 bytes (40-bit big-endian values mod 100000). */
export function digitsOf(h: Uint8Array): string {
  let out = '';
  for (let c = 0; c < 6; c++) {
    let v = 0;
    // 40 bits exceed 32-bit integer operations but stay exact in a double.
    for (let j = 0; j < 5; j++) v = v * 256 + h[c * 5 + j]!;
    out += String(v % 100000).padStart(5, '0');
  }
  return out;
}

/**
 * The safety number of us (`localUserKey`) and a contact. Order-independent: both sides get the
 * same 60 digits. Throws IdentityError('invalid_key') for a key that is not 32 bytes.
 */
export function safetyNumber(localUserKey: Uint8Array, remoteUserKey: Uint8Array): SafetyNumber {
  checkUserKey(localUserKey, 'local');
  checkUserKey(remoteUserKey, 'remote');
  const local = safetyHalf(localUserKey);
  const remote = safetyHalf(remoteUserKey);
  const digits =
    local.digits <= remote.digits ? local.digits + remote.digits : remote.digits + local.digits;
  const groups: string[] = [];
  for (let i = 0; i < 60; i += 5) groups.push(digits.slice(i, i + 5));
  return { digits, groups, local, remote };
}

/** The digits as shown: 12 groups of five, three rows of four. */
export function formatSafetyNumber(n: SafetyNumber): string {
  const rows: string[] = [];
  for (let r = 0; r < 3; r++) rows.push(n.groups.slice(r * 4, r * 4 + 4).join(' '));
  return rows.join('\n');
}

// ---- QR payload --------------------------------------------------------------------------------

export const SAFETY_QR_VERSION = 1;
/** First byte of every payload: tells a safety-number QR from any other QR the app may scan. */
export const SAFETY_QR_MAGIC = 0x53; // 'S'

/**
 * ```
 * struct {
 *     uint8 magic = 0x53;
 *     uint16 version = 1;
 *     opaque shower_digest[32];    // the party showing the QR: its own digest
 *     opaque scanner_digest[32];   // the digest it computed for the party it expects to scan it
 * } SafetyNumberQr;
 * ```
 */
export interface SafetyNumberQr {
  readonly magic: number;
  readonly version: number;
  readonly showerDigest: Uint8Array;
  readonly scannerDigest: Uint8Array;
}

export const safetyNumberQrCodec: Codec<SafetyNumberQr> = struct<SafetyNumberQr>({
  magic: uint8,
  version: uint16,
  showerDigest: fixedBytes(SAFETY_DIGEST_BYTES),
  scannerDigest: fixedBytes(SAFETY_DIGEST_BYTES),
});

/** The payload bytes we show: our digest first, then the one we computed for the contact. */
export function safetyQrPayload(n: SafetyNumber): Uint8Array {
  return encode(safetyNumberQrCodec, {
    magic: SAFETY_QR_MAGIC,
    version: SAFETY_QR_VERSION,
    showerDigest: n.local.digest,
    scannerDigest: n.remote.digest,
  });
}

/** The QR symbol for a payload, in byte mode (error correction M). */
export function safetyQrMatrix(payload: Uint8Array): {
  readonly size: number;
  readonly modules: Uint8Array;
} {
  const qr = createQr([{ data: payload, mode: 'byte' }], { errorCorrectionLevel: 'M' });
  return { size: qr.modules.size, modules: qr.modules.data.slice() };
}

/** The QR as an SVG image. */
export function safetyQrSvg(payload: Uint8Array): Promise<string> {
  return qrToString([{ data: payload, mode: 'byte' }], {
    type: 'svg',
    errorCorrectionLevel: 'M',
    margin: 2,
  });
}

/** What scanning a contact's QR tells us. */
export type SafetyQrOutcome =
  | { readonly kind: 'match' }
  | {
      readonly kind: 'mismatch';
      /** The contact's key differs from the one we hold for them. */
      readonly theirKeyDiffers: boolean;
      /** The contact holds a different key for us. */
      readonly ourKeyDiffers: boolean;
    }
  | { readonly kind: 'wrong_version'; readonly version: number }
  | { readonly kind: 'malformed'; readonly reason: string };

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}

/**
 * Compares a scanned payload with our own view (`ours` = safetyNumber(our key, their key)). Never
 * throws on payload bytes: any input gives an outcome.
 */
export function compareSafetyQr(scanned: Uint8Array, ours: SafetyNumber): SafetyQrOutcome {
  if (scanned.length < 3) {
    return { kind: 'malformed', reason: 'too short for a safety-number payload' };
  }
  const header = { magic: scanned[0]!, version: (scanned[1]! << 8) | scanned[2]! };
  if (header.magic !== SAFETY_QR_MAGIC) {
    return { kind: 'malformed', reason: 'not a safety-number payload' };
  }
  if (header.version !== SAFETY_QR_VERSION)
    return { kind: 'wrong_version', version: header.version };
  let qr: SafetyNumberQr;
  try {
    qr = decode(safetyNumberQrCodec, scanned);
  } catch {
    return { kind: 'malformed', reason: `payload of ${scanned.length} bytes` };
  }
  // The shower's own digest must be the one we computed for them, and the digest they computed
  // for us must be ours.
  const theirKeyDiffers = !equalBytes(qr.showerDigest, ours.remote.digest);
  const ourKeyDiffers = !equalBytes(qr.scannerDigest, ours.local.digest);
  if (!theirKeyDiffers && !ourKeyDiffers) return { kind: 'match' };
  return { kind: 'mismatch', theirKeyDiffers, ourKeyDiffers };
}
