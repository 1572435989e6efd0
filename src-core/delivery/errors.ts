import { ParleyError } from '../errors.js';

/**
 * Codes of the delivery layer. Each module adds its own codes to this union (additively), so a
 * refused page, package or deposit says which rule it broke.
 */
export type DeliveryErrorCode =
  // Arguments and local state.
  | 'invalid_argument'
  | 'closed'
  // Store and forward (ciphertextLog, syncProtocol).
  | 'log_conflict'
  | 'log_corrupt'
  | 'sync_malformed'
  | 'sync_unsupported_version'
  | 'sync_wrong_group'
  | 'sync_page_too_large'
  | 'sync_bad_message_id'
  | 'sync_out_of_order'
  | 'sync_bad_message'
  | 'sync_incomplete'
  | 'not_member'
  // Requests between peers (libp2pPorts and every request protocol).
  | 'peer_refused'
  | 'peer_unreachable'
  | 'peer_timeout'
  | 'peer_misbehaved'
  | 'request_too_large'
  // Key-package directory.
  | 'keypackage_invalid'
  | 'keypackage_unavailable'
  | 'keypackage_limit'
  | 'spent_notice_invalid'
  // Mailboxes.
  | 'mailbox_full'
  | 'mailbox_malformed'
  | 'mailbox_challenge_invalid'
  | 'mailbox_proof_invalid'
  | 'mailbox_expired'
  // Identity gossip.
  | 'identity_record_invalid'
  | 'identity_record_too_large';

export class DeliveryError extends ParleyError<DeliveryErrorCode> {
  readonly layer = 'delivery';
}

export function isDeliveryError(err: unknown, code?: DeliveryErrorCode): err is DeliveryError {
  return err instanceof DeliveryError && (code === undefined || err.code === code);
}
