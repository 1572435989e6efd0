import { ParleyError } from '../errors.js';

/**
 * Why the store refused to open or to read or write. Messages name the record kind, lengths and
 * level's own error code, never a key, a passphrase or a record's contents.
 */
export type StoreErrorCode =
  /** The passphrase did not open the database key (scrypt + AEAD check failed). */
  | 'wrong_passphrase'
  /** A raw or OS-keychain key did not open the database key, or the keychain refused. */
  | 'wrong_key'
  /** The files are not a readable level database, or our header is malformed or fails its MAC. */
  | 'damaged'
  /** A level database that Parley did not create (no header record, or not our magic). */
  | 'foreign_database'
  /** Written by a newer Parley: a schema or header version this build does not know. */
  | 'newer_schema'
  /** The disk (or quota) is full; the batch that hit it was not written. */
  | 'disk_full'
  /** Another process (or another handle in this one) has the database open. */
  | 'locked'
  /** Any other I/O failure reported by level. */
  | 'io_error'
  /** The store was closed (or never opened). */
  | 'closed'
  /** A record that must exist does not. */
  | 'not_found'
  /** A value failed its authentication (MAC), or decrypted to something malformed. */
  | 'corrupt_record'
  /** A migration step threw; nothing of it was written (the cause is the step's error). */
  | 'migration_failed'
  /** A stored group whose in-memory view is behind the disk (a failed batch consumed journals). */
  | 'stale'
  /** A transaction used after commit, a migration list with a gap, a bad argument. */
  | 'invalid_argument';

export class StoreError extends ParleyError<StoreErrorCode> {
  readonly layer = 'store';
}

interface LevelLikeError {
  readonly code?: unknown;
  readonly message?: unknown;
  readonly cause?: unknown;
}

function codeOf(e: unknown): string | undefined {
  if (typeof e !== 'object' || e === null) return undefined;
  const c = (e as LevelLikeError).code;
  return typeof c === 'string' ? c : undefined;
}

function messageOf(e: unknown): string {
  if (typeof e !== 'object' || e === null) return String(e);
  const m = (e as LevelLikeError).message;
  return typeof m === 'string' ? m : '';
}

/** ENOSPC as LevelDB words it (POSIX strerror), and the quota variant. */
const DISK_FULL = /no space left on device|disk quota exceeded|ENOSPC|EDQUOT/i;

/**
 * Maps an error thrown by classic-level to a StoreError. Level wraps the underlying failure in
 * `cause` (e.g. LEVEL_DATABASE_NOT_OPEN caused by LEVEL_LOCKED), so the chain is walked. Level
 * messages carry file names and OS error text only, never values, so they are kept as detail.
 */
export function mapLevelError(e: unknown, during: string): StoreError {
  if (e instanceof StoreError) return e;
  const chain: unknown[] = [];
  for (let cur: unknown = e; cur !== undefined && chain.length < 8;) {
    chain.push(cur);
    cur = typeof cur === 'object' && cur !== null ? (cur as LevelLikeError).cause : undefined;
  }
  const codes = chain.map(codeOf);
  const text = chain.map(messageOf).join(' / ');
  const detail = `${during}: ${codes.filter((c) => c !== undefined).join(' < ') || 'error'}`;
  if (DISK_FULL.test(text)) return new StoreError('disk_full', detail, { cause: e });
  if (codes.includes('LEVEL_LOCKED')) return new StoreError('locked', detail, { cause: e });
  if (codes.includes('LEVEL_CORRUPTION')) return new StoreError('damaged', detail, { cause: e });
  if (codes.includes('LEVEL_DATABASE_NOT_OPEN') && codes.length === 1) {
    return new StoreError('closed', detail, { cause: e });
  }
  return new StoreError('io_error', `${detail} (${text.slice(0, 200)})`, { cause: e });
}
