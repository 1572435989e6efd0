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
  | 'init_key_equals_encryption_key'
  // Ratchet tree and TreeKEM (RFC 9420 §4, §7, §12.4.3.1)
  | 'invalid_tree'
  | 'blank_leaf'
  | 'tree_hash_mismatch'
  | 'parent_hash_invalid'
  | 'unmerged_leaves_invalid'
  | 'duplicate_encryption_key'
  | 'duplicate_signature_key'
  | 'credential_type_unsupported'
  | 'missing_required_capability'
  | 'update_path_length'
  | 'update_path_ciphertext_count'
  | 'update_path_key_mismatch'
  | 'no_private_key_for_path'
  | 'private_key_mismatch';

/** A violation of RFC 9420 or of a local policy, detected while handling MLS data. */
export class MlsError extends ParleyError<MlsErrorCode> {
  readonly layer = 'mls';
}
