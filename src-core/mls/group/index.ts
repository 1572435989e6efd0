/**
 * The MLS group state machine (RFC 9420 §8, §10–§12, §14): creating a group, joining from a
 * Welcome, sending and receiving, and commits staged before they are merged.
 */
export * from './config.js';
export { GroupState } from './groupState.js';
export type { GroupStateParts, GroupStatus, Member } from './groupState.js';
export { EpochReceiver } from './epochReceiver.js';
export { createGroup } from './createGroup.js';
export type { CreateGroupOptions } from './createGroup.js';
export {
  LAST_RESORT_EXTENSION_TYPE,
  createKeyPackage,
  defaultCapabilities,
  isLastResort,
  lifetimeFrom,
} from './keyPackages.js';
export type { KeyPackageBundle, KeyPackageOptions } from './keyPackages.js';
export { createCommit } from './createCommit.js';
export type { CommitOptions, CreatedCommit, LeafNodeChanges } from './createCommit.js';
export { processCommit } from './processCommit.js';
export { StagedCommit } from './stagedCommit.js';
export type { MergeOptions } from './stagedCommit.js';
export { joinFromWelcome } from './join.js';
export type { JoinOptions } from './join.js';
export { joinFromWelcomeAsync, PARALLEL_JOIN_MIN_MEMBERS } from './joinAsync.js';
export type { AsyncJoinOptions } from './joinAsync.js';
export {
  leaveGroup,
  processMessage,
  proposalRef,
  proposeAdd,
  proposeGroupContextExtensions,
  proposePsk,
  proposeRemove,
  proposeUpdate,
  sendApplicationMessage,
  sendProposal,
} from './messages.js';
export type { ReceivedMessage, SendOptions, SentProposal, UpdateOptions } from './messages.js';
export {
  buildGroupInfo,
  createGroupInfo,
  externalPubCodec,
  groupInfoMessage,
  ratchetTreeExtension,
} from './groupInfo.js';
export type { ExternalPub, GroupInfoOptions, GroupInfoSource } from './groupInfo.js';
export { createWelcome } from './welcome.js';
export * from './proposals/index.js';
export { StagedExternalJoin, createExternalCommit } from './externalCommit.js';
export type { CreatedExternalCommit, ExternalCommitOptions } from './externalCommit.js';
export { credentialIdentity, resumptionPskId, resumptionPskLookup } from './resumption.js';
export type {
  MemberIdentity,
  NewLeafOptions,
  ResumedGroupCommit,
  ResumedJoinOptions,
} from './resumption.js';
export {
  commitReInit,
  createReInitGroup,
  joinReInitGroup,
  proposeReInit,
  reInitProposal,
} from './reinit.js';
export type { ReInitGroupOptions, ReInitParams } from './reinit.js';
export { branchGroup, joinBranch } from './branch.js';
export type { BranchOptions } from './branch.js';
