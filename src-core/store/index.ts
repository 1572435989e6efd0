/** Encrypted, level-backed storage for a profile. See README.md. */
export { StoreError, mapLevelError } from './errors.js';
export type { StoreErrorCode } from './errors.js';
export { Store, openStore } from './store.js';
export type { OpenStoreOptions } from './store.js';
export { Transaction } from './transaction.js';
export type { CommitOptions } from './transaction.js';
export {
  DEFAULT_SCRYPT_LOG_N,
  passphraseKeySource,
  rawKeySource,
  wrappedKeySource,
} from './keySource.js';
export type {
  DatabaseKeySource,
  KeyWrapper,
  PassphraseOptions,
  SealedDatabaseKey,
} from './keySource.js';
export type { Migration, SchemaOptions } from './migrations.js';
export { Namespace } from './namespace.js';
export { OrderedLog } from './orderedLog.js';
export type { LogEntry, PageOptions } from './orderedLog.js';
export { BlobStore, MAX_BLOB_BYTES, blobHash } from './blobStore.js';
export { GroupStateStore, StoredGroup } from './groupStateStore.js';
export type { SaveOptions } from './groupStateStore.js';
