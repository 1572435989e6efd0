/**
 * Lower layers' typed errors as AppErrors. The code is what the UI acts on; the detail names the
 * layer and its code, never a key, a passphrase or bytes that failed (the lower layers' messages
 * carry none, and the original stays as `cause` for logs in this process only).
 */
import { DeliveryError } from '../delivery/errors.js';
import { IdentityError } from '../identity/index.js';
import { NetError } from '../net/index.js';
import { StoreError } from '../store/index.js';
import type { AppErrorCode } from './errors.js';
import { AppError } from './errors.js';

const STORE: Partial<Record<string, AppErrorCode>> = {
  wrong_passphrase: 'wrong_passphrase',
  wrong_key: 'unauthorized',
  locked: 'conflict',
  not_found: 'not_found',
  closed: 'locked',
  newer_schema: 'conflict',
};

const NET: Partial<Record<string, AppErrorCode>> = {
  invite_invalid: 'bad_request',
  invite_expired: 'bad_request',
  invite_rejected: 'forbidden',
  unsupported_version: 'bad_request',
  invalid_argument: 'bad_request',
  dial_failed: 'unavailable',
  timeout: 'unavailable',
  not_started: 'unavailable',
  busy: 'busy',
};

const DELIVERY: Partial<Record<string, AppErrorCode>> = {
  peer_refused: 'forbidden',
  peer_unreachable: 'unavailable',
  peer_timeout: 'unavailable',
  peer_misbehaved: 'unavailable',
};

const IDENTITY: Partial<Record<string, AppErrorCode>> = {
  link_expired: 'bad_request',
  link_mismatch: 'forbidden',
  link_bad_mac: 'forbidden',
  link_decryption_failed: 'forbidden',
  malformed: 'bad_request',
  unsupported_version: 'bad_request',
  invalid_argument: 'bad_request',
  bad_signature: 'forbidden',
  revoked: 'conflict',
  stale_record: 'conflict',
};

export function toAppError(err: unknown, during: string): AppError {
  if (err instanceof AppError) return err;
  const pick = (table: Partial<Record<string, AppErrorCode>>, layer: string, code: string) =>
    new AppError(table[code] ?? 'internal', `${during}: ${layer} ${code}`, { cause: err });
  if (err instanceof StoreError) {
    if (err.code === 'wrong_passphrase') {
      return new AppError('wrong_passphrase', `${during}: wrong passphrase`, { cause: err });
    }
    return pick(STORE, 'store', err.code);
  }
  if (err instanceof NetError) return pick(NET, 'net', err.code);
  if (err instanceof DeliveryError) return pick(DELIVERY, 'delivery', err.code);
  if (err instanceof IdentityError) return pick(IDENTITY, 'identity', err.code);
  return new AppError('internal', `${during} failed`, { cause: err });
}

/** Runs `fn`, turning whatever it throws into an AppError. */
export async function mapped<T>(during: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toAppError(err, during);
  }
}
