/**
 * A group state as versioned records, for the store to encrypt and write (RFC 9420 leaves state
 * storage to the implementation). Pure: no I/O here; see keys.ts for the layout and records.ts
 * for the format.
 */
export {
  decodeGroupState,
  decodeSnapshot,
  encodeSnapshot,
  listSnapshots,
  snapshotKeyPrefix,
} from './snapshots.js';
export { diffGroupState, encodeGroupState } from './encode.js';
export type { GroupStateChanges, GroupStateRecords } from './encode.js';
export type { DecodeOptions } from './decode.js';
export type { EpochId } from './keys.js';
export { epochIdOf, epochIdString } from './keys.js';
export { STATE_FORMAT_VERSION } from './records.js';
