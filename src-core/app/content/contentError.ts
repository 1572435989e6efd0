import { ParleyError } from '../../errors.js';

export type ContentErrorCode =
  /** Bytes that do not parse as an AppContent, or break one of its bounds. */
  | 'malformed'
  /** A content version this build does not read. */
  | 'unsupported_version'
  /** Content that would not fit the bounds when encoding (a caller's mistake). */
  | 'too_large';

/** Application-message content that is not acceptable. Messages carry no content bytes. */
export class ContentError extends ParleyError<ContentErrorCode> {
  readonly layer = 'app-content';
}
