import { ParleyError } from '../errors.js';

/**
 * Codes name the rule that was broken, so a rejected message or commit says why. Each module adds
 * its codes here rather than inventing free-form strings.
 */
export type MlsErrorCode =
  | 'invalid_argument'
  | 'decode_failed'
  | 'unsupported_cipher_suite'
  | 'unsupported_version'
  | 'wrong_group'
  | 'wrong_epoch'
  | 'invalid_sender'
  | 'invalid_signature'
  | 'invalid_membership_tag'
  | 'invalid_confirmation_tag'
  | 'invalid_padding'
  | 'invalid_content_type'
  | 'invalid_wire_format'
  | 'decryption_failed'
  | 'generation_too_old'
  | 'generation_too_far'
  | 'key_already_used'
  | 'leaf_out_of_range'
  | 'psk_invalid'
  | 'secret_deleted'
  | 'invalid_kem_output'
  | 'sender_data_decryption_failed'
  | 'invalid_leaf_node_source'
  | 'invalid_lifetime'
  | 'duplicate_extension'
  | 'unsupported_capability'
  | 'init_key_equals_encryption_key';

/** A violation of RFC 9420 or of a local policy, detected while handling MLS data. */
export class MlsError extends ParleyError<MlsErrorCode> {
  readonly layer = 'mls';
}
