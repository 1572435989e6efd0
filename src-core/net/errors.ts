import { ParleyError } from '../errors.js';

/**
 * Codes say which rule a peer, a configuration or a caller broke. Messages carry lengths, peer
 * ids and protocol names only: never invite secrets, keys or payload bytes.
 */
export type NetErrorCode =
  | 'invalid_argument'
  | 'invalid_config'
  | 'not_started'
  | 'already_started'
  | 'dial_failed'
  | 'protocol_unsupported'
  | 'timeout'
  | 'aborted'
  | 'message_too_large'
  | 'malformed_message'
  | 'unsupported_version'
  | 'truncated'
  | 'stream_reset'
  | 'remote_error'
  | 'busy'
  | 'duplicate_message'
  | 'publish_failed'
  | 'invite_invalid'
  | 'invite_expired'
  | 'invite_rejected'
  | 'identity_invalid'
  | 'storage_failed';

/** A failure of the peer-to-peer layer: a peer, a stream, a topic, or the local node itself. */
export class NetError extends ParleyError<NetErrorCode> {
  readonly layer = 'net';
}

/** True for a NetError with one of the given codes; for narrowing in `catch` blocks. */
export function isNetError(err: unknown, ...codes: NetErrorCode[]): err is NetError {
  return err instanceof NetError && (codes.length === 0 || codes.includes(err.code));
}

/**
 * How a caught error is logged: its class and code only. Errors thrown by the layers above may
 * carry message text built from secrets or payloads, so their messages are not logged here.
 */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' ? `${err.name} (${code})` : err.name;
  }
  return typeof err;
}
