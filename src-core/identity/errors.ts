import { ParleyError } from '../errors.js';

/**
 * Codes name the identity rule that was broken, so a rejected credential, certificate or record
 * says why. Modules of the identity layer add codes here (additively) instead of inventing strings.
 */
export type IdentityErrorCode =
  // Formats
  | 'malformed'
  | 'unsupported_version'
  | 'invalid_argument'
  | 'invalid_key'
  // Signatures and chain
  | 'bad_signature'
  | 'wrong_user'
  | 'unknown_user'
  | 'unknown_device'
  | 'leaf_key_not_certified'
  | 'signature_key_reuse'
  | 'credential_type_unsupported'
  | 'cipher_suite_mismatch'
  | 'wrong_group'
  | 'device_changed'
  // Time
  | 'expired'
  | 'not_yet_valid'
  | 'invalid_lifetime'
  // Records
  | 'revoked'
  | 'stale_record'
  | 'conflicting_record'
  | 'record_not_found'
  // Device linking
  | 'link_expired'
  | 'link_mismatch'
  | 'link_bad_mac'
  | 'link_decryption_failed'
  // Trust store, safety numbers, membership (identity B)
  | 'untrusted'
  | 'key_changed'
  | 'verification_mismatch'
  | 'epoch_mismatch'
  | 'membership_conflict'
  | 'storage_failed';

/** An identity (user key, device certificate, leaf certificate, identity record) failed a rule. */
export class IdentityError extends ParleyError<IdentityErrorCode> {
  readonly layer = 'identity';
}
