import { ParleyError } from '../errors.js';

/**
 * Why the delivery layer refused something. Bad input from the network (an envelope that does not
 * parse, a forged ordering record, a commit MLS rejects) is reported with one of these codes and
 * changes no state. Other delivery modules add their codes here (additively).
 */
export type DeliveryErrorCode =
  | 'invalid_argument'
  /** The bytes are not a well-formed envelope, record or heartbeat. */
  | 'decode_failed'
  | 'unsupported_version'
  /** The envelope names another group than the channel's. */
  | 'wrong_group'
  /** An epoch that does not match (stale, or the MLS message disagrees with its envelope). */
  | 'wrong_epoch'
  /** The envelope's kind does not match the MLS message it carries. */
  | 'wrong_kind'
  /** A signature that does not verify against the named leaf's signature key. */
  | 'invalid_signature'
  /** The named leaf is blank or outside the tree. */
  | 'unknown_signer'
  /** An ordering record or heartbeat from a term older than the one we follow. */
  | 'stale_term'
  /** An ordering record signed by a member that is not the leader of its term. */
  | 'not_leader'
  /** MLS refused the commit, proposal or application message (the cause says which rule). */
  | 'mls_rejected'
  /** Too many messages held for later epochs: the oldest are dropped (sync fills the gap). */
  | 'buffer_full'
  /** The session was stopped, or we are no longer a member. */
  | 'inactive'
  /** A fork point older than the kept window: only an external-commit rejoin can recover. */
  | 'rejoin_needed';

export class DeliveryError extends ParleyError<DeliveryErrorCode> {
  readonly layer = 'delivery';
}
