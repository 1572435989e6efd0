/**
 * A failed call in words: what the app's error code means for the person, then the app's own
 * detail. Screens show this next to the control that failed.
 */
import type { AppErrorCode } from '../../../src-core/app/errors.js';
import { AppError } from '../../../src-core/app/errors.js';

const MEANING: Record<AppErrorCode, string> = {
  bad_request: 'The request was refused as malformed',
  too_large: 'Too large to send',
  unknown_method: 'This version of Parley cannot do that',
  unauthorized: 'Not signed in to Parley',
  wrong_passphrase: 'The passphrase is not right',
  forbidden: "The group's rules do not allow it",
  locked: 'Parley is locked',
  not_found: 'Not found',
  conflict: 'Not possible in the current state',
  busy: 'Parley is busy, try again',
  unavailable: 'Parley cannot be reached',
  internal: 'Parley failed',
};

export function failureText(error: unknown): string {
  if (!(error instanceof AppError)) return 'Something went wrong.';
  return `${MEANING[error.code]} (${error.code}): ${error.detail}`;
}
