import { CodecError } from '../codec/errors.js';
import { ParleyError } from '../errors.js';
import { MlsError } from '../mls/errors.js';

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
  | 'rejoin_needed'
  /** A bug of ours met while handling input: reported as an event, never thrown at the network. */
  | 'internal'
  // Store and forward (ciphertextLog, syncProtocol).
  /** A page or a stored entry that does not parse, or a cursor that does not advance. */
  | 'sync_malformed'
  | 'sync_unsupported_version'
  /** A page, head or item for another group than the one asked about. */
  | 'sync_wrong_group'
  | 'sync_page_too_large'
  /** A message id that is not the SHA-256 of its bytes. */
  | 'sync_bad_message_id'
  /** Items that go back in epoch order, or follow the commit that closed their epoch. */
  | 'sync_out_of_order'
  /** An item whose MLS header disagrees with what the item claims (epoch, content type). */
  | 'sync_bad_message'
  | 'sync_incomplete'
  /** The peer does not let us read that group (or hold that mailbox). */
  | 'not_member'
  // Requests between peers (libp2pPorts and every request protocol).
  /** The peer answered with a refusal; the message names its code. */
  | 'peer_refused'
  | 'peer_unreachable'
  | 'peer_timeout'
  /** The peer broke the request framing (garbage, oversized or cut-off frames). */
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
  // Identity gossip.
  | 'identity_record_invalid'
  // Rejoin by external commit (groupInfoService, externalRejoin).
  | 'groupinfo_malformed'
  | 'groupinfo_challenge_invalid'
  | 'groupinfo_proof_invalid'
  /** An external commit that is not a member's resync of its own leaf (a stranger, or a join). */
  | 'external_commit_refused';

export class DeliveryError extends ParleyError<DeliveryErrorCode> {
  readonly layer = 'delivery';
}

/**
 * An error met while handling network input, as a DeliveryError: MLS's refusals become
 * 'mls_rejected' and codec failures 'decode_failed' (the cause keeps the original); anything else
 * is a bug of ours, reported as 'internal' rather than thrown into the network layer.
 */
export function toDeliveryError(e: unknown): DeliveryError {
  if (e instanceof DeliveryError) return e;
  if (e instanceof MlsError) return new DeliveryError('mls_rejected', e.message, { cause: e });
  if (e instanceof CodecError) return new DeliveryError('decode_failed', e.message, { cause: e });
  const what = e instanceof Error ? e.name : 'a non-error value';
  return new DeliveryError('internal', `${what} thrown while handling input`, { cause: e });
}

export function isDeliveryError(err: unknown, code?: DeliveryErrorCode): err is DeliveryError {
  return err instanceof DeliveryError && (code === undefined || err.code === code);
}
