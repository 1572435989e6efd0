/** Checks shared by both backends, so that they accept and reject exactly the same keys. */
import { p256, p384, p521 } from '@noble/curves/nist.js';
import { bytesToBigInt, checkLength } from '../bytes.js';
import { CryptoError } from '../errors.js';
import type { DhGroupSpec } from './dhGroup.js';

/** NIST: Nsk bytes, 1 <= sk < n. X25519/X448: any string of Nsk bytes (clamped when used). */
export function checkPrivateKey(spec: DhGroupSpec, sk: Uint8Array): void {
  if (sk.length !== spec.privateKeySize) {
    throw new CryptoError(
      'invalid_private_key',
      `${spec.name} private key of ${sk.length} bytes, want ${spec.privateKeySize}`,
    );
  }
  if (spec.order !== undefined) {
    const d = bytesToBigInt(sk);
    if (d === 0n || d >= spec.order) {
      throw new CryptoError('invalid_private_key', `${spec.name} scalar out of range`);
    }
  }
}

/**
 * The shape checks of DeserializePublicKey (RFC 9180 §7.1.1): exact length, and for NIST curves
 * the uncompressed form only. Whether the point is on the curve is checked by the DH itself.
 */
export function checkPublicKeyShape(spec: DhGroupSpec, pk: Uint8Array): void {
  if (pk.length !== spec.publicKeySize) {
    throw new CryptoError(
      'invalid_public_key',
      `${spec.name} public key of ${pk.length} bytes, want ${spec.publicKeySize}`,
    );
  }
  if (spec.order !== undefined && pk[0] !== 0x04) {
    throw new CryptoError('invalid_public_key', `${spec.name} public key is not uncompressed`);
  }
}

export function checkDhLength(spec: DhGroupSpec, dh: Uint8Array): void {
  checkLength(`${spec.name} DH output`, dh, spec.dhSize);
}

const NIST_POINTS = { 'P-256': p256.Point, 'P-384': p384.Point, 'P-521': p521.Point } as const;

/**
 * Whether `pk` would be accepted by DH: for NIST curves an uncompressed point on the curve (the
 * identity has no uncompressed encoding); for X25519/X448 any string of the right length (the
 * low-order points are caught by the DH, which yields zero for them).
 */
export function isValidDhPublicKey(spec: DhGroupSpec, pk: Uint8Array): boolean {
  try {
    checkPublicKeyShape(spec, pk);
  } catch {
    return false;
  }
  if (spec.name === 'X25519' || spec.name === 'X448') return true;
  try {
    NIST_POINTS[spec.name].fromBytes(pk).assertValidity();
    return true;
  } catch {
    return false;
  }
}
