import { ParleyError } from '../errors.js';

/**
 * Codes the app API answers with, across every boundary (RPC frames carry the code and message).
 * The UI acts on the code; the message is for people and logs, and never carries secrets or the
 * values that failed validation (only their path and what was expected).
 */
export const APP_ERROR_CODES = [
  /** A frame or params that do not match the schema. Nothing was executed. */
  'bad_request',
  /** A frame larger than the carrier accepts. Nothing was executed. */
  'too_large',
  'unknown_method',
  /** No session, a wrong or used token, a refused origin, a keychain key that does not open. */
  'unauthorized',
  /** The passphrase does not open the profile's database. Nothing was read or written. */
  'wrong_passphrase',
  /** Allowed to ask, but the group's policy says no (e.g. only admins remove). */
  'forbidden',
  /** The profile is locked; unlock first. */
  'locked',
  'not_found',
  /** The state moved on (a stale epoch, an existing profile, a key change not yet accepted). */
  'conflict',
  /** Too many calls in flight on this channel; nothing was executed, retry later. */
  'busy',
  /** The other side of the channel is gone; the call's outcome is unknown. */
  'unavailable',
  'internal',
] as const;

export type AppErrorCode = (typeof APP_ERROR_CODES)[number];

export class AppError extends ParleyError<AppErrorCode> {
  readonly layer = 'app';

  /** The message without the `code: ` prefix ParleyError adds, as carried in RPC frames. */
  readonly detail: string;

  constructor(code: AppErrorCode, detail: string, options?: { cause?: unknown }) {
    super(code, detail, options);
    this.detail = detail;
  }
}

export function isAppErrorCode(s: string): s is AppErrorCode {
  return (APP_ERROR_CODES as readonly string[]).includes(s);
}
