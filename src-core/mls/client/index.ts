/**
 * The small public MLS API for the layers above (identity, delivery, app): a client with its
 * KeyPackages, and group handles whose commits stay pending until the caller merges them.
 * See src-core/mls/README.md.
 */
export { MlsClient } from './mlsClient.js';
export type { JoinGroupOptions, MlsClientOptions, NewGroupOptions } from './mlsClient.js';
export { Group } from './group.js';
export type { GroupCommitOptions, KeyPackageInput, UpdateOptions } from './group.js';
export { PendingCommit } from './events.js';
export type { GroupEvent, GroupMember, OutgoingCommit, OutgoingProposal } from './events.js';
export type { BatchOutcome } from './group.js';
export { PendingRejoin, groupInfoFor, rejoinGroup } from './rejoin.js';
export type { OutgoingRejoin, RejoinOptions } from './rejoin.js';
export { MAX_BATCH } from './keyPackageStore.js';
export type {
  KeyPackageBatch,
  KeyPackageBatchOptions,
  PublishedKeyPackage,
} from './keyPackageStore.js';
