import { ParleyError } from '../errors.js';

/**
 * Why a cryptographic operation refused to run or failed. Messages carry lengths and algorithm
 * names only, never key material.
 */
export type CryptoErrorCode =
  /** An AEAD tag did not verify: wrong key, nonce or aad, or tampered ciphertext. */
  | 'aead_open_failed'
  /** A public key is not a valid point (off the curve, identity, wrong encoding or length). */
  | 'invalid_public_key'
  /** A private key is out of range or of the wrong length. */
  | 'invalid_private_key'
  /** A key, nonce or other fixed-size input has the wrong length. */
  | 'invalid_length'
  /** An argument outside what the algorithm allows (e.g. an HKDF output longer than 255*Nh). */
  | 'invalid_argument'
  /** An algorithm or cipher suite that is not implemented, or no randomness source. */
  | 'unsupported'
  /** Seal or Open on an HPKE context whose AEAD is export-only (0xFFFF). */
  | 'hpke_export_only'
  /** PSK and PSK id inconsistent with the HPKE mode (RFC 9180 §5.1 VerifyPSKInputs). */
  | 'hpke_invalid_psk'
  /** An HPKE context's sequence number would overflow (RFC 9180 §5.2). */
  | 'hpke_message_limit'
  /** Seal, Open or Export on an HPKE context after destroy(). */
  | 'hpke_context_destroyed'
  /** DeriveKeyPair found no valid scalar in 256 candidates (RFC 9180 §7.1.3). */
  | 'derive_key_pair_failed';

export class CryptoError extends ParleyError<CryptoErrorCode> {
  readonly layer = 'crypto';
}
